// Classical Runge-Kutta, order 4:
//   k1 = F(t, u), k2 = F(t + h/2, u + h/2 k1), k3 = F(t + h/2, u + h/2 k2), k4 = F(t + h, u + h k3)
//   u <- u + h/6 (k1 + 2 k2 + 2 k3 + k4)
// On the sphere the stages use the tangent field and the result is retracted (row
// normalisation) by Integrator::advance after the step; this keeps order 4.
#include "sim/core/registry.hpp"

namespace attnflow {
namespace {

class Rk4 : public Integrator {
 public:
  using Integrator::Integrator;
  std::string kind() const override { return "rk4"; }
  int order() const override { return 4; }
  void step(Flow& m, State& s, double t, double h) override {
    if (k1_.shape != s.shape) k1_ = k2_ = k3_ = k4_ = tmp_ = State(s.shape);
    m.eval(t, s.view(), k1_.view());
    assign_parallel(tmp_.u, s.u + (h / 2) * k1_.u);
    m.eval(t + h / 2, tmp_.view(), k2_.view());
    assign_parallel(tmp_.u, s.u + (h / 2) * k2_.u);
    m.eval(t + h / 2, tmp_.view(), k3_.view());
    assign_parallel(tmp_.u, s.u + h * k3_.u);
    m.eval(t + h, tmp_.view(), k4_.view());
    assign_parallel(s.u, s.u + (h / 6) * (k1_.u + 2 * k2_.u + 2 * k3_.u + k4_.u));
  }

 private:
  State k1_, k2_, k3_, k4_, tmp_;
};

const bool registered = IntegratorRegistry::add(
    {"rk4", "classical Runge-Kutta (order 4)",
     /*adaptive=*/false, /*needs_second_order=*/false, /*separable_order=*/false,
     /*rhs_per_step=*/4,
     [](const IntegratorSpec& s) { return std::make_unique<Rk4>(s); },
     {"4", "Kutta (1901), classical Runge-Kutta",
      "4 RHS evaluations per step; order ~2 when the RHS depends on the state through a non-smooth choice (SVGD median bandwidth)"}});

}  // namespace
}  // namespace attnflow
