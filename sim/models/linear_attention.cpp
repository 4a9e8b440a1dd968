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
  r.pairs_per_rhs = double(tokens.n) * double(d);  // O(N d^2) through the second moment
  r.build = [=](const BuildContext& c) {
    const Index dd = c.shape.d;
    RowMat a = has_a ? A.resolve(dd, c.seed)
                     : RowMat(beta * Q.resolve(dd, c.seed).transpose() * K.resolve(dd, c.seed));
    return make_linear_attention(c.shape, c.space, std::move(a), V.resolve(dd, c.seed));
  };
  return r;
}

const bool registered = ModelRegistry::add(
    {"linear_attention", "linear self-attention flow (SVGD with a bilinear kernel)",
     &read_linear_attention});

}  // namespace
}  // namespace attnflow
