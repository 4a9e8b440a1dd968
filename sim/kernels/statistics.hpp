#pragma once
// Ensemble statistics for statistical [[expect]] claims (issue 13): confidence intervals of a
// probability or a mean, Wendel's hemisphere probability, the crossing point of a level in a
// sweep, a power-law fit across a sweep, and sample quantiles. Pure functions of their inputs,
// deterministic; they allocate only where they copy data (quantiles). Invalid arguments throw
// std::invalid_argument; "no crossing" throws std::domain_error (level_crossing) or returns
// std::nullopt (find_level_crossing).
//
// The GLPR equiangular reference curve gamma_beta(t) (Theorem 6.8/6.9, research/sympformer.md
// 9.2) is analysis/claims.hpp: equiangular_gamma(times, t0, n, beta, softmax); it is not repeated
// here. A Theorem 6.9 claim compares max_{i != j} |<x_i, x_j>(t) - gamma_beta(t)| (see
// sim/kernels/token_stats.hpp: max_inner_deviation) across d with fit_power_law below.
//
// Conventions
//   * confidence c in (0, 1), e.g. 0.99; alpha = 1 - c, split equally between the two tails.
//   * z_c = two_sided_z(c) = Phi^{-1}((1 + c)/2) (1.959964 for c = 0.95, 2.575829 for 0.99).
//   * Binomial intervals for k successes in n trials (0 <= k <= n, n >= 1):
//       Wilson score: the p with (k/n - p)^2 <= z_c^2 p (1 - p)/n, i.e.
//         center = (k + z^2/2)/(n + z^2),
//         half   = z/(n + z^2) sqrt(k (n - k)/n + z^2/4);
//       Clopper-Pearson ("exact"): lo solves P(K >= k | lo) = alpha/2 (lo = 0 if k = 0) and hi
//         solves P(K <= k | hi) = alpha/2 (hi = 1 if k = n), K ~ Binomial(n, p). The binomial
//         tails are regularised incomplete beta functions, P(K >= k | p) = I_p(k, n - k + 1),
//         evaluated by the continued fraction of DLMF 8.17.22 (modified Lentz) and inverted by
//         bisection to full double resolution. Coverage >= c for every p (conservative).
//   * mean_interval: mean +- q sd/sqrt(m), sd the sample standard deviation (divisor m - 1),
//       q = z_c (normal/CLT interval, the default) or the Student t quantile with m - 1 degrees
//       of freedom (student_t = true; exact for normal data, wider for small m). m >= 2.
//   * Quantiles: type 7 of Hyndman & Fan (NumPy's and R's default): for sorted x_0..x_{m-1}
//       and q in [0, 1], h = (m - 1) q, Q(q) = x_floor(h) + (h - floor(h)) (x_floor(h)+1 - x_floor(h)).
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "sim/core/state.hpp"

namespace attnflow::stats {

struct Interval {
  double lo = 0, hi = 0;
  bool contains(double v) const { return lo <= v && v <= hi; }
  double width() const { return hi - lo; }
};

// ---------------------------------------------------------------- distributions
double normal_cdf(double z);            // Phi(z) = erfc(-z/sqrt(2))/2
double normal_quantile(double p);       // Phi^{-1}(p), 0 < p < 1 (bisection + Newton polish)
double two_sided_z(double confidence);  // Phi^{-1}((1 + c)/2)
// Regularised incomplete beta I_x(a, b), a, b > 0, 0 <= x <= 1. Relative accuracy about 1e-14
// for a, b up to 1e3, degrading like eps * (a + b) log(a + b) (lgamma in the prefactor).
double regularized_beta(double a, double b, double x);
// P(K <= k) for K ~ Binomial(n, p).
double binomial_cdf(std::int64_t k, std::int64_t n, double p);
// Student t with nu > 0 degrees of freedom: CDF and quantile (0 < p < 1).
double student_t_cdf(double t, double nu);
double student_t_quantile(double p, double nu);

// ---------------------------------------------------------------- intervals
Interval wilson_interval(std::int64_t k, std::int64_t n, double confidence);
Interval clopper_pearson_interval(std::int64_t k, std::int64_t n, double confidence);

struct MeanEstimate {
  Index count = 0;
  double mean = 0;
  double sd = 0;         // sample standard deviation (divisor count - 1)
  double std_error = 0;  // sd / sqrt(count)
  Interval ci;           // mean +- q std_error
};
MeanEstimate mean_interval(std::span<const double> values, double confidence,
                           bool student_t = false);
// Interval for a.mean - b.mean of two independent estimates: +- z_c sqrt(se_a^2 + se_b^2).
Interval difference_interval(const MeanEstimate& a, const MeanEstimate& b, double confidence);

// ---------------------------------------------------------------- Wendel (GLPR Theorem 6.7)
// Probability that n i.i.d. uniform points on S^{d-1} lie in one open hemisphere:
// 2^{-(n-1)} sum_{k=0}^{d-1} C(n-1, k), and 1 for d >= n. n, d >= 1. Summed in long double from
// C(n-1, 0) 2^{-(n-1)} by the ratio of consecutive terms (all terms positive): relative error
// below 1e-15 for n up to 16000; beyond, in log space with lgamma (about 1e-12).
double wendel_probability(std::int64_t n, std::int64_t d);

// ---------------------------------------------------------------- sweeps
enum class Crossing { Any, Rising, Falling };
// First crossing of the level L by the sampled curve (x_k, y_k), x strictly increasing:
//   Rising:  the first k with y_k <  L <= y_{k+1};
//   Falling: the first k with y_k >  L >= y_{k+1};
//   Any:     the first k with y_k == L (returns x_k) or with L strictly between y_k and y_{k+1},
//            or y_{k+1} == L.
// The crossing point is interpolated linearly in x, or in log x when log_x (x > 0 then, for a
// log-spaced sweep key): x* = x_k + f (x_{k+1} - x_k), f = (L - y_k)/(y_{k+1} - y_k).
// Throws std::invalid_argument on mismatched sizes, fewer than 2 points, x not strictly
// increasing, NaN, or log_x with x <= 0.
std::optional<double> find_level_crossing(std::span<const double> x, std::span<const double> y,
                                          double level, bool log_x = false,
                                          Crossing direction = Crossing::Any);
// The same; throws std::domain_error naming the level and the range of y when there is none.
double level_crossing(std::span<const double> x, std::span<const double> y, double level,
                      bool log_x = false, Crossing direction = Crossing::Any);

// Least-squares fit of y ~ C x^p, i.e. log y = log C + p log x (x, y > 0, at least 3 points).
//  * without y_se: ordinary least squares in log-log; exponent_se and log_prefactor_se are the
//    classical ones from s^2 = RSS/(m - 2);
//  * with y_se (standard errors of y, > 0): weighted least squares with w_i = (y_i/se_i)^2 (the
//    delta-method variance of log y_i is (se_i/y_i)^2); the standard errors take the se_i as
//    known (absolute): exponent_se = 1/sqrt(sum w_i (u_i - u_bar)^2). chi2/(m - 2) near 1 says
//    the scatter agrees with the given errors; multiply by sqrt(chi2/(m - 2)) to rescale.
// A non-power-law reference such as sqrt(log d / d) is compared by fitting it on the same x:
// its fitted exponent is the reference's effective exponent over that range.
struct PowerLawFit {
  double exponent = 0, exponent_se = 0;          // p and its standard error
  double log_prefactor = 0, log_prefactor_se = 0; // log C and its standard error
  double prefactor = 0;                          // C
  double rms_log_residual = 0;                   // sqrt(mean of r_i^2), r_i = log y_i - fit
  double chi2 = 0;                               // sum w_i r_i^2 (w = 1 without y_se)
  Index points = 0;
};
PowerLawFit fit_power_law(std::span<const double> x, std::span<const double> y,
                          std::span<const double> y_se = {});

// ---------------------------------------------------------------- quantiles (type 7)
double quantile(std::span<const double> values, double q);
// Several quantiles of the same data (sorted once).
std::vector<double> quantiles(std::span<const double> values, std::span<const double> qs);
inline double median(std::span<const double> values) { return quantile(values, 0.5); }

}  // namespace attnflow::stats
