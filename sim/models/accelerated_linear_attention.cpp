// Accelerated linear attention = accelerated Stein flow with the bilinear kernel x^T A y
// (Stein, Li, Steidl, arXiv 2603.16535, "prop:add", "eq:acc_linear_matrix";
// research/sympformer.md 3.4, 6). State x, y: N x d; A, V symmetric d x d.
//
//   x_i' = (1/N) sum_j (x_i^T A x_j) y_j              = S A x_i,        S = (1/N) sum_j y_j x_j^T
//   y_i' = -alpha y_i - (1/N) sum_j (y_i^T y_j) A x_j + V x_i = -A S^T y_i + V x_i - alpha y_i
//   H_N  = 1/(2N^2) sum_ij (y_i^T y_j)(x_i^T A x_j) + (1/N) sum_i W(x_i),  W(x) = -x^T V x / 2
//        = 1/(2N) sum_i y_i^T S A x_i - 1/(2N) sum_i x_i^T V x_i
//   x' = N dH_N/dy, y' = -N dH_N/dx - alpha y;  dH_N/dt = -alpha (1/N^2) sum (x_i^T A x_j)(y_i.y_j)
//   (<= 0 when A is PSD). At y = 0: x'' = linear attention (1/N) sum_j (x_i^T A x_j) V x_j.
// O(N d^2) per RHS through the moment S (the "Gram" oracle; counted as one oracle call).
// Every block maps each particle by the same affine map in (x_i, y_i): ellipticity is preserved
// (sympformer.md 6.3). Observables: energy (= (1/N) sum W), hamiltonian, kinetic_energy,
// oracle_calls.
#include "sim/config/matrix_param.hpp"
#include "sim/config/section.hpp"
#include "sim/core/registry.hpp"
#include "sim/models/accelerated_linear_attention.hpp"

namespace attnflow {
namespace {

class AcceleratedLinearAttention : public HamiltonianModel {
 public:
  AcceleratedLinearAttention(Shape shape, Space space, RowMat A, RowMat V, Damping damping)
      : HamiltonianModel(shape, space, damping), A_(std::move(A)), V_(std::move(V)) {}
  std::string kind() const override { return "accelerated_linear_attention"; }
  double symplectic_scale() const override { return static_cast<double>(shape_.n); }

  void oracle(double, CMatMap x, CMatMap y, RowMat& F, RowMat& G) override {
    xk_ = x;
    velocity(y, F);  // computes S_
    G.noalias() = -(y * S_ * A_);   // row i = -(A S^T y_i)^T = -y_i^T S A
    G.noalias() += x * V_;          // + (V x_i)^T
  }
  int velocity(CMatMap y, RowMat& F) override {
    const CMatMap x(xk_.data(), xk_.rows(), xk_.cols());
    S_.noalias() = y.transpose() * x / static_cast<double>(x.rows());
    F.noalias() = x * (S_ * A_).transpose();  // row i = (S A x_i)^T
    return 0;
  }
  double kinetic_energy(ConstStateView s) override {
    const auto x = s.x();
    const auto y = s.y();
    const double n = static_cast<double>(x.rows());
    const RowMat S = y.transpose() * x / n;
    return 0.5 * (y * S).cwiseProduct(x * A_).sum() / n;  // 1/(2N) sum y_i^T S A x_i
  }
  double potential_energy(ConstStateView s) override {
    const auto x = s.x();
    return -0.5 * (x * V_).cwiseProduct(x).sum() / static_cast<double>(x.rows());
  }
  double hamiltonian(ConstStateView s) override { return kinetic_energy(s) + potential_energy(s); }

 private:
  RowMat A_, V_, xk_, S_;
};

}  // namespace

std::unique_ptr<Flow> make_accelerated_linear_attention(Shape shape, Space space, RowMat A,
                                                        RowMat V, Damping damping) {
  return std::make_unique<AcceleratedLinearAttention>(shape, space, std::move(A), std::move(V),
                                                      damping);
}

namespace {

ModelRecipe read_accelerated_linear_attention(Section& m, const TokensSpec& tokens) {
  if (tokens.space != Space::Euclidean)
    m.fail("kind", "accelerated_linear_attention lives in R^d: set tokens.space = \"euclidean\"");
  const Index d = tokens.d;
  const Damping damping = read_damping(m, "nesterov");
  const MatrixParam A = read_matrix_param(m, "A", d), V = read_matrix_param(m, "V", d);
  const std::string wa = m.where("A").str(), wv = m.where("V").str();
  ModelRecipe r = hamiltonian_recipe(damping, tokens);
  if (V.kind != MatrixParam::Kind::Explicit && V.kind != MatrixParam::Kind::Zero)
    r.warnings.push_back(
        "model \"accelerated_linear_attention\" with V = \"" +
        std::string(V.is_identity() ? "identity" : "random") +
        "\": the potential -(1/2N) sum_i x_i^T V x_i is unbounded below when V has a positive "
        "eigenvalue, so the tokens escape (with the defaults A = V = identity, NaN at t ~ 3 from "
        "t0 = 1). Set V negative definite as an array, more damping, or a shorter t_end");
  r.pairs_per_rhs = double(tokens.n) * double(d);  // O(N d^2) through the moment S
  r.build = [=](const BuildContext& c) {
    RowMat a = A.resolve(c.shape.d, c.seed), v = V.resolve(c.shape.d, c.seed);
    if (!is_symmetric(a)) throw ConfigError(wa + ": model.A must be symmetric");
    if (!is_symmetric(v)) throw ConfigError(wv + ": model.V must be symmetric");
    return make_accelerated_linear_attention(c.shape, c.space, std::move(a), std::move(v),
                                             damping);
  };
  return r;
}

ModelDoc accelerated_linear_attention_doc() {
  ModelDoc d;
  d.description =
      "Second order: x_i' = S A x_i, S = (1/N) sum_j y_j x_j^T; y_i' = -alpha y_i - A S^T y_i + "
      "V x_i. H_N = 1/(2N^2) sum_ij (y_i.y_j)(x_i^T A x_j) - 1/(2N) sum_i x_i^T V x_i. O(N d^2) "
      "per RHS; every block maps particles by one affine map (ellipticity preserved).";
  d.source = "SympFormer: Stein, Li, Steidl, arXiv 2603.16535, prop:add, eq:acc_linear_matrix";
  const std::string src = d.source;
  d.keys = damping_key_docs("nesterov");
  d.keys.push_back(matrix_key_doc("A", "kernel matrix x^T A y, symmetric", src));
  d.keys.push_back(matrix_key_doc("V", "W(x) = -x^T V x / 2, symmetric", src));
  d.observables = hamiltonian_observable_docs();
  d.context = {"tokens.d = 3", "integrator.t0 = 1.0", "integrator.t_end = 2.0"};
  d.notes = {"tokens.space must be \"euclidean\"; nesterov damping needs integrator.t0 > 0.",
             "With V positive definite (the default identity) the potential is unbounded below: the "
             "tokens escape (NaN at t ~ 3 from t0 = 1); validate warns and says what to set."};
  return d;
}

const bool registered = ModelRegistry::add(
    {"accelerated_linear_attention",
     "SympFormer accelerated linear attention (accelerated Stein flow, bilinear kernel)",
     &read_accelerated_linear_attention, accelerated_linear_attention_doc()});

}  // namespace
}  // namespace attnflow
