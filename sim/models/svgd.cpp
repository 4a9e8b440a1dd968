// Stein variational gradient descent toward a target pi = exp(-f) / Z, as a flow, and its
// accelerated (Hamiltonian momentum) variant (research/sympformer.md 2.3, 3.4, 5; SympFormer
// arXiv 2603.16535; Stein & Li accelerated SVGD arXiv 2509.04008). State x (svgd) or x, y
// (accelerated_svgd): N x d. g_j = grad log pi(x_j) = -grad f(x_j).
//
// svgd (KL, Liu & Wang):  x_i' = (1/N) sum_j [ k(x_j, x_i) g_j + grad_{x_j} k(x_j, x_i) ]
//   kernel = "rbf":      k = exp(-|x - y|^2 / h), h = bandwidth (a number) or "median":
//                        h = med^2 / log N over the pairwise distances of the first
//                        min(N, 512) particles (recomputed at every RHS);
//                        x_i' = (1/N) sum_j k_ij [g_j + (2/h)(x_i - x_j)]  (one streamed pass,
//                        key bias -|x_j|^2/h, no N x N matrix)
//   kernel = "bilinear": k = x^T A y + c;  x_i' = S A x_i + c mean(g) + A x_i,
//                        S = (1/N) sum_j g_j x_j^T  (O(N d^2))
//   For a Gaussian target N(mu, Sigma) and the bilinear kernel with c > 0, the only stationary
//   empirical law has mean mu and covariance Sigma (c = 0 fixes only Sigma + (m - mu) m^T).
//
// accelerated_svgd: the damped Hamiltonian flow in the Stein metric of the kernel,
//   H_N = 1/(2N^2) sum_ij k(x_i, x_j) y_i.y_j + (1/N) sum_i f(x_i) - 1/2 log det Sigma_hat
//   x_i' = N dH/dy_i = (1/N) sum_j k_ij y_j
//   y_i' = -N dH/dx_i - alpha y_i
//        = -(1/N) sum_j (y_i.y_j) grad_1 k(x_i, x_j) + g_i + Sigma_hat^-1 (x_i - m_hat) - alpha y_i
//   The entropy of rho is replaced by its Gaussian estimate -1/2 log det Sigma_hat (entropy =
//   "gaussian", default; "none" drops it: accelerated Stein flow of the potential energy, which
//   for the bilinear kernel and f = -x^T V x / 2 is accelerated linear attention). The rest
//   state has y = 0 and g_i = -Sigma_hat^-1 (x_i - m_hat): for a Gaussian target exactly
//   m_hat = mu, Sigma_hat = Sigma. The median bandwidth is frozen inside one RHS (not
//   differentiated); use a fixed bandwidth for exact Hamiltonian structure.
//
// Targets: "gaussian" (mean, cov), "gaussian_mixture" (means K x d, weights, sigma: isotropic
// components), "quadratic" (f = (x - center)^T P (x - center) / 2, potential_matrix = P SPD).
// Observables: energy (KL estimate up to a constant: (1/N) sum f - 1/2 log det Sigma_hat),
// mean_error |m_hat - mean(pi)|, cov_error |Sigma_hat - Cov(pi)|_F / |Cov(pi)|_F; accelerated
// also hamiltonian, kinetic_energy, oracle_calls.
#include <algorithm>
#include <cmath>

#include "sim/kernels/ring_attention.hpp"
#include "sim/config/matrix_param.hpp"
#include "sim/config/section.hpp"
#include "sim/core/registry.hpp"
#include "sim/models/svgd.hpp"

namespace attnflow {
namespace {

// Empirical mean and covariance (1/N normalisation).
void moments(CMatMap x, Vec& m, RowMat& c) {
  const double n = static_cast<double>(x.rows());
  m = x.colwise().sum().transpose() / n;
  const RowMat xc = x.rowwise() - m.transpose();
  c = xc.transpose() * xc / n;
}

double median_bandwidth(CMatMap x) {
  const Index m = std::min<Index>(x.rows(), 512);
  if (m < 2) return 1.0;
  std::vector<double> d2;
  d2.reserve(static_cast<std::size_t>(m * (m - 1) / 2));
  for (Index i = 0; i < m; ++i)
    for (Index j = i + 1; j < m; ++j) d2.push_back((x.row(i) - x.row(j)).squaredNorm());
  auto mid = d2.begin() + static_cast<std::ptrdiff_t>(d2.size() / 2);
  std::nth_element(d2.begin(), mid, d2.end());
  const double h = *mid / std::log(static_cast<double>(std::max<Index>(x.rows(), 3)));
  return h > 0 ? h : 1.0;
}

// Shared pieces of both models.
class SvgdCore {
 public:
  explicit SvgdCore(SvgdParams p) : p_(std::move(p)) {}

  double kl_estimate(CMatMap x) const {
    double s = 0;
    for (Index i = 0; i < x.rows(); ++i) s += p_.target.f(x.row(i));
    s /= static_cast<double>(x.rows());
    if (p_.gaussian_entropy) {
      Vec m; RowMat c;
      moments(x, m, c);
      Eigen::LLT<RowMat> llt(c);
      double logdet = 0;
      for (Index k = 0; k < c.rows(); ++k) logdet += 2 * std::log(llt.matrixL()(k, k));
      s -= 0.5 * logdet;
    }
    return s;
  }
  double moment_observable(const std::string& name, CMatMap x) const {
    Vec m; RowMat c;
    moments(x, m, c);
    if (name == "mean_error") return (m - p_.target.mean).norm();
    return (c - p_.target.cov).norm() / p_.target.cov.norm();
  }
  // rbf pass with values v: out_i = sum_j k_ij v_j / ksum_i; ksum_i = sum_j k_ij. Distributed
  // (comm): x, v are this rank's rows, the keys go round the ring, and the median bandwidth is
  // taken from the gathered first tokens as in a serial run (total: N).
  void rbf_pass(CMatMap x, const RowMat& v, RowMat& out, Vec& ksum, const Comm* comm = nullptr,
                Index total = 0) {
    if (p_.median && comm) {
      all_.resize(total, x.cols());
      comm->gather_rows(x.data(), x.cols(), all_.data(), total);
      h_ = median_bandwidth(CMatMap(all_.data(), all_.rows(), all_.cols()));
    } else {
      h_ = p_.median ? median_bandwidth(x) : p_.bandwidth;
    }
    q_ = (2.0 / h_) * x;
    xk_ = x;
    bias_ = -x.rowwise().squaredNorm() / h_;
    stream_attention({&q_, &xk_, &v, &bias_, Normalization::Softmax}, &out, &logz_, comm);
    ksum.resize(x.rows());
    for (Index i = 0; i < x.rows(); ++i) ksum[i] = std::exp(logz_[i] + bias_[i]);
  }

 protected:
  SvgdParams p_;
  double h_ = 1;
  RowMat q_, xk_, all_;
  Vec bias_, logz_;
};

class Svgd : public Flow, SvgdCore {
 public:
  Svgd(Shape shape, Space space, SvgdParams p) : Flow(shape, space), SvgdCore(std::move(p)) {}
  std::string kind() const override { return "svgd"; }
  int oracle_calls_per_rhs() const override { return 1; }
  void rhs(double, ConstStateView s, StateView ds) override {
    // Distributed (comm_): this rank's rows; the pairs go round the ring, the moments are summed.
    const auto x = s.x();
    const Index n = x.rows(), d = x.cols();
    const double dn = static_cast<double>(n_total());
    p_.target.grad_log(x, g_);
    auto dx = ds.x();
    if (p_.rbf) {
      v_.resize(n, 2 * d);
      v_.leftCols(d) = g_;
      v_.rightCols(d) = x;
      rbf_pass(x, v_, out_, ksum_, comm_, n_total());
      for (Index i = 0; i < n; ++i)
        dx.row(i) = ksum_[i] / dn *
                    (out_.row(i).head(d) + (2.0 / h_) * (x.row(i) - out_.row(i).tail(d)));
    } else {
      RowMat S = g_.transpose() * x / dn;
      Eigen::RowVectorXd gbar = g_.colwise().sum() / dn;
      if (comm_) {
        comm_->sum(S.data(), int(S.size()));
        comm_->sum(gbar.data(), int(gbar.size()));
      }
      dx.noalias() = x * (S * p_.A + p_.A).transpose();
      dx.rowwise() += p_.c * gbar;
    }
    if (space_ == Space::Sphere) project_tangent(x, dx);
  }
  double observable(const std::string& name, double t, ConstStateView s) override {
    if (name == "energy") return kl_estimate(s.x());
    if (name == "mean_error" || name == "cov_error") return moment_observable(name, s.x());
    return Model::observable(name, t, s);
  }

 private:
  RowMat g_, v_, out_;
  Vec ksum_;
};

class AcceleratedSvgd : public HamiltonianModel, SvgdCore {
 public:
  AcceleratedSvgd(Shape shape, Space space, SvgdParams p)
      : HamiltonianModel(shape, space, p.damping), SvgdCore(std::move(p)) {}
  std::string kind() const override { return "accelerated_svgd"; }
  double symplectic_scale() const override { return static_cast<double>(shape_.n); }

  void oracle(double, CMatMap x, CMatMap y, RowMat& F, RowMat& G) override {
    const Index n = x.rows(), d = x.cols();
    const double dn = static_cast<double>(n);
    xs_ = x;
    p_.target.grad_log(x, G);  // G = g
    if (p_.rbf) {
      // values [y_j, vec(x_j y_j^T)]
      v_.resize(n, d + d * d);
      v_.leftCols(d) = y;
      for (Index j = 0; j < n; ++j)
        for (Index a = 0; a < d; ++a)
          for (Index b = 0; b < d; ++b) v_(j, d + a * d + b) = x(j, a) * y(j, b);
      rbf_pass(x, v_, out_, ksum_);
      hf_ = h_;
      F.resize(n, d);
      for (Index i = 0; i < n; ++i) {
        const Eigen::RowVectorXd ybar = out_.row(i).head(d);
        F.row(i) = ksum_[i] / dn * ybar;
        // (2/(N h)) sum_j k_ij (y_i.y_j)(x_i - x_j) = (2/(N h)) S_i [x_i (y_i.ybar_i) - XY_i y_i]
        Eigen::RowVectorXd xy_y(d);
        for (Index a = 0; a < d; ++a) {
          double sacc = 0;
          for (Index b = 0; b < d; ++b) sacc += out_(i, d + a * d + b) * y(i, b);
          xy_y[a] = sacc;
        }
        G.row(i) += 2.0 / (dn * h_) * ksum_[i] * (x.row(i) * y.row(i).dot(ybar) - xy_y);
      }
    } else {
      velocity(y, F);
      G.noalias() -= y * S_ * p_.A;  // -(A S^T y_i)^T
    }
    if (p_.gaussian_entropy) {
      Vec m; RowMat c;
      moments(x, m, c);
      const RowMat cinv = c.inverse();
      G.noalias() += (x.rowwise() - m.transpose()) * cinv;  // cinv symmetric
    }
  }
  int velocity(CMatMap y, RowMat& F) override {
    const CMatMap x(xs_.data(), xs_.rows(), xs_.cols());
    const double dn = static_cast<double>(x.rows());
    if (p_.rbf) {
      // A new pair pass with the bandwidth of the last oracle call.
      const bool med = p_.median;
      const double bw = p_.bandwidth;
      p_.median = false;
      p_.bandwidth = hf_;
      RowMat yy = y;
      rbf_pass(x, yy, out_, ksum_);
      p_.median = med;
      p_.bandwidth = bw;
      F = out_;
      for (Index i = 0; i < F.rows(); ++i) F.row(i) *= ksum_[i] / dn;
      return 1;
    }
    S_.noalias() = y.transpose() * x / dn;
    F.noalias() = x * (S_ * p_.A).transpose();
    F.rowwise() += p_.c * (y.colwise().sum() / dn);
    return 0;
  }
  double kinetic_energy(ConstStateView s) override {
    const auto x = s.x();
    const auto y = s.y();
    const double dn = static_cast<double>(x.rows());
    if (p_.rbf) {
      RowMat yy = y;
      rbf_pass(x, yy, out_, ksum_);
      double k = 0;
      for (Index i = 0; i < x.rows(); ++i) k += ksum_[i] * y.row(i).dot(out_.row(i));
      return k / (2 * dn * dn);
    }
    const RowMat S = y.transpose() * x / dn;
    const Eigen::RowVectorXd ybar = y.colwise().sum() / dn;
    return 0.5 * (y * S).cwiseProduct(x * p_.A).sum() / dn + 0.5 * p_.c * ybar.squaredNorm();
  }
  double potential_energy(ConstStateView s) override { return kl_estimate(s.x()); }
  double hamiltonian(ConstStateView s) override { return kinetic_energy(s) + potential_energy(s); }
  double observable(const std::string& name, double t, ConstStateView s) override {
    if (name == "mean_error" || name == "cov_error") return moment_observable(name, s.x());
    return HamiltonianModel::observable(name, t, s);
  }

 private:
  RowMat xs_, v_, out_, S_;
  Vec ksum_;
  double hf_ = 1;
};

SvgdParams read_svgd_params(Section& m, const TokensSpec& tokens, bool accelerated,
                            std::string& where_a) {
  const Index d = tokens.d;
  SvgdParams p;
  Target& t = p.target;
  t.kind = m.choice("target", {"gaussian", "gaussian_mixture", "quadratic"}, "gaussian");
  if (t.kind == "gaussian") {
    t.mu = Vec::Zero(d);
    if (m.has("mean")) {
      auto v = m.reals("mean");
      if (static_cast<Index>(v.size()) != d) m.fail("mean", "must have tokens.d entries");
      t.mu = Eigen::Map<Vec>(v.data(), d);
    }
    t.cov = RowMat::Identity(d, d);
    if (m.has("cov")) {
      t.cov = m.matrix("cov");
      if (t.cov.rows() != d || t.cov.cols() != d) m.fail("cov", "must be d x d");
      if (!is_spd(t.cov)) m.fail("cov", "must be symmetric positive definite");
    }
    t.P = t.cov.inverse();
    t.mean = t.mu;
  } else if (t.kind == "quadratic") {
    const MatrixParam P = read_matrix_param(m, "potential_matrix", d);
    if (P.kind == MatrixParam::Kind::Random || P.kind == MatrixParam::Kind::RandomSpd)
      m.fail("potential_matrix", "must be \"identity\" or an explicit SPD matrix");
    t.P = P.resolve(d, 0);
    if (!is_spd(t.P)) m.fail("potential_matrix", "must be symmetric positive definite");
    t.mu = Vec::Zero(d);
    if (m.has("center")) {
      auto v = m.reals("center");
      if (static_cast<Index>(v.size()) != d) m.fail("center", "must have tokens.d entries");
      t.mu = Eigen::Map<Vec>(v.data(), d);
    }
    t.mean = t.mu;
    t.cov = t.P.inverse();
  } else {
    t.means = m.matrix("means");
    if (t.means.cols() != d || t.means.rows() < 1) m.fail("means", "must be K x d (K >= 1)");
    const Index k = t.means.rows();
    Vec w = Vec::Constant(k, 1.0 / static_cast<double>(k));
    if (m.has("weights")) {
      auto v = m.reals("weights");
      if (static_cast<Index>(v.size()) != k) m.fail("weights", "must have one entry per mean");
      w = Eigen::Map<Vec>(v.data(), k);
      if ((w.array() <= 0).any()) m.fail("weights", "must be > 0");
      w /= w.sum();
    }
    t.logw = w.array().log();
    t.sigma = m.positive("sigma", 1.0);
    t.mean = t.means.transpose() * w;
    const RowMat mc = t.means.rowwise() - t.mean.transpose();
    t.cov = t.sigma * t.sigma * RowMat::Identity(d, d) + mc.transpose() * w.asDiagonal() * mc;
  }
  p.rbf = m.choice("kernel", {"rbf", "bilinear"}, "rbf") == "rbf";
  if (p.rbf) {
    if (m.is_string("bandwidth")) {
      m.choice("bandwidth", {"median"});
      p.median = true;
    } else if (m.has("bandwidth")) {
      p.bandwidth = m.positive("bandwidth");
      p.median = false;
    } else {
      m.string("bandwidth", "median");
    }
  } else {
    const MatrixParam A = read_matrix_param(m, "A", d);
    p.A = A.resolve(d, 0);
    if (A.kind == MatrixParam::Kind::Random || A.kind == MatrixParam::Kind::RandomSpd)
      m.fail("A", "must be \"identity\" or an explicit symmetric PSD matrix");
    if (!is_symmetric(p.A)) m.fail("A", "must be symmetric (kernel x^T A y + c)");
    p.c = m.non_negative("c", 1.0);
  }
  if (accelerated) {
    p.gaussian_entropy = m.choice("entropy", {"gaussian", "none"}, "gaussian") == "gaussian";
    p.damping = read_damping(m, "constant");
  }
  if (tokens.space != Space::Euclidean) m.fail("kind", "svgd lives in R^d: tokens.space = \"euclidean\"");
  if (p.gaussian_entropy && tokens.n <= tokens.d)
    m.fail("kind", "needs tokens.n > tokens.d (Gaussian entropy estimate uses the covariance)");
  where_a = m.where().str();
  return p;
}

}  // namespace

std::unique_ptr<Flow> make_svgd(Shape shape, Space space, SvgdParams p) {
  return std::make_unique<Svgd>(shape, space, std::move(p));
}
std::unique_ptr<Flow> make_accelerated_svgd(Shape shape, Space space, SvgdParams p) {
  return std::make_unique<AcceleratedSvgd>(shape, space, std::move(p));
}

namespace {

ModelRecipe read_svgd(Section& m, const TokensSpec& tokens) {
  std::string w;
  SvgdParams p = read_svgd_params(m, tokens, false, w);
  ModelRecipe r;
  r.observables = {"energy", "mean_error", "cov_error"};
  r.pairs_per_rhs = p.rbf ? double(tokens.n) * double(tokens.n) : double(tokens.n) * double(tokens.d);
  r.not_distributed = "";  // the rbf pairs round the ring; the linear kernel's moments summed
  r.build = [p](const BuildContext& c) { return make_svgd(c.shape, c.space, p); };
  return r;
}

ModelRecipe read_accelerated_svgd(Section& m, const TokensSpec& tokens) {
  std::string w;
  SvgdParams p = read_svgd_params(m, tokens, true, w);
  ModelRecipe r = hamiltonian_recipe(p.damping, tokens, p.rbf ? 2 : 0);
  if (!p.rbf) r.pairs_per_rhs = double(tokens.n) * double(tokens.d);
  r.observables.push_back("mean_error");
  r.observables.push_back("cov_error");
  r.build = [p](const BuildContext& c) { return make_accelerated_svgd(c.shape, c.space, p); };
  return r;
}

std::vector<KeyDoc> svgd_key_docs() {
  const std::string src = "Liu & Wang, SVGD (NeurIPS 2016); SympFormer (Stein, Li, Steidl, arXiv 2603.16535)";
  return {
      {"target", "choice", "\"gaussian\"", "\"gaussian\" | \"gaussian_mixture\" | \"quadratic\"",
       "pi = exp(-f) / Z: N(mean, cov), an isotropic mixture, or f = (x - center)^T P (x - center) / 2", src},
      {"mean", "array", "(zero vector)", "d numbers", "mean of the gaussian target", src, "target = \"gaussian\""},
      {"cov", "matrix", "(identity)", "d x d SPD", "covariance of the gaussian target", src, "target = \"gaussian\""},
      matrix_key_doc("potential_matrix", "P, \"identity\" or an explicit SPD matrix", src,
                     "target = \"quadratic\""),
      {"center", "array", "(zero vector)", "d numbers", "centre of the quadratic target", src,
       "target = \"quadratic\""},
      {"means", "matrix", "", "K x d", "component means", src, "target = \"gaussian_mixture\"", "[[1.0, 0.0], [-1.0, 0.0]]"},
      {"weights", "array", "(equal)", "K numbers > 0", "component weights (normalised)", src,
       "target = \"gaussian_mixture\""},
      {"sigma", "number", "1.0", "> 0", "component std", src, "target = \"gaussian_mixture\""},
      {"kernel", "choice", "\"rbf\"", "\"rbf\" | \"bilinear\"",
       "k = exp(-|x - y|^2 / h) (one streamed pass), or x^T A y + c (O(N d^2))", src},
      {"bandwidth", "number or string", "\"median\"", "> 0 | \"median\"",
       "h of the rbf kernel. \"median\": h = med^2 / log max(N, 3), med^2 the upper median of "
       "|x_i - x_j|^2 over the pairs of the first min(N, 512) particles, recomputed at every RHS "
       "(so h depends on the state: rk4 is then only about order 2; give a number for the "
       "formal order)", src, "kernel = \"rbf\""},
      matrix_key_doc("A", "kernel matrix, \"identity\" or an explicit symmetric PSD matrix", src,
                     "kernel = \"bilinear\""),
      {"c", "number", "1.0", ">= 0", "kernel constant (c > 0: the only stationary law has the "
       "target's mean and covariance)", src, "kernel = \"bilinear\""},
  };
}

ModelDoc svgd_doc() {
  ModelDoc d;
  d.description =
      "x_i' = (1/N) sum_j [k(x_j, x_i) g_j + grad_{x_j} k(x_j, x_i)], g_j = grad log pi(x_j).";
  d.source = "Liu & Wang, \"Stein Variational Gradient Descent\", NeurIPS 2016; SympFormer "
             "(arXiv 2603.16535)";
  d.keys = svgd_key_docs();
  d.observables = {
      {"energy", "KL estimate up to a constant: (1/N) sum f - 1/2 log det Sigma_hat", ""},
      {"mean_error", "|m_hat - mean(pi)|", ""},
      {"cov_error", "|Sigma_hat - Cov(pi)|_F / |Cov(pi)|_F", ""},
  };
  d.context = {"tokens.d = 2"};
  d.notes = {"tokens.space must be \"euclidean\" and tokens.n > tokens.d."};
  return d;
}

ModelDoc accelerated_svgd_doc() {
  ModelDoc d;
  d.description =
      "Damped Hamiltonian flow in the Stein metric: H_N = 1/(2N^2) sum_ij k(x_i, x_j) y_i.y_j + "
      "(1/N) sum_i f(x_i) - 1/2 log det Sigma_hat; x_i' = (1/N) sum_j k_ij y_j, y_i' = -N dH/dx_i "
      "- alpha y_i. entropy = \"none\" drops the Gaussian entropy estimate.";
  d.source = "Stein & Li, accelerated SVGD, arXiv 2509.04008; SympFormer (arXiv 2603.16535)";
  d.keys = svgd_key_docs();
  d.keys.push_back({"entropy", "choice", "\"gaussian\"", "\"gaussian\" | \"none\"",
                    "the entropy term: its Gaussian estimate -1/2 log det Sigma_hat, or none",
                    d.source});
  for (auto& k : damping_key_docs("constant")) d.keys.push_back(k);
  d.observables = hamiltonian_observable_docs();
  d.observables[0].meaning = "KL estimate up to a constant: (1/N) sum f - 1/2 log det Sigma_hat";
  d.observables.push_back({"mean_error", "|m_hat - mean(pi)|", ""});
  d.observables.push_back({"cov_error", "|Sigma_hat - Cov(pi)|_F / |Cov(pi)|_F", ""});
  d.context = {"tokens.d = 2"};
  d.notes = {"tokens.space must be \"euclidean\" and tokens.n > tokens.d. The median bandwidth is "
             "frozen inside one RHS: give a fixed bandwidth for exact Hamiltonian structure."};
  return d;
}

const bool registered_svgd = ModelRegistry::add(
    {"svgd", "Stein variational gradient flow to a target (rbf or bilinear kernel)", &read_svgd,
     svgd_doc()});
const bool registered_asvgd = ModelRegistry::add(
    {"accelerated_svgd",
     "accelerated Stein flow (Hamiltonian momentum) to a target, Gaussian entropy estimate",
     &read_accelerated_svgd, accelerated_svgd_doc()});

}  // namespace
}  // namespace attnflow
