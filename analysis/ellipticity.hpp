#pragma once
// Ellipticity test of SympFormer's linear blocks (Stein, Li, Steidl, arXiv 2603.16535;
// research/sympformer.md 6.3-6.4). X0, Xk: N x d token positions (initial, after k layers).
//
//   linear-image residual   min_M |Xk - X0 M^T|_F / |Xk|_F            (affine: [X0 1] instead)
//                           ~1e-15 for every linear-attention block (positions are the same
//                           linear map of the initial positions); O(1) for softmax/LayerNorm
//   Mahalanobis residual    max_i |r_i(Xk) - r_i(X0)| / max_i r_i(X0),
//                           r_i(X) = sqrt((x_i - m)^T Sigma^-1 (x_i - m)) with the empirical
//                           mean and covariance: exactly invariant under invertible affine maps,
//                           so the law keeps its generator g (the "shape" test of 6.4 step 5)
#include "sim/core/state.hpp"

namespace attnflow {

double linear_image_residual(const RowMat& x0, const RowMat& xk, bool affine = false);
Vec mahalanobis_radii(const RowMat& x);
double mahalanobis_residual(const RowMat& x0, const RowMat& xk);

}  // namespace attnflow
