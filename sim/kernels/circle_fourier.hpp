#pragma once
// SA / USA attention of tokens on the unit circle (d = 2 on the sphere, Q = K = V = I) through
// Fourier moments, in O(N n_max) instead of O(N^2) (issue 17; derivation: docs/mean_field.md 1).
//
//   exp(beta cos phi) = I_0(beta) + 2 sum_{n>=1} I_n(beta) cos(n phi)
//   G(phi) = exp(beta cos phi) sin phi = sum_{n>=1} (I_{n-1}(beta) - I_{n+1}(beta)) sin(n phi)
//
// With the moments A_n + i B_n = sum_j e^{i n theta_j} and w_i = x_i = e^{i theta_i}:
//
//   Z_i = sum_j exp(beta cos(theta_j - theta_i)) = N I_0 + 2 sum_n I_n Re(conj(w_i)^n (A_n + i B_n))
//   U_i = sum_j G(theta_j - theta_i)             = sum_n (I_{n-1} - I_{n+1}) Im(conj(w_i)^n (A_n + i B_n))
//   theta_i' = U_i / Z_i (SA) or U_i / N (USA);  x_i' = theta_i' (-sin theta_i, cos theta_i)
//
// The series is cut at n_max, the first n with I_n(beta) <= 1e-17 I_0(beta) (n_max = 27 at
// beta = 4, 60 at beta = 25): the dropped terms are below 1e-17 of Z_i, so the result equals the
// O(N^2) pair sum to rounding (tested against it to 1e-13). beta in [0, 500].
//
// Shapes: x is N x 2 with unit rows (the sphere's retraction keeps them so); out N x 2.
// Memory: O(n_max) moments; no N x N storage. Determinism: the moments are summed over fixed
// blocks of kBlock tokens, and the blocks in order, so results are bit-identical for any thread
// count. Threads: parallel over blocks when N is large (sim/core/parallel.hpp).
#include <vector>

#include "sim/core/state.hpp"
#include "sim/kernels/kernel_attention.hpp"

namespace attnflow {

struct CircleFourierKernel {
  double beta = 1.0;
  Normalization norm = Normalization::Softmax;
  int n_max = 0;                 // modes 1..n_max
  std::vector<double> two_i;     // 2 I_n(beta), n = 0..n_max (two_i[0] = I_0, not doubled)
  std::vector<double> g;         // I_{n-1}(beta) - I_{n+1}(beta), n = 0..n_max (g[0] unused)
};

// The kernel's coefficients for beta (throws Error outside [0, 500]).
CircleFourierKernel make_circle_fourier(double beta, Normalization norm);

// The moments M_n = sum_j w_j^n, n = 0..n_max, as interleaved (Re, Im): 2 (n_max + 1) values.
std::vector<double> circle_moments(const CircleFourierKernel& k, CMatMap x);

// out = the tangent attention velocity of every token (N x 2).
void circle_fourier_attention(const CircleFourierKernel& k, CMatMap x, RowMat& out);

// sum_i Z_i = N^2 I_0 + 2 sum_n I_n |M_n|^2 (beta > 0), from the moments: E_beta = this / (2 beta N^2).
double circle_partition_sum(const CircleFourierKernel& k, const std::vector<double>& moments,
                            Index n);

}  // namespace attnflow
