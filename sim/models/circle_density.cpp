// The mean-field limit of SA / USA tokens on the circle (issue 17): the density rho(theta, t) of
// tokens x = (cos theta, sin theta), Q = K = V = I, solving the continuity equation
//
//   d_t rho + d_theta(rho v[rho]) = 0,   v_USA[rho] = int exp(beta cos(theta' - theta)) sin(theta' - theta) rho(theta') dtheta',
//                                         v_SA = v_USA / int exp(beta cos(theta' - theta)) rho(theta') dtheta'
//
// State: the M cell averages rho_i of a piecewise-constant density on [0, 2 pi), tokens.n = M
// cells, tokens.d = 1 (written as /fields/density as well, sim/io/h5md_layout.hpp). RHS:
// CircleDensity::rhs (sim/kernels/circle_density.hpp): exact face velocities by FFT
// (O(M log M)), MUSCL fluxes with a TVD limiter; mass conserved to round-off by any Runge-Kutta
// method, rho >= 0 under ssp_rk3 with dt <= positive_dt (h / 2 for SA), E_beta non-decreasing.
// Derivations and measured orders: docs/mean_field.md.
//
// Observables: mass; energy (E_beta = (1/(2 beta)) int int exp(beta cos) rho rho, the attention
// model's energy of the same tokens); energy_rate (the scheme's dE/dt >= 0); min_density,
// max_density; mode_k, growth_k (sim/models/circle_mean_field.hpp); order_parameter (= mode_1).
#include <algorithm>

#include "sim/core/registry.hpp"
#include "sim/models/circle_mean_field.hpp"
#include "sim/models/read_attention.hpp"

namespace attnflow {
namespace {

class CircleDensityModel : public Flow {
 public:
  CircleDensityModel(Shape shape, double beta, Normalization norm, FluxLimiter limiter, Vec rho0)
      : Flow(shape, Space::Euclidean),
        solver_(shape.n, beta,
                norm == Normalization::Softmax ? CircleNormalization::Softmax : CircleNormalization::Mean,
                limiter),
        rho0_(std::move(rho0)),
        field_{beta, norm == Normalization::Softmax ? "softmax" : "mean"} {}
  std::string kind() const override { return "circle_density"; }
  int oracle_calls_per_rhs() const override { return 0; }
  const DensityField* density_field() const override { return &field_; }
  bool keeps_time_averages() const override { return true; }  // mode_k(t0) for growth_k

  void initialize(State& s, std::uint64_t) override { s.u.head(shape_.n) = rho0_; }
  void rhs(double, ConstStateView s, StateView ds) override { solver_.rhs(s.p, ds.p); }

  void observe_frame(double t, ConstStateView s) override {
    const Vec rho = s.x().col(0);
    modes_.observe(t, [&](int k) { return mode(rho, k); });
  }
  double observable(const std::string& name, double t, ConstStateView s) override {
    const Vec rho = s.x().col(0);
    bool growth = false;
    if (const int k = CircleModeTracker::parse(name, &growth))
      return growth ? modes_.growth(k, t, mode(rho, k)) : mode(rho, k);
    if (name == "order_parameter") return mode(rho, 1);
    if (name == "mass") return circle_mass(rho);
    if (name == "energy") return solver_.energy(rho);
    if (name == "energy_rate") return solver_.energy_rate(rho);
    if (name == "min_density") return rho.minCoeff();
    if (name == "max_density") return rho.maxCoeff();
    return Model::observable(name, t, s);
  }

 private:
  static double mode(const Vec& rho, int k) { return 2 * M_PI * std::abs(fourier_coefficient(rho, k)); }

  CircleDensity solver_;
  Vec rho0_;
  DensityField field_;
  CircleModeTracker modes_;
};

FluxLimiter read_limiter(Section& m) {
  const std::string l = m.choice("limiter", {"van_leer", "minmod", "mc", "upwind"}, "van_leer");
  if (l == "minmod") return FluxLimiter::Minmod;
  if (l == "mc") return FluxLimiter::MC;
  if (l == "upwind") return FluxLimiter::Upwind;
  return FluxLimiter::VanLeer;
}

ModelRecipe read_circle_density(Section& m, const TokensSpec& tokens) {
  if (tokens.d != 1)
    m.fail("kind", "\"circle_density\" holds one density value per cell: set tokens.d = 1 (got " +
                       std::to_string(tokens.d) + ") and tokens.n = the number of cells");
  if (tokens.space != Space::Euclidean)
    m.fail("kind", "\"circle_density\" holds cell averages, not points: tokens.space must be \"euclidean\"");
  if (tokens.n < 16)
    m.fail("kind", "\"circle_density\" needs tokens.n >= 16 cells (got " + std::to_string(tokens.n) + ")");
  const Normalization norm = read_normalization(m);
  const double beta = read_beta(m);
  if (beta > (norm == Normalization::Softmax ? 300.0 : 700.0))
    m.fail("beta", "the density solver handles beta <= 300 (SA) and <= 700 (USA): its kernels "
                   "carry e^{+-beta} (got " + std::to_string(beta) + ")");
  const FluxLimiter limiter = read_limiter(m);
  const InitialDensity init = read_initial_density(m);
  ModelRecipe r;
  r.observables = {"mass", "energy", "energy_rate", "min_density", "max_density", "order_parameter"};
  for (const auto& o : circle_mode_observables()) r.observables.push_back(o);
  r.traits.default_dt = 0.01;
  const double cells = static_cast<double>(tokens.n);
  r.pairs_per_rhs = 10 * cells * std::log2(cells);  // a few FFTs of M points
  r.build = [=](const BuildContext& c) {
    return std::make_unique<CircleDensityModel>(c.shape, beta, norm, limiter, init.cells(c.shape.n));
  };
  return r;
}

ModelDoc circle_density_doc() {
  ModelDoc d;
  d.description =
      "d_t rho + d_theta(rho v[rho]) = 0 on the circle: the N -> infinity limit of attention "
      "tokens x = (cos theta, sin theta) with Q = K = V = I; v_USA = int exp(beta cos(theta' - "
      "theta)) sin(theta' - theta) rho(theta') dtheta', v_SA = v_USA / int exp(beta cos(theta' - "
      "theta)) rho(theta') dtheta'. Finite volumes on tokens.n = M cells (tokens.d = 1: the state "
      "is the cell averages, also written as /fields/density), exact face velocities by FFT in "
      "O(M log M), MUSCL fluxes with a TVD limiter. Mass is conserved to round-off, E_beta never "
      "decreases, and ssp_rk3 keeps rho >= 0 for dt <= h / (2 max|v|) (h / 2 for SA, h = 2 pi / M).";
  d.source = "GLPR (arXiv 2312.10794) sections 2-3 (the continuity equation, E_beta and its "
             "ascent); derivation and scheme: docs/mean_field.md";
  const std::string glpr = "GLPR (arXiv 2312.10794)";
  d.keys = {
      {"normalization", "choice", "\"softmax\"", "\"softmax\" | \"mean\"",
       "SA (velocity / Z[rho]) or USA", glpr + ", eq. (2.3)"},
      {"beta", "number", "1.0", ">= 0 (<= 300 SA, <= 700 USA)", "inverse temperature", glpr},
      {"limiter", "choice", "\"van_leer\"", "\"van_leer\" | \"minmod\" | \"mc\" | \"upwind\"",
       "slope limiter of the MUSCL fluxes (upwind: first order; the others second order where rho "
       "is smooth)", "docs/mean_field.md 4.3"},
  };
  for (auto& k : initial_density_key_docs("(the state at t0)")) d.keys.push_back(k);
  d.observables = {
      {"mass", "h sum_i rho_i (1 at the start; conserved to round-off)", ""},
      {"energy", "E_beta = (h^2 / (2 beta)) sum_ij exp(beta cos((j - i) h)) rho_i rho_j (beta = 0: "
                 "|int e^{i theta} rho|^2 / 2), the attention model's energy in the limit; never "
                 "decreases", ""},
      {"energy_rate", "the scheme's dE/dt = h sum_f rho_f v_f v_USA,f >= 0", ""},
      {"min_density", "min_i rho_i (>= 0 under ssp_rk3 with dt <= h / (2 max|v|))", ""},
      {"max_density", "max_i rho_i", ""},
      {"order_parameter", "r = 2 pi |rho_hat_1| (= mode_1)", ""},
  };
  for (auto& o : circle_mode_observable_docs(true)) d.observables.push_back(o);
  d.context = {"tokens.n = 4096", "tokens.d = 1"};
  d.notes = {"tokens.n is the number of cells and tokens.d = 1; [tokens] init is ignored (the "
             "density starts from density_cos / density_sin).",
             "Linear rate of mode k about the uniform density: lambda_k sinc^2(k h / 2) on M cells "
             "against lambda_k = k (I_{k-1}(beta) - I_{k+1}(beta)) / 2 (/ I_0(beta) for SA): within "
             "1e-6 for M >= 1815 k (docs/mean_field.md 3 and 4.3)."};
  return d;
}

const bool registered = ModelRegistry::add(
    {"circle_density", "mean-field density of SA / USA tokens on the circle (finite volumes, FFT)",
     &read_circle_density, circle_density_doc()});

}  // namespace
}  // namespace attnflow
