#include "sim/kernels/frequency_laws.hpp"

#include <cmath>

namespace attnflow {

// Inverse standard normal CDF: Acklam's rational approximation plus one Halley step (~1e-15).
double inv_norm_cdf(double p) {
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                             1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  double x;
  if (p < 0.02425) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p > 1 - 0.02425) {
    const double q = std::sqrt(-2 * std::log1p(-p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

double frequency_density(FrequencyLaw law, double s, double w) {
  switch (law) {
    case FrequencyLaw::Lorentzian: return s / (M_PI * (w * w + s * s));
    case FrequencyLaw::Gaussian: return std::exp(-w * w / (2 * s * s)) / (s * std::sqrt(2 * M_PI));
    case FrequencyLaw::Uniform: return std::abs(w) <= s / 2 ? 1 / s : 0.0;
    default: return 0.0;
  }
}

// Largest root r in (0, 1] of 1 = K int cos^2 phi g(K r sin phi) dphi (0 if none).
double mean_field_r(FrequencyLaw law, double s, double K) {
  if (law == FrequencyLaw::Lorentzian) return K > 2 * s ? std::sqrt(1 - 2 * s / K) : 0.0;
  auto f = [&](double r) {
    const int m = 4000;  // composite Simpson
    const double a = -M_PI / 2, h = M_PI / m;
    double sum = 0;
    for (int k = 0; k <= m; ++k) {
      const double ph = a + k * h, c = std::cos(ph);
      const double w = (k == 0 || k == m) ? 1 : (k % 2 ? 4 : 2);
      sum += w * c * c * frequency_density(law, s, K * r * std::sin(ph));
    }
    return K * sum * h / 3 - 1;
  };
  if (f(1e-9) <= 0) return 0.0;
  if (f(1.0) >= 0) return 1.0;
  double lo = 1e-9, hi = 1.0;
  for (int it = 0; it < 200 && hi - lo > 1e-15; ++it) {
    const double mid = 0.5 * (lo + hi);
    (f(mid) > 0 ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

}  // namespace attnflow
