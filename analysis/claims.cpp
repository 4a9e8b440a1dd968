#include "analysis/claims.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

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

std::vector<double> equiangular_gamma(const std::vector<double>& times, double t0, Index n,
                                      double beta, bool softmax) {
  const double nn = static_cast<double>(n);
  auto f = [&](double g) {
    const double core = std::exp(beta * g) * (1 - g) * ((nn - 1) * g + 1);
    return softmax ? 2 * core / (std::exp(beta) + (nn - 1) * std::exp(beta * g)) : 2 / nn * core;
  };
  std::vector<double> out;
  double t = t0, g = 0;
  const double hmax = 1e-3;
  for (double tk : times) {
    while (tk - t > 1e-15) {
      const double h = std::min(hmax, tk - t);
      const double k1 = f(g), k2 = f(g + h / 2 * k1), k3 = f(g + h / 2 * k2), k4 = f(g + h * k3);
      g += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
      t += h;
    }
    t = tk;
    out.push_back(g);
  }
  return out;
}

namespace {

std::string fmt(double v) {
  std::ostringstream os;
  os.precision(6);
  os << v;
  return os.str();
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
    if (c.t_from >= 0 && (s.t[i] < c.t_from - 1e-12 || s.t[i] > c.t_to + 1e-12)) continue;
    t.push_back(s.t[i]);
    y.push_back(it->second[i]);
    idx.push_back(i);
  }
  std::string where = c.t_from >= 0 ? " on [" + fmt(c.t_from) + ", " + fmt(c.t_to) + "]" : "";
  if (t.size() < (c.kind == "rate" ? 2u : 1u)) {
    r.detail = c.label + where + ": not enough frames in the window (" + std::to_string(t.size()) + ")";
    return r;
  }
  double m = 0;
  if (c.kind == "rate") {
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
      const toml::table& model = *sc.resolved["model"].as_table();
      const double beta = model["beta"].value_or(1.0);
      const bool softmax = model["normalization"].value_or(std::string("softmax")) == "softmax";
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
  r.pass = ok && std::isfinite(m);
  r.detail = c.label + where + " = " + fmt(m) + " (expected " + expect + ")";
  return r;
}

std::vector<ClaimResult> evaluate_claims(const Scenario& sc, const Series& s) {
  std::vector<ClaimResult> out;
  for (const auto& c : sc.expect) out.push_back(evaluate_claim(c, sc, s));
  return out;
}

}  // namespace attnflow
