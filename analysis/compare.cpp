// Fitted rates and sustained hitting times (see analysis/compare.hpp; SympFormer
// arXiv 2603.16535, research/sympformer.md 7.3).
#include "analysis/compare.hpp"

#include <cmath>
#include <stdexcept>

namespace attnflow {

Fit fit_rate(const std::vector<double>& t, const std::vector<double>& y, double t0, double t1,
             bool power_law) {
  Fit f;
  f.t0 = t0;
  f.t1 = t1;
  double st = 0, sy = 0, stt = 0, sty = 0;
  for (std::size_t i = 0; i < t.size() && i < y.size(); ++i) {
    if ((t0 >= 0 && t[i] < t0 - 1e-12) || (t1 >= 0 && t[i] > t1 + 1e-12)) continue;
    if (!(y[i] > 0)) throw std::domain_error("observable is not positive in the window");
    if (power_law && !(t[i] > 0)) throw std::domain_error("power-law fit needs t > 0");
    const double x = power_law ? std::log(t[i]) : t[i], ly = std::log(y[i]);
    st += x; sy += ly; stt += x * x; sty += x * ly;
    ++f.points;
  }
  if (f.points < 2) throw std::domain_error("fewer than two frames in the window");
  const double n = static_cast<double>(f.points);
  const double slope = (n * sty - st * sy) / (n * stt - st * st);
  f.rate = -slope;
  f.intercept = (sy - slope * st) / n;
  return f;
}

double sustained_hitting_time(const std::vector<double>& t, const std::vector<double>& y,
                              double threshold, bool relative) {
  if (y.empty()) return std::numeric_limits<double>::infinity();
  const double ref = relative ? y.front() : 1.0;
  double hit = std::numeric_limits<double>::infinity();
  for (std::size_t k = y.size(); k-- > 0;) {
    if (!(y[k] / ref < threshold)) break;
    hit = t[k] - t.front();
  }
  return hit;
}

}  // namespace attnflow
