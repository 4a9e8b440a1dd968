#pragma once
// exp(x) for x <= 0 (the online-softmax argument s - max), branch-free so that loops over it
// vectorise (AVX2/AVX-512 with -march=native). Cody-Waite reduction x = k ln2 + r, |r| <= ln2/2,
// degree-13 Taylor polynomial (truncation 4e-18 relative), exponent assembled from bits.
// Relative error <= 2 ulp for x in [-708, 0]; returns 0 below -708 (e^-708 ~ 3e-308).
#include <bit>
#include <cstdint>

namespace attnflow {

inline double fast_exp_nonpos(double x) {
  constexpr double log2e = 1.4426950408889634074;
  constexpr double ln2_hi = 6.93147180369123816490e-01;
  constexpr double ln2_lo = 1.90821492927058770002e-10;
  constexpr double shifter = 0x1.8p52;  // adding it rounds to an integer held in the low bits
  const double xc = x < -708.0 ? -708.0 : x;
  const double t = xc * log2e + shifter;
  const double kf = t - shifter;
  const double r = (xc - kf * ln2_hi) - kf * ln2_lo;
  double p = 1.0 / 6227020800.0;  // 1/13!
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  const std::int64_t k = std::bit_cast<std::int64_t>(t) - std::bit_cast<std::int64_t>(shifter);
  const double scale = std::bit_cast<double>((k + 1023) << 52);
  return x < -708.0 ? 0.0 : p * scale;
}

}  // namespace attnflow
