#pragma once
// Rates, hitting times and run-to-run comparisons of observables (used by `attnflow analyze`
// and by the claims of analysis/claims.hpp; SympFormer arXiv 2603.16535, research/sympformer.md
// 7.3 E021 and 4.4 "equal oracle count").
//
//   exponential rate   least squares of log y = c - r t over a window        y ~ C e^{-r t}
//   power-law rate     least squares of log y = c - p log t (t > 0)          y ~ C t^{-p}
//   sustained hitting  T - t0 for the first frame time T with y(t)/y(t0) < threshold for every
//   time               frame t >= T (relative), or y(t) < threshold (absolute); +inf if never
//                      (t0 = the first frame: the time elapsed since the start of the run)
#include <limits>
#include <string>
#include <vector>

namespace attnflow {

struct Fit {
  double rate = 0, intercept = 0;  // log y = intercept - rate * (t | log t)
  double t0 = 0, t1 = 0;
  std::size_t points = 0;
};

// Frames of (t, y) with t in [t0, t1] (t0 < 0: from the start; t1 < 0: to the end).
Fit fit_rate(const std::vector<double>& t, const std::vector<double>& y, double t0, double t1,
             bool power_law);
double sustained_hitting_time(const std::vector<double>& t, const std::vector<double>& y,
                              double threshold, bool relative);

}  // namespace attnflow
