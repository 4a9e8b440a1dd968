#include "sim/models/attention.hpp"

#include <cmath>

#include "sim/config/matrix_param.hpp"
#include "sim/models/read_attention.hpp"
#include "sim/config/section.hpp"
#include "sim/core/registry.hpp"

namespace attnflow {

AttentionModel::AttentionModel(Shape shape, Space space, AttentionParams p)
    : Flow(shape, space),
      p_(std::move(p)),
      identity_{p_.Q.isIdentity(0.0), p_.K.isIdentity(0.0), p_.V.isIdentity(0.0)} {}

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
  stream_attention({&qx_, &kx_, &vx_, nullptr, p_.norm}, &out);
}

void AttentionModel::rhs(double, ConstStateView s, StateView ds) {
  attention(s.x(), out_);
  auto dx = ds.x();
  dx = out_;
  if (space_ == Space::Sphere) project_tangent(s.x(), dx);
}

double AttentionModel::observable(const std::string& name, double, ConstStateView s) {
  if (name != "energy") return Model::observable(name, 0, s);
  const auto x = s.x();
  const double n = static_cast<double>(x.rows());
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

ModelRecipe read_attention(Section& m, const TokensSpec& tokens) {
  const AttentionSpec spec = read_attention_spec(m, tokens.d);
  ModelRecipe r;
  r.observables = {"energy"};
  if (tokens.space == Space::Euclidean)
    r.warnings.push_back(
        "model \"attention\" on R^d (tokens.space = \"euclidean\"): x_i' is a weighted mean of "
        "V x_j, not a difference, so the tokens escape: |x| grows exponentially with "
        "normalization = \"softmax\", and with \"mean\" (USA) the weights exp(beta <Q x_i, K x_j>) "
        "grow with |x|^2 and can overflow in finite time (NaN within t ~ 2 for some random Q, K, V). "
        "GLPR's "
        "setting is the sphere: set tokens.space = \"sphere\", or keep t_end short");
  r.pairs_per_rhs = double(tokens.n) * double(tokens.n);
  r.build = [spec](const BuildContext& c) {
    return std::make_unique<AttentionModel>(c.shape, c.space, spec.resolve(c.shape.d, c.seed));
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
  d.observables = {{"energy", "E_beta = (1/(2 beta N^2)) sum_ij exp(beta <Q x_i, K x_j>) "
                              "(beta = 0: (1/(2N^2)) <sum Q x_i, sum K x_j>); USA on the sphere "
                              "with Q = K = V = I ascends it (GLPR Lemma 3.6)", ""}};
  d.context = {"tokens.space = \"sphere\"", "tokens.d = 3"};
  d.notes = {"On R^d the tokens escape (validate warns): GLPR's theorems are on the sphere."};
  return d;
}

const bool registered = ModelRegistry::add(
    {"attention", "softmax (SA) or mean (USA) self-attention flow", &read_attention,
     attention_doc()});

}  // namespace
}  // namespace attnflow
