#pragma once
// Oscillator math shared by the kuramoto, akorn and ssa models.
//
// 1. fast_sincos / sincos_blocked: branch-free, vectorisable sin and cos (Cody-Waite reduction
//    by pi/2 in three FMA steps, fdlibm minimax kernels on [-pi/4, pi/4]); absolute error
//    ~2e-16 for |x| < 1e15 (larger |x| falls back to std::sin/cos per block). Phases are never
//    wrapped by the models, so the reduction must stay exact for large unwrapped phases.
//
// 2. phase_sums: C = sum_j cos x_j, S = sum_j sin x_j over fixed blocks of kSumBlock entries
//    (each block summed in a fixed 8-lane order, block partials added serially), so the result is
//    bit-identical for any number of OpenMP threads.
//
// 3. The Selective Synchronization Attention operator (Hays, "Selective Synchronization
//    Attention", arXiv 2602.14445; research/ssa.md section 2, exactly as the authors' code,
//    with the numerically safe forms of 2.5). For one head h with N tokens of width d:
//
//      omega[N][d], theta[N][d], v[N][d]            (slices of the D-wide projections)
//      r        = (1/d) sum_c | (1/N) sum_j exp(i theta[j][c]) |        (order parameter, 2.4)
//      D2_ij    = sum_c (omega[i][c] - omega[j][c])^2  (direct differences), Delta = sqrt(D2),
//                 Delta_ii = 0 exactly
//      J_ij     = exp(-alpha D2_ij)                     alpha = softplus(alpha_hat) > 0
//      T_ij     = K r J_ij + eps                         K = softplus(K_hat), eps = 1e-8
//      S_ij     = J_ij sqrt(max(0, 1 - (Delta_ij/T_ij)^2))  if Delta_ij <= T_ij, else 0
//                 (no asin/cos and no clamp: rho = 1 gives exactly 0, S_ii = 1 exactly)
//      top-k    : optional, per row keep the k largest S_ij (ties: diagonal first, then lower j)
//      A_ij     = S_ij / (sum_j' S_ij' + eps),   out_i = sum_j A_ij v_j        (2.7, 2.8)
//
//    The pair loop is streamed row by row (one O(N) row buffer per thread, no N x N storage);
//    rows are split statically over OpenMP threads, each row summed in a fixed order.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "sim/core/state.hpp"

namespace attnflow {

inline void fast_sincos(double x, double& s_out, double& c_out) {
  constexpr double two_over_pi = 0.63661977236758134308;
  constexpr double magic = 0x1.8p52;
  constexpr double p1 = 1.5707963267948966192e+00;   // pi/2 = p1 + p2 + p3
  constexpr double p2 = 6.1232339957367660359e-17;
  constexpr double p3 = -1.4973849048591698329e-33;
  const double t = x * two_over_pi + magic;
  const double kf = t - magic;
  std::uint64_t bits;
  std::memcpy(&bits, &t, sizeof bits);
  const unsigned q = static_cast<unsigned>(bits & 3u);
#ifdef __FMA__
  double r = std::fma(-kf, p1, x);
  r = std::fma(-kf, p2, r);
  r = std::fma(-kf, p3, r);
#else
  double r = x - kf * p1;
  r -= kf * p2;
  r -= kf * p3;
#endif
  const double z = r * r;
  // fdlibm __kernel_sin / __kernel_cos coefficients.
  const double sp = -1.66666666666666324348e-01 +
                    z * (8.33333333332248946124e-03 +
                         z * (-1.98412698298579493134e-04 +
                              z * (2.75573137070700676789e-06 +
                                   z * (-2.50507602534068634195e-08 + z * 1.58969099521155010221e-10))));
  const double sn = r + r * z * sp;
  const double cp = 4.16666666666666019037e-02 +
                    z * (-1.38888888888741095749e-03 +
                         z * (2.48015872894767294178e-05 +
                              z * (-2.75573143513906633035e-07 +
                                   z * (2.08757232129817482790e-09 + z * -1.13596475577881948265e-11))));
  const double hz = 0.5 * z, w = 1.0 - hz;
  const double cs = w + (((1.0 - w) - hz) + z * z * cp);
  const bool swap = q & 1u;
  const double sv = swap ? cs : sn, cv = swap ? sn : cs;
  s_out = (q & 2u) ? -sv : sv;
  c_out = ((q + 1u) & 2u) ? -cv : cv;
}

// s[i] = sin x[i], c[i] = cos x[i] for i < n (x with stride 1).
inline void sincos_range(const double* x, Index n, double* s, double* c) {
  int bad = 0;  // any |x| >= 1e15 or NaN (integer OR: vectorises)
  for (Index i = 0; i < n; ++i) bad |= !(std::abs(x[i]) < 1e15);
  if (!bad) {
#pragma omp simd
    for (Index i = 0; i < n; ++i) fast_sincos(x[i], s[i], c[i]);
  } else {
    for (Index i = 0; i < n; ++i) { s[i] = std::sin(x[i]); c[i] = std::cos(x[i]); }
  }
}

constexpr Index kSumBlock = 4096;
// Below this many oscillators O(N) loops run serially (a parallel region costs more than the loop,
// and much more on a loaded machine).
constexpr Index kParallelMin = 50000;

// Fills s, c (size n; either may be null: not stored) with sin/cos of x and returns the
// deterministic sums C, S (see header).
void phase_sums(const double* x, Index n, double* s, double* c, double& sum_c, double& sum_s);

// Deterministic sum of a[0..n) in a fixed 8-lane order.
double fixed_sum(const double* a, Index n);

namespace ssa {

constexpr double kEps = 1e-8;

inline double softplus(double z) { return z > 30 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z)); }

// S_ij from the squared distance (diag: i == j, Delta forced to 0), kr = K r, alpha.
inline double pair_weight(double d2, bool diag, double kr, double alpha) {
  const double dl = diag ? 0.0 : std::sqrt(d2);
  const double j = alpha == 0 ? 1.0 : std::exp(-alpha * d2);
  const double t = kr * j + kEps;
  if (!(dl <= t)) return 0.0;
  const double rho = dl / t;
  return j * std::sqrt(std::max(0.0, 1.0 - rho * rho));
}

// One head's inputs: row i of omega / theta / v starts at ptr + i * ld (d entries each).
struct Head {
  const double* omega;
  const double* theta;
  const double* v;
  Index n, d, ld;
};

// r_h of 2.4 (deterministic).
double order_parameter(const double* theta, Index n, Index d, Index ld);

// Keeps the k largest entries of row[0..n) (diagonal index `self` wins ties, then lower j);
// zeroes the others. No-op if k <= 0 or k >= n.
void top_k_row(double* row, Index n, Index self, Index k, std::vector<Index>& scratch);

// Streams the head: out_i (row stride ldo) = sum_j A_ij v_j. kr = K * r.
void head_forward(const Head& h, double kr, double alpha, Index top_k, double* out, Index ldo);

// The N x N matrix of one head (analysis only): S (normalized = false) or A (true).
RowMat head_matrix(const Head& h, double kr, double alpha, Index top_k, bool normalized);

}  // namespace ssa
}  // namespace attnflow
