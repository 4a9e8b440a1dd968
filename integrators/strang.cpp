// SympFormer block 8, Strang half-damping (arch presymp_strang; Stein, Li, Steidl,
// arXiv 2603.16535; research/sympformer.md 4.3 scheme 8). State (X, Y): N x d each.
//
//   Y <- sigma(t_k, t_k + h/2) Y;  one Tao step of the conservative H (4 oracle calls);
//   Y <- sigma(t_k + h/2, t_k + h) Y
// (the authors' code uses the first factor twice; the exact second-half factor keeps order 2
// for time-dependent alpha).
#include "sim/core/registry.hpp"
#include "sim/models/second_order.hpp"

namespace attnflow {
namespace {

class Strang : public Integrator {
 public:
  using Integrator::Integrator;
  std::string kind() const override { return "strang"; }
  int order() const override { return 2; }
  void step(Flow& m, State& s, double t, double h) override {
    OracleCounter oc{m, require_second_order(m, kind())};
    const Damping& dmp = oc.so.damping();
    s.y() *= dmp.sigma(t, t + h / 2);
    tao_step(oc, s, t, h, 1.0, /*conformal=*/false);
    s.y() *= dmp.sigma(t + h / 2, t + h);
  }
};

const bool registered = IntegratorRegistry::add(
    {"strang", "Strang half-damping around a conservative Tao step (order 2, 4 oracle calls)",
     /*adaptive=*/false, /*needs_second_order=*/true, /*separable_order=*/false,
     /*rhs_per_step=*/4, [](const IntegratorSpec& s) { return std::make_unique<Strang>(s); },
     {"2", "SympFormer (Stein, Li, Steidl, arXiv 2603.16535); Strang splitting",
      "half-damping around a conservative Tao step; second-order models only"}});

}  // namespace
}  // namespace attnflow
