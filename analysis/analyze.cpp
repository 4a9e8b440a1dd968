// attnflow analyze (see analysis/analyze.hpp; SympFormer arXiv 2603.16535,
// research/sympformer.md 6.4, 7.3). HDF5 C API, read-only unless --write-fits.
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

#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <set>
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
  bool window = false;
  double t0 = -1, t1 = -1;
  std::vector<double> thresholds;
  bool absolute = false, ellipticity = false, write_fits = false;
};

const char* kUsage =
    "usage: attnflow analyze RUN.h5 [RUN2.h5 ...] [--observable NAME]... [--window T0 T1]\n"
    "                        [--threshold X]... [--absolute] [--ellipticity] [--write-fits]\n"
    "       attnflow analyze RUN.h5 --ssa [--heads H] [--init default|figure|osn] [--frame K]\n"
    "                        [--seed S] [--write-matrices]   (one-shot SSA analysis)\n";

// The innermost message of the HDF5 error stack (e.g. "truncated file: eof = ..."), cleared.
std::string h5_reason() {
  std::string out;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned, const H5E_error2_t* e, void* data) -> herr_t {
        auto* s = static_cast<std::string*>(data);
        if (s->empty() && e && e->desc && *e->desc) *s = e->desc;
        return 0;
      },
      &out);
  H5Eclear2(H5E_DEFAULT);
  return out;
}

[[noreturn]] void damaged(const std::string& file, const std::string& what) {
  const std::string why = h5_reason();
  throw IoError(file + ": " + what + " (damaged file" + (why.empty() ? "" : ": " + why) + ")");
}

// 1 if the link `path` exists, 0 if not; a link that cannot be looked up is damage.
bool exists(hid_t file, const std::string& fname, const std::string& path) {
  const htri_t e = H5Lexists(file, path.c_str(), H5P_DEFAULT);
  if (e < 0) damaged(fname, "cannot look up " + path);
  return e > 0;
}

const char* kPositions = "/particles/tokens/position/value";

// The kind of the object at `path` (H5I_GROUP, H5I_DATASET...), H5I_BADID if it cannot be
// opened. A foreign layout (a dataset where a group belongs) is not damage.
H5I_type_t kind_of(hid_t file, const std::string& path) {
  hid_t o = H5Oopen(file, path.c_str(), H5P_DEFAULT);
  if (o < 0) return H5I_BADID;
  const H5I_type_t t = H5Iget_type(o);
  H5Oclose(o);
  return t;
}

// Opens `path` as an attnflow run file and returns its number of frames. Exit-4 failures
// (IoError): missing or unreadable file, not HDF5, truncated, damaged trajectory. Exit-2
// failures (ConfigError): no attnflow trajectory, no frames.
hsize_t open_run(const std::string& path, bool write, H5File& f) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) throw IoError(path + ": cannot open: no such file");
  if (fs::is_directory(st)) throw ConfigError(path + ": is a directory, not a run file");
  const std::string for_writing = write ? " for writing (--write-fits)" : "";
  if (access(path.c_str(), write ? R_OK | W_OK : R_OK) != 0)
    throw IoError(path + ": cannot open" + for_writing + ": " + std::strerror(errno));
  const auto size = fs::file_size(path, ec);
  if (!ec && size == 0) throw IoError(path + ": empty file (0 bytes), not an attnflow run file");
  if (H5Fis_hdf5(path.c_str()) == 0) {
    H5Eclear2(H5E_DEFAULT);
    throw IoError(path + ": not an HDF5 file (no HDF5 signature): not an attnflow run file, "
                         "or its first bytes are damaged");
  }
  f.id = H5Fopen(path.c_str(), write ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f.id < 0) {
    const std::string why = h5_reason();
    std::string msg = path + ": cannot open" + for_writing + " as HDF5";
    if (why.find("truncated") != std::string::npos)
      msg += ": the file is truncated (" + why + ")";
    else if (!why.empty())
      msg += ": " + why;
    if (why.find("lock file") != std::string::npos)
      msg += " (is a run still writing it? HDF5_USE_FILE_LOCKING=FALSE reads it meanwhile)";
    throw IoError(msg);
  }
  const std::string not_a_run = path + ": not an attnflow run file (no " + kPositions + ")";
  std::string parent = "/";
  for (const char* p : {"/particles", "/particles/tokens", "/particles/tokens/position", kPositions}) {
    const htri_t e = H5Lexists(f.id, p, H5P_DEFAULT);
    if (e == 0) throw ConfigError(not_a_run);
    if (e < 0) {
      const std::string why = h5_reason();
      const H5I_type_t t = kind_of(f.id, parent);
      H5Eclear2(H5E_DEFAULT);
      if (t != H5I_BADID && t != H5I_GROUP) throw ConfigError(not_a_run + ": " + parent + " is not a group");
      throw IoError(path + ": cannot look up " + p + " (damaged file" + (why.empty() ? "" : ": " + why) + ")");
    }
    parent = p;
  }
  hid_t d = H5Dopen2(f.id, kPositions, H5P_DEFAULT);
  if (d < 0) {
    const std::string why = h5_reason();
    const H5I_type_t t = kind_of(f.id, kPositions);
    H5Eclear2(H5E_DEFAULT);
    if (t != H5I_BADID && t != H5I_DATASET) throw ConfigError(not_a_run + ": it is not a dataset");
    throw IoError(path + ": cannot open " + kPositions + " (damaged file" + (why.empty() ? "" : ": " + why) + ")");
  }
  hid_t sp = H5Dget_space(d);
  hsize_t dims[8] = {0};
  const int rank = sp < 0 ? -1 : H5Sget_simple_extent_ndims(sp);
  if (rank >= 1 && rank <= 8) H5Sget_simple_extent_dims(sp, dims, nullptr);
  if (sp >= 0) H5Sclose(sp);
  H5Dclose(d);
  if (rank < 0) damaged(path, std::string("cannot read the shape of ") + kPositions);
  if (rank != 3) throw ConfigError(path + ": " + kPositions + " is not a [T][N][d] trajectory");
  if (dims[0] == 0)
    throw ConfigError(path + ": the run has no frames (it was stopped before its first frame "
                             "was written): nothing to analyze");
  return dims[0];
}

// A whole dataset as doubles; `rank` receives its rank.
std::vector<double> read_vector(hid_t file, const std::string& fname, const std::string& path,
                                int* rank = nullptr) {
  if (!exists(file, fname, path)) throw ConfigError(fname + ": no dataset " + path);
  hid_t d = H5Dopen2(file, path.c_str(), H5P_DEFAULT);
  if (d < 0) damaged(fname, "cannot open " + path);
  hid_t sp = H5Dget_space(d);
  const hssize_t n = sp < 0 ? -1 : H5Sget_simple_extent_npoints(sp);
  if (rank) *rank = sp < 0 ? -1 : H5Sget_simple_extent_ndims(sp);
  if (sp >= 0) H5Sclose(sp);
  if (n < 0) {
    H5Dclose(d);
    damaged(fname, "cannot read the shape of " + path);
  }
  std::vector<double> v(static_cast<std::size_t>(n));
  const herr_t st = n > 0 ? H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) : 0;
  H5Dclose(d);
  if (st < 0) damaged(fname, "cannot read " + path);
  return v;
}

// Integer attribute of /parameters, or -1 when the file does not record it.
long long param_int(hid_t file, const std::string& fname, const char* name) {
  if (!exists(file, fname, "/parameters")) return -1;
  hid_t g = H5Gopen2(file, "/parameters", H5P_DEFAULT);
  if (g < 0) damaged(fname, "cannot open /parameters");
  long long v = -1;
  const htri_t has = H5Aexists(g, name);
  bool ok = has >= 0;
  if (has > 0) {
    hid_t a = H5Aopen(g, name, H5P_DEFAULT);
    ok = a >= 0 && H5Aread(a, H5T_NATIVE_LLONG, &v) >= 0;
    if (a >= 0) H5Aclose(a);
  }
  H5Gclose(g);
  if (!ok) damaged(fname, std::string("cannot read the attribute /parameters/") + name);
  return v;
}

std::vector<std::string> observable_names(hid_t file, const std::string& fname) {
  std::vector<std::string> out;
  if (!exists(file, fname, "/observables")) return out;
  hid_t g = H5Gopen2(file, "/observables", H5P_DEFAULT);
  if (g < 0) damaged(fname, "cannot open /observables");
  H5G_info_t info;
  if (H5Gget_info(g, &info) < 0) {
    H5Gclose(g);
    damaged(fname, "cannot list /observables");
  }
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    char buf[512];
    if (H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, buf, sizeof buf, H5P_DEFAULT) <= 0) {
      H5Gclose(g);
      damaged(fname, "cannot list /observables");
    }
    out.emplace_back(buf);
  }
  H5Gclose(g);
  return out;
}

bool put_attr(hid_t obj, const char* name, double v) {
  if (H5Aexists(obj, name) > 0 && H5Adelete(obj, name) < 0) return false;
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(obj, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
  const bool ok = a >= 0 && H5Awrite(a, H5T_NATIVE_DOUBLE, &v) >= 0;
  if (a >= 0) H5Aclose(a);
  H5Sclose(sp);
  return ok;
}

hid_t open_or_create_group(hid_t loc, const char* name) {
  if (loc < 0) return -1;
  if (H5Lexists(loc, name, H5P_DEFAULT) > 0) return H5Gopen2(loc, name, H5P_DEFAULT);
  return H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
}

// Errors of the shared frame readers (analysis/h5_read.hpp) do not name the file.
template <class F>
auto in_file(const std::string& fname, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const IoError& e) {
    throw IoError(fname + ": " + e.what());
  } catch (const ConfigError& e) {
    throw ConfigError(fname + ": " + e.what());
  }
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
      o.window = true;
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

std::string span(const std::vector<double>& t) {
  return t.empty() ? std::string("none") : "t = " + num(t.front()) + " .. " + num(t.back());
}

RunResult analyze_file(const Options& o, const std::string& path) {
  RunResult r;
  r.file = path;
  H5File f;
  const hsize_t T = open_run(path, o.write_fits, f);
  r.oracle_calls = param_int(f.id, path, "oracle_calls");
  r.rhs_evals = param_int(f.id, path, "rhs_evals");
  std::vector<std::string> names = o.observables;
  const std::vector<std::string> have = observable_names(f.id, path);
  if (names.empty())
    for (const auto& n : have)
      if (n != "oracle_calls") names.push_back(n);
  if (names.empty() && !o.ellipticity)
    throw ConfigError(path + ": the run records no observables: nothing to fit (--ellipticity "
                             "analyses the positions)");
  for (const auto& name : names) {
    if (std::find(have.begin(), have.end(), name) == have.end())
      throw ConfigError(path + ": no observable '" + name + "' (recorded: " +
                        [&] { std::string s; for (auto& h : have) s += (s.empty() ? "" : ", ") + h; return s; }() + ")");
    int rank = 0;
    const auto t = read_vector(f.id, path, "/observables/" + name + "/time");
    const auto y = read_vector(f.id, path, "/observables/" + name + "/value", &rank);
    if (rank != 1) throw ConfigError(path + ": observable '" + name + "' is not a scalar series");
    if (y.size() != t.size())
      throw IoError(path + ": observable '" + name + "' has " + std::to_string(y.size()) +
                    " values for " + std::to_string(t.size()) +
                    " times (damaged or partly written file)");
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
      hid_t a = open_or_create_group(f.id, "analysis");
      hid_t fits = open_or_create_group(a, "fits");
      hid_t g = open_or_create_group(fits, name.c_str());
      bool ok = g >= 0 && put_attr(g, "rate", r.rate[name]) &&
                put_attr(g, "intercept", r.rate_intercept[name]) &&
                put_attr(g, "t0", tw.front()) && put_attr(g, "t1", tw.back());
      if (ok && !std::isnan(r.power[name]))
        ok = put_attr(g, "power_rate", r.power[name]) &&
             put_attr(g, "power_intercept", r.power_intercept[name]);
      for (hid_t h : {g, fits, a})
        if (h >= 0) H5Gclose(h);
      if (!ok) {
        const std::string why = h5_reason();
        throw IoError(path + ": cannot write /analysis/fits/" + name + (why.empty() ? "" : ": " + why));
      }
    }
  }
  if (o.ellipticity) {
    if (T < 2) throw ConfigError(path + ": the ellipticity test needs at least two frames");
    const RowMat x0 = in_file(path, [&] { return read_frame(f.id, kPositions, 0); });
    const RowMat x1 = in_file(path, [&] { return read_frame(f.id, kPositions, T - 1); });
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
    H5File f;
    open_run(positional[0], false, f);
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
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
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
