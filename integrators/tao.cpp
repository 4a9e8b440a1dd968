// SympFormer block 7: second-order explicit presymplectic integrator for nonseparable H
// (arch "presymp"; FJV section 6.2 + Tao 2016; Stein, Li, Steidl, arXiv 2603.16535;
// research/sympformer.md 3.5, 4.3 scheme 7). State (X, Y): N x d each. Four oracle calls a layer.
//
//   Pi = e^{eta(t) - eta(t_k)} Y; doubled copy (Xbar, Pibar); tau = h/2, theta = 2 xi h (<= 1)
//   phi_A(tau) phi_B(tau) phi_C(h) phi_B(tau) phi_A(tau);  Y^{k+1} = e^{-(eta(t_{k+1}) - eta(t_k))} Pi
//   ORACLE_t(X, Pi): p = e^{-eta} Pi, vel = F(X, p), force = e^{eta} G(X, p)
// Coupling xi = 1 (the authors' learned xi starts at 0.5 or 1).
#include "sim/core/registry.hpp"
#include "sim/models/second_order.hpp"

namespace attnflow {
namespace {

class Tao : public Integrator {
 public:
  using Integrator::Integrator;
  std::string kind() const override { return "tao"; }
  int order() const override { return 2; }
  void step(Flow& m, State& s, double t, double h) override {
    OracleCounter oc{m, require_second_order(m, kind())};
    tao_step(oc, s, t, h, 1.0, /*conformal=*/true);
  }
};

const bool registered = IntegratorRegistry::add(
    {"tao", "Tao/FJV explicit presymplectic integrator (order 2, 4 oracle calls a layer)",
     /*adaptive=*/false, /*needs_second_order=*/true, /*separable_order=*/false,
     /*rhs_per_step=*/4,
     [](const IntegratorSpec& s) { return std::make_unique<Tao>(s); },
     {"2", "Tao, Phys. Rev. E 94 (2016), explicit symplectic integrators for non-separable Hamiltonians",
      "extended phase space with coupling xi; second-order models only"}});

}  // namespace
}  // namespace attnflow
