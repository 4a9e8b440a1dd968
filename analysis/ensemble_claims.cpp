#include "analysis/ensemble_claims.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "sim/kernels/equiangular.hpp"
#include "sim/kernels/statistics.hpp"

namespace attnflow {

bool is_ensemble_claim(const ClaimSpec& c) {
  return c.kind == "probability" || c.kind == "ensemble_mean" || c.kind == "crossing" ||
         c.kind == "ensemble_power_law" || c.kind == "ensemble_curve";
}

namespace {

std::string fmt(double v) {
  std::ostringstream os;
  os.precision(6);
  os << v;
  return os.str();
}

int axis_of(const SweepData& d, const std::string& key) {
  for (std::size_t k = 0; k < d.keys.size(); ++k)
    if (d.keys[k] == key) return static_cast<int>(k);
  return -1;
}

bool close(double a, double b) { return std::abs(a - b) <= 1e-9 * std::max({1.0, std::abs(a), std::abs(b)}); }

// The grid points matching c.point on every given axis; `free_axis` (or -1) may vary.
std::vector<std::size_t> matching_points(const ClaimSpec& c, const SweepData& d, int free_axis) {
  for (const auto& [key, v] : c.point)
    if (axis_of(d, key) < 0) throw ConfigError(c.where.str() + ": point: " + key + " is not swept");
  for (std::size_t k = 0; k < d.keys.size(); ++k) {
    if (static_cast<int>(k) == free_axis || d.axes[k].size() == 1) continue;
    bool given = false;
    for (const auto& pv : c.point) given = given || pv.first == d.keys[k];
    if (!given)
      throw ConfigError(c.where.str() + ": point must give the value of the swept key " + d.keys[k]);
  }
  std::vector<std::size_t> out;
  for (std::size_t g = 0; g < d.points(); ++g) {
    bool ok = true;
    for (const auto& [key, v] : c.point) ok = ok && close(d.grid[g][static_cast<std::size_t>(axis_of(d, key))], v);
    if (ok) out.push_back(g);
  }
  if (out.empty()) throw ConfigError(c.where.str() + ": point matches no grid point of the sweep");
  return out;
}

std::size_t frame_of(const ClaimSpec& c, const SweepData& d, std::size_t g) {
  const auto& ts = d.times[g];
  if (!c.has_time) return ts.size() - 1;
  for (std::size_t f = 0; f < ts.size(); ++f)
    if (close(ts[f], c.time)) return f;
  throw ConfigError(c.where.str() + ": time = " + fmt(c.time) + " is not a frame time (frames on [" +
                    fmt(ts.front()) + ", " + fmt(ts.back()) + "])");
}

void compare_interval(const ClaimSpec& c, double lo, double hi, bool& ok, std::string& expect) {
  if (c.has_equals) {
    ok = ok && c.equals >= lo && c.equals <= hi;
    expect += fmt(c.equals) + " inside the interval";
  }
  if (c.has_at_least) {
    ok = ok && lo >= c.at_least;
    expect += (expect.empty() ? "" : ", ") + std::string("lower end >= ") + fmt(c.at_least);
  }
  if (c.has_at_most) {
    ok = ok && hi <= c.at_most;
    expect += (expect.empty() ? "" : ", ") + std::string("upper end <= ") + fmt(c.at_most);
  }
}

std::string point_label(const SweepData& d, std::size_t g) {
  std::string s;
  for (std::size_t k = 0; k < d.keys.size(); ++k) s += (k ? ", " : "") + d.keys[k] + " = " + fmt(d.grid[g][k]);
  return s.empty() ? "" : " at " + s;
}

}  // namespace

ClaimResult evaluate_ensemble_claim(const ClaimSpec& c, const Scenario& sc, const SweepData& d) {
  ClaimResult r;
  r.label = c.label;
  const int q = d.statistic(c.statistic);
  if (q < 0) {
    r.detail = c.label + ": statistic '" + c.statistic + "' was not recorded";
    return r;
  }
  const std::size_t S = static_cast<std::size_t>(d.size);
  const std::size_t F = d.frames();
  auto mean = [&](std::size_t g, std::size_t f) { return d.mean[static_cast<std::size_t>(q)][g * F + f]; };
  bool ok = true;
  std::string expect, detail;
  std::ostringstream os;
  os.precision(6);
  if (c.kind == "probability" || c.kind == "ensemble_mean") {
    const auto pts = matching_points(c, d, -1);
    if (pts.size() != 1) throw ConfigError(c.where.str() + ": point matches " + std::to_string(pts.size()) + " grid points");
    const std::size_t g = pts[0], f = frame_of(c, d, g);
    if (d.values.empty()) throw Error("ensemble claims need the per-system values");
    const double* v = d.values[static_cast<std::size_t>(q)].data() + (g * F + f) * S;
    double lo, hi, m;
    if (c.kind == "probability") {
      std::int64_t k = 0;
      for (std::size_t i = 0; i < S; ++i) {
        bool ev;
        if (c.event == "indicator") {
          if (v[i] != 0 && v[i] != 1)
            throw ConfigError(c.where.str() + ": statistic '" + c.statistic + "' is not 0/1: give "
                              "event = \"equals\", \"below\" or \"above\" with a value");
          ev = v[i] == 1;
        } else if (c.event == "equals") {
          ev = std::abs(v[i] - c.event_value) <= 1e-12 * std::max(1.0, std::abs(c.event_value));
        } else if (c.event == "below") {
          ev = v[i] < c.event_value;
        } else {
          ev = v[i] > c.event_value;
        }
        k += ev;
      }
      const stats::Interval ci = stats::clopper_pearson_interval(k, static_cast<std::int64_t>(S), c.confidence);
      lo = ci.lo;
      hi = ci.hi;
      m = static_cast<double>(k) / static_cast<double>(S);
      os << k << "/" << S << " systems";
    } else {
      m = mean(g, f);
      const double z = stats::two_sided_z(c.confidence);
      const double se = d.stderr_[static_cast<std::size_t>(q)][g * F + f];
      lo = m - z * se;
      hi = m + z * se;
      os << "mean over " << S << " systems";
    }
    os << point_label(d, g) << ", t = " << d.times[g][f] << ": " << m << ", " << 100 * c.confidence
       << "% interval [" << lo << ", " << hi << "]";
    compare_interval(c, lo, hi, ok, expect);
    r.measured = m;
    r.pass = ok && std::isfinite(m);
    r.detail = c.label + ": " + os.str() + " (expected " + expect + ")";
    return r;
  }
  if (c.kind == "crossing" || c.kind == "ensemble_power_law") {
    const int a = axis_of(d, c.along);
    if (a < 0) throw ConfigError(c.where.str() + ": along = \"" + c.along + "\" is not a swept key");
    const auto pts = matching_points(c, d, a);
    std::vector<double> x, y;
    std::size_t f = 0;
    for (std::size_t g : pts) {
      f = frame_of(c, d, g);
      x.push_back(d.grid[g][static_cast<std::size_t>(a)]);
      y.push_back(mean(g, f));
    }
    const bool logx = static_cast<std::size_t>(a) < d.log.size() && d.log[static_cast<std::size_t>(a)];
    double m;
    if (c.kind == "crossing") {
      const auto cross = stats::find_level_crossing(x, y, c.level, logx);
      if (!cross) {
        r.detail = c.label + ": the mean of " + c.statistic + " never crosses " + fmt(c.level) + " along " + c.along;
        return r;
      }
      m = *cross;
      os << "the mean of " << c.statistic << " crosses " << c.level << " at " << c.along << " = " << m
         << " (t = " << d.times[pts[0]][f] << ")";
      compare_measured(c, m, ok, expect);
    } else {
      const stats::PowerLawFit fit = stats::fit_power_law(x, y);
      m = fit.exponent;
      os << "exponent of the mean of " << c.statistic << " along " << c.along << ": " << m << " +/- "
         << fit.exponent_se;
      if (!c.reference.empty()) {
        if (c.reference != "sqrt(log(x)/x)")
          throw ConfigError(c.where.str() + ": reference must be \"sqrt(log(x)/x)\" (got \"" + c.reference + "\")");
        std::vector<double> ref;
        for (double v : x) ref.push_back(std::sqrt(std::log(v) / v));
        const double e = stats::fit_power_law(x, ref).exponent;
        const double tol = std::max(c.abs_tol, c.rel_tol * std::abs(e));
        ok = std::abs(m - e) <= tol;
        expect = "the exponent of sqrt(log x / x) on this grid, " + fmt(e) + " +/- " + fmt(tol);
      }
      compare_measured(c, m, ok, expect);
    }
    r.measured = m;
    r.pass = ok && std::isfinite(m);
    r.detail = c.label + ": " + os.str() + " (expected " + expect + ")";
    return r;
  }
  // ensemble_curve
  const auto pts = matching_points(c, d, -1);
  if (pts.size() != 1) throw ConfigError(c.where.str() + ": point matches " + std::to_string(pts.size()) + " grid points");
  const std::size_t g = pts[0];
  std::vector<double> ref;
  if (c.reference == "equiangular") {
    const Scenario& p = *sc.grid[g];
    ref = equiangular_gamma(d.times[g], p.integrator.t0, p.tokens.n, p.number("model.beta"),
                            p.text("model.normalization") == "softmax");
  } else {
    const int q2 = d.statistic(c.reference);
    if (q2 < 0) throw ConfigError(c.where.str() + ": reference '" + c.reference + "' is neither \"equiangular\" nor a recorded statistic");
    for (std::size_t f = 0; f < F; ++f) ref.push_back(d.mean[static_cast<std::size_t>(q2)][g * F + f]);
  }
  double m = 0;
  for (std::size_t f = 0; f < F; ++f) m = std::max(m, std::abs(mean(g, f) - ref[f]));
  os << "max over the frames of |mean " << c.statistic << " - " << c.reference << "|" << point_label(d, g) << " = " << m;
  compare_measured(c, m, ok, expect);
  r.measured = m;
  r.pass = ok && std::isfinite(m);
  r.detail = c.label + ": " + os.str() + " (expected " + expect + ")";
  return r;
}

std::vector<ClaimResult> evaluate_ensemble_claims(const Scenario& sc, const SweepData& d) {
  std::vector<ClaimResult> out;
  for (const auto& c : sc.expect) {
    if (!is_ensemble_claim(c)) {
      ClaimResult r;
      r.label = c.label;
      r.detail = c.label + ": claim kind \"" + c.kind + "\" applies to single runs, not to ensembles";
      out.push_back(r);
      continue;
    }
    out.push_back(evaluate_ensemble_claim(c, sc, d));
  }
  return out;
}

}  // namespace attnflow
