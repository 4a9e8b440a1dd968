// Ensemble statistics (analysis/statistics.hpp): every function against a closed form, a
// published value or a brute-force reference computed here independently.
#include <cmath>
#include <cstdint>
#include <vector>

#include <doctest/doctest.h>

#include "sim/kernels/statistics.hpp"
#include "sim/core/rng.hpp"

using namespace attnflow;
using namespace attnflow::stats;

namespace {

// Relative comparison (doctest's Approx adds an absolute scale of 1 by default).
doctest::Approx rel(double v) { return doctest::Approx(v).scale(0); }

// P(K >= k), K ~ Binomial(n, p), summing the probability mass function term by term in long
// double log space (lgammal): the brute-force reference for the incomplete-beta route.
long double binomial_upper_brute(std::int64_t k, std::int64_t n, long double p) {
  long double s = 0;
  for (std::int64_t j = k; j <= n; ++j) {
    const long double J = static_cast<long double>(j), N = static_cast<long double>(n);
    const long double lp = std::lgamma(N + 1) - std::lgamma(J + 1) - std::lgamma(N - J + 1) +
                           J * std::log(p) + (N - J) * std::log1p(-p);
    s += std::exp(lp);
  }
  return s;
}
long double binomial_lower_brute(std::int64_t k, std::int64_t n, long double p) {
  long double s = 0;
  for (std::int64_t j = 0; j <= k; ++j) {
    const long double J = static_cast<long double>(j), N = static_cast<long double>(n);
    const long double lp = std::lgamma(N + 1) - std::lgamma(J + 1) - std::lgamma(N - J + 1) +
                           J * std::log(p) + (N - J) * std::log1p(-p);
    s += std::exp(lp);
  }
  return s;
}

}  // namespace

TEST_CASE("normal quantiles: standard values and the inverse of erfc") {
  // Phi^{-1}(0.975), Phi^{-1}(0.995), Phi^{-1}(0.9995): the usual two-sided 95/99/99.9% values.
  CHECK(two_sided_z(0.95) == rel(1.959963984540054).epsilon(1e-13));
  CHECK(two_sided_z(0.99) == rel(2.5758293035489004).epsilon(1e-13));
  CHECK(two_sided_z(0.999) == rel(3.2905267314919255).epsilon(1e-13));
  CHECK(normal_quantile(0.5) == 0.0);
  // (p is rounded to double: for z > 0 that costs about 1e-16/phi(z) in z, so stay moderate.)
  for (double z : {-8.0, -5.0, -1.0, -0.3, 0.7, 2.0, 3.0}) {
    const double p = 0.5 * std::erfc(-z / std::sqrt(2.0));
    CHECK(normal_quantile(p) == rel(z).epsilon(1e-9));
  }
  CHECK_THROWS_AS(normal_quantile(0.0), std::invalid_argument);
  CHECK_THROWS_AS(two_sided_z(1.0), std::invalid_argument);
}

TEST_CASE("regularized incomplete beta: closed forms, symmetry and binomial sums") {
  for (double x : {1e-8, 0.01, 0.3, 0.5, 0.77, 0.999}) {
    for (double b : {0.5, 1.0, 3.0, 40.0})  // I_x(1, b) = 1 - (1-x)^b
      CHECK(regularized_beta(1.0, b, x) == rel(-std::expm1(b * std::log1p(-x))).epsilon(1e-12));
    for (double a : {0.5, 2.0, 17.0})  // I_x(a, 1) = x^a
      CHECK(regularized_beta(a, 1.0, x) == rel(std::pow(x, a)).epsilon(1e-12));
    CHECK(regularized_beta(2.5, 7.0, x) + regularized_beta(7.0, 2.5, 1 - x) == rel(1.0).epsilon(1e-13));
  }
  for (double a : {0.5, 3.0, 250.0, 5000.0}) CHECK(regularized_beta(a, a, 0.5) == rel(0.5).epsilon(1e-10));
  // I_{1/2}(1/2, 1/2) family: the arcsine law, I_x(1/2, 1/2) = (2/pi) asin(sqrt x).
  for (double x : {0.1, 0.5, 0.9}) CHECK(regularized_beta(0.5, 0.5, x) == rel(2 / M_PI * std::asin(std::sqrt(x))).epsilon(1e-12));
  // Binomial CDF against term-by-term sums.
  for (auto [n, p] : std::vector<std::pair<std::int64_t, double>>{{10, 0.3}, {57, 0.61}, {1000, 0.5}, {2000, 0.013}})
    for (std::int64_t k : {std::int64_t(0), n / 5, n / 2, n - 1}) {
      const double ref = static_cast<double>(binomial_lower_brute(k, n, p));
      CHECK(binomial_cdf(k, n, p) == rel(ref).epsilon(1e-11));
    }
  CHECK(binomial_cdf(-1, 5, 0.5) == 0.0);
  CHECK(binomial_cdf(5, 5, 0.5) == 1.0);
}

TEST_CASE("Student t quantiles: closed forms for nu = 1, 2 and table values") {
  for (double p : {0.6, 0.9, 0.975, 0.995, 0.01}) {
    CHECK(student_t_quantile(p, 1) == rel(std::tan(M_PI * (p - 0.5))).epsilon(1e-10));
    const double u = 2 * p - 1;  // nu = 2: F(t) = 1/2 + t/(2 sqrt(2 + t^2))
    CHECK(student_t_quantile(p, 2) == rel(u * std::sqrt(2 / (1 - u * u))).epsilon(1e-10));
  }
  CHECK(student_t_quantile(0.975, 4) == rel(2.776445105).epsilon(1e-9));
  CHECK(student_t_quantile(0.975, 10) == rel(2.228138852).epsilon(1e-9));
  CHECK(student_t_quantile(0.975, 1e7) == rel(1.959963984540054).epsilon(1e-6));
}

TEST_CASE("Wilson score interval: the roots of (k/n - p)^2 = z^2 p (1-p)/n") {
  for (auto [k, n] : std::vector<std::pair<std::int64_t, std::int64_t>>{{0, 10}, {1, 10}, {5, 10}, {10, 10}, {37, 200}, {9999, 20000}})
    for (double c : {0.9, 0.95, 0.99}) {
      const double z = two_sided_z(c), ph = double(k) / double(n), nn = double(n);
      // (1 + z^2/n) p^2 - (2 ph + z^2/n) p + ph^2 = 0 by the quadratic formula.
      const double A = 1 + z * z / nn, B = -(2 * ph + z * z / nn), C = ph * ph;
      const double disc = std::sqrt(B * B - 4 * A * C);
      const Interval w = wilson_interval(k, n, c);
      CHECK(w.lo == rel((-B - disc) / (2 * A)).epsilon(1e-12).scale(1));
      CHECK(w.hi == rel((-B + disc) / (2 * A)).epsilon(1e-12).scale(1));
    }
  CHECK(wilson_interval(0, 7, 0.95).lo == 0.0);
  CHECK(wilson_interval(7, 7, 0.95).hi == 1.0);
  CHECK_THROWS_AS(wilson_interval(8, 7, 0.95), std::invalid_argument);
}

TEST_CASE("Clopper-Pearson interval: published values, closed forms and the defining tails") {
  // Published (e.g. the exact binomial interval tables): 5 of 10 and 0 of 10 at 95%.
  Interval r = clopper_pearson_interval(5, 10, 0.95);
  CHECK(r.lo == rel(0.187086).epsilon(2e-6));
  CHECK(r.hi == rel(0.812914).epsilon(2e-6));
  r = clopper_pearson_interval(0, 10, 0.95);
  CHECK(r.lo == 0.0);
  CHECK(r.hi == rel(0.308497).epsilon(2e-6));
  // Closed forms at the edges: k = 0: hi = 1 - (a/2)^(1/n); k = n: lo = (a/2)^(1/n);
  // k = 1: lo = 1 - (1 - a/2)^(1/n); k = n - 1: hi = (1 - a/2)^(1/n).
  for (std::int64_t n : {1, 2, 10, 137, 20000})
    for (double c : {0.95, 0.99, 0.999}) {
      const double a2 = (1 - c) / 2, nn = double(n);
      CHECK(clopper_pearson_interval(0, n, c).hi == rel(-std::expm1(std::log(a2) / nn)).epsilon(1e-11));
      CHECK(clopper_pearson_interval(n, n, c).lo == rel(std::exp(std::log(a2) / nn)).epsilon(1e-11));
      if (n >= 2) {
        CHECK(clopper_pearson_interval(1, n, c).lo == rel(-std::expm1(std::log1p(-a2) / nn)).epsilon(1e-10));
        CHECK(clopper_pearson_interval(n - 1, n, c).hi == rel(std::exp(std::log1p(-a2) / nn)).epsilon(1e-11));
      }
    }
  // The definition, by brute-force binomial sums: P(K >= k | lo) = P(K <= k | hi) = alpha/2.
  for (auto [k, n] : std::vector<std::pair<std::int64_t, std::int64_t>>{{3, 7}, {17, 50}, {3, 1000}, {480, 1000}, {92160, 184320}}) {
    const double c = 0.99, a2 = 0.005;
    r = clopper_pearson_interval(k, n, c);
    CHECK(static_cast<double>(binomial_upper_brute(k, n, r.lo)) == rel(a2).epsilon(1e-8));
    CHECK(static_cast<double>(binomial_lower_brute(k, n, r.hi)) == rel(a2).epsilon(1e-8));
  }
}

TEST_CASE("mean interval: hand-computed values and normal coverage") {
  const std::vector<double> v{1, 2, 3, 4, 5};  // mean 3, sd sqrt(2.5), se sqrt(0.5)
  MeanEstimate e = mean_interval(v, 0.95);
  CHECK(e.count == 5);
  CHECK(e.mean == rel(3.0).epsilon(1e-15));
  CHECK(e.sd == rel(std::sqrt(2.5)).epsilon(1e-15));
  CHECK(e.std_error == rel(std::sqrt(0.5)).epsilon(1e-15));
  CHECK(e.ci.hi - 3 == rel(1.959963984540054 * std::sqrt(0.5)).epsilon(1e-12));
  e = mean_interval(v, 0.95, true);
  CHECK(e.ci.hi - 3 == rel(2.776445105 * std::sqrt(0.5)).epsilon(1e-9));
  CHECK(3 - e.ci.lo == rel(2.776445105 * std::sqrt(0.5)).epsilon(1e-9));

  // Coverage: 4000 samples of 60 standard normals; the 95% interval should contain 0 in a
  // fraction whose 99.9% Clopper-Pearson interval contains 0.95.
  Rng rng(11);
  std::vector<double> s(60);
  std::int64_t hit = 0;
  const std::int64_t reps = 4000;
  for (std::int64_t r = 0; r < reps; ++r) {
    for (double& x : s) x = rng.normal();
    hit += mean_interval(s, 0.95, true).ci.contains(0.0);
  }
  CHECK(clopper_pearson_interval(hit, reps, 0.999).contains(0.95));

  const MeanEstimate a{10, 1.0, 0, 0.3, {}}, b{10, 0.5, 0, 0.4, {}};
  const Interval d = difference_interval(a, b, 0.95);
  CHECK(d.lo == rel(0.5 - 1.959963984540054 * 0.5).epsilon(1e-12));
  CHECK(d.hi == rel(0.5 + 1.959963984540054 * 0.5).epsilon(1e-12));
  CHECK_THROWS_AS(mean_interval(std::vector<double>{1.0}, 0.95), std::invalid_argument);
}

TEST_CASE("Wendel's probability: exact binomial sums, closed forms, complement identity") {
  // Exact integer sums for n <= 60: 2^{-(n-1)} sum_{k<d} C(n-1, k).
  for (std::int64_t n = 1; n <= 60; ++n) {
    std::vector<std::uint64_t> C(n, 0);  // row n-1 of Pascal's triangle
    C[0] = 1;
    for (std::int64_t r = 1; r < n; ++r)
      for (std::int64_t k = r; k >= 1; --k) C[k] += C[k - 1];
    std::uint64_t sum = 0;
    for (std::int64_t d = 1; d <= n + 2; ++d) {
      if (d <= n) sum += C[d - 1];
      const double exact = d >= n ? 1.0 : std::ldexp(static_cast<double>(sum), -static_cast<int>(n - 1));
      CHECK(wendel_probability(n, d) == rel(exact).epsilon(1e-15));
    }
  }
  for (std::int64_t n : {2, 5, 32, 300}) {
    CHECK(wendel_probability(n, 1) == std::ldexp(1.0, -static_cast<int>(n - 1)));
    CHECK(wendel_probability(n, 2) == rel(std::ldexp(double(n), -static_cast<int>(n - 1))).epsilon(1e-15));
    CHECK(wendel_probability(n, n) == 1.0);
  }
  // P(n, d) + P(n, n - d) = 1 (C(n-1, k) = C(n-1, n-1-k)); for even n and d = n/2 both are 1/2.
  for (std::int64_t n : {7, 64, 301, 1000, 16000, 40000})
    for (std::int64_t d : {std::int64_t(1), n / 3, n / 2, n - 1})
      CHECK(wendel_probability(n, d) + wendel_probability(n, n - d) == rel(1.0).epsilon(1e-11));
  CHECK(wendel_probability(300, 150) == rel(0.5).epsilon(1e-15));
  CHECK(wendel_probability(40000, 20000) == rel(0.5).epsilon(1e-10));
  CHECK_THROWS_AS(wendel_probability(0, 3), std::invalid_argument);
}

TEST_CASE("level crossing: linear and log-linear curves, directions, no crossing") {
  std::vector<double> x, y;
  for (int k = 0; k <= 10; ++k) {
    x.push_back(0.5 * k);
    y.push_back(2 * (0.5 * k) + 1);  // y = 2x + 1
  }
  CHECK(level_crossing(x, y, 4.0) == rel(1.5).epsilon(1e-15));
  CHECK(level_crossing(x, y, 4.3) == rel(1.65).epsilon(1e-14));
  CHECK(level_crossing(x, y, 1.0) == 0.0);  // hit at a sample
  CHECK(level_crossing(x, y, 5.0, false, Crossing::Rising) == rel(2.0).epsilon(1e-15));
  CHECK_FALSE(find_level_crossing(x, y, 4.0, false, Crossing::Falling).has_value());
  CHECK_THROWS_AS(level_crossing(x, y, 40.0), std::domain_error);

  // y = log10(x) on a log grid is linear in log x: interpolation in log x is exact.
  std::vector<double> lx, ly;
  for (int k = 0; k <= 8; ++k) {
    lx.push_back(std::pow(10.0, -1 + 0.5 * k));
    ly.push_back(-1 + 0.5 * k);
  }
  CHECK(level_crossing(lx, ly, 0.3, true) == rel(std::pow(10.0, 0.3)).epsilon(1e-13));
  CHECK(level_crossing(lx, ly, 0.3, false) != rel(std::pow(10.0, 0.3)).epsilon(1e-3));

  // Up then down: the first rising and the first falling crossing of 0.5.
  const std::vector<double> hx{0, 1, 2, 3, 4}, hy{0, 1, 1, 0, 0};
  CHECK(level_crossing(hx, hy, 0.5, false, Crossing::Rising) == rel(0.5));
  CHECK(level_crossing(hx, hy, 0.5, false, Crossing::Falling) == rel(2.5));
  CHECK(level_crossing(hx, hy, 0.5) == rel(0.5));

  CHECK_THROWS_AS(level_crossing(std::vector<double>{0, 0, 1}, std::vector<double>{0, 1, 2}, 0.5), std::invalid_argument);
  CHECK_THROWS_AS(level_crossing(std::vector<double>{0, 1}, std::vector<double>{0, 1}, 0.5, true), std::invalid_argument);
}

TEST_CASE("power-law fit: exact recovery, and standard errors that match the scatter") {
  std::vector<double> x, y;
  for (int k = 0; k < 9; ++k) {
    x.push_back(std::pow(2.0, k + 1));
    y.push_back(3.0 * std::pow(x.back(), -0.5));
  }
  PowerLawFit f = fit_power_law(x, y);
  CHECK(f.exponent == rel(-0.5).epsilon(1e-13));
  CHECK(f.prefactor == rel(3.0).epsilon(1e-13));
  CHECK(f.exponent_se < 1e-13);
  CHECK(f.rms_log_residual < 1e-14);
  CHECK(f.points == 9);

  // y = 2 x^0.7 exp(sigma eps): over many replications, the fitted exponent is unbiased, its
  // spread matches exponent_se (OLS) and the absolute weighted se (y_se = sigma y, so that the
  // standard error of log y is sigma), and |p - 0.7| <= se about 68% of the time.
  const double sigma = 0.05, p_true = 0.7;
  std::vector<double> xs, ys(12), se(12);
  for (int k = 0; k < 12; ++k) xs.push_back(std::pow(10.0, 0.25 * k));
  Rng rng(5);
  const int reps = 2000;
  double sum = 0, sum2 = 0, se2_ols = 0, se_w = 0;
  std::int64_t within = 0;
  for (int r = 0; r < reps; ++r) {
    for (int k = 0; k < 12; ++k) {
      ys[k] = 2 * std::pow(xs[k], p_true) * std::exp(sigma * rng.normal());
      se[k] = sigma * ys[k];
    }
    const PowerLawFit o = fit_power_law(xs, ys);
    const PowerLawFit w = fit_power_law(xs, ys, se);
    CHECK(w.exponent == rel(o.exponent).epsilon(1e-12));  // equal weights in log
    sum += o.exponent;
    sum2 += o.exponent * o.exponent;
    se2_ols += o.exponent_se * o.exponent_se;
    se_w = w.exponent_se;
    within += std::abs(o.exponent - p_true) <= o.exponent_se;
  }
  double suu = 0, ub = 0;
  for (double v : xs) ub += std::log(v) / 12;
  for (double v : xs) suu += (std::log(v) - ub) * (std::log(v) - ub);
  const double sd_true = sigma / std::sqrt(suu);  // exact sd of the OLS slope
  const double mean = sum / reps, var = sum2 / reps - mean * mean;
  CHECK(std::abs(mean - p_true) < 4 * sd_true / std::sqrt(double(reps)));
  CHECK(std::sqrt(var) == rel(sd_true).epsilon(0.06));
  CHECK(std::sqrt(se2_ols / reps) == rel(sd_true).epsilon(0.03));
  CHECK(se_w == rel(sd_true).epsilon(1e-12));
  // P(|t_10| <= 1) = 0.6591 for the OLS t statistic with m - 2 = 10 degrees of freedom.
  CHECK(clopper_pearson_interval(within, reps, 0.999).contains(2 * student_t_cdf(1.0, 10) - 1));
  CHECK_THROWS_AS(fit_power_law(std::vector<double>{1, 2}, std::vector<double>{1, 2}), std::invalid_argument);
  CHECK_THROWS_AS(fit_power_law(std::vector<double>{1, 2, 3}, std::vector<double>{1, -2, 3}), std::invalid_argument);
}

TEST_CASE("quantiles: type 7 (linear interpolation between order statistics)") {
  const std::vector<double> v{4, 1, 3, 2};  // sorted 1 2 3 4, h = 3 q
  CHECK(quantile(v, 0.0) == 1.0);
  CHECK(quantile(v, 1.0) == 4.0);
  CHECK(median(v) == rel(2.5).epsilon(1e-15));
  CHECK(quantile(v, 0.05) == rel(1.15).epsilon(1e-14));
  CHECK(quantile(v, 0.95) == rel(3.85).epsilon(1e-14));
  const std::vector<double> qs{0.05, 0.5, 0.95};
  const std::vector<double> out = quantiles(v, qs);
  CHECK(out[0] == quantile(v, 0.05));
  CHECK(out[2] == quantile(v, 0.95));
  CHECK(median(std::vector<double>{7.0}) == 7.0);
  // Odd count: the median is the middle order statistic.
  CHECK(median(std::vector<double>{5, -1, 9, 2, 2}) == 2.0);
  CHECK_THROWS_AS(quantile(std::vector<double>{}, 0.5), std::invalid_argument);
  CHECK_THROWS_AS(quantile(v, 1.5), std::invalid_argument);
}
