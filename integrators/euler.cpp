// Explicit Euler, order 1:  u_{k+1} = u_k + h F(t_k, u_k).
// One step of the attention flow is one (pre-norm-free) transformer residual layer.
#include "sim/core/registry.hpp"

namespace attnflow {
namespace {

class Euler : public Integrator {
 public:
  using Integrator::Integrator;
  std::string kind() const override { return "euler"; }
  int order() const override { return 1; }
  void step(Flow& m, State& s, double t, double h) override {
    if (k_.shape != s.shape) k_ = State(s.shape);
    m.eval(t, s.view(), k_.view());
    s.u += h * k_.u;
  }

 private:
  State k_;
};

const bool registered = IntegratorRegistry::add(
    {"euler", "explicit Euler (order 1); one step = one residual layer",
     /*adaptive=*/false, /*needs_second_order=*/false, /*separable_order=*/false,
     /*rhs_per_step=*/1,
     [](const IntegratorSpec& s) { return std::make_unique<Euler>(s); },
     {"1", "Euler; one step = one residual layer (SympFormer section 2.1)",
      "with dt = gamma on the sphere it is AKOrN's update"}});

}  // namespace
}  // namespace attnflow
