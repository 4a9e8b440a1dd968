// attnflow analyze (see analysis/analyze.hpp; SympFormer arXiv 2603.16535,
// research/sympformer.md 6.4, 7.3). Runs are read through sim/io/h5md_reader.hpp, read-only
// unless --write-fits (then under the run file's lock).
//
// Input checks (every message names the file and the reason; `-` in the table only ever
// means "this value is not defined for these data", e.g. an exponential rate of an
// observable that is not positive):
//   exit 4  the file is missing or unreadable, not HDF5, truncated, or damaged (a group,
//           dataset or attribute that exists but cannot be opened or read);
//   exit 2  an HDF5 file without an attnflow trajectory, a run with no frames (stopped
//           before its first frame) or no observables to fit, a missing observable, and a
//           --window that holds fewer than two frames of a run (a rate needs two).
// The same checks run for every file of a comparison and, before the SSA analysis, for the
// file given to --ssa.
#include "analysis/analyze.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "analysis/compare.hpp"
#include "analysis/ellipticity.hpp"
#include "sim/kernels/circle_density.hpp"
#include "analysis/ssa_oneshot.hpp"
#include "sim/core/error.hpp"
#include "sim/core/state.hpp"
#include "sim/io/h5md_reader.hpp"

namespace attnflow {
namespace {

struct Options {
  std::vector<std::string> files, observables;
  bool window = false;
  double t0 = -1, t1 = -1;
  std::vector<double> thresholds;
  bool absolute = false, ellipticity = false, write_fits = false;
  std::string density;  // --density DENSITY.h5: particles against a mean-field density run
};

const char* kUsage =
    "usage: attnflow analyze RUN.h5 [RUN2.h5 ...] [--observable NAME]... [--window T0 T1]\n"
    "                        [--threshold X]... [--absolute] [--ellipticity] [--write-fits]\n"
    "       attnflow analyze PARTICLES.h5 --density DENSITY.h5   (tokens on the circle against\n"
    "                        a circle_density run: W1, r and modes per common frame time)\n"
    "       attnflow analyze RUN.h5 --ssa [--heads H] [--init default|figure|osn] [--frame K]\n"
    "                        [--seed S] [--write-matrices]   (one-shot SSA analysis)\n";

struct RunResult {
  std::string file;
  long long oracle_calls = -1, rhs_evals = -1;
  std::map<std::string, double> rate, power, rate_intercept, power_intercept;
  std::map<std::string, std::map<double, double>> hits;
  double lin = NAN, aff = NAN, mah = NAN;
};

std::string num(double v) {
  if (std::isnan(v)) return "-";
  if (std::isinf(v)) return v > 0 ? "never" : "-inf";
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

Options parse(const std::vector<std::string>& a) {
  Options o;
  auto need = [&](std::size_t i, std::size_t k, const std::string& opt) {
    if (i + k >= a.size()) throw ConfigError(opt + " needs " + std::to_string(k) + " value(s)");
  };
  auto number = [&](const std::string& s, const std::string& opt) {
    try {
      std::size_t pos = 0;
      const double v = std::stod(s, &pos);
      if (pos != s.size()) throw std::invalid_argument(s);
      return v;
    } catch (const std::exception&) {
      throw ConfigError(opt + " expects a number (got '" + s + "')");
    }
  };
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::string& s = a[i];
    if (s == "--observable") { need(i, 1, s); o.observables.push_back(a[++i]); }
    else if (s == "--window") {
      need(i, 2, s);
      o.t0 = number(a[i + 1], s); o.t1 = number(a[i + 2], s); i += 2;
      o.window = true;
      if (!(o.t1 > o.t0)) throw ConfigError("--window T0 T1 needs T1 > T0");
    } else if (s == "--threshold") {
      need(i, 1, s);
      const double v = number(a[++i], s);
      if (!(v > 0)) throw ConfigError("--threshold must be > 0");
      o.thresholds.push_back(v);
    } else if (s == "--absolute") o.absolute = true;
    else if (s == "--ellipticity") o.ellipticity = true;
    else if (s == "--write-fits") o.write_fits = true;
    else if (s == "--density") { need(i, 1, s); o.density = a[++i]; }
    else if (!s.empty() && s[0] == '-') throw ConfigError("unknown option '" + s + "'");
    else o.files.push_back(s);
  }
  if (o.files.empty()) throw ConfigError("no run file given");
  return o;
}

std::string span(const std::vector<double>& t) {
  return t.empty() ? std::string("none") : "t = " + num(t.front()) + " .. " + num(t.back());
}

// Opens `path` as a run with frames (the checks of the header comment).
std::unique_ptr<H5mdReader> open_run(const std::string& path, bool write) {
  auto r = std::make_unique<H5mdReader>(path, write ? H5mdReader::Access::Update : H5mdReader::Access::Read);
  r->require_run();
  r->require_frames(": nothing to analyze");
  return r;
}

// Token angles of frame k: phases (d = 1) or atan2 of positions on the circle (d = 2).
Vec token_angles(const H5mdReader& r, std::int64_t k, const std::string& path) {
  const RowMat x = r.positions(k);
  Vec th(x.rows());
  if (x.cols() == 1) th = x.col(0);
  else if (x.cols() == 2)
    for (Index i = 0; i < x.rows(); ++i) th[i] = std::atan2(x(i, 1), x(i, 0));
  else
    throw ConfigError(path + ": --density needs tokens on the circle (d = 2) or phases (d = 1), not d = " +
                      std::to_string(x.cols()));
  return th;
}

// Particles against a density run (issue 17, docs/mean_field.md 6 and 9), at every frame time
// the two runs share (to 1e-9): the exact W1 on the circle, r and |modes 2, 3| of both.
void compare_with_density(const std::string& ppath, const std::string& dpath) {
  const auto p = open_run(ppath, false);
  H5mdReader d(dpath, H5mdReader::Access::Read);
  if (!d.has_density_field())
    throw ConfigError(dpath + ": no /fields/density (not a circle_density run)");
  const DensityField f = d.density_field();
  const std::vector<double> tp = p->times();
  std::printf("%s against the density %s (%zu cells)\n", ppath.c_str(), dpath.c_str(), f.cells);
  std::printf("%10s %12s %10s %10s %10s %10s %10s %10s\n", "t", "W1", "r", "r_density", "|c2|",
              "|c2|_dens", "|c3|", "|c3|_dens");
  std::size_t shared = 0;
  for (std::size_t k = 0; k < tp.size(); ++k) {
    std::size_t j = 0;
    while (j < f.frames && std::abs(f.time[j] - tp[k]) > 1e-9 * std::max(1.0, std::abs(tp[k]))) ++j;
    if (j == f.frames) continue;
    ++shared;
    const Vec th = token_angles(*p, static_cast<std::int64_t>(k), ppath);
    const Vec rho = Eigen::Map<const Vec>(f.value.data() + j * f.cells, static_cast<Index>(f.cells));
    auto pm = [&](int m) { return 2 * M_PI * std::abs(empirical_fourier_coefficient(th, m)); };
    auto dm = [&](int m) { return 2 * M_PI * std::abs(fourier_coefficient(rho, m)); };
    std::printf("%10.6g %12.6g %10.6g %10.6g %10.6g %10.6g %10.6g %10.6g\n", tp[k],
                w1_circle_particles_grid(th, rho), pm(1), dm(1), pm(2), dm(2), pm(3), dm(3));
  }
  if (shared == 0)
    throw ConfigError(ppath + " and " + dpath + " share no frame time (" + span(tp) + " against " +
                      span(f.time) + ")");
}

RunResult analyze_file(const Options& o, const std::string& path) {
  RunResult r;
  r.file = path;
  const auto f = open_run(path, o.write_fits);
  const std::int64_t T = f->frames();
  r.oracle_calls = f->metadata().oracle_calls;
  r.rhs_evals = f->metadata().rhs_evals;
  std::vector<std::string> names = o.observables;
  const std::vector<std::string> have = f->observable_names();
  if (names.empty())
    for (const auto& n : have)
      if (n != "oracle_calls") names.push_back(n);
  if (names.empty() && !o.ellipticity)
    throw ConfigError(path + ": the run records no observables: nothing to fit (--ellipticity "
                             "analyses the positions)");
  for (const auto& name : names) {
    const ObservableSeries obs = f->observable(name);
    const auto& t = obs.time;
    const auto& y = obs.value;
    std::vector<double> tw, yw;
    for (std::size_t k = 0; k < t.size(); ++k)
      if (!o.window || (t[k] >= o.t0 - 1e-12 && t[k] <= o.t1 + 1e-12)) {
        tw.push_back(t[k]);
        yw.push_back(y[k]);
      }
    if (tw.size() < 2) {
      const std::string frames = tw.empty() ? "no frame" : "only one frame (t = " + num(tw[0]) + ")";
      if (o.window)
        throw ConfigError(path + ": --window [" + num(o.t0) + ", " + num(o.t1) + "] holds " +
                          frames + " of observable '" + name + "' (its frames cover " + span(t) +
                          "); a rate needs at least two");
      throw ConfigError(path + ": observable '" + name + "' has " + frames + " (the run has " +
                        std::to_string(T) + "); a rate needs at least two");
    }
    try {
      const Fit fe = fit_rate(tw, yw, -1, -1, false);
      r.rate[name] = fe.rate;
      r.rate_intercept[name] = fe.intercept;
    } catch (const std::exception&) { r.rate[name] = NAN; }
    try {
      const Fit fp = fit_rate(tw, yw, -1, -1, true);
      r.power[name] = fp.rate;
      r.power_intercept[name] = fp.intercept;
    } catch (const std::exception&) { r.power[name] = NAN; }
    for (double th : o.thresholds) r.hits[name][th] = sustained_hitting_time(t, y, th, !o.absolute);
    if (o.write_fits && !std::isnan(r.rate[name])) {
      StoredFit fit;
      fit.rate = r.rate[name];
      fit.intercept = r.rate_intercept[name];
      fit.t0 = tw.front();
      fit.t1 = tw.back();
      if (!std::isnan(r.power[name])) {
        fit.power_rate = r.power[name];
        fit.power_intercept = r.power_intercept[name];
      }
      f->write_fit(name, fit);
    }
  }
  if (o.ellipticity) {
    if (T < 2) throw ConfigError(path + ": the ellipticity test needs at least two frames");
    const RowMat x0 = f->positions(0);
    const RowMat x1 = f->positions(T - 1);
    r.lin = linear_image_residual(x0, x1, false);
    r.aff = linear_image_residual(x0, x1, true);
    r.mah = mahalanobis_residual(x0, x1);
  }
  return r;
}

// `analyze RUN.h5 --ssa ...`: the same checks of the run file before the SSA analysis
// (analysis/ssa_oneshot.cpp) reads it. Only a single positional argument is checked; any
// other command line is left to the SSA parser to report.
int check_ssa_input(const std::vector<std::string>& args) {
  static const std::set<std::string> takes_value = {"--heads", "--init", "--frame", "--seed"};
  std::vector<std::string> positional;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") return 0;
    if (a == "--") {
      positional.insert(positional.end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    }
    if (a.size() > 1 && a[0] == '-') {
      if (takes_value.count(a)) ++i;
      continue;
    }
    positional.push_back(a);
  }
  if (positional.size() != 1) return 0;
  try {
    open_run(positional[0], false);
  } catch (const Error& e) {
    std::cerr << "attnflow analyze: error: " << e.what() << "\n";
    return e.exit_code();
  }
  return 0;
}

void print(const Options& o, const std::vector<RunResult>& runs) {
  std::ostringstream os;
  const bool many = runs.size() > 1;
  auto row = [&](const std::string& label, auto get) {
    char b[64];
    std::snprintf(b, sizeof b, "%-34s", label.c_str());
    os << b;
    const double ref = get(runs[0]);
    for (const auto& r : runs) {
      const double v = get(r);
      std::string cell = num(v);
      if (many && &r != &runs[0] && std::isfinite(v) && std::isfinite(ref) && ref != 0)
        cell += " (x" + num(v / ref) + ")";
      std::snprintf(b, sizeof b, " %-26s", cell.c_str());
      os << b;
    }
    os << "\n";
  };
  {
    char b[64];
    std::snprintf(b, sizeof b, "%-34s", "run");
    os << b;
    for (const auto& r : runs) {
      std::string n = r.file;
      if (n.size() > 26) n = "..." + n.substr(n.size() - 23);
      std::snprintf(b, sizeof b, " %-26s", n.c_str());
      os << b;
    }
    os << "\n";
  }
  row("oracle calls", [](const RunResult& r) { return r.oracle_calls < 0 ? NAN : double(r.oracle_calls); });
  row("RHS evaluations", [](const RunResult& r) { return r.rhs_evals < 0 ? NAN : double(r.rhs_evals); });
  std::vector<std::string> names;  // every observable of any run, in first-seen order
  for (const auto& r : runs)
    for (auto& [k, v] : r.rate)
      if (std::find(names.begin(), names.end(), k) == names.end()) names.push_back(k);
  for (const auto& n : names)
    for (const auto& r : runs)
      if (!r.rate.count(n))
        std::cerr << "attnflow analyze: note: " << r.file << " records no observable '" << n
                  << "' (shown as -)\n";
  const std::string win = o.window ? " [" + num(o.t0) + ", " + num(o.t1) + "]" : "";
  for (const auto& n : names) {
    auto at = [&](const std::map<std::string, double>& m) {
      auto it = m.find(n);
      return it == m.end() ? NAN : it->second;
    };
    row(n + ": exp rate" + win, [&](const RunResult& r) { return at(r.rate); });
    row(n + ": power rate" + win, [&](const RunResult& r) { return at(r.power); });
    for (double th : o.thresholds)
      row(n + (o.absolute ? ": hit < " : ": hit y/y0 < ") + num(th), [&](const RunResult& r) {
        auto it = r.hits.find(n);
        return it == r.hits.end() ? NAN : it->second.at(th);
      });
  }
  if (o.ellipticity) {
    row("ellipticity: linear-image resid.", [](const RunResult& r) { return r.lin; });
    row("ellipticity: affine-image resid.", [](const RunResult& r) { return r.aff; });
    row("ellipticity: Mahalanobis resid.", [](const RunResult& r) { return r.mah; });
  }
  std::cout << os.str();
}

}  // namespace

int analyze_main(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--ssa") {
      if (const int rc = check_ssa_input(args)) return rc;
      return ssa_oneshot_main(args);
    }
  for (const auto& a : args)
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    }
  Options o;
  try {
    o = parse(args);
  } catch (const Error& e) {
    std::cerr << "attnflow analyze: " << e.what() << "\n";
    if (e.exit_code() == 2) std::cerr << kUsage;  // the command line is wrong: show it
    return e.exit_code();
  }
  try {
    if (!o.density.empty()) {
      if (o.files.size() != 1) throw ConfigError("--density compares one particle run with the density run");
      compare_with_density(o.files[0], o.density);
      return 0;
    }
    std::vector<RunResult> runs;
    for (const auto& f : o.files) runs.push_back(analyze_file(o, f));
    print(o, runs);
    return 0;
  } catch (const Error& e) {  // the data are wrong: the message names the file and the reason
    std::cerr << "attnflow analyze: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "attnflow analyze: " << e.what() << "\n";
    return 4;
  }
}

}  // namespace attnflow
