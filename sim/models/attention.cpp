#include "sim/models/attention.hpp"

#include <cmath>

#include "sim/config/matrix_param.hpp"
#include "sim/config/section.hpp"
#include "sim/core/registry.hpp"

namespace attnflow {

AttentionModel::AttentionModel(Shape shape, Space space, AttentionParams p)
    : Model(shape, space), p_(std::move(p)) {}

void AttentionModel::project(CMatMap x, bool values) {
  parallel_product(qx_, x, p_.Q.transpose(), p_.beta);
  parallel_product(kx_, x, p_.K.transpose());
  if (values) parallel_product(vx_, x, p_.V.transpose());
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

ModelFactory read_attention(Section& m, const TokensSpec& tokens) {
  AttentionParams p;
  p.norm = m.choice("normalization", {"softmax", "mean"}, "softmax") == "mean"
               ? Normalization::Mean
               : Normalization::Softmax;
  p.beta = m.real("beta", 1.0);
  if (p.beta < 0) m.fail("beta", "must be >= 0");
  const Index d = tokens.d;
  auto Q = read_matrix_param(m, "Q", d), K = read_matrix_param(m, "K", d),
       V = read_matrix_param(m, "V", d);
  return [p, Q, K, V](const BuildContext& c) {
    AttentionParams q = p;
    q.Q = Q.resolve(c.shape.d, c.seed);
    q.K = K.resolve(c.shape.d, c.seed);
    q.V = V.resolve(c.shape.d, c.seed);
    return std::make_unique<AttentionModel>(c.shape, c.space, std::move(q));
  };
}

const bool registered = ModelRegistry::add(
    {"attention", "softmax (SA) or mean (USA) self-attention flow", false, &read_attention});

}  // namespace
}  // namespace attnflow
