// Strong-stability-preserving Runge-Kutta of order 3 (Shu and Osher 1988), in Shu-Osher form:
//   u1 = u + h F(t, u)
//   u2 = 3/4 u + 1/4 (u1 + h F(t + h, u1))
//   u  <- 1/3 u + 2/3 (u2 + h F(t + h/2, u2))
// Every stage is a convex combination of forward-Euler steps, so any property a forward-Euler
// step keeps under dt <= dt_FE (positivity of a density, a TVD bound) the whole step keeps under
// the same dt. The density models' reader names that dt (sim/models/circle_density.cpp).
#include "sim/core/registry.hpp"

namespace attnflow {
namespace {

class SspRk3 : public Integrator {
 public:
  using Integrator::Integrator;
  std::string kind() const override { return "ssp_rk3"; }
  int order() const override { return 3; }
  void step(Flow& m, State& s, double t, double h) override {
    if (k_.shape != s.shape) k_ = u1_ = u2_ = State(s.shape);
    m.eval(t, s.view(), k_.view());
    assign_parallel(u1_.u, s.u + h * k_.u);
    m.eval(t + h, u1_.view(), k_.view());
    assign_parallel(u2_.u, 0.75 * s.u + 0.25 * (u1_.u + h * k_.u));
    m.eval(t + h / 2, u2_.view(), k_.view());
    assign_parallel(s.u, (1.0 / 3) * s.u + (2.0 / 3) * (u2_.u + h * k_.u));
  }

 private:
  State k_, u1_, u2_;
};

const bool registered = IntegratorRegistry::add(
    {"ssp_rk3", "strong-stability-preserving Runge-Kutta (order 3, Shu-Osher)",
     /*adaptive=*/false, /*needs_second_order=*/false, /*separable_order=*/false,
     /*rhs_per_step=*/3,
     [](const IntegratorSpec& s) { return std::make_unique<SspRk3>(s); },
     {"3", "Shu and Osher, J. Comput. Phys. 77 (1988) 439",
      "3 RHS evaluations per step, each stage a convex combination of forward-Euler steps: keeps "
      "a density non-negative under the forward-Euler step bound (circle_density)"}});

}  // namespace
}  // namespace attnflow
