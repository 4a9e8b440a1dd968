#pragma once
// Stein variational gradient flow to a target, and its accelerated (Hamiltonian momentum)
// variant (formulas and conventions in sim/models/svgd.cpp; research/sympformer.md 2.3, 5).
#include <cmath>
#include <memory>
#include <string>

#include "sim/models/second_order.hpp"

namespace attnflow {

struct Target {
  std::string kind = "gaussian";
  Vec mu;          // gaussian / quadratic centre
  RowMat P;        // precision
  RowMat means;    // mixture K x d
  Vec logw;        // mixture log weights
  double sigma = 1;
  Vec mean;        // of pi
  RowMat cov;      // of pi

  // f(x) and g = -grad f at the rows of x.
  double f(const Eigen::RowVectorXd& x) const {
    if (kind != "gaussian_mixture") {
      const Eigen::RowVectorXd r = x - mu.transpose();
      return 0.5 * r.dot(r * P);
    }
    double mx = -1e300;
    Vec e(means.rows());
    for (Index k = 0; k < means.rows(); ++k) {
      e[k] = logw[k] - (x - means.row(k)).squaredNorm() / (2 * sigma * sigma);
      mx = std::max(mx, e[k]);
    }
    return -(mx + std::log((e.array() - mx).exp().sum()));
  }
  void grad_log(CMatMap x, RowMat& g) const {
    g.resize(x.rows(), x.cols());
    if (kind != "gaussian_mixture") {
      g = -((x.rowwise() - mu.transpose()) * P);
      return;
    }
    Vec e(means.rows());
    for (Index i = 0; i < x.rows(); ++i) {
      double mx = -1e300;
      for (Index k = 0; k < means.rows(); ++k) {
        e[k] = logw[k] - (x.row(i) - means.row(k)).squaredNorm() / (2 * sigma * sigma);
        mx = std::max(mx, e[k]);
      }
      e = (e.array() - mx).exp();
      e /= e.sum();
      g.row(i) = (e.transpose() * means - x.row(i)) / (sigma * sigma);
    }
  }
};

struct SvgdParams {
  Target target;
  bool rbf = true;
  bool median = true;
  double bandwidth = 1.0;
  RowMat A;
  double c = 1.0;
  bool gaussian_entropy = true;
  Damping damping;
};

std::unique_ptr<Flow> make_svgd(Shape shape, Space space, SvgdParams p);
std::unique_ptr<Flow> make_accelerated_svgd(Shape shape, Space space, SvgdParams p);

}  // namespace attnflow
