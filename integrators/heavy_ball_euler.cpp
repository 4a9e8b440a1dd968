// SympFormer block 1, "plain explicit Euler" / heavy ball (Stein, Li, Steidl, arXiv 2603.16535,
// eq. (plain_explicit_Euler); research/sympformer.md 4.3 scheme 1). State (X, Y): N x d each.
//
//   (F, G) = ORACLE(X^k, Y^k)                       one oracle call a layer
//   X^{k+1} = X^k + h F,    Y^{k+1} = a_k Y^k + h G,    a_k = sigma_k = exp(-(eta(t_k+h) - eta(t_k)))
//
// The authors learn the multiplicative damping a_k (initial 0.9); a simulator ties it to the
// damping schedule so the block is a first-order scheme for x' = F, y' = G - alpha y.
#include "sim/core/registry.hpp"
#include "sim/models/second_order.hpp"

namespace attnflow {
namespace {

class HeavyBallEuler : public Integrator {
 public:
  using Integrator::Integrator;
  std::string kind() const override { return "heavy_ball_euler"; }
  int order() const override { return 1; }
  void step(Flow& m, State& s, double t, double h) override {
    OracleCounter oc{m, require_second_order(m, kind())};
    oc.call(t, s, F_, G_);
    const double sig = oc.so.damping().sigma(t, t + h);
    s.x() += h * F_;
    s.y() = sig * s.y() + h * G_;
  }

 private:
  RowMat F_, G_;
};

const bool registered = IntegratorRegistry::add(
    {"heavy_ball_euler", "SympFormer heavy-ball Euler block (1 oracle call a layer)",
     /*adaptive=*/false, /*needs_second_order=*/true, /*separable_order=*/false,
     /*rhs_per_step=*/1,
     [](const IntegratorSpec& s) { return std::make_unique<HeavyBallEuler>(s); },
     {"1", "SympFormer (Stein, Li, Steidl, arXiv 2603.16535), heavy-ball Euler block (Polyak)",
      "second-order models only"}});

}  // namespace
}  // namespace attnflow
