#pragma once
// Deterministic random numbers. Every draw in a run derives from [run] seed through named
// streams: stream(seed, "init") and stream(seed, "model.Q") are independent and do not
// depend on the order in which other streams are used. The generator (xoshiro256**) and the
// normal sampler (Marsaglia polar) are written out here so results do not depend on the
// standard library's distribution implementations.
#include <cmath>
#include <cstdint>
#include <string_view>

namespace attnflow {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) {
    std::uint64_t z = seed;
    for (auto& w : s_) w = splitmix(z);
  }
  // An independent stream named `purpose`, derived from `seed`.
  static Rng stream(std::uint64_t seed, std::string_view purpose) {
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a of the purpose
    for (unsigned char c : purpose) h = (h ^ c) * 1099511628211ull;
    std::uint64_t z = seed ^ h;
    return Rng(splitmix(z));
  }
  std::uint64_t next() {
    const std::uint64_t r = rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
    s_[2] ^= s_[0]; s_[3] ^= s_[1]; s_[1] ^= s_[2]; s_[0] ^= s_[3];
    s_[2] ^= t; s_[3] = rotl(s_[3], 45);
    return r;
  }
  double uniform() { return (next() >> 11) * 0x1.0p-53; }           // [0, 1)
  double uniform(double a, double b) { return a + (b - a) * uniform(); }
  double normal() {
    if (have_spare_) { have_spare_ = false; return spare_; }
    double u, v, s;
    do {
      u = 2 * uniform() - 1;
      v = 2 * uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s == 0);
    const double f = std::sqrt(-2 * std::log(s) / s);
    spare_ = v * f; have_spare_ = true;
    return u * f;
  }
  // Chi-square with nu degrees of freedom (nu > 0, real) via Marsaglia-Tsang gamma(nu/2, 2).
  double chi2(double nu) { return 2 * gamma(nu / 2); }
  double gamma(double k) {
    if (k < 1) return gamma(k + 1) * std::pow(uniform_open(), 1 / k);
    const double dd = k - 1.0 / 3, c = 1 / std::sqrt(9 * dd);
    for (;;) {
      double z, v;
      do { z = normal(); v = 1 + c * z; } while (v <= 0);
      v = v * v * v;
      const double u = uniform_open();
      if (std::log(u) < 0.5 * z * z + dd - dd * v + dd * std::log(v)) return dd * v;
    }
  }
  double uniform_open() { double u; do { u = uniform(); } while (u == 0); return u; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix(std::uint64_t& z) {
    std::uint64_t r = (z += 0x9e3779b97f4a7c15ull);
    r = (r ^ (r >> 30)) * 0xbf58476d1ce4e5b9ull;
    r = (r ^ (r >> 27)) * 0x94d049bb133111ebull;
    return r ^ (r >> 31);
  }
  std::uint64_t s_[4];
  double spare_ = 0;
  bool have_spare_ = false;
};

}  // namespace attnflow
