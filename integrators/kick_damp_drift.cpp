// SympFormer block 3, presymplectic (conformal-symplectic) Euler: kick, damp, drift
// (eq. (presymp_Euler), linear class LinearAttentionPresymp; Stein, Li, Steidl, arXiv 2603.16535;
// research/sympformer.md 3.5, 4.3 scheme 3). State (X, Y): N x d.
//
//   (F, G) = ORACLE(X^k, Y^k)                        one oracle call a layer
//   Y^{k+1} = sigma_k (Y^k + h G),  sigma_k = exp(-(eta(t_k + h) - eta(t_k)))
//   X^{k+1} = X^k + h F(X^k, Y^{k+1})                (reuses the kernel of X^k)
//
// For a separable H = p^T M^-1 p / 2 + U(q) the map is conformally symplectic:
// J^T Omega J = sigma Omega, det J = sigma^d. For the nonseparable attention Hamiltonians the
// explicit kick-drift is not exactly presymplectic (the exact symplectic Euler is implicit).
#include "sim/core/registry.hpp"
#include "sim/models/second_order.hpp"

namespace attnflow {
namespace {

class KickDampDrift : public Integrator {
 public:
  using Integrator::Integrator;
  std::string kind() const override { return "kick_damp_drift"; }
  int order() const override { return 1; }
  void step(Flow& m, State& s, double t, double h) override {
    OracleCounter oc{m, require_second_order(m, kind())};
    oc.call(t, s, F_, G_);
    const double sig = oc.so.damping().sigma(t, t + h);
    s.y() = sig * (s.y() + h * G_);
    oc.velocity(s, F_);
    s.x() += h * F_;
  }

 private:
  RowMat F_, G_;
};

const bool registered = IntegratorRegistry::add(
    {"kick_damp_drift", "SympFormer presymplectic Euler block (kick-damp-drift, 1 oracle call)",
     /*adaptive=*/false, /*needs_second_order=*/true, /*separable_order=*/false,
     /*rhs_per_step=*/1, [](const IntegratorSpec& s) { return std::make_unique<KickDampDrift>(s); },
     {"1", "SympFormer (Stein, Li, Steidl, arXiv 2603.16535), presymplectic Euler block",
      "second-order models only"}});

}  // namespace
}  // namespace attnflow
