// SympFormer block 5, two-step Adams-Bashforth (arch presymp_ab2 / lin_ab2; Stein, Li, Steidl,
// arXiv 2603.16535; research/sympformer.md 4.3 scheme 5). State u = (X, Y): N x d each.
//
//   f_k = (F(X^k, Y^k), G(X^k, Y^k) - alpha(t_k) Y^k)          one oracle call a layer
//   u^{k+1} = u^k + h ((1 + r/2) f_k - (r/2) f_{k-1}),  r = h_k / h_{k-1}
//   (r = 1: u + h (3/2 f_k - 1/2 f_{k-1})); the first step (or after a gap in time) is Euler.
// Order 2. The previous RHS is kept between steps, so one new oracle call per layer.
#include <cmath>
#include <vector>

#include "integrators/two_step_block.hpp"

namespace attnflow {
namespace {

class Ab2 : public TwoStepBlock {
 public:
  using TwoStepBlock::TwoStepBlock;
  std::string kind() const override { return "ab2"; }

 protected:
  void update(const Damping& dmp, State& s, double t, double h, bool history) override {
    const double a = dmp.none() ? 0.0 : dmp.alpha(t);
    G_ -= a * RowMat(s.y());
    if (history) {
      const double r = h / h_prev_;
      s.x() += h * ((1 + r / 2) * F_ - (r / 2) * Fp_);
      s.y() += h * ((1 + r / 2) * G_ - (r / 2) * Gp_);
    } else {
      s.x() += h * F_;
      s.y() += h * G_;
    }
  }
};

const bool registered = IntegratorRegistry::add(
    {"ab2", "SympFormer Adams-Bashforth 2 block (order 2, 1 oracle call a layer)",
     /*adaptive=*/false, /*needs_second_order=*/true, /*separable_order=*/false,
     /*rhs_per_step=*/1,
     [](const IntegratorSpec& s) { return std::make_unique<Ab2>(s); },
     {"2", "SympFormer (Stein, Li, Steidl, arXiv 2603.16535), Adams-Bashforth block",
      "a block scheme for second-order models; one oracle call per layer"}});

}  // namespace
}  // namespace attnflow
