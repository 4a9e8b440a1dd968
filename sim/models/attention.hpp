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
//
// Tokens on the circle (d = 2 on the sphere, Q = K = V = I; issue 17, docs/mean_field.md):
//   evaluator = "fourier"   the same right-hand side through Fourier moments in O(N n_max)
//                           (sim/kernels/circle_fourier.hpp), equal to the pair sum to rounding;
//   mode_k, growth_k        the Fourier modes of the empirical measure and their growth rates;
//   density_cos/_sin        initial tokens drawn i.i.d. from that initial density;
//   density_cells = M       the mean-field companion: the density solver of
//                           sim/models/circle_density.cpp from the same initial density, advanced
//                           alongside (ssp_rk3, fixed steps from t0, so a value at time t does not
//                           depend on the frames asked before), and the observables
//                           w1_density (exact W1 on the circle between the tokens and it) and
//                           r_density (its order parameter).
#include <memory>

#include "sim/kernels/kernel_attention.hpp"
#include "sim/core/model.hpp"

namespace attnflow {

struct AttentionParams {
  Normalization norm = Normalization::Softmax;
  double beta = 1.0;
  RowMat Q, K, V;  // d x d
};

struct CircleOptions {
  bool fourier = false;                          // evaluator = "fourier"
  Index density_cells = 0;                       // > 0: the mean-field companion
  std::vector<double> density_cos, density_sin;  // its initial density
  bool sample_tokens = false;                    // draw the initial tokens from it
};

class AttentionModel : public Flow {
 public:
  AttentionModel(Shape shape, Space space, AttentionParams p, CircleOptions circle = {});
  ~AttentionModel() override;
  std::string kind() const override { return "attention"; }
  void rhs(double t, ConstStateView s, StateView ds) override;
  double observable(const std::string& name, double t, ConstStateView s) override;
  void initialize(State& s, std::uint64_t seed) override;
  void observe_frame(double t, ConstStateView s) override;
  bool keeps_time_averages() const override { return on_circle_; }

  // Gamma(X) without the sphere projection (the raw attention output), N x d.
  void attention(CMatMap x, RowMat& out);
  const AttentionParams& params() const { return p_; }

 private:
  // qx_ = beta X Q^T, kx_ = X K^T (and vx_ = X V^T when values), row blocks in parallel.
  void project(CMatMap x, bool values);

  AttentionParams p_;
  bool identity_[3];  // Q, K, V == I
  RowMat qx_, kx_, vx_, out_;
  CircleOptions circle_;
  bool on_circle_ = false;  // d = 2 on the sphere: mode_k, growth_k
  struct Circle;            // Fourier kernel, mode tracker, companion density (attention.cpp)
  std::unique_ptr<Circle> c_;
};

}  // namespace attnflow
