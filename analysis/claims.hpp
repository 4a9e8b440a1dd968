#pragma once
// Claims ([[expect]] tables) checked by `attnflow check`. Vocabulary:
//
//   kind = "rate"          fitted exponential rate r of an observable over `window`:
//                          least squares of log(value) = c - r t
//   kind = "final"         the last value in the window
//   kind = "min" | "max"   the smallest / largest value in the window
//   kind = "monotone"      direction = "increasing" | "decreasing"; passes when no frame-to-frame
//                          change goes the wrong way by more than `tol` (measured: worst violation)
//   kind = "max_residual"  max over the window of |value - reference|, reference =
//                            "zero"                 the constant 0
//                            "equiangular"          GLPR's equiangular ODE (6.9) SA / (6.10) USA
//                                                   for the run's n, beta and normalization,
//                                                   gamma(t0) = 0 (compare with mean_inner)
//                            <observable name>      another observable of the same run
//
//   kind = "power_rate"    fitted power-law exponent p of value ~ C t^-p over `window`
//   kind = "hitting_time"  sustained hitting time of `threshold` (value/value(t0) when
//                          relative = true, the default): first frame time after which every
//                          frame stays below; +inf (fails) if never
//   kind = "drift"         max over the window of |value - value(t0)| (/|value(t0)| if relative)
//   kind = "drift_order"   reruns the scenario with dt and dt/2; log2 of the ratio of the
//                          drifts of the observable (4 for H_N conservation with rk4)
//   kind = "compare_runs"  reruns this scenario and `against` (another scenario file, path
//                          relative to this one) for each of `seeds`; measured = 1 - mean
//                          hitting time here / mean hitting time there (threshold, relative);
//                          also needs `min_wins` (default: all) paired wins and, unless
//                          equal_budget = false, equal RHS-evaluation counts
//   kind = "ellipticity"   reruns the scenario (for each of `integrators`, default its own)
//                          and measures the residual `metric` = linear_image | affine_image |
//                          mahalanobis between initial and final positions
//                          (analysis/ellipticity.hpp); `observable` must still name a
//                          recorded observable (the scenario loader requires it)
//
// Comparison (all but monotone): equals = x with rel_tol / abs_tol, at_least = x, at_most = x.
#include <string>
#include <vector>

#include "sim/config/scenario.hpp"
#include "sim/kernels/equiangular.hpp"
#include "sim/run/simulation.hpp"

namespace attnflow {

struct ClaimResult {
  bool pass = false;
  std::string label;
  double measured = 0;
  std::string detail;  // "rate(diameter) on [2, 8] = 0.9987 (expected 1 +/- 0.05)"
};

ClaimResult evaluate_claim(const ClaimSpec& c, const Scenario& sc, const Series& s);

// The comparisons of a claim on one measured value m (equals with max(abs_tol, rel_tol |x|),
// at_least, at_most), for single runs and for the point estimates of ensemble claims: clears
// `ok` when one fails and appends the expectation to `expect` ("1 +/- 0.02, <= 3").
void compare_measured(const ClaimSpec& c, double m, bool& ok, std::string& expect);
std::vector<ClaimResult> evaluate_claims(const Scenario& sc, const Series& s);

// Least-squares exponential rate r of y ~ C exp(-r t) (y > 0).
double fit_exponential_rate(const std::vector<double>& t, const std::vector<double>& y);

}  // namespace attnflow
