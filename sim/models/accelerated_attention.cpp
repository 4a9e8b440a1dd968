// Accelerated (Hamiltonian momentum) softmax attention: SympFormer's particle system
// (Stein, Li, Steidl, arXiv 2603.16535, "eq:acc_softmax_particles"; research/sympformer.md 3.3,
// 4.1, 7.3 E021). State x, y: N x d. A = A^T (score x_i^T A x_j), B = V A^-1 SPD (mobility).
//
//   M_ij = exp(x_i^T A x_j),  z_i = sum_j M_ij,  s_i = y_i^T B y_i / z_i^2
//   x_i' = N B y_i / z_i
//   y_i' = -alpha(t) y_i + (N/2) sum_j M_ij (s_i + s_j + kappa) A x_j   [- Hpot x_i]
//
//   convention = "density" (a, default): kappa = 2/N^2,
//       H_N = 1/2 sum_i y_i^T B y_i / z_i - 1/(2N^2) sum_ij M_ij,  x' = N dH/dy, y' = -N dH/dx - alpha y
//   convention = "v1" (b, the authors' code): kappa = 2,
//       H = N/2 sum_i y_i^T B y_i / z_i - N/2 sum_ij M_ij,        x' = dH/dy,   y' = -dH/dx - alpha y
//   (b)(t) = (a)(N t) with y_b = N y_a, alpha_a = alpha_b / N.
//   potential = "quadratic" (E021 convex positive control, sympformer.md 7.3) replaces the
//   attention energy by U = 1/(2N) sum x_i^T Hpot x_i (a) or 1/2 sum x_i^T Hpot x_i (b):
//   kappa = 0 and the force gains -Hpot x_i.
// Zero-momentum identity: at y = 0, x'' = Gamma(x) (softmax attention with V = B A) in (a),
// N^2 Gamma(x) in (b).
//
// Memory O(N d): the RHS is two streaming passes of the shared online-softmax kernel
// (sim/kernel_attention.hpp), no N x N matrix:
//   pass 1: q = XA, k = X, v = XA        -> P1_i = sum_j M_ij A x_j / z_i, log z_i
//   pass 2: q = XA, k = X, v = s_j A x_j -> P2_i = sum_j M_ij s_j A x_j / z_i  (skipped if y = 0)
//   G_i = (N/2) z_i ((s_i + kappa) P1_i + P2_i).
// Scores are not shifted: z_i = exp(log z_i) is the exact unshifted row sum (keep |x^T A y|
// below ~700). Observables: energy (potential part), hamiltonian, kinetic_energy, oracle_calls,
// zero_momentum_residual (the identity above checked at the current x against a classical
// attention pass; attention potential only), zero_momentum_gain (<x''(0), Gamma> / |Gamma|^2:
// 1 in (a), N^2 in (b)).
#include <cmath>

#include "sim/kernels/ring_attention.hpp"
#include "sim/config/matrix_param.hpp"
#include "sim/config/section.hpp"
#include "sim/core/registry.hpp"
#include "sim/models/accelerated_attention.hpp"

namespace attnflow {
namespace {

class AcceleratedAttention : public HamiltonianModel {
 public:
  AcceleratedAttention(Shape shape, Space space, AccAttentionParams p)
      : HamiltonianModel(shape, space, p.damping), p_(std::move(p)) {}
  std::string kind() const override { return "accelerated_attention"; }

  double symplectic_scale() const override { return p_.v1 ? 1.0 : static_cast<double>(n_total()); }

  // Distributed (comm_): x, y, F, G are this rank's rows; both passes go round the ring.
  void oracle(double, CMatMap x, CMatMap y, RowMat& F, RowMat& G) override {
    const Index n = x.rows();
    const double dn = static_cast<double>(n_total());
    parallel_product(ax_, x, p_.A);  // row i = (A x_i)^T (A symmetric)
    xk_ = x;
    stream_attention({&ax_, &xk_, &ax_, nullptr, Normalization::Softmax}, &p1_, &logz_, comm_);
    z_ = logz_.array().exp();
    velocity(y, F);
    // s_i = y_i^T B y_i / z_i^2
    s_.resize(n);
    for (Index i = 0; i < n; ++i) s_[i] = y.row(i).dot(by_.row(i)) / (z_[i] * z_[i]);
    const double kappa = p_.quadratic ? 0.0 : (p_.v1 ? 2.0 : 2.0 / (dn * dn));
    G.resize(n, x.cols());
    bool any_s = (s_.array() != 0).any();
    if (comm_) any_s = comm_->max(any_s) != 0;  // pass 2 on every rank or on none
    if (any_s) {
      v2_ = ax_.array().colwise() * s_.array();
      stream_attention({&ax_, &xk_, &v2_, nullptr, Normalization::Softmax}, &p2_, nullptr, comm_);
    }
    for (Index i = 0; i < n; ++i) {
      G.row(i) = (s_[i] + kappa) * p1_.row(i);
      if (any_s) G.row(i) += p2_.row(i);
      G.row(i) *= 0.5 * dn * z_[i];
    }
    if (p_.quadratic) G.noalias() -= x * p_.Hpot;  // Hpot symmetric
  }

  int velocity(CMatMap y, RowMat& F) override {
    const double dn = static_cast<double>(n_total());
    by_.noalias() = y * p_.B;  // row i = (B y_i)^T
    F = by_;
    for (Index i = 0; i < F.rows(); ++i) F.row(i) *= dn / z_[i];
    return 0;
  }

  double kinetic_energy(ConstStateView s) override {
    update_z(s.x());
    const auto y = s.y();
    const RowMat by = y * p_.B;
    double k = 0;
    for (Index i = 0; i < y.rows(); ++i) k += y.row(i).dot(by.row(i)) / z_[i];
    return (p_.v1 ? static_cast<double>(y.rows()) : 1.0) * 0.5 * k;
  }
  double potential_energy(ConstStateView s) override {
    const auto x = s.x();
    const double dn = static_cast<double>(x.rows());
    if (p_.quadratic) {
      const double q = 0.5 * (x * p_.Hpot).cwiseProduct(x).sum();
      return p_.v1 ? q : q / dn;
    }
    update_z(x);
    const double sum = z_.sum();
    return p_.v1 ? -0.5 * dn * sum : -sum / (2 * dn * dn);
  }
  double hamiltonian(ConstStateView s) override { return kinetic_energy(s) + potential_energy(s); }

  double observable(const std::string& name, double t, ConstStateView s) override {
    if (name != "zero_momentum_residual" && name != "zero_momentum_gain")
      return HamiltonianModel::observable(name, t, s);
    if (p_.quadratic) return Model::observable(name, t, s);
    // At the current x with y = 0: x''(0) = F(x, G(x, 0)) and Gamma = softmax attention with
    // V = B A. zero_momentum_residual = max |x''(0) - k Gamma| / max |k Gamma| with the model's
    // own k (1 in (a), N^2 in (b)); zero_momentum_gain = <x''(0), Gamma> / <Gamma, Gamma>, the
    // factor itself, which a claim compares with the convention's number.
    const auto x = s.x();
    const Index n = x.rows(), d = x.cols();
    const RowMat zero = RowMat::Zero(n, d);
    RowMat F, G, acc, gamma;
    oracle(t, x, cmap(zero), F, G);
    velocity(cmap(G), acc);
    const RowMat vx = x * (p_.B * p_.A).transpose();
    stream_attention({&ax_, &xk_, &vx, nullptr, Normalization::Softmax}, &gamma, nullptr);
    if (name == "zero_momentum_gain") return acc.cwiseProduct(gamma).sum() / gamma.squaredNorm();
    if (p_.v1) gamma *= static_cast<double>(n) * static_cast<double>(n);
    return (acc - gamma).cwiseAbs().maxCoeff() / gamma.cwiseAbs().maxCoeff();
  }

 private:
  void update_z(CMatMap x) {
    parallel_product(ax_, x, p_.A);
    xk_ = x;
    stream_attention({&ax_, &xk_, nullptr, nullptr, Normalization::Softmax}, nullptr, &logz_);
    z_ = logz_.array().exp();
  }
  AccAttentionParams p_;
  RowMat ax_, xk_, p1_, p2_, v2_, by_;
  Vec logz_, z_, s_;
};

}  // namespace

std::unique_ptr<Flow> make_accelerated_attention(Shape shape, Space space, AccAttentionParams p) {
  return std::make_unique<AcceleratedAttention>(shape, space, std::move(p));
}

namespace {

ModelRecipe read_accelerated_attention(Section& m, const TokensSpec& tokens) {
  if (tokens.space != Space::Euclidean)
    m.fail("kind", "accelerated_attention lives in R^d: set tokens.space = \"euclidean\"");
  const Index d = tokens.d;
  AccAttentionParams p;
  p.v1 = m.choice("convention", {"density", "v1"}, "density") == "v1";
  p.quadratic = m.choice("potential", {"attention", "quadratic"}, "attention") == "quadratic";
  p.damping = read_damping(m, "nesterov");
  const MatrixParam A = read_matrix_param(m, "A", d);
  const bool has_v = m.has("V"), has_b = m.has("B");
  MatrixParam B, V;
  if (has_b) B = read_matrix_param(m, "B", d);
  if (has_v) V = read_matrix_param(m, "V", d);
  MatrixParam H;
  if (p.quadratic) H = read_matrix_param(m, "potential_matrix", d);
  const std::string wa = m.where("A").str(), wb = m.where("B").str(), wv = m.where("V").str(),
                    wh = m.where("potential_matrix").str();
  ModelRecipe r = hamiltonian_recipe(p.damping, tokens, 2);
  r.not_distributed = "";  // both passes round the ring
  if (!p.quadratic && A.kind != MatrixParam::Kind::Explicit)
    r.warnings.push_back(
        "model \"accelerated_attention\" with A = \"" + std::string(A.is_identity() ? "identity" : "random") +
        "\": the attention potential -1/(2N^2) sum_ij exp(x_i^T A x_j) is unbounded below, so "
        "the tokens escape and exp overflows (with the defaults A = B = identity, 64 standard Gaussian "
        "tokens reach NaN at t ~ 8 from t0 = 1). "
        "Set a smaller A as an array (e.g. 0.2 I, as scenarios/e021_*.toml), potential = "
        "\"quadratic\" with a potential_matrix, more damping, or a shorter t_end");
  for (const char* q : {"zero_momentum_residual", "zero_momentum_gain"}) {
    if (!p.quadratic) r.observables.push_back(q);
    else r.unavailable.push_back({q, "needs potential = \"attention\""});
  }
  r.build = [=](const BuildContext& c) {
    AccAttentionParams q = p;
    const Index dd = c.shape.d;
    q.A = A.resolve(dd, c.seed);
    if (!is_symmetric(q.A))
      throw ConfigError(wa + ": model.A must be symmetric (A = A^T is needed for the Hamiltonian "
                             "structure; use the transformer/attention models otherwise)");
    if (has_v) {
      const RowMat v = V.resolve(dd, c.seed);
      Eigen::FullPivLU<RowMat> lu(q.A);
      if (!lu.isInvertible())
        throw ConfigError(wa + ": model.A must be invertible when V is given (B = V A^-1)");
      const RowMat b = v * lu.inverse();
      if (!is_spd(b))
        throw ConfigError(wv + ": B = V A^-1 must be symmetric positive definite (SympFormer's "
                               "geometry assumption, research/sympformer.md 1)");
      if (has_b) {
        const RowMat bb = B.resolve(dd, c.seed);
        if ((bb - b).cwiseAbs().maxCoeff() > 1e-10 * (1 + b.cwiseAbs().maxCoeff()))
          throw ConfigError(wb + ": model.B and model.V disagree: V must equal B A");
      }
      q.B = 0.5 * (b + b.transpose());
    } else {
      q.B = has_b ? B.resolve(dd, c.seed) : RowMat::Identity(dd, dd);
      if (!is_spd(q.B))
        throw ConfigError(wb + ": model.B must be symmetric positive definite");
    }
    if (q.quadratic) {
      q.Hpot = H.resolve(dd, c.seed);
      if (!is_symmetric(q.Hpot))
        throw ConfigError(wh + ": model.potential_matrix must be symmetric");
    }
    return make_accelerated_attention(c.shape, c.space, std::move(q));
  };
  return r;
}

ModelDoc accelerated_attention_doc() {
  ModelDoc d;
  d.description =
      "Second order (state x, y): M_ij = exp(x_i^T A x_j), z_i = sum_j M_ij, s_i = y_i^T B y_i / "
      "z_i^2; x_i' = N B y_i / z_i, y_i' = -alpha(t) y_i + (N/2) sum_j M_ij (s_i + s_j + kappa) A "
      "x_j [- Hpot x_i]; kappa = 2/N^2 (density) or 2 (v1). A = A^T, B = V A^-1 SPD. At y = 0, "
      "x'' is softmax attention with V = B A. Two streamed passes per RHS, O(N d) memory.";
  d.source = "SympFormer: Stein, Li, Steidl, arXiv 2603.16535, eq:acc_softmax_particles";
  const std::string src = d.source;
  d.keys = {
      {"convention", "choice", "\"density\"", "\"density\" | \"v1\"",
       "density: H_N of the empirical density, x' = N dH/dy (kappa = 2/N^2); v1: the authors' "
       "code, H scaled by N^2, x' = dH/dy (kappa = 2). v1 runs N times faster: (v1)(t) = "
       "(density)(N t), so dt must shrink N-fold (and alpha_density = alpha_v1 / N)", src},
      {"potential", "choice", "\"attention\"", "\"attention\" | \"quadratic\"",
       "the potential energy: attention -1/(2N^2) sum_ij M_ij, or quadratic U = 1/(2N) sum_i "
       "x_i^T Hpot x_i (E021's convex control; kappa = 0)", src},
  };
  for (auto& k : damping_key_docs("nesterov")) d.keys.push_back(k);
  d.keys.push_back(matrix_key_doc("A", "score matrix, symmetric (invertible when V is given)", src));
  d.keys.push_back(matrix_key_doc("B", "mobility, symmetric positive definite; alternative to V",
                                  src, "", "(identity, or V A^-1 when V is given)"));
  d.keys.push_back(matrix_key_doc("V", "value matrix: B = V A^-1 (given with B, they must agree)",
                                  src, "", "(B A)"));
  d.keys.push_back(matrix_key_doc("potential_matrix", "Hpot, symmetric", src,
                                  "potential = \"quadratic\""));
  d.observables = hamiltonian_observable_docs();
  d.observables.push_back({"zero_momentum_residual",
                           "|x''(0) - Gamma(x)| at the current x: the zero-momentum identity "
                           "checked against a classical attention pass",
                           "potential = \"attention\""});
  d.observables.push_back({"zero_momentum_gain",
                           "<x''(0), Gamma> / |Gamma|^2: 1 (density) or N^2 (v1)",
                           "potential = \"attention\""});
  d.context = {"tokens.d = 3", "integrator.t0 = 1.0", "integrator.t_end = 2.0"};
  d.notes = {"tokens.space must be \"euclidean\"; damping nesterov (3/t) needs integrator.t0 > 0 "
             "(SympFormer starts at t0 = 1).",
             "With the defaults A = B = identity the tokens escape (NaN within a few time units): validate warns "
             "and says what to set."};
  return d;
}

const bool registered = ModelRegistry::add(
    {"accelerated_attention",
     "SympFormer accelerated softmax attention (Hamiltonian momentum, damping c_log/t + c_lin)",
     &read_accelerated_attention, accelerated_attention_doc()});

}  // namespace
}  // namespace attnflow
