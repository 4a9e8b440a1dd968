#pragma once
// Self-attention as a particle flow (GLPR arXiv 2312.10794 eq. 2.3; SympFormer eq:attention).
//
//   SA  (normalization = "softmax"):  x_i' = sum_j softmax_j(beta <Q x_i, K x_j>) V x_j
//   USA (normalization = "mean"):     x_i' = (1/N) sum_j exp(beta <Q x_i, K x_j>) V x_j
//   on the sphere both are projected:  x_i' <- P_perp(x_i) x_i' = x_i' - <x_i, x_i'> x_i
//
// Shapes: X is N x d; Q, K, V are d x d. One RHS = one attention-oracle call, streamed through
// sim/kernel_attention (memory O(N d)).
//
// Observable "energy": E_beta = 1/(2 beta N^2) sum_ij exp(beta <Q x_i, K x_j>)  (GLPR 9.1;
// with Q = K = I it is the interaction energy that USA ascends). For beta = 0 the beta -> 0
// limit of E_beta - 1/(2 beta), i.e. 1/(2 N^2) sum_ij <Q x_i, K x_j>, is reported.
#include "sim/kernels/kernel_attention.hpp"
#include "sim/core/model.hpp"

namespace attnflow {

struct AttentionParams {
  Normalization norm = Normalization::Softmax;
  double beta = 1.0;
  RowMat Q, K, V;  // d x d
};

class AttentionModel : public Flow {
 public:
  AttentionModel(Shape shape, Space space, AttentionParams p);
  std::string kind() const override { return "attention"; }
  void rhs(double t, ConstStateView s, StateView ds) override;
  double observable(const std::string& name, double t, ConstStateView s) override;

  // Gamma(X) without the sphere projection (the raw attention output), N x d.
  void attention(CMatMap x, RowMat& out);
  const AttentionParams& params() const { return p_; }

 private:
  // qx_ = beta X Q^T, kx_ = X K^T (and vx_ = X V^T when values), row blocks in parallel.
  void project(CMatMap x, bool values);

  AttentionParams p_;
  bool identity_[3];  // Q, K, V == I
  RowMat qx_, kx_, vx_, out_;
};

}  // namespace attnflow
