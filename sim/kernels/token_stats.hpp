#pragma once
// Per-system statistics of one token cloud X (n x d, row-major, row i = token x_i; rows are
// usually unit vectors on S^{d-1}). Issue 13: computed inside the run at every frame, for ensembles
// of many small systems (GLPR's phase diagram: n = 32, d = 2, ~3.7e7 calls), so:
//
//   * no allocation per call: every function takes a Workspace (buffers grow to the largest n, d
//     seen and are then reused); the overloads without one use a thread-local Workspace, so they
//     allocate only on a thread's first call at a new maximum size;
//   * deterministic: every sum and maximum runs in a fixed order that depends on n and d only
//     (never on threads or on the workspace's history), so results are reproducible bit for bit;
//   * one pass over the pairs i < j per call, O(n^2 d), in blocks of 4 partners j (GCC/Clang
//     vector extensions: one AVX2 register) on a padded structure-of-arrays copy of X kept in
//     the workspace, with one specialised loop per dimension d <= 4 and per set of statistics.
//   * inputs are finite; a Workspace serves one thread at a time (thread_workspace() is per
//     thread).
//
// Measured at n = 32, d = 2 (this 2-core machine, -O3 -march=native, per call, uniform cloud /
// 3 tight clusters / 1 tight cluster): close_pair_fraction 140 ns; cluster_count 320 / 460 /
// 250 ns; max_inner_deviation 165 ns; mean_pairwise_inner 45 ns; diameter 155 ns;
// attention_energy 3.4 us (528 calls of std::exp); open_hemisphere 0.7-0.9 us; frame_stats
// with close pairs, clusters, deviation and mean 430 / 540 / 360 ns, with close pairs and mean
// only 185 ns.
//
// Conventions (GLPR = Geshkovski, Letrouit, Polyanskiy, Rigollet; research/sympformer.md 9):
//   g_ij = <x_i, x_j>, computed the same way (same order of the d products) by every function
//   here, so a threshold decision on one pair is the same in every statistic.
//
//   close_pair_fraction(X, delta) = #{i < j : g_ij > 1 - delta} / (n(n-1)/2)
//       GLPR's phase-diagram quantity (their threshold 0.999 is delta = 1e-3). The comparison
//       is strict and 1 - delta is evaluated in double. Needs n >= 2.
//
//   cluster_count(X, delta) = number of connected components of the "delta-graph" on the tokens,
//       with an edge i - j iff g_ij > 1 - delta (the same edges as close_pair_fraction).
//       Computed with union-find (path halving, the larger root index attached to the smaller;
//       each row's edges arrive as bit masks, and a token already pointing at the row's root
//       costs no find), so the result is an exact integer for any graph. Why not GLPR's rank of the thresholded
//       Gram matrix [g_ij > tau]: that rank equals the number of clusters only when "close" is
//       an equivalence relation (a permuted block-diagonal matrix of all-ones blocks). A chain
//       a ~ b ~ c with a !~ c gives [[1,1,0],[1,1,1],[0,1,1]], of rank 3, although the three
//       tokens are one cluster; near-duplicate rows make the numerical rank depend on a second
//       tolerance (the SVD cut-off). Connected components need only the one threshold, are
//       invariant under relabelling, never exceed n, and coincide with the rank count whenever
//       the latter is meaningful (close = equivalence relation). n = 0 gives 0 clusters.
//
//   max_inner_deviation(X, gamma) = max_{i != j} |g_ij - gamma|   (Theorem 6.9: gamma is the
//       equiangular curve gamma_beta(t), analysis/claims.hpp: equiangular_gamma). Needs n >= 2.
//
//   mean_pairwise_inner(X) = (1/(n(n-1))) sum_{i != j} g_ij = (|s|^2 - sum_i |x_i|^2)/(n(n-1)),
//       s = sum_i x_i: O(n d); absolute error about 1e-16 max_i |x_i|^2. Needs n >= 2.
//
//   diameter(X) = max_{i,j} |x_i - x_j| from coordinate differences (not sqrt(2 - 2 g_ij),
//       which loses half the digits when the tokens are close); 0 for n < 2.
//
//   attention_energy(X, beta) = (1/(2 beta n^2)) sum_{i,j} exp(beta g_ij)  (all i, j, including
//       i = j): GLPR's interaction energy E_beta in particle form (research/sympformer.md 9.1,
//       "Energy"), non-decreasing along SA and USA with Q = K = V = I; beta > 0, n >= 1. It costs
//       n(n+1)/2 exponentials; inside a run the attention RHS already has the row sums
//       Z_i = sum_j exp(beta g_ij), and E_beta = sum_i Z_i / (2 beta n^2) from them is free.
//
//   open_hemisphere(X) = {inside, margin}: whether all tokens lie in one open hemisphere, i.e.
//       there is w with <x_i, w> > 0 for all i. By Gordan's alternative this holds iff 0 is not
//       in the convex hull conv{x_i}, and then dist(0, conv) = max_{|w|=1} min_i <x_i, w>.
//       Computed by Wolfe's minimum-norm-point algorithm (finite in exact arithmetic), which
//       returns the point p of conv{x_i} nearest to 0, with barycentric weights on at most
//       min(n, d+1) affinely independent support points; the affine minimiser of the current
//       support set is a least-squares problem solved by Gram-Schmidt (with reorthogonalisation)
//       on the differences x_k - x_0, which stays accurate when the tokens are far from 0 but
//       close to each other; the nearest point of the affine hull is taken as the residual of a
//       projection, so it stays accurate even when the weights are ill-conditioned. Optimality
//       test: min_i <x_i, p> >= |p|^2 - 1e-12 |p|^2 - (rounding of the inner products).
//       Decision from the certificate w = p/|p|: margin = min_i <x_i, w>, a lower bound of
//       dist(0, conv{x_i}) for any w (equal to it within a relative 1e-12 at the optimum, and
//       p is in the hull, so |p| is an upper bound); inside iff margin > tau = 1e-10 max_i |x_i|,
//       else margin is reported as 0 (so margin > 0 iff inside): clouds whose true distance is
//       at most tau are classed as not inside (floating-point data cannot decide them). Degenerate
//       inputs: a zero row, an antipodal pair, points covering a great circle -> not inside;
//       d >= n linearly independent points -> inside. The point p, its support and weights stay
//       in the workspace (hull_point(), hull_support(), hull_weights(), hull_stop()) for
//       inspection; when the support is nearly affinely dependent the weights are less accurate
//       than p itself. n, d >= 1 (tested for n <= 64, 2 <= d <= 64).
//
//   frame_stats(X, request, ws): the statistics of one frame in one pass over the pairs (each
//       g_ij computed once; the diameter, if requested, in a second pass), bit-identical to the
//       individual functions.
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "sim/core/state.hpp"

namespace attnflow::token_stats {

using Cloud = Eigen::Ref<const RowMat>;  // binds RowMat, CMatMap and row blocks without a copy

class Workspace {
 public:
  // Grows the buffers for clouds of up to n tokens in dimension d (never shrinks).
  void reserve(Index n, Index d);

  // After open_hemisphere: the nearest point p of the hull to 0 (length d), the indices of the
  // tokens carrying it and their barycentric weights (positive, summing to 1).
  Eigen::Map<const Vec> hull_point() const { return {p_.data(), d_}; }
  std::span<const int> hull_support() const { return {idx_.data(), static_cast<size_t>(k_)}; }
  std::span<const double> hull_weights() const { return {lam_.data(), static_cast<size_t>(k_)}; }
  int hull_iterations() const { return iters_; }
  // Why Wolfe's iteration stopped (diagnostics; Optimal and Zero are the regular exits).
  enum class Stop { Optimal, Zero, InSupport, Full, Dependent, NoDecrease, IterationCap };
  Stop hull_stop() const { return stop_; }

 private:
  friend struct Access;
  std::vector<double> soa_;   // d x np: soa_[k np + j] = x_j[k], np = n rounded up to 4
  std::vector<int> parent_;   // n: union-find (cluster_count)
  // Wolfe's algorithm (kmax = min(n, d + 1) support points)
  std::vector<int> idx_;
  std::vector<double> lam_, mu_, q_, r_, c_, p_, dots_, norms_;
  Index cap_n_ = 0, cap_d_ = 0, d_ = 0;
  int k_ = 0, iters_ = 0;
  Stop stop_ = Stop::Optimal;
};

// The calling thread's workspace (what the overloads without a Workspace use).
Workspace& thread_workspace();

Index close_pair_count(const Cloud& X, double delta, Workspace& ws);
double close_pair_fraction(const Cloud& X, double delta, Workspace& ws);
Index cluster_count(const Cloud& X, double delta, Workspace& ws);
double max_inner_deviation(const Cloud& X, double gamma, Workspace& ws);
double mean_pairwise_inner(const Cloud& X);
double diameter(const Cloud& X, Workspace& ws);
double attention_energy(const Cloud& X, double beta, Workspace& ws);

struct Hemisphere {
  bool inside = false;  // all tokens in one open hemisphere (0 not in the convex hull)
  double margin = 0;    // min_i <x_i, p/|p|> = dist(0, conv{x_i}) (to 1e-12) if inside, else 0
};
Hemisphere open_hemisphere(const Cloud& X, Workspace& ws);

inline Index close_pair_count(const Cloud& X, double delta) {
  return close_pair_count(X, delta, thread_workspace());
}
inline double close_pair_fraction(const Cloud& X, double delta) {
  return close_pair_fraction(X, delta, thread_workspace());
}
inline Index cluster_count(const Cloud& X, double delta) {
  return cluster_count(X, delta, thread_workspace());
}
inline double max_inner_deviation(const Cloud& X, double gamma) {
  return max_inner_deviation(X, gamma, thread_workspace());
}
inline double diameter(const Cloud& X) { return diameter(X, thread_workspace()); }
inline double attention_energy(const Cloud& X, double beta) {
  return attention_energy(X, beta, thread_workspace());
}
inline Hemisphere open_hemisphere(const Cloud& X) { return open_hemisphere(X, thread_workspace()); }

// Several statistics of one frame from one pass over the pairs.
struct FrameRequest {
  double delta = 1e-3;                                       // close pairs / clusters
  bool clusters = true;                                      // cluster_count
  double gamma = std::numeric_limits<double>::quiet_NaN();   // max_inner_deviation (NaN: skip)
  bool diameter = false;                                     // diameter (a second pass)
  double energy_beta = 0;                                    // attention_energy (<= 0: skip)
};
struct FrameStats {
  double close_pair_fraction = 0;
  double mean_pairwise_inner = 0;
  Index clusters = -1;                                          // -1: not requested
  double max_inner_deviation = std::numeric_limits<double>::quiet_NaN();
  double diameter = std::numeric_limits<double>::quiet_NaN();
  double energy = std::numeric_limits<double>::quiet_NaN();
};
// Needs n >= 2.
FrameStats frame_stats(const Cloud& X, const FrameRequest& req, Workspace& ws);
inline FrameStats frame_stats(const Cloud& X, const FrameRequest& req) {
  return frame_stats(X, req, thread_workspace());
}

}  // namespace attnflow::token_stats
