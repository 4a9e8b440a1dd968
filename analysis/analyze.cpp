// attnflow analyze (see analysis/analyze.hpp; SympFormer arXiv 2603.16535,
// research/sympformer.md 6.4, 7.3). HDF5 C API, read-only unless --write-fits.
#include "analysis/analyze.hpp"

#include <hdf5.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>

#include "analysis/compare.hpp"
#include "analysis/ellipticity.hpp"
#include "analysis/h5_read.hpp"
#include "analysis/ssa_oneshot.hpp"
#include "sim/core/error.hpp"
#include "sim/core/state.hpp"

namespace attnflow {
namespace {

struct Options {
  std::vector<std::string> files, observables;
  double t0 = -1, t1 = -1;
  std::vector<double> thresholds;
  bool absolute = false, ellipticity = false, write_fits = false;
};

const char* kUsage =
    "usage: attnflow analyze RUN.h5 [RUN2.h5 ...] [--observable NAME]... [--window T0 T1]\n"
    "                        [--threshold X]... [--absolute] [--ellipticity] [--write-fits]\n"
    "       attnflow analyze RUN.h5 --ssa [--heads H] [--init default|figure|osn] [--frame K]\n"
    "                        [--seed S] [--write-matrices]   (one-shot SSA analysis)\n";

std::vector<double> read_vector(hid_t file, const std::string& path) {
  hid_t d = H5Dopen2(file, path.c_str(), H5P_DEFAULT);
  if (d < 0) throw ConfigError("no dataset " + path);
  hid_t sp = H5Dget_space(d);
  const hssize_t n = H5Sget_simple_extent_npoints(sp);
  std::vector<double> v(static_cast<std::size_t>(std::max<hssize_t>(n, 0)));
  herr_t st = n > 0 ? H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) : 0;
  H5Sclose(sp);
  H5Dclose(d);
  if (st < 0) throw IoError("cannot read " + path);
  return v;
}

// Integer attribute of /parameters, or -1.
long long param_int(hid_t file, const char* name) {
  if (H5Lexists(file, "/parameters", H5P_DEFAULT) <= 0) return -1;
  hid_t g = H5Gopen2(file, "/parameters", H5P_DEFAULT);
  long long v = -1;
  if (H5Aexists(g, name) > 0) {
    hid_t a = H5Aopen(g, name, H5P_DEFAULT);
    if (H5Aread(a, H5T_NATIVE_LLONG, &v) < 0) v = -1;
    H5Aclose(a);
  }
  H5Gclose(g);
  return v;
}

std::vector<std::string> observable_names(hid_t file) {
  std::vector<std::string> out;
  if (H5Lexists(file, "/observables", H5P_DEFAULT) <= 0) return out;
  hid_t g = H5Gopen2(file, "/observables", H5P_DEFAULT);
  H5G_info_t info;
  H5Gget_info(g, &info);
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    char buf[512];
    if (H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, buf, sizeof buf, H5P_DEFAULT) > 0)
      out.emplace_back(buf);
  }
  H5Gclose(g);
  return out;
}

void put_attr(hid_t obj, const char* name, double v) {
  if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(obj, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, H5T_NATIVE_DOUBLE, &v);
  H5Aclose(a);
  H5Sclose(sp);
}

hid_t open_or_create_group(hid_t loc, const char* name) {
  if (H5Lexists(loc, name, H5P_DEFAULT) > 0) return H5Gopen2(loc, name, H5P_DEFAULT);
  return H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
}

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
    if (i + k >= a.size()) throw ConfigError("analyze: " + opt + " needs " + std::to_string(k) + " value(s)");
  };
  auto number = [&](const std::string& s, const std::string& opt) {
    try {
      std::size_t pos = 0;
      const double v = std::stod(s, &pos);
      if (pos != s.size()) throw std::invalid_argument(s);
      return v;
    } catch (const std::exception&) {
      throw ConfigError("analyze: " + opt + " expects a number (got '" + s + "')");
    }
  };
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::string& s = a[i];
    if (s == "--observable") { need(i, 1, s); o.observables.push_back(a[++i]); }
    else if (s == "--window") {
      need(i, 2, s);
      o.t0 = number(a[i + 1], s); o.t1 = number(a[i + 2], s); i += 2;
      if (!(o.t1 > o.t0)) throw ConfigError("analyze: --window T0 T1 needs T1 > T0");
    } else if (s == "--threshold") {
      need(i, 1, s);
      const double v = number(a[++i], s);
      if (!(v > 0)) throw ConfigError("analyze: --threshold must be > 0");
      o.thresholds.push_back(v);
    } else if (s == "--absolute") o.absolute = true;
    else if (s == "--ellipticity") o.ellipticity = true;
    else if (s == "--write-fits") o.write_fits = true;
    else if (!s.empty() && s[0] == '-') throw ConfigError("analyze: unknown option '" + s + "'");
    else o.files.push_back(s);
  }
  if (o.files.empty()) throw ConfigError("analyze: no run file given");
  return o;
}

RunResult analyze_file(const Options& o, const std::string& path) {
  RunResult r;
  r.file = path;
  H5File f;
  f.id = H5Fopen(path.c_str(), o.write_fits ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f.id < 0) throw IoError(path + ": cannot open as HDF5" + (o.write_fits ? " for writing" : ""));
  r.oracle_calls = param_int(f.id, "oracle_calls");
  r.rhs_evals = param_int(f.id, "rhs_evals");
  std::vector<std::string> names = o.observables;
  const std::vector<std::string> have = observable_names(f.id);
  if (names.empty())
    for (const auto& n : have)
      if (n != "oracle_calls") names.push_back(n);
  for (const auto& name : names) {
    if (std::find(have.begin(), have.end(), name) == have.end())
      throw ConfigError(path + ": no observable '" + name + "' (recorded: " +
                        [&] { std::string s; for (auto& h : have) s += (s.empty() ? "" : ", ") + h; return s; }() + ")");
    const auto t = read_vector(f.id, "/observables/" + name + "/time");
    const auto y = read_vector(f.id, "/observables/" + name + "/value");
    if (y.size() != t.size()) throw ConfigError(path + ": observable '" + name + "' is not a scalar series");
    std::vector<double> tw, yw;
    for (std::size_t k = 0; k < t.size(); ++k)
      if ((o.t0 < 0 || t[k] >= o.t0 - 1e-12) && (o.t1 < 0 || t[k] <= o.t1 + 1e-12)) {
        tw.push_back(t[k]);
        yw.push_back(y[k]);
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
    if (o.write_fits && !tw.empty() && !std::isnan(r.rate[name])) {
      hid_t a = open_or_create_group(f.id, "analysis");
      hid_t fits = open_or_create_group(a, "fits");
      hid_t g = open_or_create_group(fits, name.c_str());
      put_attr(g, "rate", r.rate[name]);
      put_attr(g, "intercept", r.rate_intercept[name]);
      put_attr(g, "t0", tw.front());
      put_attr(g, "t1", tw.back());
      if (!std::isnan(r.power[name])) {
        put_attr(g, "power_rate", r.power[name]);
        put_attr(g, "power_intercept", r.power_intercept[name]);
      }
      H5Gclose(g); H5Gclose(fits); H5Gclose(a);
    }
  }
  if (o.ellipticity) {
    const std::string pos = "/particles/tokens/position/value";
    const hsize_t T = frames_of(f.id, pos);
    if (T < 2) throw ConfigError(path + ": the ellipticity test needs at least two frames");
    const RowMat x0 = read_frame(f.id, pos, 0), x1 = read_frame(f.id, pos, T - 1);
    r.lin = linear_image_residual(x0, x1, false);
    r.aff = linear_image_residual(x0, x1, true);
    r.mah = mahalanobis_residual(x0, x1);
  }
  return r;
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
  std::vector<std::string> names;
  for (auto& [k, v] : runs[0].rate) names.push_back(k);
  const std::string win = o.t0 >= 0 ? " [" + num(o.t0) + ", " + num(o.t1) + "]" : "";
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
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  for (const auto& a : args)
    if (a == "--ssa") return ssa_oneshot_main(args);
  for (const auto& a : args)
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    }
  try {
    const Options o = parse(args);
    std::vector<RunResult> runs;
    for (const auto& f : o.files) runs.push_back(analyze_file(o, f));
    print(o, runs);
    return 0;
  } catch (const Error& e) {
    std::cerr << "attnflow analyze: " << e.what() << "\n";
    if (e.exit_code() == 2) std::cerr << kUsage;
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "attnflow analyze: " << e.what() << "\n";
    return 4;
  }
}

}  // namespace attnflow
