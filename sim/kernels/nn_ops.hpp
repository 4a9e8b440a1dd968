#pragma once
// Small neural-network pieces shared by the discrete block models (transformer, OSN/SSA).
//
//   layer_norm_rows: per token (row) z_i = (x_i - mean(x_i)) / sqrt(var(x_i) + 1e-5), no affine
//                    (PyTorch nn.LayerNorm at initialisation: gamma = 1, beta = 0)
//   gelu:            exact GELU, 0.5 u (1 + erf(u / sqrt 2))
#include <cmath>

#include "sim/core/state.hpp"

namespace attnflow {

template <class Derived>
void layer_norm_rows(const Eigen::MatrixBase<Derived>& x, RowMat& z) {
  z.resize(x.rows(), x.cols());
  const double d = static_cast<double>(x.cols());
  for (Index i = 0; i < x.rows(); ++i) {
    const double mu = x.row(i).sum() / d;
    const double var = (x.row(i).array() - mu).square().sum() / d;
    z.row(i) = (x.row(i).array() - mu) / std::sqrt(var + 1e-5);
  }
}

inline double gelu(double u) { return 0.5 * u * (1 + std::erf(u / std::sqrt(2.0))); }

}  // namespace attnflow
