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
  r.pairs_per_rhs = double(tokens.n) * double(tokens.n);
  r.build = [spec](const BuildContext& c) {
    return std::make_unique<AttentionModel>(c.shape, c.space, spec.resolve(c.shape.d, c.seed));
  };
  return r;
}

const bool registered = ModelRegistry::add(
    {"attention", "softmax (SA) or mean (USA) self-attention flow", &read_attention});

}  // namespace
}  // namespace attnflow
