#pragma once
// OSN block: pre-LayerNorm Selective Synchronization Attention + GELU feed-forward (Hays,
// "Selective Synchronization Attention", arXiv 2602.14445; official code HasiHays/OSN
// osn_model.py; research/ssa.md sections 2 and 4). Shapes: x is N x D (tokens.d = D), H heads of
// width d = D/H, feed-forward width F (default 4D).
//
//   z     = LN1(x)                           (per token, eps 1e-5, affine at init: gamma 1, beta 0)
//   omega = z W_omega^T + b_omega,  theta = z W_theta^T + b_theta,  v = z W_v^T + b_v   (N x D)
//   per head h: r_h, S, A as in sim/ssa_operator.hpp with K = softplus(K_hat),
//               alpha_h = softplus(alpha_hat_h); o_h = A v_h
//   y     = [o_1 ... o_H] W_o^T + b_o
//   x    <- x + h_step * y
//   x    <- x + h_step * (W_2 gelu(W_1 LN2(x) + b_1) + b_2)        (exact GELU, erf form)
// With h_step = integrator.dt = 1 this is the OSN block of the paper in eval mode (no dropout).
//
// Initialisations (weights from the seed stream "model.osn"):
//   default  PyTorch nn.Linear: weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in));
//            K_hat = alpha_hat = 1 (K = alpha = 1.3133)   (stand-alone SSA / OSNBlock)
//   figure   same weights, K_hat = 100, alpha_hat = -5 (K = 100, alpha = 0.006715): the
//            notebook's synchronisation-matrix figure and sparsity analysis
//   osn      full-model init: weights N(0, 0.02^2), biases 0, K_hat = alpha_hat = 1
// Random transformer baseline (analysis only, stream "model.baseline"): W_q, W_k drawn like the
// SSA weights; per head A = softmax(q_h k_h^T / sqrt(d)) on the same z.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/model.hpp"
#include "sim/kernels/nn_ops.hpp"
#include "sim/core/state.hpp"

namespace attnflow {

struct OsnParams {
  Index D = 0, H = 1, F = 0;
  std::string init = "default";  // default | figure | osn
  double K_hat = 1.0;
  std::vector<double> alpha_hat;  // H entries
  Index top_k = 0;                // 0: dense
  bool layernorm = true;
  bool ffn = true;
};

class OsnBlock {
 public:
  OsnBlock(OsnParams p, std::uint64_t seed);

  // SSA(z) for z = LN1(x) already applied: y (N x D). r (optional) receives r_h.
  void ssa(const RowMat& z, RowMat& y, std::vector<double>* r = nullptr) const;
  // The block in place with step h.
  void forward(RowMat& x, double h) const;
  // Analysis: LN1(x) (or x without layernorm), the per-head matrices S (normalized = false) or A,
  // and the random transformer's softmax attention per head on the same input.
  RowMat input(const RowMat& x) const;
  std::vector<RowMat> sync_matrices(const RowMat& z, bool normalized,
                                    std::vector<double>* r = nullptr) const;
  std::vector<RowMat> baseline_attention(const RowMat& z) const;
  std::int64_t parameter_count() const;

  double K() const;
  double alpha(Index h) const;

  OsnParams p;
  RowMat W_omega, W_theta, W_v, W_o, W_1, W_2, W_q, W_k;
  Vec b_omega, b_theta, b_v, b_o, b_1, b_2;

 private:
  void project(const RowMat& z, RowMat& om, RowMat& th, RowMat& v) const;
};

// The OSN block as a LayerMap (kind "ssa"): one layer = OsnBlock::forward with step h.
std::unique_ptr<LayerMap> make_ssa_layers(Shape shape, Space space, OsnParams p,
                                          std::uint64_t seed);

}  // namespace attnflow
