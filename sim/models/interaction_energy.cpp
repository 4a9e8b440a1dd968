// Wasserstein gradient flow of an interaction energy plus an external potential
// (research/sympformer.md 2.2, 7.3; SympFormer arXiv 2603.16535). State x: N x d.
//
//   E(rho_N) = 1/(2N^2) sum_ij W(x_i, x_j) + (1/N) sum_i U(x_i)
//   mobility = "wasserstein":  x_i' = -N grad_i E = -(1/N) sum_j grad_1 W(x_i, x_j) - grad U(x_i)
//   mobility = "softmax":      x_i' = -(N / z_i) B (N grad_i E),  z_i = sum_j exp(x_i^T A x_j)
//                              (the Z-reweighted metric in which softmax attention is a gradient
//                              flow, sympformer.md 2.2; with U quadratic this is E021's
//                              gradient-flow baseline x_i' = -(N/z_i) B H x_i)
//
//   interaction = "none" | "quadratic" W = (strength/2)|x - y|^2 (O(N d), via the mean)
//               | "gaussian"  W = strength exp(-|x - y|^2 / (2 sigma^2)) (strength > 0 repels),
//                 streamed through the shared pair kernel with a key bias (no N x N matrix)
//   potential   = "none" | "quadratic" U = x^T H x / 2 (potential_matrix = H, symmetric)
// Observable "energy" = E(rho_N).
#include <cmath>

#include "sim/kernels/kernel_attention.hpp"
#include "sim/config/matrix_param.hpp"
#include "sim/config/section.hpp"
#include "sim/core/registry.hpp"
#include "sim/models/interaction_energy.hpp"
#include "sim/models/second_order.hpp"

namespace attnflow {
namespace {

class InteractionEnergy : public Flow {
 public:
  InteractionEnergy(Shape shape, Space space, InteractionParams p)
      : Flow(shape, space), p_(std::move(p)) {}
  std::string kind() const override { return "interaction_energy"; }
  int oracle_calls_per_rhs() const override {
    return (p_.interaction == "gaussian" ? 1 : 0) + (p_.softmax_mobility ? 1 : 0);
  }

  // grad_i = N dE/dx_i (rows), i.e. (1/N) sum_j grad_1 W(x_i, x_j) + grad U(x_i).
  void gradient(CMatMap x, RowMat& g) {
    const Index n = x.rows();
    const double dn = static_cast<double>(n);
    g = RowMat::Zero(n, x.cols());
    if (p_.interaction == "quadratic") {
      const Eigen::RowVectorXd mean = x.colwise().sum() / dn;
      g = p_.strength * (x.rowwise() - mean);
    } else if (p_.interaction == "gaussian") {
      gaussian_sums(x);
      const double s2 = p_.sigma * p_.sigma;
      // grad_1 W = -strength k (x_i - x_j) / sigma^2; sum_j k_ij (x_i - x_j) = S_i (x_i - out_i)
      for (Index i = 0; i < n; ++i)
        g.row(i) = -p_.strength / (dn * s2) * ksum_[i] * (x.row(i) - out_.row(i));
    }
    if (p_.potential == "quadratic") g.noalias() += x * p_.H;
  }

  void rhs(double, ConstStateView s, StateView ds) override {
    const auto x = s.x();
    gradient(x, g_);
    auto dx = ds.x();
    if (p_.softmax_mobility) {
      const double dn = static_cast<double>(x.rows());
      parallel_product(ax_, x, p_.A);
      xk_ = x;
      stream_attention({&ax_, &xk_, nullptr, nullptr, Normalization::Softmax}, nullptr, &logz_);
      dx.noalias() = -(g_ * p_.B);
      for (Index i = 0; i < x.rows(); ++i) dx.row(i) *= dn / std::exp(logz_[i]);
    } else {
      dx = -g_;
    }
    if (space_ == Space::Sphere) project_tangent(x, dx);
  }

  double observable(const std::string& name, double t, ConstStateView s) override {
    if (name != "energy") return Model::observable(name, t, s);
    const auto x = s.x();
    const Index n = x.rows();
    const double dn = static_cast<double>(n);
    double e = 0;
    if (p_.interaction == "quadratic") {
      // 1/(2N^2) sum_ij (a/2)|x_i - x_j|^2 = (a/2) (1/N) sum_i |x_i - mean|^2
      const Eigen::RowVectorXd mean = x.colwise().sum() / dn;
      e += 0.5 * p_.strength * (x.rowwise() - mean).squaredNorm() / dn;
    } else if (p_.interaction == "gaussian") {
      gaussian_sums(x);
      e += p_.strength * ksum_.sum() / (2 * dn * dn);
    }
    if (p_.potential == "quadratic") e += 0.5 * (x * p_.H).cwiseProduct(x).sum() / dn;
    return e;
  }

 private:
  // ksum_i = sum_j exp(-|x_i - x_j|^2 / (2 sigma^2)), out_i = weighted mean of x_j.
  void gaussian_sums(CMatMap x) {
    const double s2 = p_.sigma * p_.sigma;
    q_ = x / s2;
    xk_ = x;
    bias_ = -x.rowwise().squaredNorm() / (2 * s2);
    stream_attention({&q_, &xk_, &xk_, &bias_, Normalization::Softmax}, &out_, &logz_);
    ksum_.resize(x.rows());
    for (Index i = 0; i < x.rows(); ++i) ksum_[i] = std::exp(logz_[i] + bias_[i]);
  }
  InteractionParams p_;
  RowMat g_, ax_, xk_, q_, out_;
  Vec logz_, bias_, ksum_;
};

}  // namespace

std::unique_ptr<Flow> make_interaction_energy(Shape shape, Space space, InteractionParams p) {
  return std::make_unique<InteractionEnergy>(shape, space, std::move(p));
}

namespace {

ModelRecipe read_interaction_energy(Section& m, const TokensSpec& tokens) {
  const Index d = tokens.d;
  InteractionParams p;
  p.interaction = m.choice("interaction", {"none", "quadratic", "gaussian"}, "quadratic");
  if (p.interaction != "none") p.strength = m.real("strength", 1.0);
  if (p.interaction == "gaussian") p.sigma = m.positive("sigma", 1.0);
  p.potential = m.choice("potential", {"none", "quadratic"}, "none");
  MatrixParam H, A, B;
  if (p.potential == "quadratic") H = read_matrix_param(m, "potential_matrix", d);
  p.softmax_mobility = m.choice("mobility", {"wasserstein", "softmax"}, "wasserstein") == "softmax";
  if (p.softmax_mobility) {
    A = read_matrix_param(m, "A", d);
    B = read_matrix_param(m, "B", d);
  }
  const std::string wh = m.where("potential_matrix").str(), wa = m.where("A").str(),
                    wb = m.where("B").str();
  ModelRecipe r;
  r.observables = {"energy"};
  r.pairs_per_rhs = double(tokens.n) * double(tokens.n) *
                    ((p.interaction == "gaussian" ? 1 : 0) + (p.softmax_mobility ? 1 : 0));
  r.build = [=](const BuildContext& c) {
    InteractionParams q = p;
    const Index dd = c.shape.d;
    if (q.potential == "quadratic") {
      q.H = H.resolve(dd, c.seed);
      if (!is_symmetric(q.H)) throw ConfigError(wh + ": model.potential_matrix must be symmetric");
    }
    if (q.softmax_mobility) {
      q.A = A.resolve(dd, c.seed);
      q.B = B.resolve(dd, c.seed);
      if (!is_symmetric(q.A)) throw ConfigError(wa + ": model.A must be symmetric");
      if (!is_spd(q.B)) throw ConfigError(wb + ": model.B must be symmetric positive definite");
    }
    return make_interaction_energy(c.shape, c.space, std::move(q));
  };
  return r;
}

ModelDoc interaction_energy_doc() {
  ModelDoc d;
  d.description =
      "E = 1/(2N^2) sum_ij W(x_i, x_j) + (1/N) sum_i U(x_i); wasserstein: x_i' = -N grad_i E; "
      "softmax: x_i' = -(N / z_i) B (N grad_i E), z_i = sum_j exp(x_i^T A x_j) (the metric in "
      "which softmax attention is a gradient flow). W quadratic (strength/2)|x - y|^2 (O(N d)) or "
      "gaussian strength exp(-|x - y|^2 / (2 sigma^2)) (streamed); U = x^T H x / 2.";
  d.source = "SympFormer (Stein, Li, Steidl, arXiv 2603.16535) section 2.2; E021 gradient-flow "
             "baseline";
  const std::string src = d.source;
  d.keys = {
      {"interaction", "choice", "\"quadratic\"", "\"none\" | \"quadratic\" | \"gaussian\"", "W", src},
      {"strength", "number", "1.0", "any (gaussian: > 0 repels)", "scale of W", src,
       "interaction is not \"none\""},
      {"sigma", "number", "1.0", "> 0", "width of the gaussian W", src, "interaction = \"gaussian\""},
      {"potential", "choice", "\"none\"", "\"none\" | \"quadratic\"", "U", src},
      matrix_key_doc("potential_matrix", "H of U = x^T H x / 2, symmetric", src,
                     "potential = \"quadratic\""),
      {"mobility", "choice", "\"wasserstein\"", "\"wasserstein\" | \"softmax\"", "the metric", src},
      matrix_key_doc("A", "score matrix of the softmax metric, symmetric", src, "mobility = \"softmax\""),
      matrix_key_doc("B", "mobility of the softmax metric, SPD", src, "mobility = \"softmax\""),
  };
  d.observables = {{"energy", "E(rho_N) (non-increasing)", ""}};
  d.context = {"tokens.d = 3"};
  return d;
}

const bool registered = ModelRegistry::add(
    {"interaction_energy",
     "Wasserstein (or softmax-metric) gradient flow of an interaction energy + external potential",
     &read_interaction_energy, interaction_energy_doc()});

}  // namespace
}  // namespace attnflow
