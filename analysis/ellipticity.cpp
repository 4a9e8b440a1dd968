// Ellipticity residuals (see analysis/ellipticity.hpp; SympFormer arXiv 2603.16535,
// research/sympformer.md 6.4).
#include "analysis/ellipticity.hpp"

#include <Eigen/QR>

namespace attnflow {

double linear_image_residual(const RowMat& x0, const RowMat& xk, bool affine) {
  Eigen::MatrixXd a(x0.rows(), x0.cols() + (affine ? 1 : 0));
  a.leftCols(x0.cols()) = x0;
  if (affine) a.col(x0.cols()).setOnes();
  const Eigen::MatrixXd b = xk;
  const Eigen::MatrixXd m = a.colPivHouseholderQr().solve(b);
  const double nb = b.norm();
  return nb > 0 ? (b - a * m).norm() / nb : 0.0;
}

Vec mahalanobis_radii(const RowMat& x) {
  const double n = static_cast<double>(x.rows());
  const Eigen::RowVectorXd m = x.colwise().sum() / n;
  const RowMat xc = x.rowwise() - m;
  const RowMat c = xc.transpose() * xc / n;
  Eigen::LLT<RowMat> llt(c);
  // r_i^2 = |L^-1 (x_i - m)|^2
  const RowMat z = llt.matrixL().solve(xc.transpose());
  return z.colwise().norm().transpose();
}

double mahalanobis_residual(const RowMat& x0, const RowMat& xk) {
  const Vec r0 = mahalanobis_radii(x0), rk = mahalanobis_radii(xk);
  return (rk - r0).cwiseAbs().maxCoeff() / r0.cwiseAbs().maxCoeff();
}

}  // namespace attnflow
