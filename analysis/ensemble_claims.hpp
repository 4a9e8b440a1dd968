#pragma once
// Claims about ensembles and sweeps (`attnflow check` on a scenario with [ensemble]): statements
// about probabilities and means over the systems, with a stated confidence level.
//
//   kind = "probability"        the fraction of systems in which an event holds at a grid point
//                               and frame: event = "indicator" (the statistic is 0/1, e.g.
//                               hemisphere), "equals" / "below" / "above" value. Interval:
//                               exact Clopper-Pearson at `confidence` (default 0.99).
//   kind = "ensemble_mean"      the mean of the statistic over the systems; interval: mean +/-
//                               z_c x standard error (CLT, z_c the two-sided normal quantile).
//   kind = "crossing"           the first crossing of `level` by the mean curve along the swept
//                               key `along` (linear interpolation; in log x for a log axis);
//                               the other axes are fixed by `point`.
//   kind = "ensemble_power_law" the exponent p of mean ~ C along^p, least squares in log-log;
//                               reference = "sqrt(log(x)/x)" compares with the exponent that the
//                               same fit gives for that function on the same grid (GLPR
//                               Theorem 6.9's bound; abs_tol needed).
//   kind = "ensemble_curve"     max over the frames of |mean(t) - reference(t)|, reference =
//                               "equiangular" (GLPR's ODE 6.9 / 6.10 for the point's n, beta,
//                               normalisation) or another statistic's mean.
//
// Where: point = { "model.beta" = 0.1 } picks the grid point (every swept key not given must
// have one value); time = t picks the frame (default: the last).
// Comparisons with an interval [lo, hi]: `equals = x` passes iff x lies in [lo, hi] (the data
// are consistent with x); `at_least = x` iff lo >= x and `at_most = x` iff hi <= x (the data show
// it at the confidence level). Point estimates (crossing, power law, curve) compare as the
// single-run claims do (equals with rel_tol / abs_tol, at_least, at_most).
#include <string>
#include <vector>

#include "analysis/claims.hpp"
#include "sim/io/sweep_file.hpp"

namespace attnflow {

bool is_ensemble_claim(const ClaimSpec& c);

// `data` must hold the per-system values (read_sweep(path, true)).
ClaimResult evaluate_ensemble_claim(const ClaimSpec& c, const Scenario& sc, const SweepData& data);
std::vector<ClaimResult> evaluate_ensemble_claims(const Scenario& sc, const SweepData& data);

}  // namespace attnflow
