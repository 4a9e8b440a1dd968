#include "sim/kernels/statistics.hpp"

#include "sim/kernels/frequency_laws.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

namespace attnflow::stats {

namespace {

void check_confidence(double c) {
  if (!(c > 0 && c < 1))
    throw std::invalid_argument("confidence level must lie in (0, 1) (got " + std::to_string(c) +
                                ")");
}
void check_binomial(std::int64_t k, std::int64_t n) {
  if (n < 1 || k < 0 || k > n)
    throw std::invalid_argument("binomial interval needs 0 <= k <= n, n >= 1 (got k = " +
                                std::to_string(k) + ", n = " + std::to_string(n) + ")");
}

// Root of a monotone function f on [lo, hi] with f(lo), f(hi) of opposite signs (or zero), by
// bisection until the bracket cannot be split in double precision.
template <class F>
double bisect(F&& f, double lo, double hi) {
  double flo = f(lo);
  for (int it = 0; it < 4000; ++it) {
    const double mid = 0.5 * (lo + hi);
    if (!(mid > lo && mid < hi)) break;
    const double fm = f(mid);
    if (fm == 0) return mid;
    if ((fm < 0) == (flo < 0)) {
      lo = mid;
      flo = fm;
    } else {
      hi = mid;
    }
  }
  return 0.5 * (lo + hi);
}

// 1 / (1 + d_1/(1 + d_2/(1 + ...))) for I_x(a, b) (DLMF 8.17.22), by the modified Lentz method.
double beta_continued_fraction(double a, double b, double x) {
  constexpr double tiny = 1e-300, eps = 1e-16;
  double f = 1, C = 1, D = 0;
  for (int j = 1; j < 200000; ++j) {
    const int m = j / 2;
    double dj;
    if (j % 2 == 0)
      dj = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
    else
      dj = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
    D = 1 + dj * D;
    if (std::abs(D) < tiny) D = tiny;
    C = 1 + dj / C;
    if (std::abs(C) < tiny) C = tiny;
    D = 1 / D;
    const double delta = C * D;
    f *= delta;
    if (std::abs(delta - 1) < eps) return 1 / f;
  }
  throw std::runtime_error("regularized_beta: continued fraction did not converge (a = " +
                           std::to_string(a) + ", b = " + std::to_string(b) + ")");
}

// I_x(a, b) for x below the switch point, where the continued fraction converges fast.
double beta_direct(double a, double b, double x) {
  const double log_front = a * std::log(x) + b * std::log1p(-x) -
                           (std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b)) - std::log(a);
  return std::exp(log_front) * beta_continued_fraction(a, b, x);
}

}  // namespace

// ---------------------------------------------------------------- distributions

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

double normal_quantile(double p) {
  if (!(p > 0 && p < 1))
    throw std::invalid_argument("normal_quantile needs 0 < p < 1 (got " + std::to_string(p) + ")");
  if (p == 0.5) return 0;
  if (p > 0.5) return -normal_quantile(1 - p);  // the lower tail keeps relative accuracy
  // The one inverse normal CDF of attnflow (Acklam + Halley, sim/kernels/frequency_laws), then
  // Newton steps on Phi(z) - p with this file's erfc-based Phi.
  double z = inv_norm_cdf(p);
  for (int it = 0; it < 2; ++it) {
    const double phi = std::exp(-0.5 * z * z) / std::sqrt(2 * M_PI);
    if (phi <= 0) break;
    const double step = (normal_cdf(z) - p) / phi;
    if (!std::isfinite(step)) break;
    z -= step;
  }
  return z;
}

double two_sided_z(double confidence) {
  check_confidence(confidence);
  // Phi^{-1}((1 + c)/2) = -Phi^{-1}((1 - c)/2), computed from the small tail.
  return -normal_quantile(0.5 * (1 - confidence));
}

double regularized_beta(double a, double b, double x) {
  if (!(a > 0 && b > 0) || !(x >= 0 && x <= 1))
    throw std::invalid_argument("regularized_beta needs a, b > 0 and 0 <= x <= 1");
  if (x == 0) return 0;
  if (x == 1) return 1;
  // The continued fraction converges quickly for x < (a + 1)/(a + b + 2); above, use
  // I_x(a, b) = 1 - I_{1-x}(b, a).
  if (x < (a + 1) / (a + b + 2)) return beta_direct(a, b, x);
  return 1 - beta_direct(b, a, 1 - x);
}

double binomial_cdf(std::int64_t k, std::int64_t n, double p) {
  if (n < 0 || !(p >= 0 && p <= 1)) throw std::invalid_argument("binomial_cdf needs n >= 0, 0 <= p <= 1");
  if (k < 0) return 0;
  if (k >= n) return 1;
  // P(K <= k) = I_{1-p}(n - k, k + 1).
  return regularized_beta(static_cast<double>(n - k), static_cast<double>(k + 1), 1 - p);
}

double student_t_cdf(double t, double nu) {
  if (!(nu > 0)) throw std::invalid_argument("student_t_cdf needs nu > 0");
  if (t == 0) return 0.5;
  // P(T > |t|) = I_{nu/(nu + t^2)}(nu/2, 1/2)/2.
  const double tail = 0.5 * regularized_beta(0.5 * nu, 0.5, nu / (nu + t * t));
  return t > 0 ? 1 - tail : tail;
}

double student_t_quantile(double p, double nu) {
  if (!(p > 0 && p < 1) || !(nu > 0))
    throw std::invalid_argument("student_t_quantile needs 0 < p < 1 and nu > 0");
  if (p == 0.5) return 0;
  if (p < 0.5) return -student_t_quantile(1 - p, nu);
  // Upper tail probability q = 1 - p, solved on the tail (keeps accuracy for p near 1).
  const double q = 1 - p;
  auto tail = [nu](double t) { return 0.5 * regularized_beta(0.5 * nu, 0.5, nu / (nu + t * t)); };
  double hi = 1;
  while (tail(hi) > q) hi *= 2;
  return bisect([&](double t) { return tail(t) - q; }, 0.0, hi);
}

// ---------------------------------------------------------------- intervals

Interval wilson_interval(std::int64_t k, std::int64_t n, double confidence) {
  check_binomial(k, n);
  const double z = two_sided_z(confidence), z2 = z * z;
  const double kk = static_cast<double>(k), nn = static_cast<double>(n);
  const double center = (kk + 0.5 * z2) / (nn + z2);
  const double half = z / (nn + z2) * std::sqrt(kk * (nn - kk) / nn + 0.25 * z2);
  Interval r{std::max(0.0, center - half), std::min(1.0, center + half)};
  if (k == 0) r.lo = 0;
  if (k == n) r.hi = 1;
  return r;
}

Interval clopper_pearson_interval(std::int64_t k, std::int64_t n, double confidence) {
  check_binomial(k, n);
  check_confidence(confidence);
  const double a2 = 0.5 * (1 - confidence);
  const double kk = static_cast<double>(k), nn = static_cast<double>(n);
  Interval r{0, 1};
  // lo: P(K >= k | p) = I_p(k, n - k + 1) = alpha/2 (increasing in p).
  if (k > 0)
    r.lo = bisect([&](double p) { return regularized_beta(kk, nn - kk + 1, p) - a2; }, 0.0, 1.0);
  // hi: P(K <= k | p) = alpha/2 (decreasing in p).
  if (k < n) r.hi = bisect([&](double p) { return binomial_cdf(k, n, p) - a2; }, 0.0, 1.0);
  return r;
}

MeanEstimate mean_interval(std::span<const double> values, double confidence, bool student_t) {
  check_confidence(confidence);
  const Index m = static_cast<Index>(values.size());
  if (m < 2) throw std::invalid_argument("mean_interval needs at least 2 values");
  double sum = 0;
  for (double v : values) {
    if (std::isnan(v)) throw std::invalid_argument("mean_interval: NaN in the data");
    sum += v;
  }
  const double mm = static_cast<double>(m), mean = sum / mm;
  double ss = 0;
  for (double v : values) ss += (v - mean) * (v - mean);
  MeanEstimate e;
  e.count = m;
  e.mean = mean;
  e.sd = std::sqrt(ss / (mm - 1));
  e.std_error = e.sd / std::sqrt(mm);
  const double q = student_t ? student_t_quantile(0.5 * (1 + confidence), mm - 1)
                             : two_sided_z(confidence);
  e.ci = {mean - q * e.std_error, mean + q * e.std_error};
  return e;
}

Interval difference_interval(const MeanEstimate& a, const MeanEstimate& b, double confidence) {
  const double z = two_sided_z(confidence);
  const double diff = a.mean - b.mean;
  const double se = std::sqrt(a.std_error * a.std_error + b.std_error * b.std_error);
  return {diff - z * se, diff + z * se};
}

// ---------------------------------------------------------------- Wendel

double wendel_probability(std::int64_t n, std::int64_t d) {
  if (n < 1 || d < 1)
    throw std::invalid_argument("wendel_probability needs n, d >= 1 (got n = " +
                                std::to_string(n) + ", d = " + std::to_string(d) + ")");
  if (d >= n) return 1;
  if (n <= 16000) {
    // t_k = C(n-1, k) 2^{-(n-1)}, t_{k+1} = t_k (n - 1 - k)/(k + 1); all terms positive.
    long double t = std::ldexp(1.0L, -static_cast<int>(n - 1)), s = t;
    for (std::int64_t k = 0; k + 1 < d; ++k) {
      t *= static_cast<long double>(n - 1 - k) / static_cast<long double>(k + 1);
      s += t;
    }
    return static_cast<double>(s);
  }
  // Log space: log t_k = lgamma(n) - lgamma(k + 1) - lgamma(n - k) - (n - 1) log 2, summed
  // relative to the largest term.
  const long double N = static_cast<long double>(n);
  auto logt = [&](std::int64_t k) {
    const long double K = static_cast<long double>(k);
    return std::lgamma(N) - std::lgamma(K + 1) - std::lgamma(N - K) - (N - 1) * std::log(2.0L);
  };
  long double mx = -std::numeric_limits<long double>::infinity();
  for (std::int64_t k = 0; k < d; ++k) mx = std::max(mx, logt(k));
  long double s = 0;
  for (std::int64_t k = 0; k < d; ++k) s += std::exp(logt(k) - mx);
  return static_cast<double>(std::min<long double>(1, std::exp(mx) * s));
}

// ---------------------------------------------------------------- sweeps

std::optional<double> find_level_crossing(std::span<const double> x, std::span<const double> y,
                                          double level, bool log_x, Crossing direction) {
  const size_t m = x.size();
  if (y.size() != m) throw std::invalid_argument("level crossing: x and y differ in length");
  if (m < 2) throw std::invalid_argument("level crossing needs at least 2 points");
  if (std::isnan(level)) throw std::invalid_argument("level crossing: the level is NaN");
  for (size_t k = 0; k < m; ++k) {
    if (std::isnan(x[k]) || std::isnan(y[k]))
      throw std::invalid_argument("level crossing: NaN in the curve");
    if (k > 0 && !(x[k] > x[k - 1]))
      throw std::invalid_argument("level crossing: x must be strictly increasing");
    if (log_x && !(x[k] > 0))
      throw std::invalid_argument("level crossing: log interpolation needs x > 0");
  }
  auto interpolate = [&](size_t k) {
    const double f = (level - y[k]) / (y[k + 1] - y[k]);
    if (log_x) {
      const double a = std::log(x[k]), b = std::log(x[k + 1]);
      return std::exp(a + f * (b - a));
    }
    return x[k] + f * (x[k + 1] - x[k]);
  };
  for (size_t k = 0; k + 1 < m; ++k) {
    const double a = y[k], b = y[k + 1];
    switch (direction) {
      case Crossing::Rising:
        if (a < level && level <= b) return b == level ? x[k + 1] : interpolate(k);
        break;
      case Crossing::Falling:
        if (a > level && level >= b) return b == level ? x[k + 1] : interpolate(k);
        break;
      case Crossing::Any:
        if (a == level) return x[k];
        if (b == level) return x[k + 1];
        if ((a < level) != (b < level)) return interpolate(k);
        break;
    }
  }
  return std::nullopt;
}

double level_crossing(std::span<const double> x, std::span<const double> y, double level,
                      bool log_x, Crossing direction) {
  if (auto r = find_level_crossing(x, y, level, log_x, direction)) return *r;
  const auto [lo, hi] = std::minmax_element(y.begin(), y.end());
  std::ostringstream os;
  os.precision(6);
  os << "the curve never crosses the level " << level
     << (direction == Crossing::Rising ? " from below" : direction == Crossing::Falling ? " from above" : "")
     << " (y ranges over [" << *lo << ", " << *hi << "] on x in [" << x.front() << ", "
     << x.back() << "])";
  throw std::domain_error(os.str());
}

PowerLawFit fit_power_law(std::span<const double> x, std::span<const double> y,
                          std::span<const double> y_se) {
  const size_t m = x.size();
  if (y.size() != m || (!y_se.empty() && y_se.size() != m))
    throw std::invalid_argument("fit_power_law: x, y (and y_se) differ in length");
  if (m < 3) throw std::invalid_argument("fit_power_law needs at least 3 points");
  const bool weighted = !y_se.empty();
  for (size_t i = 0; i < m; ++i) {
    if (!(x[i] > 0) || !(y[i] > 0))
      throw std::invalid_argument("fit_power_law needs x > 0 and y > 0");
    if (weighted && !(y_se[i] > 0))
      throw std::invalid_argument("fit_power_law needs standard errors > 0");
  }
  auto w = [&](size_t i) {
    if (!weighted) return 1.0;
    const double r = y[i] / y_se[i];
    return r * r;
  };
  // Two passes: weighted means, then centred sums.
  double sw = 0, su = 0, sv = 0;
  for (size_t i = 0; i < m; ++i) {
    const double wi = w(i);
    sw += wi;
    su += wi * std::log(x[i]);
    sv += wi * std::log(y[i]);
  }
  const double ubar = su / sw, vbar = sv / sw;
  double suu = 0, suv = 0;
  for (size_t i = 0; i < m; ++i) {
    const double du = std::log(x[i]) - ubar, dv = std::log(y[i]) - vbar;
    suu += w(i) * du * du;
    suv += w(i) * du * dv;
  }
  if (!(suu > 0)) throw std::invalid_argument("fit_power_law needs at least two distinct x");
  PowerLawFit f;
  f.points = static_cast<Index>(m);
  f.exponent = suv / suu;
  f.log_prefactor = vbar - f.exponent * ubar;
  f.prefactor = std::exp(f.log_prefactor);
  double rss = 0, chi2 = 0;
  for (size_t i = 0; i < m; ++i) {
    const double r = std::log(y[i]) - f.log_prefactor - f.exponent * std::log(x[i]);
    rss += r * r;
    chi2 += w(i) * r * r;
  }
  f.rms_log_residual = std::sqrt(rss / static_cast<double>(m));
  f.chi2 = chi2;
  // Variance factor: s^2 = RSS/(m - 2) for OLS; 1 (known errors) when weighted.
  const double s2 = weighted ? 1.0 : rss / static_cast<double>(m - 2);
  f.exponent_se = std::sqrt(s2 / suu);
  f.log_prefactor_se = std::sqrt(s2 * (1 / sw + ubar * ubar / suu));
  return f;
}

// ---------------------------------------------------------------- quantiles

namespace {
double sorted_quantile(const std::vector<double>& s, double q) {
  if (!(q >= 0 && q <= 1))
    throw std::invalid_argument("quantile level must lie in [0, 1] (got " + std::to_string(q) + ")");
  const double h = static_cast<double>(s.size() - 1) * q;
  const size_t lo = static_cast<size_t>(std::floor(h));
  const size_t hi = std::min(lo + 1, s.size() - 1);
  return s[lo] + (h - static_cast<double>(lo)) * (s[hi] - s[lo]);
}
std::vector<double> sorted_copy(std::span<const double> values) {
  if (values.empty()) throw std::invalid_argument("quantile of an empty sample");
  std::vector<double> s(values.begin(), values.end());
  for (double v : s)
    if (std::isnan(v)) throw std::invalid_argument("quantile: NaN in the data");
  std::sort(s.begin(), s.end());
  return s;
}
}  // namespace

double quantile(std::span<const double> values, double q) {
  return sorted_quantile(sorted_copy(values), q);
}

std::vector<double> quantiles(std::span<const double> values, std::span<const double> qs) {
  const std::vector<double> s = sorted_copy(values);
  std::vector<double> out;
  out.reserve(qs.size());
  for (double q : qs) out.push_back(sorted_quantile(s, q));
  return out;
}

}  // namespace attnflow::stats
