#include "sim/io/sweep_file.hpp"

#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include "sim/core/error.hpp"
#include "sim/io/h5md_layout.hpp"
#include "sim/io/output_claim.hpp"

namespace attnflow {
namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct H {  // an owned HDF5 handle
  hid_t id = -1;
  herr_t (*close)(hid_t) = nullptr;
  H() = default;
  H(hid_t i, herr_t (*c)(hid_t)) : id(i), close(c) {}
  H(H&& o) noexcept : id(o.id), close(o.close) { o.id = -1; }
  H& operator=(H&& o) noexcept {
    std::swap(id, o.id);
    std::swap(close, o.close);
    return *this;
  }
  ~H() {
    if (id >= 0 && close) close(id);
  }
  operator hid_t() const { return id; }
};

void check(herr_t r, const std::string& path, const char* what) {
  if (r < 0) throw IoError(path + ": HDF5 failed to " + what);
}
H group(hid_t loc, const char* name, const std::string& path) {
  hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0) throw IoError(path + ": cannot create group " + name);
  return {g, H5Gclose};
}
H open_group(hid_t loc, const char* name, const std::string& path) {
  hid_t g = H5Gopen2(loc, name, H5P_DEFAULT);
  if (g < 0) throw ConfigError(path + ": not an attnflow sweep file (no " + name + ")");
  return {g, H5Gclose};
}

void attr_string(hid_t obj, const char* name, const std::string& v) {
  H t(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(t, std::max<std::size_t>(1, v.size()));
  H5Tset_strpad(t, H5T_STR_NULLPAD);
  H sp(H5Screate(H5S_SCALAR), H5Sclose);
  H a(H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  H5Awrite(a, t, v.c_str());
}
template <class T>
void attr_num(hid_t obj, const char* name, const std::vector<T>& v, hid_t file_type, hid_t mem_type) {
  if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
  hsize_t n = v.size();
  H sp(n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr), H5Sclose);
  H a(H5Acreate2(obj, name, file_type, sp, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  H5Awrite(a, mem_type, v.data());
}
void attr_i64(hid_t obj, const char* name, std::int64_t v) {
  attr_num<long long>(obj, name, {static_cast<long long>(v)}, H5T_STD_I64LE, H5T_NATIVE_LLONG);
}
void attr_f64(hid_t obj, const char* name, std::vector<double> v) {
  if (v.empty()) v.push_back(kNaN);
  attr_num<double>(obj, name, v, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE);
}

std::string read_attr_string(hid_t obj, const char* name) {
  if (H5Aexists(obj, name) <= 0) return {};
  H a(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  H t(H5Aget_type(a), H5Tclose);
  if (H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) > 0) return {};
  std::string s(H5Tget_size(t), '\0');
  H5Aread(a, t, s.data());
  s.erase(std::find(s.begin(), s.end(), '\0'), s.end());
  return s;
}
std::vector<double> read_attr_f64(hid_t obj, const char* name) {
  if (H5Aexists(obj, name) <= 0) return {};
  H a(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  H sp(H5Aget_space(a), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(sp);
  std::vector<double> v(static_cast<std::size_t>(std::max<hssize_t>(n, 0)));
  H5Aread(a, H5T_NATIVE_DOUBLE, v.data());
  return v;
}
std::int64_t read_attr_i64(hid_t obj, const char* name) {
  if (H5Aexists(obj, name) <= 0) return 0;
  long long v = 0;
  H a(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  H5Aread(a, H5T_NATIVE_LLONG, &v);
  return v;
}

void dataset_string(hid_t loc, const char* name, const std::string& v) {
  H t(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(t, std::max<std::size_t>(1, v.size()));
  H5Tset_strpad(t, H5T_STR_NULLPAD);
  H sp(H5Screate(H5S_SCALAR), H5Sclose);
  H d(H5Dcreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.c_str());
}
std::string read_dataset_string(hid_t loc, const char* name, const std::string& path) {
  hid_t did = H5Dopen2(loc, name, H5P_DEFAULT);
  if (did < 0) throw ConfigError(path + ": not an attnflow sweep file (no " + name + ")");
  H d(did, H5Dclose);
  H t(H5Dget_type(d), H5Tclose);
  if (H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) > 0)
    throw ConfigError(path + ": " + name + " is not a string");
  std::string s(H5Tget_size(t), '\0');
  if (H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, s.data()) < 0)
    throw IoError(path + ": cannot read " + name);
  s.erase(std::find(s.begin(), s.end(), '\0'), s.end());
  return s;
}

// A fixed-shape dataset (filled with NaN for doubles), chunked as `chunk`, optionally compressed.
H create(hid_t loc, const char* name, hid_t type, std::vector<hsize_t> dims,
         std::vector<hsize_t> chunk, bool compress, const std::string& path) {
  H sp(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  H pl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  if (!chunk.empty()) {
    H5Pset_chunk(pl, static_cast<int>(chunk.size()), chunk.data());
    if (compress) {
      H5Pset_shuffle(pl);
      H5Pset_deflate(pl, 4);
    }
  }
  if (type == H5T_IEEE_F64LE) H5Pset_fill_value(pl, H5T_NATIVE_DOUBLE, &kNaN);
  hid_t d = H5Dcreate2(loc, name, type, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
  if (d < 0) throw IoError(path + ": cannot create dataset " + name);
  return {d, H5Dclose};
}
void write_all(hid_t d, hid_t mem, const void* data, const std::string& path) {
  check(H5Dwrite(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), path, "write a dataset");
}
// Writes `data` into the slab [g][...] of dataset `d` (first axis = grid point).
void write_point_slab(hid_t d, hsize_t g, const double* data, const std::string& path) {
  H fsp(H5Dget_space(d), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(fsp);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank)), start(dims.size(), 0), count;
  H5Sget_simple_extent_dims(fsp, dims.data(), nullptr);
  count = dims;
  start[0] = g;
  count[0] = 1;
  H5Sselect_hyperslab(fsp, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
  H msp(H5Screate_simple(rank, count.data(), nullptr), H5Sclose);
  check(H5Dwrite(d, H5T_NATIVE_DOUBLE, msp, fsp, H5P_DEFAULT, data), path, "write a grid point");
}
std::vector<hsize_t> dims_of(hid_t d) {
  H sp(H5Dget_space(d), H5Sclose);
  std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(0, H5Sget_simple_extent_ndims(sp))));
  H5Sget_simple_extent_dims(sp, dims.data(), nullptr);
  return dims;
}
template <class T>
std::vector<T> read_all(hid_t loc, const std::string& name, hid_t mem, const std::string& path) {
  hid_t did = H5Dopen2(loc, name.c_str(), H5P_DEFAULT);
  if (did < 0) throw ConfigError(path + ": not an attnflow sweep file (no " + name + ")");
  H d(did, H5Dclose);
  std::size_t n = 1;
  for (auto x : dims_of(d)) n *= x;
  std::vector<T> v(n);
  if (n && H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0)
    throw IoError(path + ": cannot read " + name + " (truncated or corrupt file)");
  return v;
}

}  // namespace

struct SweepWriter::Impl {
  std::string path;
  std::unique_ptr<OutputClaim> claim;  // a new sweep file: RUN.h5.part until the first point
  FileLock lock;                       // an appended sweep file
  H file;
  std::int64_t G = 0, F = 0, S = 0, K = 0;
  std::vector<std::string> stats;
  std::vector<double> qs;
  std::vector<char> done;
  H done_ds, times_ds, traj_ds;
  std::vector<H> value_ds, mean_ds, stderr_ds, quant_ds;
};

// The writer holds its own lock (output_claim.hpp); HDF5's lock on a second descriptor would
// conflict with it.
H writer_fapl() {
  H fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18);
  H5Pset_file_locking(fapl, false, true);
  return fapl;
}

SweepWriter::SweepWriter(const std::string& path, const Scenario& sc, Mode mode, ExistingOutput existing)
    : impl_(std::make_unique<Impl>()) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  Impl& m = *impl_;
  m.path = path;
  m.G = static_cast<std::int64_t>(sc.grid.size());
  m.F = static_cast<std::int64_t>(sc.grid.front()->frame_times().size());
  m.S = sc.ensemble.size;
  m.K = sc.ensemble.trajectories;
  m.stats = sc.ensemble.statistics;
  m.qs = sc.ensemble.quantiles;
  m.done.assign(static_cast<std::size_t>(m.G), 0);
  const hsize_t G = static_cast<hsize_t>(m.G), F = static_cast<hsize_t>(m.F),
                S = static_cast<hsize_t>(m.S), K = static_cast<hsize_t>(m.K),
                Q = m.qs.size(), A = sc.sweep.size();
  if (mode == Mode::Append) {
    m.lock = FileLock::exclusive(path, "resume the sweep");
    hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, writer_fapl());
    if (f < 0) throw IoError(path + ": cannot open the sweep file for appending");
    m.file = H(f, H5Fclose);
    H par = open_group(m.file, "parameters", path);
    const std::string stored = read_dataset_string(par, "scenario", path);
    if (read_attr_string(par, "scenario_hash") != h5md::scenario_hash(stored))
      throw ConfigError(path + ": the stored scenario was edited after the sweep started: refusing "
                               "to mix two sweeps in one file");
    auto open = [&](const std::string& n) {
      hid_t d = H5Dopen2(m.file, n.c_str(), H5P_DEFAULT);
      if (d < 0) throw ConfigError(path + ": not an attnflow sweep file (no " + n + ")");
      return H(d, H5Dclose);
    };
    m.done_ds = open("/sweep/done");
    std::vector<signed char> dn(static_cast<std::size_t>(m.G));
    H5Dread(m.done_ds, H5T_NATIVE_SCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, dn.data());
    for (std::size_t g = 0; g < dn.size(); ++g) m.done[g] = dn[g] != 0;
    m.times_ds = open("/statistics/time");
    for (const auto& s : m.stats) {
      m.value_ds.push_back(open("/statistics/" + s + "/value"));
      m.mean_ds.push_back(open("/statistics/" + s + "/mean"));
      m.stderr_ds.push_back(open("/statistics/" + s + "/stderr"));
      m.quant_ds.push_back(open("/statistics/" + s + "/quantiles"));
    }
    if (K) m.traj_ds = open("/trajectories/position");
    return;
  }
  std::error_code ec;
  const fs::path p(path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  m.claim = std::make_unique<OutputClaim>(path, existing);
  hid_t f = H5Fcreate(m.claim->part().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, writer_fapl());
  if (f < 0) throw IoError(m.claim->part() + ": cannot create the sweep file");
  m.file = H(f, H5Fclose);

  {
    H par = group(m.file, "parameters", path);
    attr_string(par, "kind", "sweep");
    attr_string(par, "attnflow_version", ATTNFLOW_VERSION);
    std::error_code ec2;
    const fs::path sp = fs::absolute(sc.path, ec2);
    attr_string(par, "scenario_path", ec2 ? sc.path : sp.string());
    attr_num<unsigned long long>(par, "seed", {sc.run.seed}, H5T_STD_U64LE, H5T_NATIVE_ULLONG);
    attr_string(par, "scenario_hash", h5md::scenario_hash(sc.resolved_toml));
    attr_string(par, "model", sc.model_kind);
    dataset_string(par, "scenario", sc.resolved_toml);
    dataset_string(par, "scenario_source", sc.source_text);
  }
  {
    H sw = group(m.file, "sweep", path);
    std::size_t w = 1;
    for (const auto& a : sc.sweep) w = std::max(w, a.key.size());
    H t(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(t, w);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    std::string buf(w * std::max<std::size_t>(A, 1), '\0');
    for (std::size_t k = 0; k < A; ++k) buf.replace(k * w, sc.sweep[k].key.size(), sc.sweep[k].key);
    hsize_t na = A;
    H sp(H5Screate_simple(1, &na, nullptr), H5Sclose);
    H keys(H5Dcreate2(sw, "keys", t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
    if (A) H5Dwrite(keys, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data());
    std::vector<long long> logs;
    for (const auto& a : sc.sweep) logs.push_back(a.log ? 1 : 0);
    if (A) attr_num<long long>(keys, "log", logs, H5T_STD_I64LE, H5T_NATIVE_LLONG);
    for (std::size_t k = 0; k < A; ++k) {
      const std::string name = "axis" + std::to_string(k);
      H d = create(sw, name.c_str(), H5T_IEEE_F64LE, {sc.sweep[k].values.size()}, {}, false, path);
      write_all(d, H5T_NATIVE_DOUBLE, sc.sweep[k].values.data(), path);
      attr_string(d, "key", sc.sweep[k].key);
    }
    std::vector<double> grid;
    for (const auto& row : sc.grid_values) grid.insert(grid.end(), row.begin(), row.end());
    if (A) {
      H d = create(sw, "grid", H5T_IEEE_F64LE, {G, A}, {}, false, path);
      write_all(d, H5T_NATIVE_DOUBLE, grid.data(), path);
    }
    m.done_ds = create(sw, "done", H5T_STD_I8LE, {G}, {}, false, path);
    std::vector<signed char> zeros(static_cast<std::size_t>(m.G), 0);
    write_all(m.done_ds, H5T_NATIVE_SCHAR, zeros.data(), path);
  }
  {
    H en = group(m.file, "ensemble", path);
    attr_i64(en, "size", m.S);
    attr_i64(en, "trajectories", m.K);
    attr_i64(en, "shared_matrices", sc.ensemble.shared_matrices ? 1 : 0);
    attr_f64(en, "delta", {sc.ensemble.delta});
    attr_f64(en, "quantiles", m.qs);
    std::vector<unsigned long long> seeds;
    for (std::int64_t i = 0; i < m.S; ++i) seeds.push_back(system_seed(sc.run.seed, i));
    H d = create(en, "seeds", H5T_STD_U64LE, {S}, {}, false, path);
    write_all(d, H5T_NATIVE_ULLONG, seeds.data(), path);
  }
  {
    H st = group(m.file, "statistics", path);
    m.times_ds = create(st, "time", H5T_IEEE_F64LE, {G, F}, {1, F}, false, path);
    const hsize_t cs = std::min<hsize_t>(S, std::max<hsize_t>(1, (1u << 17) / std::max<hsize_t>(F, 1)));
    for (const auto& s : m.stats) {
      H g = group(st, s.c_str(), path);
      m.value_ds.push_back(create(g, "value", H5T_IEEE_F64LE, {G, F, S}, {1, F, cs}, true, path));
      m.mean_ds.push_back(create(g, "mean", H5T_IEEE_F64LE, {G, F}, {1, F}, false, path));
      m.stderr_ds.push_back(create(g, "stderr", H5T_IEEE_F64LE, {G, F}, {1, F}, false, path));
      m.quant_ds.push_back(create(g, "quantiles", H5T_IEEE_F64LE, {G, F, std::max<hsize_t>(Q, 1)},
                                  {1, F, std::max<hsize_t>(Q, 1)}, false, path));
    }
  }
  if (K) {
    H tr = group(m.file, "trajectories", path);
    const hsize_t N = static_cast<hsize_t>(sc.tokens.n), d = static_cast<hsize_t>(sc.tokens.d);
    m.traj_ds = create(tr, "position", H5T_IEEE_F64LE, {G, K, F, N, d}, {1, 1, F, N, d}, true, path);
  }
  check(H5Fflush(m.file, H5F_SCOPE_GLOBAL), path, "flush");
}

SweepWriter::~SweepWriter() {
  if (impl_) close();
}

void SweepWriter::write_point(const EnsemblePoint& p) {
  Impl& m = *impl_;
  const hsize_t g = static_cast<hsize_t>(p.point);
  write_point_slab(m.times_ds, g, p.times.data(), m.path);
  const std::int64_t F = m.F, S = m.S;
  for (std::size_t q = 0; q < m.stats.size(); ++q) {
    const std::vector<double>& v = p.values[q];
    write_point_slab(m.value_ds[q], g, v.data(), m.path);
    std::vector<double> mean(static_cast<std::size_t>(F)), se(static_cast<std::size_t>(F)),
        qv(static_cast<std::size_t>(F) * std::max<std::size_t>(m.qs.size(), 1), kNaN);
    for (std::int64_t k = 0; k < F; ++k) {
      const Aggregate a = aggregate(v.data() + k * S, S, m.qs);
      mean[static_cast<std::size_t>(k)] = a.mean;
      se[static_cast<std::size_t>(k)] = a.stderr_;
      for (std::size_t j = 0; j < a.quantiles.size(); ++j)
        qv[static_cast<std::size_t>(k) * m.qs.size() + j] = a.quantiles[j];
    }
    write_point_slab(m.mean_ds[q], g, mean.data(), m.path);
    write_point_slab(m.stderr_ds[q], g, se.data(), m.path);
    write_point_slab(m.quant_ds[q], g, qv.data(), m.path);
  }
  if (m.K) {
    std::vector<double> all;
    for (const auto& t : p.trajectories) all.insert(all.end(), t.data(), t.data() + t.size());
    write_point_slab(m.traj_ds, g, all.data(), m.path);
  }
  // The point's data reach the file before it is marked done.
  check(H5Fflush(m.file, H5F_SCOPE_GLOBAL), m.path, "flush");
  {
    H fsp(H5Dget_space(m.done_ds), H5Sclose);
    hsize_t start = g, count = 1;
    H5Sselect_hyperslab(fsp, H5S_SELECT_SET, &start, nullptr, &count, nullptr);
    H msp(H5Screate_simple(1, &count, nullptr), H5Sclose);
    const signed char one = 1;
    check(H5Dwrite(m.done_ds, H5T_NATIVE_SCHAR, msp, fsp, H5P_DEFAULT, &one), m.path, "mark a point done");
  }
  check(H5Fflush(m.file, H5F_SCOPE_GLOBAL), m.path, "flush");
  m.done[g] = 1;
  if (m.claim && !m.claim->committed()) m.claim->commit();  // an earlier file becomes a backup now
}

void SweepWriter::write_summary(const EnsembleSummary& s, bool complete) {
  Impl& m = *impl_;
  if (m.file.id < 0) return;
  hid_t g = H5Lexists(m.file, "summary", H5P_DEFAULT) > 0 ? H5Gopen2(m.file, "summary", H5P_DEFAULT)
                                                            : H5Gcreate2(m.file, "summary", H5P_DEFAULT,
                                                                         H5P_DEFAULT, H5P_DEFAULT);
  H grp(g, H5Gclose);
  const std::int64_t prev_steps = read_attr_i64(grp, "steps"), prev_rhs = read_attr_i64(grp, "rhs_evals");
  attr_i64(grp, "steps", prev_steps + s.steps);
  attr_i64(grp, "rhs_evals", prev_rhs + s.rhs_evals);
  attr_f64(grp, "wall_seconds", {s.wall_seconds});
  attr_i64(grp, "complete", complete ? 1 : 0);
  H5Fflush(m.file, H5F_SCOPE_GLOBAL);
}

void SweepWriter::close() {
  Impl& m = *impl_;
  m.value_ds.clear();
  m.mean_ds.clear();
  m.stderr_ds.clear();
  m.quant_ds.clear();
  m.done_ds = H();
  m.times_ds = H();
  m.traj_ds = H();
  m.file = H();
  if (m.claim) {
    if (m.claim->committed()) m.claim->release();
    else m.claim->abandon();  // no grid point finished: an earlier file stays as it was
    m.claim.reset();
  }
  m.lock.release();
}

const std::string& SweepWriter::backup() const {
  static const std::string none;
  return impl_->claim ? impl_->claim->backup() : none;
}

std::vector<char> SweepWriter::done() const { return impl_->done; }

int SweepData::statistic(const std::string& name) const {
  for (std::size_t i = 0; i < statistics.size(); ++i)
    if (statistics[i] == name) return static_cast<int>(i);
  return -1;
}

bool is_sweep_file(const std::string& path) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec) || H5Fis_hdf5(path.c_str()) <= 0) return false;
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return false;
  H file(f, H5Fclose);
  if (H5Lexists(file, "parameters", H5P_DEFAULT) <= 0) return false;
  H par(H5Gopen2(file, "parameters", H5P_DEFAULT), H5Gclose);
  return read_attr_string(par, "kind") == "sweep";
}

SweepData read_sweep(const std::string& path, bool with_values) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw ConfigError(path + ": no such sweep file");
  if (H5Fis_hdf5(path.c_str()) <= 0) throw IoError(path + ": not an HDF5 file (or truncated)");
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) throw IoError(path + ": cannot open (corrupt, or locked by a running sweep)");
  H file(f, H5Fclose);
  SweepData s;
  s.path = path;
  {
    H par = open_group(file, "parameters", path);
    if (read_attr_string(par, "kind") != "sweep") throw ConfigError(path + ": not an attnflow sweep file");
    s.scenario_text = read_dataset_string(par, "scenario", path);
    s.scenario_path = read_attr_string(par, "scenario_path");
    s.scenario_hash = read_attr_string(par, "scenario_hash");
  }
  H sw = open_group(file, "sweep", path);
  const auto done = read_all<signed char>(sw, "done", H5T_NATIVE_SCHAR, path);
  for (auto d : done) s.done.push_back(d != 0);
  const std::size_t G = done.size();
  {
    hid_t kid = H5Dopen2(sw, "keys", H5P_DEFAULT);
    if (kid < 0) throw ConfigError(path + ": not an attnflow sweep file (no /sweep/keys)");
    H keys(kid, H5Dclose);
    const auto dims = dims_of(keys);
    const std::size_t A = dims.empty() ? 0 : dims[0];
    if (A) {
      H t(H5Dget_type(keys), H5Tclose);
      const std::size_t w = H5Tget_size(t);
      std::string buf(w * A, '\0');
      H5Dread(keys, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data());
      for (std::size_t k = 0; k < A; ++k) {
        std::string key = buf.substr(k * w, w);
        key.erase(std::find(key.begin(), key.end(), '\0'), key.end());
        s.keys.push_back(key);
      }
      for (double v : read_attr_f64(keys, "log")) s.log.push_back(v != 0);
      for (std::size_t k = 0; k < A; ++k)
        s.axes.push_back(read_all<double>(sw, "axis" + std::to_string(k), H5T_NATIVE_DOUBLE, path));
      const auto grid = read_all<double>(sw, "grid", H5T_NATIVE_DOUBLE, path);
      for (std::size_t g = 0; g < G; ++g) s.grid.emplace_back(grid.begin() + g * A, grid.begin() + (g + 1) * A);
    } else {
      s.grid.assign(G, {});
    }
  }
  {
    H en = open_group(file, "ensemble", path);
    s.size = read_attr_i64(en, "size");
    s.trajectories = read_attr_i64(en, "trajectories");
    const auto dl = read_attr_f64(en, "delta");
    s.delta = dl.empty() ? 0 : dl[0];
    s.quantile_levels = read_attr_f64(en, "quantiles");
    for (auto v : read_all<unsigned long long>(en, "seeds", H5T_NATIVE_ULLONG, path)) s.seeds.push_back(v);
  }
  H st = open_group(file, "statistics", path);
  const auto times = read_all<double>(st, "time", H5T_NATIVE_DOUBLE, path);
  const std::size_t F = G ? times.size() / G : 0;
  for (std::size_t g = 0; g < G; ++g) s.times.emplace_back(times.begin() + g * F, times.begin() + (g + 1) * F);
  H5G_info_t info;
  H5Gget_info(st, &info);
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    char name[256];
    H5Lget_name_by_idx(st, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT);
    if (std::string(name) == "time") continue;
    s.statistics.push_back(name);
    const std::string base = std::string(name) + "/";
    s.mean.push_back(read_all<double>(st, base + "mean", H5T_NATIVE_DOUBLE, path));
    s.stderr_.push_back(read_all<double>(st, base + "stderr", H5T_NATIVE_DOUBLE, path));
    s.quantiles.push_back(read_all<double>(st, base + "quantiles", H5T_NATIVE_DOUBLE, path));
    if (with_values) s.values.push_back(read_all<double>(st, base + "value", H5T_NATIVE_DOUBLE, path));
  }
  return s;
}

}  // namespace attnflow
