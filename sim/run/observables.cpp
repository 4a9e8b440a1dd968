#include "sim/run/observables.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "sim/kernels/pair_stream.hpp"

namespace attnflow {

namespace {
// max and min of <x_i, x_j> and max |x_i - x_j|^2 over the pairs j > i of each row, reduced over
// rows afterwards (in row order): one pass of the pair loop.
struct PairExtremes {
  static constexpr Index kRows = 32, kCols = kWholeRow;
  struct Tile {};
  CMatMap x;
  bool inner;  // inner products (else squared distances)
  double *lo, *hi;
  Tile make_tile() const { return {}; }
  void begin(Tile&, Index, Index) const {}
  void end(Tile&, Index, Index) const {}
  void accumulate(Tile&, Index i0, Index i1, Index, Index) const {
    const Index n = x.rows();
    for (Index i = i0; i < i1; ++i) {
      double a = std::numeric_limits<double>::infinity(), b = -a;
      for (Index j = i + 1; j < n; ++j) {
        const double g = inner ? x.row(i).dot(x.row(j)) : (x.row(i) - x.row(j)).squaredNorm();
        a = std::min(a, g);
        b = std::max(b, g);
      }
      lo[i] = a;
      hi[i] = b;
    }
  }
};

void pair_extremes(CMatMap x, bool inner, double& lo, double& hi) {
  const Index n = x.rows();
  std::vector<double> l(static_cast<std::size_t>(n)), h(static_cast<std::size_t>(n));
  PairExtremes e{x, inner, l.data(), h.data()};
  stream_rows(e, n, n, n > 256);
  lo = std::numeric_limits<double>::infinity();
  hi = -lo;
  for (Index i = 0; i + 1 < n; ++i) {
    lo = std::min(lo, l[i]);
    hi = std::max(hi, h[i]);
  }
}
}  // namespace

double diameter(CMatMap x) {
  if (x.rows() < 2) return 0;
  double lo, hi;
  pair_extremes(x, false, lo, hi);
  return std::sqrt(hi);
}

double inner_spread(CMatMap x) {
  if (x.rows() < 2) return 0;
  double lo, hi;
  pair_extremes(x, true, lo, hi);
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
