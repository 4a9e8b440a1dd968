// SympFormer block 4, presymplectic exponential Euler (eq. (Presympl_exp_euler); Stein, Li,
// Steidl, arXiv 2603.16535; research/sympformer.md 4.3 scheme 4, 8 item 8). State (X, Y): N x d.
//
//   (F, G) = ORACLE(X^k, Y^k)                        one oracle call a layer
//   Y^{k+1} = sigma_k Y^k + w_k G,   X^{k+1} = X^k + h F   (old momentum)
//   sigma_k = exp(-(eta(t_{k+1}) - eta(t_k))),
//   w_k = int_{t_k}^{t_{k+1}} exp(-(eta(t_{k+1}) - eta(s))) ds   (exact variation-of-constants
//         weight; for alpha = c/t: t_{k+1}/(c+1) [1 - (t_k/t_{k+1})^{c+1}]; the v1 code's
//         h (1 - sigma)/Delta eta is exact only for constant alpha)
#include "sim/core/registry.hpp"
#include "sim/models/second_order.hpp"

namespace attnflow {
namespace {

class ExpEuler : public Integrator {
 public:
  using Integrator::Integrator;
  std::string kind() const override { return "exp_euler"; }
  int order() const override { return 1; }
  void step(Flow& m, State& s, double t, double h) override {
    OracleCounter oc{m, require_second_order(m, kind())};
    oc.call(t, s, F_, G_);
    const Damping& dmp = oc.so.damping();
    const double sig = dmp.sigma(t, t + h), w = dmp.weight(t, t + h);
    s.x() += h * F_;
    s.y() = sig * s.y() + w * G_;
  }

 private:
  RowMat F_, G_;
};

const bool registered = IntegratorRegistry::add(
    {"exp_euler", "SympFormer exponential Euler block (exact damping weight, 1 oracle call)",
     /*adaptive=*/false, /*needs_second_order=*/true, /*separable_order=*/false,
     /*rhs_per_step=*/1, [](const IntegratorSpec& s) { return std::make_unique<ExpEuler>(s); },
     {"1", "SympFormer (Stein, Li, Steidl, arXiv 2603.16535), exponential Euler block",
      "exact damping weight; second-order models only"}});

}  // namespace
}  // namespace attnflow
