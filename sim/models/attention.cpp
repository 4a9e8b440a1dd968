#include "sim/models/attention.hpp"

#include <cmath>

#include "sim/config/matrix_param.hpp"
#include "sim/core/rng.hpp"
#include "sim/kernels/circle_fourier.hpp"
#include "sim/kernels/ring_attention.hpp"
#include "sim/models/circle_mean_field.hpp"
#include "sim/models/read_attention.hpp"
#include "sim/config/section.hpp"
#include "sim/core/registry.hpp"

namespace attnflow {

// The circle's extras: the Fourier kernel (also for mode_k: its first kCircleModes moments), the
// t0 values of the modes, and the companion density on a fixed step grid t0 + k dt.
struct AttentionModel::Circle {
  CircleFourierKernel kernel, modes;
  CircleModeTracker tracker;
  std::unique_ptr<CircleDensity> solver;
  Vec rho;                 // the companion at t0 + steps dt
  std::int64_t steps = 0;
  double dt = 0;

  // The companion at time t >= t0: whole steps along the grid, then a partial step on a copy.
  Vec density_at(double t) {
    const double t0 = tracker.t0;
    while (t0 + double(steps + 1) * dt <= t * (1 + 1e-14)) {
      solver->ssp_rk3_step(rho, dt);
      ++steps;
    }
    const double rest = t - (t0 + double(steps) * dt);
    if (rest <= 1e-14 * std::max(1.0, std::abs(t))) return rho;
    Vec r = rho;
    solver->ssp_rk3_step(r, rest);
    return r;
  }
};

AttentionModel::AttentionModel(Shape shape, Space space, AttentionParams p, CircleOptions circle)
    : Flow(shape, space),
      p_(std::move(p)),
      identity_{p_.Q.isIdentity(0.0), p_.K.isIdentity(0.0), p_.V.isIdentity(0.0)},
      circle_(std::move(circle)),
      on_circle_(space == Space::Sphere && shape.d == 2) {
  if (!on_circle_) return;
  c_ = std::make_unique<Circle>();
  if (circle_.fourier) c_->kernel = make_circle_fourier(p_.beta, p_.norm);
  c_->modes.n_max = kCircleModes;
  if (circle_.density_cells > 0) {
    c_->solver = std::make_unique<CircleDensity>(
        circle_.density_cells, p_.beta,
        p_.norm == Normalization::Softmax ? CircleNormalization::Softmax : CircleNormalization::Mean);
    c_->rho = InitialDensity{circle_.density_cos, circle_.density_sin, true}.cells(circle_.density_cells);
    c_->dt = std::min(c_->solver->positive_dt(1.0), 0.01);
  }
}

AttentionModel::~AttentionModel() = default;

void AttentionModel::initialize(State& s, std::uint64_t seed) {
  if (!circle_.sample_tokens) return;
  const Vec rho0 = InitialDensity{circle_.density_cos, circle_.density_sin, true}.cells(
      circle_.density_cells);
  Rng rng = Rng::stream(seed, "model.density");
  const Vec th = sample_angles(rho0, shape_.n, rng);
  auto x = s.x();
  for (Index i = 0; i < shape_.n; ++i) {
    x(i, 0) = std::cos(th[i]);
    x(i, 1) = std::sin(th[i]);
  }
}

void AttentionModel::observe_frame(double t, ConstStateView s) {
  if (!on_circle_ || c_->tracker.have) return;
  const std::vector<double> m = circle_moments(c_->modes, s.x());
  const double n = static_cast<double>(shape_.n);
  c_->tracker.observe(t, [&](int k) { return std::hypot(m[2 * k], m[2 * k + 1]) / n; });
}

namespace {
// out = scale x M^T; an identity M (GLPR's Q = K = V = I) is a scaled copy, O(N d) not O(N d^2).
void product(RowMat& out, CMatMap x, const RowMat& m, bool identity, double scale = 1.0) {
  if (identity) out = scale * x;
  else parallel_product(out, x, m.transpose(), scale);
}
}  // namespace

void AttentionModel::project(CMatMap x, bool values) {
  product(qx_, x, p_.Q, identity_[0], p_.beta);
  product(kx_, x, p_.K, identity_[1]);
  if (values) product(vx_, x, p_.V, identity_[2]);
}

void AttentionModel::attention(CMatMap x, RowMat& out) {
  project(x, true);
  stream_attention({&qx_, &kx_, &vx_, nullptr, p_.norm}, &out, nullptr, comm_);  // comm_: the ring
}

void AttentionModel::rhs(double, ConstStateView s, StateView ds) {
  if (circle_.fourier) circle_fourier_attention(c_->kernel, s.x(), out_);
  else attention(s.x(), out_);
  auto dx = ds.x();
  dx = out_;
  if (space_ == Space::Sphere) project_tangent(s.x(), dx);
}

double AttentionModel::observable(const std::string& name, double t, ConstStateView s) {
  const auto x = s.x();
  const double n = static_cast<double>(x.rows());
  bool growth = false;
  if (const int k = on_circle_ ? CircleModeTracker::parse(name, &growth) : 0) {
    const std::vector<double> m = circle_moments(c_->modes, x);
    const double mode = std::hypot(m[2 * k], m[2 * k + 1]) / n;
    return growth ? c_->tracker.growth(k, t, mode) : mode;
  }
  if (c_ && c_->solver && (name == "w1_density" || name == "r_density")) {
    const Vec rho = c_->density_at(t);
    if (name == "r_density") return 2 * M_PI * std::abs(fourier_coefficient(rho, 1));
    Vec th(x.rows());
    for (Index i = 0; i < x.rows(); ++i) th[i] = std::atan2(x(i, 1), x(i, 0));
    return w1_circle_particles_grid(th, rho);
  }
  if (name != "energy") return Model::observable(name, t, s);
  if (circle_.fourier) {
    const std::vector<double> m = circle_moments(c_->kernel, x);
    if (p_.beta == 0) return (m[2] * m[2] + m[3] * m[3]) / (2 * n * n);
    return circle_partition_sum(c_->kernel, m, x.rows()) / (2 * p_.beta * n * n);
  }
  if (p_.beta == 0) {
    const Eigen::RowVectorXd qs = (x * p_.Q.transpose()).colwise().sum();
    const Eigen::RowVectorXd ks = (x * p_.K.transpose()).colwise().sum();
    return qs.dot(ks) / (2 * n * n);
  }
  project(x, false);
  Vec logz;
  stream_attention({&qx_, &kx_, nullptr, nullptr, p_.norm}, nullptr, &logz);
  double sum = 0;
  for (Index i = 0; i < logz.size(); ++i) sum += std::exp(logz[i]);
  return sum / (2 * p_.beta * n * n);
}

namespace {

bool identity_param(const MatrixParam& p) {
  return p.kind == MatrixParam::Kind::Identity ||
         (p.kind == MatrixParam::Kind::Explicit && p.value.isIdentity(0.0));
}

// evaluator, density_cells, density_cos / density_sin: tokens on the circle with Q = K = V = I.
CircleOptions read_circle_options(Section& m, const TokensSpec& tokens, const AttentionSpec& spec) {
  CircleOptions c;
  const bool circle = tokens.space == Space::Sphere && tokens.d == 2;
  const bool identity = identity_param(spec.Q) && identity_param(spec.K) &&
                        (spec.v_from_qk == 1 || (spec.v_from_qk == 0 && identity_param(spec.V)));
  auto need_circle = [&](std::string_view key) {
    if (!circle || !identity)
      m.fail(key, "needs tokens on the circle with Q = K = V = identity (tokens.space = "
                  "\"sphere\", tokens.d = 2, the default matrices): there the dynamics is the "
                  "angle ODE of docs/mean_field.md 1");
  };
  c.fourier = m.choice("evaluator", {"pairs", "fourier"}, "pairs") == "fourier";
  if (c.fourier) {
    need_circle("evaluator");
    if (spec.beta > 500) m.fail("beta", "evaluator = \"fourier\" handles beta <= 500");
  }
  const InitialDensity init = read_initial_density(m);
  if (init.given) need_circle(m.has("density_cos") ? "density_cos" : "density_sin");
  if (m.has("density_cells")) need_circle("density_cells");
  c.density_cells = m.has("density_cells") ? m.positive_int("density_cells") : init.given ? 4096 : 0;
  if (c.density_cells > 0 && c.density_cells < 16)
    m.fail("density_cells", "needs at least 16 cells (got " + std::to_string(c.density_cells) + ")");
  if (c.density_cells > 0 && spec.beta > (spec.norm == Normalization::Softmax ? 300.0 : 700.0))
    m.fail("beta", "the companion density solver handles beta <= 300 (SA) and <= 700 (USA)");
  c.density_cos = init.cos;
  c.density_sin = init.sin;
  c.sample_tokens = init.given;
  return c;
}

ModelRecipe read_attention(Section& m, const TokensSpec& tokens) {
  const AttentionSpec spec = read_attention_spec(m, tokens.d);
  const CircleOptions circle = read_circle_options(m, tokens, spec);
  ModelRecipe r;
  r.observables = {"energy"};
  const bool on_circle = tokens.space == Space::Sphere && tokens.d == 2;
  for (const auto& o : circle_mode_observables()) {
    if (on_circle) r.observables.push_back(o);
    else r.unavailable.push_back({o, "needs tokens on the circle (tokens.space = \"sphere\", tokens.d = 2)"});
  }
  for (const char* o : {"w1_density", "r_density"}) {
    if (circle.density_cells > 0) r.observables.push_back(o);
    else r.unavailable.push_back({o, "needs the mean-field companion: density_cells (or density_cos / "
                                     "density_sin) on the circle with Q = K = V = identity"});
  }
  if (tokens.space == Space::Euclidean)
    r.warnings.push_back(
        "model \"attention\" on R^d (tokens.space = \"euclidean\"): x_i' is a weighted mean of "
        "V x_j, not a difference, so the tokens escape: |x| grows exponentially with "
        "normalization = \"softmax\", and with \"mean\" (USA) the weights exp(beta <Q x_i, K x_j>) "
        "grow with |x|^2 and can overflow in finite time (NaN within t ~ 2 for some random Q, K, V). "
        "GLPR's "
        "setting is the sphere: set tokens.space = \"sphere\", or keep t_end short");
  r.pairs_per_rhs = circle.fourier ? 60.0 * double(tokens.n) : double(tokens.n) * double(tokens.n);
  // Distributed: each rank its query rows, the key/value blocks round the ring.
  r.not_distributed = circle.fourier ? "with evaluator = \"fourier\" has no distributed path "
                                       "(the pair evaluator has)" : "";
  r.build = [spec, circle](const BuildContext& c) {
    return std::make_unique<AttentionModel>(c.shape, c.space, spec.resolve(c.shape.d, c.seed), circle);
  };
  return r;
}

ModelDoc attention_doc() {
  ModelDoc d;
  d.description =
      "x_i' = sum_j w_ij V x_j, w_ij = exp(beta <Q x_i, K x_j>) / Z_i (SA; Z_i = sum_k "
      "exp(beta <Q x_i, K x_k>)) or / N (USA); on the sphere projected by P_perp(x_i) = I - x_i "
      "x_i^T. Streamed in O(N d) memory (no N x N matrix).";
  d.source = "GLPR: Geshkovski, Letrouit, Polyanskiy, Rigollet, \"A mathematical perspective on Transformers\", arXiv 2312.10794" ", eq. (2.3); the energy E_beta and its ascent by USA: Lemma 3.6";
  d.keys = attention_key_docs();
  d.keys.push_back({"evaluator", "choice", "\"pairs\"", "\"pairs\" | \"fourier\"",
                    "pairs: the streamed O(N^2) kernel; fourier (tokens on the circle, Q = K = V = "
                    "identity, beta <= 500): the same right-hand side through the Fourier series "
                    "of exp(beta cos) in O(N n_max), n_max = 27 at beta = 4 (equal to the pair sum "
                    "to rounding; sim/kernels/circle_fourier.hpp)", "docs/mean_field.md 1"});
  for (auto& k : initial_density_key_docs(
           "of the mean-field companion; the initial tokens are drawn i.i.d. from it (stream "
           "\"model.density\" of the system's seed), replacing [tokens] init"))
    d.keys.push_back(k);
  d.keys.push_back({"density_cells", "integer", "(none; 4096 with density_cos / density_sin)", ">= 16",
                    "M > 0: advance the mean-field density of the same initial law on M cells "
                    "alongside the tokens (the circle_density model's solver, ssp_rk3 with "
                    "dt = min(h / 2 max|v|, 0.01) on a fixed grid from t0); gives w1_density and "
                    "r_density", "docs/mean_field.md 4"});
  const std::string circle_needs = "tokens.space = \"sphere\", tokens.d = 2";
  const std::string companion = "density_cells (Q = K = V = identity, d = 2 on the sphere)";
  d.observables = {{"energy", "E_beta = (1/(2 beta N^2)) sum_ij exp(beta <Q x_i, K x_j>) "
                              "(beta = 0: (1/(2N^2)) <sum Q x_i, sum K x_j>); USA on the sphere "
                              "with Q = K = V = I ascends it (GLPR Lemma 3.6)", ""}};
  for (auto& o : circle_mode_observable_docs(false, circle_needs)) d.observables.push_back(o);
  d.observables.push_back({"w1_density", "the Wasserstein-1 distance on the circle (geodesic cost, "
                                         "exact through the CDFs) between the tokens' empirical "
                                         "measure and the mean-field companion density at t: "
                                         "O(N^{-1/2}) by propagation of chaos", companion});
  d.observables.push_back({"r_density", "the companion density's order parameter 2 pi |rho_hat_1|",
                           companion});
  d.context = {"tokens.space = \"sphere\"", "tokens.d = 3"};
  d.notes = {"On R^d the tokens escape (validate warns): GLPR's theorems are on the sphere."};
  return d;
}

const bool registered = ModelRegistry::add(
    {"attention", "softmax (SA) or mean (USA) self-attention flow", &read_attention,
     attention_doc()});

}  // namespace
}  // namespace attnflow
