#include "analysis/claims.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "analysis/compare.hpp"
#include "analysis/ellipticity.hpp"

namespace attnflow {

double fit_exponential_rate(const std::vector<double>& t, const std::vector<double>& y) {
  const std::size_t n = t.size();
  double st = 0, sy = 0, stt = 0, sty = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double ly = std::log(y[i]);
    st += t[i]; sy += ly; stt += t[i] * t[i]; sty += t[i] * ly;
  }
  const double dn = static_cast<double>(n);
  return -(dn * sty - st * sy) / (dn * stt - st * st);
}

namespace {

std::string fmt(double v) {
  std::ostringstream os;
  os.precision(6);
  os << v;
  return os.str();
}

// A fresh in-memory run of a (validated) scenario, or of a variant of it.
struct Rerun {
  RunSummary sum;
  Series series;
  RowMat x0, x1;
};

Rerun rerun(const Scenario& s2) {
  Simulation sim(s2);
  Rerun r;
  r.x0 = sim.state().x();
  RunOptions opt;
  r.sum = sim.run(opt);
  r.series = sim.series();
  r.x1 = sim.state().x();
  return r;
}


double drift_of(const std::vector<double>& y, bool relative) {
  double m = 0;
  for (double v : y) m = std::max(m, std::abs(v - y.front()));
  return relative && y.front() != 0 ? m / std::abs(y.front()) : m;
}

// Measured value of the claims that rerun scenarios; fills detail.
double rerun_claim(const ClaimSpec& c, const Scenario& sc, std::string& detail, bool& extra_ok) {
  extra_ok = true;
  std::ostringstream os;
  if (c.kind == "drift_order") {
    // The same run with dt and with dt/2 (twice the layers in layers mode: same t_end).
    Scenario half = sc;
    half.integrator.dt = sc.integrator.dt / 2;
    if (half.layers_mode()) half.integrator.layers *= 2;
    const Rerun a = rerun(sc);
    const Rerun b = rerun(half);
    const double da = drift_of(a.series.values.at(c.observable), c.relative);
    const double db = drift_of(b.series.values.at(c.observable), c.relative);
    os << "drift " << da << " (dt) vs " << db << " (dt/2): order";
    detail = os.str();
    return std::log2(da / db);
  }
  if (c.kind == "ellipticity") {
    std::vector<std::string> kinds = c.integrators;
    if (kinds.empty()) kinds.push_back(sc.integrator.kind);
    double worst = 0;
    for (const auto& k : kinds) {
      Scenario other = sc;
      other.integrator.kind = k;
      other.integrator_info = IntegratorRegistry::find(k);
      const Rerun r = rerun(other);
      const double v = c.metric == "mahalanobis"
                           ? mahalanobis_residual(r.x0, r.x1)
                           : linear_image_residual(r.x0, r.x1, c.metric == "affine_image");
      os << k << " " << v << "; ";
      worst = std::max(worst, v);
    }
    os << c.metric << " residual (max over " << kinds.size() << ")";
    detail = os.str();
    return worst;
  }
  // compare_runs: hitting times of this scenario vs `against`, paired by seed.
  // `against` was resolved and loaded once by validation; the command line's --set values apply
  // to it too.
  const std::string other = c.against;
  const Scenario against = load_scenario(other, sc.overrides);
  std::vector<std::int64_t> seeds = c.seeds;
  if (seeds.empty()) seeds.push_back(static_cast<std::int64_t>(sc.run.seed));
  double sum_a = 0, sum_b = 0;
  std::int64_t wins = 0;
  bool budget = true;
  for (auto seed : seeds) {
    Scenario sa = sc, sb = against;
    sa.run.seed = sb.run.seed = static_cast<std::uint64_t>(seed);
    if (!sa.run.model_seed_given) sa.run.model_seed = sa.run.seed;
    if (!sb.run.model_seed_given) sb.run.model_seed = sb.run.seed;
    const Rerun a = rerun(sa);
    const Rerun b = rerun(sb);
    auto hit = [&](const Rerun& r) {
      auto it = r.series.values.find(c.observable);
      if (it == r.series.values.end())
        throw ConfigError(c.where.str() + ": observable '" + c.observable + "' not recorded by " +
                          other);
      return sustained_hitting_time(r.series.t, it->second, c.threshold, c.relative);
    };
    const double ta = hit(a), tb = hit(b);
    sum_a += ta;
    sum_b += tb;
    wins += ta < tb;
    if (a.sum.rhs_evals != b.sum.rhs_evals) budget = false;
    os << "seed " << seed << ": " << ta << " vs " << tb << " (" << a.sum.rhs_evals << " vs "
       << b.sum.rhs_evals << " RHS); ";
  }
  const std::int64_t need = c.min_wins >= 0 ? c.min_wins : static_cast<std::int64_t>(seeds.size());
  extra_ok = wins >= need && (!c.equal_budget || budget);
  os << wins << "/" << seeds.size() << " wins (need " << need << ")";
  if (c.equal_budget) os << (budget ? ", equal RHS budget" : ", UNEQUAL RHS budget");
  os << "; reduction of the mean hitting time";
  detail = os.str();
  if (!std::isfinite(sum_a) || !std::isfinite(sum_b)) return -std::numeric_limits<double>::infinity();
  return 1 - sum_a / sum_b;
}

}  // namespace

ClaimResult evaluate_claim(const ClaimSpec& c, const Scenario& sc, const Series& s) {
  ClaimResult r;
  r.label = c.label;
  auto it = s.values.find(c.observable);
  if (it == s.values.end()) {
    r.detail = "observable '" + c.observable + "' was not recorded";
    return r;
  }
  std::vector<double> t, y, tref;
  std::vector<std::size_t> idx;
  for (std::size_t i = 0; i < s.t.size() && i < it->second.size(); ++i) {
    if (c.has_window && (s.t[i] < c.t_from - 1e-12 || s.t[i] > c.t_to + 1e-12)) continue;
    t.push_back(s.t[i]);
    y.push_back(it->second[i]);
    idx.push_back(i);
  }
  std::string where = c.has_window ? " on [" + fmt(c.t_from) + ", " + fmt(c.t_to) + "]" : "";
  if (t.size() < (c.kind == "rate" || c.kind == "power_rate" ? 2u : 1u)) {
    r.detail = c.label + where + ": not enough frames in the window (" + std::to_string(t.size()) + ")";
    return r;
  }
  double m = 0;
  bool extra_ok = true;
  if (c.kind == "drift_order" || c.kind == "ellipticity" || c.kind == "compare_runs") {
    std::string d;
    try {
      m = rerun_claim(c, sc, d, extra_ok);
    } catch (const std::exception& e) {
      r.detail = c.label + ": " + e.what();
      return r;
    }
    where = ": " + d;
  } else if (c.kind == "power_rate") {
    try {
      m = fit_rate(t, y, -1, -1, true).rate;
    } catch (const std::exception& e) {
      r.detail = c.label + where + ": " + e.what();
      return r;
    }
  } else if (c.kind == "hitting_time") {
    m = sustained_hitting_time(t, y, c.threshold, c.relative);
  } else if (c.kind == "drift") {
    m = drift_of(y, c.relative);
  } else if (c.kind == "rate") {
    for (double v : y)
      if (!(v > 0)) {
        r.detail = c.label + where + ": observable is not positive, no exponential rate";
        return r;
      }
    m = fit_exponential_rate(t, y);
  } else if (c.kind == "final") {
    m = y.back();
  } else if (c.kind == "min") {
    m = *std::min_element(y.begin(), y.end());
  } else if (c.kind == "max") {
    m = *std::max_element(y.begin(), y.end());
  } else if (c.kind == "monotone") {
    const double sign = c.direction == "increasing" ? 1 : -1;
    double worst = 0;
    for (std::size_t i = 1; i < y.size(); ++i) worst = std::max(worst, -sign * (y[i] - y[i - 1]));
    r.measured = worst;
    r.pass = worst <= c.tol;
    r.detail = c.label + where + " " + c.direction + ": worst violation " + fmt(worst) +
               " (allowed " + fmt(c.tol) + ")";
    return r;
  } else if (c.kind == "max_residual") {
    std::vector<double> ref;
    if (c.reference == "zero") {
      ref.assign(y.size(), 0.0);
    } else if (c.reference == "equiangular") {
      const double beta = sc.number("model.beta");
      const bool softmax = sc.text("model.normalization") == "softmax";
      ref = equiangular_gamma(t, sc.integrator.t0, sc.tokens.n, beta, softmax);
    } else {
      auto jt = s.values.find(c.reference);
      if (jt == s.values.end()) {
        r.detail = c.label + ": reference '" + c.reference +
                   "' is neither zero, equiangular nor a recorded observable";
        return r;
      }
      for (std::size_t i : idx) ref.push_back(jt->second[i]);
    }
    for (std::size_t i = 0; i < y.size(); ++i) m = std::max(m, std::abs(y[i] - ref[i]));
  }
  r.measured = m;
  bool ok = true;
  std::string expect;
  compare_measured(c, m, ok, expect);
  r.pass = ok && extra_ok && std::isfinite(m);
  r.detail = c.label + where + " = " + fmt(m) + " (expected " + expect + ")";
  return r;
}

void compare_measured(const ClaimSpec& c, double m, bool& ok, std::string& expect) {
  if (c.has_equals) {
    const double tol = std::max(c.abs_tol, c.rel_tol * std::abs(c.equals));
    ok = ok && std::abs(m - c.equals) <= tol;
    expect += fmt(c.equals) + " +/- " + fmt(tol);
  }
  if (c.has_at_least) {
    ok = ok && m >= c.at_least;
    expect += (expect.empty() ? ">= " : ", >= ") + fmt(c.at_least);
  }
  if (c.has_at_most) {
    ok = ok && m <= c.at_most;
    expect += (expect.empty() ? "<= " : ", <= ") + fmt(c.at_most);
  }
}

std::vector<ClaimResult> evaluate_claims(const Scenario& sc, const Series& s) {
  std::vector<ClaimResult> out;
  for (const auto& c : sc.expect) out.push_back(evaluate_claim(c, sc, s));
  return out;
}

}  // namespace attnflow
