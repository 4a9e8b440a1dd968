// Symplectic Euler, drift-then-kick variant, for second-order Hamiltonian models
// x' = F(x, y) = c dH/dy, y' = G(x, y) - alpha y (research/sympformer.md 3.5, 4.3;
// SympFormer arXiv 2603.16535):
//
//   X^{k+1} = X^k + h F(X^k, Y^k);   Y^{k+1} = sigma_k (Y^k + h G(X^{k+1}, Y^k))
//
// Symplectic (conformally, with the exact damping factor sigma_k) for separable H; first order.
// The kick-then-drift variant with one oracle call a layer is kick_damp_drift. Two oracle
// calls a step (F at X^k and the force at X^{k+1}).
#include "sim/core/registry.hpp"
#include "sim/models/second_order.hpp"

namespace attnflow {
namespace {

class SymplecticEuler : public Integrator {
 public:
  using Integrator::Integrator;
  std::string kind() const override { return "symplectic_euler"; }
  int order() const override { return 1; }
  void step(Flow& m, State& s, double t, double h) override {
    OracleCounter oc{m, require_second_order(m, kind())};
    oc.call(t, s, F_, G_);
    s.x() += h * F_;
    oc.call(t + h, s, F_, G_);
    s.y() = oc.so.damping().sigma(t, t + h) * (s.y() + h * G_);
  }

 private:
  RowMat F_, G_;
};

const bool registered = IntegratorRegistry::add(
    {"symplectic_euler", "symplectic Euler (drift-kick) with exact damping (2 oracle calls)",
     /*adaptive=*/false, /*needs_second_order=*/true, /*separable_order=*/false,
     /*rhs_per_step=*/1, [](const IntegratorSpec& s) { return std::make_unique<SymplecticEuler>(s); },
     {"1", "Hairer, Lubich, Wanner, Geometric Numerical Integration (2006)",
      "drift-kick with exact damping; second-order models only"}});

}  // namespace
}  // namespace attnflow
