// SympFormer block 2, damped explicit Euler (arch "presymp_euler", class DampedEulerAttention;
// Stein, Li, Steidl, arXiv 2603.16535; research/sympformer.md 4.3 scheme 2). State (X, Y): N x d.
//
//   (F, G) = ORACLE(X^k, Y^k)                       one oracle call a layer
//   X^{k+1} = X^k + h F,    Y^{k+1} = Y^k + h (G - alpha(t_k) Y^k)
#include "sim/core/registry.hpp"
#include "sim/models/second_order.hpp"

namespace attnflow {
namespace {

class DampedEuler : public Integrator {
 public:
  using Integrator::Integrator;
  std::string kind() const override { return "damped_euler"; }
  int order() const override { return 1; }
  void step(Flow& m, State& s, double t, double h) override {
    OracleCounter oc{m, require_second_order(m, kind())};
    oc.call(t, s, F_, G_);
    const Damping& dmp = oc.so.damping();
    const double a = dmp.none() ? 0.0 : dmp.alpha(t);
    s.x() += h * F_;
    s.y() = (1 - h * a) * s.y() + h * G_;
  }

 private:
  RowMat F_, G_;
};

const bool registered = IntegratorRegistry::add(
    {"damped_euler", "SympFormer damped explicit Euler block (1 oracle call a layer)",
     /*adaptive=*/false, /*needs_second_order=*/true, /*separable_order=*/false,
     /*rhs_per_step=*/1,
     [](const IntegratorSpec& s) { return std::make_unique<DampedEuler>(s); },
     {"1", "SympFormer (Stein, Li, Steidl, arXiv 2603.16535), damped explicit Euler block",
      "second-order models only"}});

}  // namespace
}  // namespace attnflow
