// Linear self-attention flow (SympFormer section 2.3):
//
//   x_i' = (1/N) sum_j (x_i^T A x_j) V x_j  =  V C A^T x_i,   C = (1/N) sum_j x_j x_j^T
//
// computed in O(N d^2) through the second moment C (no pair loop). With A, V symmetric it is the
// Stein variational gradient flow of W(x) = -x^T V x / 2 with the bilinear kernel x^T A y.
// A defaults to beta Q^T K. Finite-time blow-up is possible (N = d = 1, A = V = 1: x' = x^3,
// x(t) = x0 / sqrt(1 - 2 x0^2 t)).
//
// Observable "energy": E_lin = (1/N) sum_i W(x_i) = -(1/2N) sum_i x_i^T V x_i.
//
// Observable "moment_residual": on R^d every token moves by the same linear map x_i' = L x_i,
// L = V (S + m m^T) A^T, so the empirical mean m and the 1/N covariance S obey the closed ODE
//   m' = L m,   S' = L S + S L^T          (mean_field::linear_attention_moments_rhs; exact for
// every N, docs/mean_field.md 7.1). The model integrates it on its own from the particles' moments
// at the first observed frame (t0), with RK4 steps of at most kMomentStep = 1e-3 that land exactly
// on every frame time, and returns
//   max(|m_particles - m_ode|_max, |S_particles - S_ode|_max) / max(1, |S_ode|_max)
// (entrywise max norms): the particle integrator's error against the closed moment ODE. The ODE's
// state depends only on the first frame and the frame times, so a resumed run replays the stored
// frames (keeps_time_averages(), observe_frame()): it restarts the ODE from the stored frame 0,
// not from the resumed state, and continues bit for bit. On the sphere the projection is
// nonlinear per token and the closure fails: the observable is offered there too and is O(1)
// (the natural broken variant of a moment claim).
#include "sim/models/linear_attention.hpp"

#include <algorithm>
#include <cmath>

#include "sim/core/registry.hpp"
#include "sim/kernels/mean_field_odes.hpp"
#include "sim/models/read_attention.hpp"

namespace attnflow {
namespace {

constexpr double kMomentStep = 1e-3;  // largest RK4 step of the moment ODE

class LinearAttentionModel : public Flow {
 public:
  LinearAttentionModel(Shape shape, Space space, RowMat A, RowMat V, bool moments)
      : Flow(shape, space), A_(std::move(A)), V_(std::move(V)), moments_(moments) {}
  std::string kind() const override { return "linear_attention"; }
  void rhs(double, ConstStateView s, StateView ds) override {
    // Distributed (comm_): C is the sum of the ranks' d x d parts (one Allgather of d^2 values).
    const auto x = s.x();
    const double n = static_cast<double>(n_total());
    RowMat c = (x.transpose() * x) / n;
    if (comm_) comm_->sum(c.data(), static_cast<int>(c.size()));
    const RowMat l = V_ * c * A_.transpose();  // x_i' = L x_i
    auto dx = ds.x();
    dx.noalias() = x * l.transpose();
    if (space_ == Space::Sphere) project_tangent(x, dx);
  }
  bool keeps_time_averages() const override { return moments_; }
  void observe_frame(double t, ConstStateView s) override {
    if (moments_) follow_moments(t, s);
  }
  double observable(const std::string& name, double t, ConstStateView s) override {
    const auto x = s.x();
    if (name == "energy")
      return -0.5 * (x * V_).cwiseProduct(x).sum() / static_cast<double>(x.rows());
    if (name == "moment_residual") {
      follow_moments(t, s);
      const mean_field::Moments p = mean_field::empirical_moments(RowMat(x));
      const Index d = A_.rows();
      const CMatMap S(ode_.data() + d, d, d);
      const double dm = (p.mean - ode_.head(d)).cwiseAbs().maxCoeff();
      const double dS = (p.cov - S).cwiseAbs().maxCoeff();
      return std::max(dm, dS) / std::max(1.0, S.cwiseAbs().maxCoeff());
    }
    return Model::observable(name, t, s);
  }

 private:
  // The moment ODE's state ode_ = [m; S row-major] at time ode_t_: started from the particles at
  // the first call, then advanced to t (never backwards) in equal RK4 steps <= kMomentStep.
  void follow_moments(double t, ConstStateView s) {
    const Index d = A_.rows();
    if (!started_) {
      const mean_field::Moments p = mean_field::empirical_moments(RowMat(s.x()));
      ode_.resize(d + d * d);
      ode_.head(d) = p.mean;
      MatMap(ode_.data() + d, d, d) = p.cov;
      ode_t_ = t;
      started_ = true;
      return;
    }
    if (t == ode_t_) return;
    if (t < ode_t_)
      throw Error("linear_attention: moment_residual asked at t = " + std::to_string(t) +
                  " after t = " + std::to_string(ode_t_) + " (frames must come in time order)");
    const double span = t - ode_t_;
    const auto steps = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(span / kMomentStep - 1e-9)));
    const double h = span / static_cast<double>(steps);
    const Index m = ode_.size();
    Vec k1(m), k2(m), k3(m), k4(m), w(m);
    auto f = [&](const Vec& u, Vec& du) {
      mean_field::linear_attention_moments_rhs(A_, V_, u.data(), du.data());
    };
    for (std::int64_t k = 0; k < steps; ++k) {
      f(ode_, k1);
      w = ode_ + (0.5 * h) * k1;
      f(w, k2);
      w = ode_ + (0.5 * h) * k2;
      f(w, k3);
      w = ode_ + h * k3;
      f(w, k4);
      ode_ += (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4);
    }
    ode_t_ = t;
  }

  RowMat A_, V_;
  bool moments_;
  bool started_ = false;
  Vec ode_;
  double ode_t_ = 0;
};

}  // namespace

std::unique_ptr<Flow> make_linear_attention(Shape shape, Space space, RowMat A, RowMat V,
                                            bool moments) {
  return std::make_unique<LinearAttentionModel>(shape, space, std::move(A), std::move(V), moments);
}

RowMat LinearAttentionSpec::score(Index d, std::uint64_t seed) const {
  return has_a ? A.resolve(d, seed) : RowMat(beta * Q.resolve(d, seed).transpose() * K.resolve(d, seed));
}
RowMat LinearAttentionSpec::value(Index d, std::uint64_t seed) const { return V.resolve(d, seed); }
bool LinearAttentionSpec::explicit_matrices() const {
  auto given = [](const MatrixParam& p) { return p.kind == MatrixParam::Kind::Explicit; };
  return given(V) && (has_a ? given(A) : given(Q) && given(K));
}

LinearAttentionSpec read_linear_attention_spec(Section& m, Index d) {
  LinearAttentionSpec s;
  s.has_a = m.has("A");
  if (s.has_a) {
    s.A = read_matrix_param(m, "A", d);
    if (m.has("Q") || m.has("K"))
      m.fail("A", "and Q/K are alternatives (A = beta Q^T K); give one or the other");
  } else {
    s.beta = read_beta(m);
    s.Q = read_matrix_param(m, "Q", d);
    s.K = read_matrix_param(m, "K", d);
  }
  s.V = read_matrix_param(m, "V", d);
  return s;
}

std::vector<KeyDoc> linear_attention_key_docs(const std::string& src) {
  return {
      matrix_key_doc("A", "score matrix; alternative to Q and K", src, "", "(beta Q^T K)"),
      {"beta", "number", "1.0", ">= 0", "A = beta Q^T K (with Q, K: alternatives to A)", src},
      matrix_key_doc("Q", "A = beta Q^T K (alternative to A)", src),
      matrix_key_doc("K", "A = beta Q^T K (alternative to A)", src),
      matrix_key_doc("V", "value matrix", src),
  };
}

namespace {

ModelRecipe read_linear_attention(Section& m, const TokensSpec& tokens) {
  const Index d = tokens.d;
  const LinearAttentionSpec spec = read_linear_attention_spec(m, d);
  ModelRecipe r;
  r.observables = {"energy", "moment_residual"};
  if (tokens.space == Space::Euclidean && !spec.explicit_matrices())
    r.warnings.push_back(
        "model \"linear_attention\" on R^d: x_i' = V C A^T x_i with C = (1/N) sum_j x_j x_j^T "
        "grows with the tokens; with A = V = identity C(t) = C0 (I - 2 C0 t)^-1 blows up at "
        "t = 1/(2 lambda_max(C0)) (~0.4 for standard Gaussian tokens; x' = x^3 for N = d = 1). "
        "Set tokens.space = \"sphere\", a negative definite V (e.g. V = -identity as an array: "
        "the tokens contract), or t_end before the blow-up");
  r.pairs_per_rhs = double(tokens.n) * double(d);  // O(N d^2) through the second moment
  r.not_distributed = "";  // the second moment summed over the ranks
  r.build = [=](const BuildContext& c) {
    const Index dd = c.shape.d;
    const bool moments = std::find(c.observables.begin(), c.observables.end(), "moment_residual") !=
                         c.observables.end();
    return make_linear_attention(c.shape, c.space, spec.score(dd, c.seed), spec.value(dd, c.seed),
                                 moments);
  };
  return r;
}

ModelDoc linear_attention_doc() {
  ModelDoc d;
  d.description =
      "x_i' = (1/N) sum_j (x_i^T A x_j) V x_j = V C A^T x_i, C = (1/N) sum_j x_j x_j^T, in "
      "O(N d^2) (no pair loop); on the sphere projected. With A, V symmetric it is the Stein "
      "variational gradient flow of W(x) = -x^T V x / 2 with the bilinear kernel x^T A y.";
  d.source = "SympFormer (Stein, Li, Steidl, arXiv 2603.16535) section 2.3";
  d.keys = linear_attention_key_docs(d.source);
  d.observables = {
      {"energy", "E_lin = (1/N) sum_i W(x_i) = -(1/2N) sum_i x_i^T V x_i", ""},
      {"moment_residual",
       "max(|m - m_ode|_max, |S - S_ode|_max) / max(1, |S_ode|_max): the particles' mean m and 1/N "
       "covariance S against the closed moment ODE m' = L m, S' = L S + S L^T, L = V (S + m m^T) "
       "A^T, integrated by the model (RK4, steps <= 1e-3 landing on the frames) from the "
       "particles' moments at the first frame (docs/mean_field.md 7.1). Exact for every N on "
       "R^d (the residual is the integrators' error); on the sphere the closure fails and it is "
       "O(1). A resumed run replays the stored frames, so the ODE restarts from frame 0", ""},
  };
  d.context = {"tokens.space = \"sphere\"", "tokens.d = 3"};
  d.notes = {"On R^d the defaults blow up in finite time (validate warns): x' = x^3 for "
             "N = d = 1, A = V = 1.",
             "The moment ODE alone is the model linear_attention_moments."};
  return d;
}

const bool registered = ModelRegistry::add(
    {"linear_attention", "linear self-attention flow (SVGD with a bilinear kernel)",
     &read_linear_attention, linear_attention_doc()});

}  // namespace
}  // namespace attnflow
