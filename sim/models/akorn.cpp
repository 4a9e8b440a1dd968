// AKOrN: vector Kuramoto oscillators on the sphere S^{n-1} (Miyato, Loewe, Geiger, Welling,
// "Artificial Kuramoto Oscillatory Neurons", ICLR 2025, arXiv 2410.13821; research/ssa.md
// section 9), the dynamical counterpart of SSA's closed form (Hays, arXiv 2602.14445):
//
//   x_i' = Omega_i x_i + P_perp(x_i) (c_i + sum_j J_ij x_j),   P_perp(x) y = y - <y, x> x
//
// State: x, N x n on S^{n-1} (tokens.d = n even, tokens.space = "sphere"); the integrator
// retracts onto the sphere after every step, so euler with dt = gamma is AKOrN's discrete update
// x <- normalize(x + gamma x'). Omega_i: block-diagonal with 2 x 2 rotation generators
// (x_{2p}, x_{2p+1}) -> (-w_ip x_{2p+1}, w_ip x_{2p}) (the AKOrN code uses the opposite sign;
// equivalent under w -> -w). With n = 2, J_ij = K/N and c = 0 this is exactly the Kuramoto model
// theta_i' = w_i + (K/N) sum_j sin(theta_j - theta_i) for x_i = (cos theta_i, sin theta_i).
//
//   frequencies    "zero" | "constant" (omega) | "gaussian" (sigma; stream "model.frequencies")
//                  | "values" (omega = N * n/2 numbers, token-major)
//   coupling_rule  "uniform": J_ij = (K/N) I, O(N n) per RHS through the mean;
//                  "attention": sum_j J_ij x_j = K sum_j softmax_j(beta <x_i, x_j>) x_j,
//                  streamed (sim/kernel_attention.hpp), no N x N storage
//   stimulus       "zero" | "random" (c_i uniform on the sphere, stream "model.stimulus") |
//                  "initial" (c_i = x_i(0)); all scaled by stimulus_scale
// Observables: order_parameter |(1/N) sum_i x_i|; energy (uniform coupling)
//   E = -(K/2N) |sum_i x_i|^2 - sum_i <c_i, x_i>, non-increasing when Omega = 0.
#include <cmath>

#include "sim/models/akorn.hpp"

#include "sim/kernels/kernel_attention.hpp"
#include "sim/models/read_attention.hpp"
#include "sim/config/section.hpp"
#include "sim/core/registry.hpp"
#include "sim/core/rng.hpp"

namespace attnflow {
namespace {

class AkornModel : public Flow {
 public:
  AkornModel(Shape shape, Space space, AkornParams p, std::uint64_t seed)
      : Flow(shape, space), p_(std::move(p)), seed_(seed) {
    const Index n = shape.n, d = shape.d, m = d / 2;
    w_.resize(n, m);
    if (p_.frequencies == "constant") w_.setConstant(p_.omega);
    else if (p_.frequencies == "zero") w_.setZero();
    else if (p_.frequencies == "values") w_ = CMatMap(p_.values.data(), n, m);
    else {
      Rng rng = Rng::stream(seed, "model.frequencies");
      for (Index i = 0; i < n; ++i)
        for (Index k = 0; k < m; ++k) w_(i, k) = p_.sigma * rng.normal();
    }
    c_ = RowMat::Zero(n, d);
    if (p_.stimulus == "random") {
      Rng rng = Rng::stream(seed, "model.stimulus");
      for (Index i = 0; i < n; ++i) {
        for (Index k = 0; k < d; ++k) c_(i, k) = rng.normal();
        c_.row(i) *= p_.stimulus_scale / c_.row(i).norm();
      }
    }
  }
  std::string kind() const override { return "akorn"; }
  int oracle_calls_per_rhs() const override { return p_.attention ? 1 : 0; }
  std::vector<std::pair<std::string, Vec>> per_token_constants() const override {
    // The first rotation frequency of every token (all of them for n = 2).
    return {{"frequency", w_.col(0)}};
  }
  void initialize(State& s, std::uint64_t) override {
    if (p_.stimulus == "initial") {
      RowMat x = s.x();
      for (Index i = 0; i < x.rows(); ++i) {
        const double nr = x.row(i).norm();
        c_.row(i) = nr > 0 ? RowMat(x.row(i) * (p_.stimulus_scale / nr)) : RowMat(x.row(i));
      }
    }
  }

  void rhs(double, ConstStateView s, StateView ds) override {
    const auto x = s.x();
    auto dx = ds.x();
    const Index n = x.rows(), d = x.cols();
    if (p_.attention) {
      xq_ = p_.beta * RowMat(x);
      xk_ = x;
      stream_attention({&xq_, &xk_, &xk_, nullptr, Normalization::Softmax}, &field_);
      field_ *= p_.K;
    } else {
      field_.resize(1, d);
      for (Index k = 0; k < d; ++k) {
        double acc = 0;
        for (Index i = 0; i < n; ++i) acc += x(i, k);
        field_(0, k) = p_.K * acc / static_cast<double>(n);
      }
    }
    for (Index i = 0; i < n; ++i) {
      const Index fi = p_.attention ? i : 0;
      double dot = 0;
      for (Index k = 0; k < d; ++k) {
        const double f = c_(i, k) + field_(fi, k);
        dx(i, k) = f;
        dot += f * x(i, k);
      }
      for (Index k = 0; k < d; ++k) dx(i, k) -= dot * x(i, k);
      for (Index q = 0; q < d / 2; ++q) {
        const double w = w_(i, q);
        dx(i, 2 * q) += -w * x(i, 2 * q + 1);
        dx(i, 2 * q + 1) += w * x(i, 2 * q);
      }
    }
  }

  double observable(const std::string& name, double t, ConstStateView s) override {
    const auto x = s.x();
    const Index n = x.rows(), d = x.cols();
    Eigen::RowVectorXd m = Eigen::RowVectorXd::Zero(d);
    for (Index i = 0; i < n; ++i) m += x.row(i);
    if (name == "order_parameter") return m.norm() / static_cast<double>(n);
    if (name == "energy" && !p_.attention) {
      double cx = 0;
      for (Index i = 0; i < n; ++i) cx += c_.row(i).dot(x.row(i));
      return -0.5 * p_.K * m.squaredNorm() / static_cast<double>(n) - cx;
    }
    return Model::observable(name, t, s);
  }

 private:
  AkornParams p_;
  std::uint64_t seed_;
  RowMat w_, c_, field_, xq_, xk_;
};

}  // namespace

std::unique_ptr<Flow> make_akorn(Shape shape, Space space, AkornParams p, std::uint64_t seed) {
  return std::make_unique<AkornModel>(shape, space, std::move(p), seed);
}

namespace {

ModelRecipe read_akorn(Section& m, const TokensSpec& tokens) {
  if (tokens.space != Space::Sphere)
    m.fail("kind", "\"akorn\" oscillators live on the sphere: set tokens.space = \"sphere\"");
  if (tokens.d % 2)
    m.fail("kind", "\"akorn\" needs an even tokens.d (pairs of rotating coordinates; got " +
                       std::to_string(tokens.d) + ")");
  AkornParams p;
  p.K = m.real("coupling", 1.0);
  p.attention = m.choice("coupling_rule", {"uniform", "attention"}, "uniform") == "attention";
  if (p.attention) p.beta = read_beta(m);
  p.frequencies = m.choice("frequencies", {"zero", "constant", "gaussian", "values"}, "zero");
  if (p.frequencies == "constant") p.omega = m.real("omega");
  if (p.frequencies == "gaussian") p.sigma = m.positive("sigma", 1.0);
  if (p.frequencies == "values") {
    p.values = m.reals("omega");
    const Index want = tokens.n * (tokens.d / 2);
    if (static_cast<Index>(p.values.size()) != want)
      m.fail("omega", "must have tokens.n * tokens.d / 2 = " + std::to_string(want) +
                          " entries (got " + std::to_string(p.values.size()) + ")");
  }
  p.stimulus = m.choice("stimulus", {"zero", "random", "initial"}, "zero");
  if (p.stimulus != "zero") p.stimulus_scale = m.real("stimulus_scale", 1.0);
  ModelRecipe r;
  r.observables = {"order_parameter"};
  if (p.attention)
    r.unavailable.push_back({"energy", "needs coupling_rule = \"uniform\" (the attention coupling "
                                       "has no energy in this form)"});
  else
    r.observables.push_back("energy");
  r.pairs_per_rhs = p.attention ? double(tokens.n) * double(tokens.n) : double(tokens.n);
  r.build = [p](const BuildContext& c) { return make_akorn(c.shape, c.space, p, c.seed); };
  return r;
}

ModelDoc akorn_doc() {
  ModelDoc d;
  d.description =
      "x_i' = Omega_i x_i + P_perp(x_i) (c_i + sum_j J_ij x_j) on S^{d-1} (d even): Omega_i "
      "block-diagonal 2 x 2 rotation generators with frequencies w_ip; uniform J_ij = K/N "
      "(O(N d)) or attention sum_j J_ij x_j = K sum_j softmax_j(beta <x_i, x_j>) x_j (streamed). "
      "euler with dt = gamma is AKOrN's discrete update; d = 2, c = 0 is the Kuramoto model.";
  d.source = "AKOrN: Miyato, Loewe, Geiger, Welling, ICLR 2025, arXiv 2410.13821";
  const std::string src = d.source;
  d.keys = {
      {"coupling", "number", "1.0", "any", "K", src},
      {"coupling_rule", "choice", "\"uniform\"", "\"uniform\" | \"attention\"", "J", src},
      {"beta", "number", "1.0", ">= 0", "inverse temperature of the attention coupling", src,
       "coupling_rule = \"attention\""},
      {"frequencies", "choice", "\"zero\"", "\"zero\" | \"constant\" | \"gaussian\" | \"values\"",
       "rotation frequencies w_ip: zero, one constant omega, i.i.d. N(0, sigma^2) (stream "
       "model.frequencies), or given values", src},
      {"omega", "number or array", "", "a number (constant); N d/2 numbers, token-major (values)",
       "the frequencies", src, "frequencies = \"constant\" or \"values\"", "1.0"},
      {"sigma", "number", "1.0", "> 0", "std of gaussian frequencies", src,
       "frequencies = \"gaussian\""},
      {"stimulus", "choice", "\"zero\"", "\"zero\" | \"random\" | \"initial\"",
       "c_i: zero, uniform on the sphere (stream model.stimulus), or x_i(0)", src},
      {"stimulus_scale", "number", "1.0", "any", "scale of c_i", src, "stimulus is not \"zero\""},
  };
  d.observables = {
      {"order_parameter", "|(1/N) sum_i x_i|", ""},
      {"energy", "E = -(K/2N) |sum_i x_i|^2 - sum_i <c_i, x_i> (non-increasing when Omega = 0)",
       "coupling_rule = \"uniform\""},
  };
  d.context = {"tokens.space = \"sphere\"", "tokens.d = 4"};
  d.notes = {"tokens.space must be \"sphere\" and tokens.d even."};
  return d;
}

const bool registered = ModelRegistry::add(
    {"akorn", "AKOrN vector oscillators on S^{n-1} (rotation + projected coupling and stimulus)",
     &read_akorn, akorn_doc()});

}  // namespace
}  // namespace attnflow
