// The Ott-Antonsen reduction of the Kuramoto model with Lorentzian frequencies as a model of its
// own (Ott & Antonsen, Chaos 18, 037113 (2008); derivation in docs/mean_field.md 5):
//
//   z' = (K/2 - gamma + i omega0) z - (K/2) |z|^2 z,      z = r e^{i psi} = <e^{i theta}>
//
// the closed ODE of the order parameter of theta_i' = omega_i + (K/N) sum_j sin(theta_j - theta_i)
// in the limit N -> infinity, for frequencies from the Lorentzian of centre omega0 and half-width
// gamma and phases on the OA manifold (wrapped Cauchy, the kuramoto model's initial_phases =
// "wrapped_cauchy"). The keys coupling, gamma, center mean what they mean in the kuramoto model.
//
// State: one token in R^2 (tokens.n = 1, tokens.d = 2), x = (Re z, Im z); initialize() sets
// z(t0) = r0 e^{i psi0} whatever [tokens] init drew. RHS: mean_field::oa_rhs.
//
// Observables:
//   order_parameter  r = |z|                  psi  arg z
//   r_theory         r_inf = sqrt(1 - 2 gamma / K) above K_c = 2 gamma, else 0 (oa_r_inf)
//   r_exact          the closed-form r(t) = oa_r_exact(r0, t - t0, K, gamma) (Bernoulli equation
//                    r' = (K/2 - gamma) r - (K/2) r^3; t0 = integrator.t0): order_parameter minus
//                    r_exact is the integrator's error
#include <cmath>
#include <complex>
#include <string>

#include "sim/config/section.hpp"
#include "sim/core/registry.hpp"
#include "sim/kernels/mean_field_odes.hpp"

namespace attnflow {
namespace {

struct OaParams {
  double K = 1.0, gamma = 0.5, omega0 = 0.0, r0 = 0.0, psi0 = 0.0, t0 = 0.0;
};

class OttAntonsenModel : public Flow {
 public:
  OttAntonsenModel(Shape shape, OaParams p) : Flow(shape, Space::Euclidean), p_(p) {}
  std::string kind() const override { return "ott_antonsen"; }
  int oracle_calls_per_rhs() const override { return 0; }

  void initialize(State& s, std::uint64_t) override {
    auto x = s.x();
    x(0, 0) = p_.r0 * std::cos(p_.psi0);
    x(0, 1) = p_.r0 * std::sin(p_.psi0);
  }

  void rhs(double, ConstStateView s, StateView ds) override {
    const std::complex<double> z(s.p[0], s.p[1]);
    const std::complex<double> dz = mean_field::oa_rhs(z, p_.K, p_.omega0, p_.gamma);
    ds.p[0] = dz.real();
    ds.p[1] = dz.imag();
  }

  double observable(const std::string& name, double t, ConstStateView s) override {
    if (name == "order_parameter") return std::hypot(s.p[0], s.p[1]);
    if (name == "psi") return std::atan2(s.p[1], s.p[0]);
    if (name == "r_theory") return mean_field::oa_r_inf(p_.K, p_.gamma);
    if (name == "r_exact") return mean_field::oa_r_exact(p_.r0, t - p_.t0, p_.K, p_.gamma);
    return Model::observable(name, t, s);
  }

 private:
  OaParams p_;
};

ModelRecipe read_ott_antonsen(Section& m, const TokensSpec& tokens) {
  if (tokens.n != 1 || tokens.d != 2)
    m.fail("kind", "\"ott_antonsen\" integrates one complex number z = (Re z, Im z): set "
                   "tokens.n = 1 and tokens.d = 2 (got n = " + std::to_string(tokens.n) +
                       ", d = " + std::to_string(tokens.d) + ")");
  if (tokens.space != Space::Euclidean)
    m.fail("kind", "\"ott_antonsen\": z lives in the plane: tokens.space must be \"euclidean\"");
  OaParams p;
  p.K = m.non_negative("coupling", 1.0);
  p.gamma = m.positive("gamma", 0.5);
  p.omega0 = m.real("center", 0.0);
  p.r0 = m.real("r0");
  m.check(p.r0 >= 0 && p.r0 < 1, "r0",
          "must be in [0, 1) (|z(t0)|; got " + std::to_string(p.r0) + ")");
  p.psi0 = m.real("psi0", 0.0);
  ModelRecipe r;
  r.observables = {"order_parameter", "psi", "r_theory", "r_exact"};
  r.traits.default_dt = 0.01;
  r.pairs_per_rhs = 1;
  r.build = [p](const BuildContext& c) {
    OaParams q = p;
    q.t0 = c.t0;
    return std::make_unique<OttAntonsenModel>(c.shape, q);
  };
  return r;
}

ModelDoc ott_antonsen_doc() {
  ModelDoc d;
  d.description =
      "z' = (K/2 - gamma + i omega0) z - (K/2) |z|^2 z: the Ott-Antonsen closed ODE of the "
      "Kuramoto order parameter z = <e^{i theta}> for Lorentzian frequencies (centre omega0, "
      "half-width gamma) and phases on the OA manifold, as N -> infinity. One token in R^2: "
      "tokens.n = 1, tokens.d = 2, x = (Re z, Im z), set to r0 e^{i psi0} at t0.";
  d.source = "Ott & Antonsen, Chaos 18, 037113 (2008); docs/mean_field.md 5";
  const std::string src = d.source;
  d.keys = {
      {"coupling", "number", "1.0", ">= 0", "K (as in the kuramoto model)", src},
      {"gamma", "number", "0.5", "> 0", "half-width of the Lorentzian frequencies (as in kuramoto)",
       src},
      {"center", "number", "0.0", "any", "omega0, the Lorentzian's centre (kuramoto's center)", src},
      {"r0", "number", "", "[0, 1)", "|z(t0)| (kuramoto's r0 of initial_phases = \"wrapped_cauchy\")",
       src, "", "0.2"},
      {"psi0", "number", "0.0", "any", "arg z(t0)", src},
  };
  d.observables = {
      {"order_parameter", "r = |z|", ""},
      {"psi", "arg z", ""},
      {"r_theory", "r_inf = sqrt(1 - 2 gamma / K) for K > 2 gamma, else 0", ""},
      {"r_exact", "closed form r(t): 1/r^2 = e^{-2 a (t - t0)} / r0^2 + (K/2)(1 - e^{-2 a (t - t0)}) / a, "
                  "a = K/2 - gamma (t0 = integrator.t0)", ""},
  };
  d.context = {"tokens.n = 1", "tokens.d = 2"};
  d.notes = {"tokens.n must be 1 and tokens.d 2: the state is z = (Re z, Im z); [tokens] init is "
             "overwritten with r0 e^{i psi0}.",
             "The particle counterpart: model kuramoto with frequencies = \"quantiles\" (or "
             "\"lorentzian\"), initial_phases = \"wrapped_cauchy\" and its observable "
             "r_ott_antonsen (scenarios/kuramoto_oa_particles.toml)."};
  return d;
}

const bool registered = ModelRegistry::add(
    {"ott_antonsen", "Ott-Antonsen ODE of the Kuramoto order parameter (Lorentzian frequencies)",
     &read_ott_antonsen, ott_antonsen_doc()});

}  // namespace
}  // namespace attnflow
