#pragma once
// What the density model (sim/models/circle_density.cpp) and the attention model's mean-field
// companion on the circle (sim/models/attention.cpp) share (issue 17; docs/mean_field.md):
//
//   the initial density   rho_0(theta) = (1/2 pi)(1 + sum_k a_k cos(k theta) + b_k sin(k theta)),
//                         keys density_cos = [a_1, a_2, ...], density_sin = [b_1, ...]
//                         (both empty: the uniform density), required to be >= 0;
//   the Fourier modes     mode_k = |(1/N) sum_j e^{i k theta_j}| for tokens (mode_1 = r) and
//                         2 pi |rho_hat_k| for a density (the same number for the empirical
//                         measure), k = 1..kModes;
//   growth rates          growth_k(t) = log(mode_k(t) / mode_k(t0)) / (t - t0), t0 the first
//                         frame (0 there): the linear rate lambda_k of mode k while it is linear.
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "sim/config/section.hpp"
#include "sim/core/key_doc.hpp"
#include "sim/kernels/circle_density.hpp"

namespace attnflow {

constexpr int kCircleModes = 4;

struct InitialDensity {
  std::vector<double> cos, sin;  // a_k, b_k, k = 1, 2, ...
  bool given = false;            // a non-empty array was given (the resolved scenario of a run
                                 // records the defaults as [], which must mean "not given")
  double operator()(double theta) const {
    double f = 1;
    for (std::size_t k = 0; k < cos.size(); ++k) f += cos[k] * std::cos(double(k + 1) * theta);
    for (std::size_t k = 0; k < sin.size(); ++k) f += sin[k] * std::sin(double(k + 1) * theta);
    return f / (2 * M_PI);
  }
  // The cell averages on M uniform cells (8-point Gauss-Legendre per cell: exact for these
  // trigonometric polynomials up to rounding, so the mass is 1).
  Vec cells(Index m) const { return cell_averages(*this, m); }
};

inline InitialDensity read_initial_density(Section& m) {
  InitialDensity d;
  d.cos = m.reals("density_cos", {});
  d.sin = m.reals("density_sin", {});
  d.given = !d.cos.empty() || !d.sin.empty();
  // rho_0 >= 0: checked on a grid fine enough for the highest mode given (8 points per period).
  const std::size_t kmax = std::max(d.cos.size(), d.sin.size());
  const Index pts = std::max<Index>(4096, static_cast<Index>(64 * kmax));
  for (Index i = 0; i < pts; ++i) {
    const double th = 2 * M_PI * double(i) / double(pts);
    if (d(th) < -1e-12)
      m.fail(m.has("density_cos") ? "density_cos" : "density_sin",
             "the initial density (1/2 pi)(1 + sum_k a_k cos k theta + b_k sin k theta) is negative "
             "at theta = " + std::to_string(th) + "; keep sum_k |a_k| + |b_k| <= 1");
  }
  return d;
}

inline std::vector<KeyDoc> initial_density_key_docs(const std::string& use) {
  const std::string src = "docs/mean_field.md";
  return {
      {"density_cos", "array of numbers", "(none: the uniform density)", "density >= 0",
       "a_1, a_2, ...: the initial density rho_0 = (1/2 pi)(1 + sum_k a_k cos k theta + b_k sin k "
       "theta) " + use, src},
      {"density_sin", "array of numbers", "(none)", "density >= 0", "b_1, b_2, ...: as density_cos", src},
  };
}

inline std::string circle_mode_name(const char* stem, int k) { return stem + std::to_string(k); }

// Names of the mode / growth observables (mode_1..mode_4, growth_1..growth_4).
inline std::vector<std::string> circle_mode_observables() {
  std::vector<std::string> v;
  for (int k = 1; k <= kCircleModes; ++k) v.push_back(circle_mode_name("mode_", k));
  for (int k = 1; k <= kCircleModes; ++k) v.push_back(circle_mode_name("growth_", k));
  return v;
}

// density: the modes of a density run (2 pi |rho_hat_k|), else of the tokens' angles.
inline std::vector<ModelObservableDoc> circle_mode_observable_docs(bool density,
                                                                  const std::string& needs = "") {
  std::vector<ModelObservableDoc> v;
  for (int k = 1; k <= kCircleModes; ++k) {
    const std::string ks = std::to_string(k);
    v.push_back({circle_mode_name("mode_", k),
                 (density ? "2 pi |rho_hat_" + ks + "| = |int e^{i " + ks + " theta} rho dtheta|"
                          : "|(1/N) sum_j e^{i " + ks + " theta_j}| of the tokens' angles") +
                     (k == 1 ? " (the order parameter r)" : ""), needs});
  }
  for (int k = 1; k <= kCircleModes; ++k)
    v.push_back({circle_mode_name("growth_", k),
                 "log(mode_" + std::to_string(k) + "(t) / mode_" + std::to_string(k) +
                     "(t0)) / (t - t0), t0 the first frame (0 there): the linear growth rate "
                     "lambda_" + std::to_string(k) + " while the mode is linear (docs/mean_field.md 3)",
                 needs});
  return v;
}

// mode_k at t0 kept for the growth observables; parse "mode_k" / "growth_k".
struct CircleModeTracker {
  std::array<double, kCircleModes + 1> first{};
  double t0 = 0;
  bool have = false;
  // k >= 1 if name is mode_k / growth_k (growth: *growth = true), else 0.
  static int parse(const std::string& name, bool* growth) {
    for (const char* stem : {"mode_", "growth_"}) {
      for (int k = 1; k <= kCircleModes; ++k)
        if (name == circle_mode_name(stem, k)) {
          *growth = stem[0] == 'g';
          return k;
        }
    }
    return 0;
  }
  template <class ModeFn>
  void observe(double t, ModeFn mode) {
    if (have) return;
    for (int k = 1; k <= kCircleModes; ++k) first[k] = mode(k);
    t0 = t;
    have = true;
  }
  double growth(int k, double t, double mode_now) const {
    if (!have || t == t0) return 0.0;
    return std::log(mode_now / first[k]) / (t - t0);
  }
};

}  // namespace attnflow
