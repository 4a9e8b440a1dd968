// Velocity Verlet (Stormer-Verlet) for second-order Hamiltonian models x' = F(x, y) = c dH/dy,
// y' = G(x, y) - alpha y (research/sympformer.md 3.5, 4.3; SympFormer arXiv 2603.16535),
// with the damping split off exactly (Strang):
//
//   Y <- sigma(t, t + h/2) Y
//   Y_half = Y + (h/2) G(X, Y);  X' = X + h F(X, Y_half);  Y' = Y_half + (h/2) G(X', Y_half)
//   Y' <- sigma(t + h/2, t + h) Y'
//
// For separable H (F = F(y), G = G(x)) this is the symplectic, time-reversible, second-order
// leapfrog (conformally symplectic with damping). For nonseparable H (the attention
// Hamiltonians) the explicit form is neither symplectic nor second order (the conformance test
// measures order 1.06 on accelerated linear attention); use tao there. Two oracle calls a step.
#include "sim/core/registry.hpp"
#include "sim/models/second_order.hpp"

namespace attnflow {
namespace {

class VelocityVerlet : public Integrator {
 public:
  using Integrator::Integrator;
  std::string kind() const override { return "velocity_verlet"; }
  int order() const override { return 2; }
  void step(Flow& m, State& s, double t, double h) override {
    OracleCounter oc{m, require_second_order(m, kind())};
    const Damping& dmp = oc.so.damping();
    s.y() *= dmp.sigma(t, t + h / 2);
    oc.call(t, s, F_, G_);
    s.y() += (h / 2) * G_;
    oc.velocity(s, F_);
    s.x() += h * F_;
    oc.call(t + h, s, F_, G_);
    s.y() += (h / 2) * G_;
    s.y() *= dmp.sigma(t + h / 2, t + h);
  }

 private:
  RowMat F_, G_;
};

const bool registered = IntegratorRegistry::add(
    {"velocity_verlet", "velocity Verlet with exact half-step damping (2 oracle calls a step)",
     /*adaptive=*/false, /*needs_second_order=*/true, /*separable_order=*/true,
     /*rhs_per_step=*/2, [](const IntegratorSpec& s) { return std::make_unique<VelocityVerlet>(s); },
     {"2 (separable Hamiltonians)", "Verlet (1967); Hairer, Lubich, Wanner (2006)",
      "exact half-step damping; order 2 only for separable Hamiltonians; second-order models only"}});

}  // namespace
}  // namespace attnflow
