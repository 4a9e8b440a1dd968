// The closed moment ODE of linear self-attention as a model of its own (docs/mean_field.md 7.1):
//
//   L = V (S + m m^T) A^T,   m' = L m,   S' = L S + S L^T
//
// m is the tokens' mean and S their 1/N covariance under the linear_attention model
// x_i' = (1/N) sum_j (x_i^T A x_j) V x_j on R^d. The identity holds for every N (not only as
// N -> infinity): every token moves by the same linear map x_i' = L x_i.
//
// State: d + 1 rows of d numbers (tokens.n = d + 1, tokens.d = d): row 0 is m, rows 1..d are S,
// which is exactly the flat layout [m; S row-major] of mean_field::linear_attention_moments_rhs.
// initialize() sets m(t0) = `mean` and S(t0) = `covariance` whatever [tokens] init drew.
// A | (beta, Q, K) and V are read as the linear_attention model reads them
// (read_linear_attention_spec).
//
// Observables:
//   energy     -(1/2) tr(V C), C = S + m m^T: the linear_attention model's energy
//              -(1/2N) sum_i x_i^T V x_i of any tokens with these moments
//   cov_trace  tr S
#include <cmath>
#include <string>

#include "sim/config/section.hpp"
#include "sim/core/registry.hpp"
#include "sim/kernels/mean_field_odes.hpp"
#include "sim/models/linear_attention.hpp"

namespace attnflow {
namespace {

class LinearAttentionMomentsModel : public Flow {
 public:
  LinearAttentionMomentsModel(Shape shape, RowMat A, RowMat V, Vec m0, RowMat S0)
      : Flow(shape, Space::Euclidean), A_(std::move(A)), V_(std::move(V)), m0_(std::move(m0)),
        S0_(std::move(S0)) {}
  std::string kind() const override { return "linear_attention_moments"; }
  int oracle_calls_per_rhs() const override { return 0; }

  void initialize(State& s, std::uint64_t) override {
    auto x = s.x();
    const Index d = m0_.size();
    x.row(0) = m0_.transpose();
    x.bottomRows(d) = S0_;
  }

  void rhs(double, ConstStateView s, StateView ds) override {
    mean_field::linear_attention_moments_rhs(A_, V_, s.p, ds.p);
  }

  double observable(const std::string& name, double t, ConstStateView s) override {
    const Index d = m0_.size();
    const auto x = s.x();
    const Vec m = x.row(0).transpose();
    const RowMat S = x.bottomRows(d);
    if (name == "energy") return -0.5 * (V_ * (S + m * m.transpose())).trace();
    if (name == "cov_trace") return S.trace();
    return Model::observable(name, t, s);
  }

 private:
  RowMat A_, V_;
  Vec m0_;
  RowMat S0_;
};

ModelRecipe read_linear_attention_moments(Section& m, const TokensSpec& tokens) {
  const Index d = tokens.d;
  if (tokens.n != d + 1)
    m.fail("kind", "\"linear_attention_moments\" holds the mean (row 0) and the d x d covariance "
                   "(rows 1..d): set tokens.n = tokens.d + 1 = " + std::to_string(d + 1) +
                       " (got n = " + std::to_string(tokens.n) + ")");
  if (tokens.space != Space::Euclidean)
    m.fail("kind", "\"linear_attention_moments\": the moments close on R^d only: tokens.space "
                   "must be \"euclidean\"");
  const LinearAttentionSpec spec = read_linear_attention_spec(m, d);
  Vec m0 = Vec::Zero(d);
  if (m.has("mean")) {
    auto v = m.reals("mean");
    if (static_cast<Index>(v.size()) != d)
      m.fail("mean", "must have tokens.d = " + std::to_string(d) + " entries (got " +
                         std::to_string(v.size()) + ")");
    m0 = Eigen::Map<Vec>(v.data(), d);
  }
  RowMat S0 = RowMat::Identity(d, d);
  if (m.has("covariance")) {
    S0 = m.matrix("covariance");
    if (S0.rows() != d || S0.cols() != d)
      m.fail("covariance", "must be a " + std::to_string(d) + " x " + std::to_string(d) +
                               " matrix to match tokens.d (got " + std::to_string(S0.rows()) +
                               " x " + std::to_string(S0.cols()) + ")");
    const double scale = 1 + S0.cwiseAbs().maxCoeff();
    if ((S0 - S0.transpose()).cwiseAbs().maxCoeff() > 1e-12 * scale)
      m.fail("covariance", "must be symmetric");
    const Eigen::SelfAdjointEigenSolver<RowMat> eig(S0, Eigen::EigenvaluesOnly);
    if (eig.eigenvalues().minCoeff() < -1e-12 * scale)
      m.fail("covariance", "must be positive semidefinite (smallest eigenvalue " +
                               std::to_string(eig.eigenvalues().minCoeff()) + ")");
  }
  ModelRecipe r;
  r.observables = {"energy", "cov_trace"};
  if (!spec.explicit_matrices())
    r.warnings.push_back(
        "model \"linear_attention_moments\": with A = V = identity C = S + m m^T obeys "
        "C' = 2 C^2 and blows up at t = 1/(2 lambda_max(C0)); a negative definite V (e.g. "
        "V = -identity as an array) makes it contract");
  r.pairs_per_rhs = double(d) * double(d);
  r.build = [=](const BuildContext& c) {
    const Index dd = c.shape.d;
    return std::make_unique<LinearAttentionMomentsModel>(c.shape, spec.score(dd, c.seed),
                                                         spec.value(dd, c.seed), m0, S0);
  };
  return r;
}

ModelDoc linear_attention_moments_doc() {
  ModelDoc d;
  d.description =
      "m' = L m, S' = L S + S L^T, L = V (S + m m^T) A^T: the closed ODE of the mean m and the "
      "1/N covariance S of linear_attention tokens on R^d (exact for every N). State: "
      "tokens.n = d + 1 rows of tokens.d = d numbers, row 0 = m, rows 1..d = S, set from `mean` "
      "and `covariance` at t0.";
  d.source = "SympFormer (Stein, Li, Steidl, arXiv 2603.16535) section 2.3; docs/mean_field.md 7.1";
  d.keys = linear_attention_key_docs(d.source);
  d.keys.push_back({"mean", "array", "(zero vector)", "d numbers", "m(t0), the tokens' mean",
                    d.source});
  d.keys.push_back({"covariance", "matrix", "(identity)", "d x d, symmetric positive semidefinite",
                    "S(t0), the tokens' 1/N covariance", d.source});
  d.observables = {
      {"energy", "-(1/2) tr(V (S + m m^T)): the linear_attention model's energy", ""},
      {"cov_trace", "tr S", ""},
  };
  // (the defaults A = V = identity, m = 0, S = I give C' = 2 C^2, which blows up at t = 1/2)
  d.context = {"tokens.n = 4", "tokens.d = 3", "integrator.t_end = 0.2"};
  d.notes = {"tokens.n must be tokens.d + 1 and tokens.space \"euclidean\"; [tokens] init is "
             "overwritten with mean and covariance.",
             "With the defaults (A = V = identity, mean 0, covariance I) C = S + m m^T obeys "
             "C' = 2 C^2 and blows up at t = 1/2; V = -identity (as an array) contracts.",
             "The particle counterpart is linear_attention with its observable moment_residual "
             "(scenarios/linear_attention_moments.toml)."};
  return d;
}

const bool registered = ModelRegistry::add(
    {"linear_attention_moments",
     "closed moment ODE (mean, covariance) of linear self-attention on R^d",
     &read_linear_attention_moments, linear_attention_moments_doc()});

}  // namespace
}  // namespace attnflow
