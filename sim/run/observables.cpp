#include "sim/run/observables.hpp"

#include <algorithm>
#include <limits>

namespace attnflow {

double diameter(CMatMap x) {
  const Index n = x.rows();
  double best = 0;
#pragma omp parallel for schedule(static) reduction(max : best) if (n > 256)
  for (Index i = 0; i < n; ++i)
    for (Index j = i + 1; j < n; ++j) best = std::max(best, (x.row(i) - x.row(j)).squaredNorm());
  return std::sqrt(best);
}

double inner_spread(CMatMap x) {
  const Index n = x.rows();
  if (n < 2) return 0;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
#pragma omp parallel for schedule(static) reduction(min : lo) reduction(max : hi) if (n > 256)
  for (Index i = 0; i < n; ++i)
    for (Index j = i + 1; j < n; ++j) {
      const double g = x.row(i).dot(x.row(j));
      lo = std::min(lo, g);
      hi = std::max(hi, g);
    }
  return hi - lo;
}

ObservableSet::ObservableSet(const Scenario& sc, Model& model, const State& initial)
    : model_(model), names_(sc.observe.quantities) {
  if (sc.observe.w.size() == sc.tokens.d) {
    w_ = sc.observe.w;
  } else {
    w_ = initial.x().colwise().sum().transpose();
    if (w_.norm() > 0) w_.normalize();
  }
}

std::vector<double> ObservableSet::evaluate(double t, const State& s) {
  std::vector<double> out;
  out.reserve(names_.size());
  const auto x = s.x();
  const double n = static_cast<double>(x.rows());
  for (const auto& q : names_) {
    if (q == "diameter") {
      out.push_back(diameter(x));
    } else if (q == "mean_cosine") {
      Eigen::RowVectorXd sum = Eigen::RowVectorXd::Zero(x.cols());
      for (Index i = 0; i < x.rows(); ++i) {
        const double nrm = x.row(i).norm();
        if (nrm > 0) sum += x.row(i) / nrm;
      }
      out.push_back(sum.squaredNorm() / (n * n));
    } else if (q == "mean_inner") {
      const double total = x.colwise().sum().squaredNorm(), diag = x.squaredNorm();
      out.push_back(n > 1 ? (total - diag) / (n * (n - 1)) : 0.0);
    } else if (q == "inner_spread") {
      out.push_back(inner_spread(x));
    } else if (q == "hemisphere_margin") {
      out.push_back((x * w_).minCoeff());
    } else if (q == "mean_norm") {
      out.push_back(x.rowwise().norm().mean());
    } else {
      out.push_back(model_.observable(q, t, s.view()));
    }
  }
  return out;
}

}  // namespace attnflow
