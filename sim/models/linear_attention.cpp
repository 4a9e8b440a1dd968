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
#include "sim/models/linear_attention.hpp"

#include "sim/config/matrix_param.hpp"
#include "sim/models/read_attention.hpp"
#include "sim/config/section.hpp"
#include "sim/core/registry.hpp"

namespace attnflow {
namespace {

class LinearAttentionModel : public Flow {
 public:
  LinearAttentionModel(Shape shape, Space space, RowMat A, RowMat V)
      : Flow(shape, space), A_(std::move(A)), V_(std::move(V)) {}
  std::string kind() const override { return "linear_attention"; }
  void rhs(double, ConstStateView s, StateView ds) override {
    const auto x = s.x();
    const double n = static_cast<double>(x.rows());
    const RowMat c = (x.transpose() * x) / n;
    const RowMat l = V_ * c * A_.transpose();  // x_i' = L x_i
    auto dx = ds.x();
    dx.noalias() = x * l.transpose();
    if (space_ == Space::Sphere) project_tangent(x, dx);
  }
  double observable(const std::string& name, double t, ConstStateView s) override {
    if (name != "energy") return Model::observable(name, t, s);
    const auto x = s.x();
    return -0.5 * (x * V_).cwiseProduct(x).sum() / static_cast<double>(x.rows());
  }

 private:
  RowMat A_, V_;
};

}  // namespace

std::unique_ptr<Flow> make_linear_attention(Shape shape, Space space, RowMat A, RowMat V) {
  return std::make_unique<LinearAttentionModel>(shape, space, std::move(A), std::move(V));
}

namespace {

ModelRecipe read_linear_attention(Section& m, const TokensSpec& tokens) {
  const Index d = tokens.d;
  const bool has_a = m.has("A");
  MatrixParam A, Q, K;
  double beta = 1.0;
  if (has_a) {
    A = read_matrix_param(m, "A", d);
    if (m.has("Q") || m.has("K"))
      m.fail("A", "and Q/K are alternatives (A = beta Q^T K); give one or the other");
  } else {
    beta = read_beta(m);
    Q = read_matrix_param(m, "Q", d);
    K = read_matrix_param(m, "K", d);
  }
  auto V = read_matrix_param(m, "V", d);
  ModelRecipe r;
  r.observables = {"energy"};
  auto given = [&](const MatrixParam& p) { return p.kind == MatrixParam::Kind::Explicit; };
  if (tokens.space == Space::Euclidean && !(given(V) && (has_a ? given(A) : given(Q) && given(K))))
    r.warnings.push_back(
        "model \"linear_attention\" on R^d: x_i' = V C A^T x_i with C = (1/N) sum_j x_j x_j^T "
        "grows with the tokens; with A = V = identity C(t) = C0 (I - 2 C0 t)^-1 blows up at "
        "t = 1/(2 lambda_max(C0)) (~0.4 for standard Gaussian tokens; x' = x^3 for N = d = 1). "
        "Set tokens.space = \"sphere\", a negative definite V (e.g. V = -identity as an array: "
        "the tokens contract), or t_end before the blow-up");
  r.pairs_per_rhs = double(tokens.n) * double(d);  // O(N d^2) through the second moment
  r.build = [=](const BuildContext& c) {
    const Index dd = c.shape.d;
    RowMat a = has_a ? A.resolve(dd, c.seed)
                     : RowMat(beta * Q.resolve(dd, c.seed).transpose() * K.resolve(dd, c.seed));
    return make_linear_attention(c.shape, c.space, std::move(a), V.resolve(dd, c.seed));
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
  const std::string src = d.source;
  d.keys = {
      matrix_key_doc("A", "score matrix; alternative to Q and K", src, "", "(beta Q^T K)"),
      {"beta", "number", "1.0", ">= 0", "A = beta Q^T K (with Q, K: alternatives to A)", src},
      matrix_key_doc("Q", "A = beta Q^T K (alternative to A)", src),
      matrix_key_doc("K", "A = beta Q^T K (alternative to A)", src),
      matrix_key_doc("V", "value matrix", src),
  };
  d.observables = {{"energy", "E_lin = (1/N) sum_i W(x_i) = -(1/2N) sum_i x_i^T V x_i", ""}};
  d.context = {"tokens.space = \"sphere\"", "tokens.d = 3"};
  d.notes = {"On R^d the defaults blow up in finite time (validate warns): x' = x^3 for "
             "N = d = 1, A = V = 1."};
  return d;
}

const bool registered = ModelRegistry::add(
    {"linear_attention", "linear self-attention flow (SVGD with a bilinear kernel)",
     &read_linear_attention, linear_attention_doc()});

}  // namespace
}  // namespace attnflow
