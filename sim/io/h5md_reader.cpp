// The one reader of run files (see h5md_reader.hpp). HDF5 C API.
#include "sim/io/h5md_reader.hpp"

#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <numbers>
#include <optional>

#include "sim/config/scenario.hpp"
#include "sim/core/error.hpp"
#include "sim/io/h5md_layout.hpp"
#include "sim/io/output_claim.hpp"

namespace attnflow {
namespace fs = std::filesystem;
using namespace h5md;

StoredFit::StoredFit() {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  rate = intercept = t0 = t1 = power_rate = power_intercept = amplitude = nan;
}

namespace {

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

// Closes an HDF5 identifier of any kind.
class Id {
 public:
  explicit Id(hid_t id = -1) : id_(id) {}
  ~Id() { reset(); }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  Id(Id&& o) noexcept : id_(o.id_) { o.id_ = -1; }
  Id& operator=(Id&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      o.id_ = -1;
    }
    return *this;
  }
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }
  void reset() {
    if (id_ >= 0) {
      switch (H5Iget_type(id_)) {
        case H5I_FILE: H5Fclose(id_); break;
        case H5I_GROUP: H5Gclose(id_); break;
        case H5I_DATASET: H5Dclose(id_); break;
        case H5I_ATTR: H5Aclose(id_); break;
        case H5I_DATASPACE: H5Sclose(id_); break;
        case H5I_DATATYPE: H5Tclose(id_); break;
        case H5I_GENPROP_LST: H5Pclose(id_); break;
        default: break;
      }
    }
    id_ = -1;
  }

 private:
  hid_t id_;
};

using Dims = std::vector<hsize_t>;

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

struct H5mdReader::Impl {
  std::string path;
  Access access;
  FileLock lock;  // Update access
  Id file;
  RunMetadata meta;
  std::int64_t frames = 0;
  Index n = 0, d = 0;

  // `why`: the HDF5 reason when the caller already took it off the error stack.
  [[noreturn]] void damaged(const std::string& what, std::string why = "") const {
    if (why.empty())
      why = h5_reason();
    else
      H5Eclear2(H5E_DEFAULT);
    throw IoError(path + ": " + what + " (damaged file" + (why.empty() ? "" : ": " + why) + ")");
  }
  [[noreturn]] void config(const std::string& what) const { throw ConfigError(path + ": " + what); }

  // H5I_GROUP, H5I_DATASET, ...; H5I_BADID if it cannot be opened (the error stays on the
  // stack for damaged()).
  H5I_type_t kind_of(const std::string& p) const {
    hid_t o = H5Oopen(file.get(), p.c_str(), H5P_DEFAULT);
    if (o < 0) return H5I_BADID;
    const H5I_type_t t = H5Iget_type(o);
    H5Oclose(o);
    return t;
  }

  // Whether the object at the absolute path `p` exists. A component that is not a group (a
  // foreign layout) means no; a link or object that cannot be looked up is damage.
  bool exists(const std::string& p) const {
    std::string cur, parent = "/";
    std::size_t pos = 1;
    while (pos <= p.size()) {
      std::size_t next = p.find('/', pos);
      if (next == std::string::npos) next = p.size();
      if (next > pos) {
        cur = p.substr(0, next);
        const htri_t e = H5Lexists(file.get(), cur.c_str(), H5P_DEFAULT);
        if (e == 0) return false;
        if (e < 0) {
          const std::string why = h5_reason();
          const H5I_type_t t = kind_of(parent);
          if (t != H5I_BADID && t != H5I_GROUP) {
            H5Eclear2(H5E_DEFAULT);
            return false;
          }
          damaged("cannot look up " + cur, why);
        }
        parent = cur;
      }
      pos = next + 1;
    }
    const htri_t o = H5Oexists_by_name(file.get(), p.c_str(), H5P_DEFAULT);
    if (o < 0) damaged("cannot look up " + p);
    return o > 0;
  }

  // Opens the dataset or group at `p` (ConfigError if it is something else; IoError if damaged).
  Id open(const std::string& p, H5I_type_t want) const {
    const bool ds = want == H5I_DATASET;
    Id o(ds ? H5Dopen2(file.get(), p.c_str(), H5P_DEFAULT) : H5Gopen2(file.get(), p.c_str(), H5P_DEFAULT));
    if (!o.ok()) {
      const std::string why = h5_reason();
      const H5I_type_t t = kind_of(p);
      if (t != H5I_BADID && t != want) {
        H5Eclear2(H5E_DEFAULT);
        config(p + (ds ? " is not a dataset" : " is not a group"));
      }
      damaged("cannot open " + p, why);
    }
    return o;
  }
  Id dataset(const std::string& p) const {
    if (!exists(p)) config("no dataset " + p);
    return open(p, H5I_DATASET);
  }
  Id group(const std::string& p) const { return open(p, H5I_GROUP); }

  // Whether `p` exists and is a dataset (an object that cannot be opened is damage).
  bool is_dataset(const std::string& p) const {
    if (!exists(p)) return false;
    const H5I_type_t t = kind_of(p);
    if (t == H5I_BADID) damaged("cannot open " + p);
    return t == H5I_DATASET;
  }

  Dims dims(const Id& d, const std::string& p) const {
    Id sp(H5Dget_space(d.get()));
    const int rank = sp.ok() ? H5Sget_simple_extent_ndims(sp.get()) : -1;
    if (rank < 0) damaged("cannot read the shape of " + p);
    Dims out(static_cast<std::size_t>(rank));
    if (rank > 0 && H5Sget_simple_extent_dims(sp.get(), out.data(), nullptr) < 0)
      damaged("cannot read the shape of " + p);
    return out;
  }
  Dims dims(const std::string& p) const { return dims(dataset(p), p); }

  void numeric(const Id& d, const std::string& p) const {
    Id t(H5Dget_type(d.get()));
    const H5T_class_t c = t.ok() ? H5Tget_class(t.get()) : H5T_NO_CLASS;
    if (c != H5T_FLOAT && c != H5T_INTEGER) config(p + " is not numeric");
  }

  // Rows [k0, k0 + count) of the first axis of a dataset, as `memtype`.
  template <class T>
  std::vector<T> read_rows(const std::string& p, hsize_t k0, hsize_t count, hid_t memtype,
                           Dims* shape_out = nullptr) const {
    Id d = dataset(p);
    numeric(d, p);
    Dims dm = dims(d, p);
    if (dm.empty()) {  // a scalar dataset: one value
      std::vector<T> v(1);
      if (H5Dread(d.get(), memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0) damaged("cannot read " + p);
      if (shape_out) *shape_out = dm;
      return v;
    }
    if (k0 + count > dm[0]) config(p + " has " + std::to_string(dm[0]) + " rows, " + std::to_string(k0 + count) + " needed");
    Dims start(dm.size(), 0), cnt = dm;
    start[0] = k0;
    cnt[0] = count;
    hsize_t n = 1;
    for (auto c : cnt) n *= c;
    std::vector<T> v(static_cast<std::size_t>(n));
    if (n > 0) {
      Id fsp(H5Dget_space(d.get()));
      Id msp(H5Screate_simple(static_cast<int>(cnt.size()), cnt.data(), nullptr));
      if (H5Sselect_hyperslab(fsp.get(), H5S_SELECT_SET, start.data(), nullptr, cnt.data(), nullptr) < 0 ||
          H5Dread(d.get(), memtype, msp.get(), fsp.get(), H5P_DEFAULT, v.data()) < 0)
        damaged("cannot read " + p);
    }
    if (shape_out) *shape_out = cnt;
    return v;
  }

  // Frame k of a per-frame series.
  template <class T>
  std::vector<T> frame(const std::string& p, std::int64_t k, hid_t memtype, Dims* shape = nullptr) const {
    if (k < 0 || k >= frames)
      config("frame " + std::to_string(k) + " is out of range (the run has " + std::to_string(frames) +
             " frames)");
    return read_rows<T>(p, static_cast<hsize_t>(k), 1, memtype, shape);
  }

  // The first `frames` rows (a per-frame series cut to the complete frames).
  std::vector<double> series(const std::string& p, Dims* shape = nullptr) const {
    return read_rows<double>(p, 0, static_cast<hsize_t>(frames), H5T_NATIVE_DOUBLE, shape);
  }

  std::vector<std::string> children(const std::string& p) const {
    std::vector<std::string> out;
    if (!exists(p)) return out;
    const H5I_type_t t = kind_of(p);
    if (t == H5I_BADID) damaged("cannot open " + p);
    if (t != H5I_GROUP) return out;
    Id g = group(p);
    H5G_info_t info;
    if (H5Gget_info(g.get(), &info) < 0) damaged("cannot list " + p);
    for (hsize_t i = 0; i < info.nlinks; ++i) {
      const ssize_t len = H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
      if (len <= 0) damaged("cannot list " + p);
      std::string name(static_cast<std::size_t>(len) + 1, '\0');
      H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT);
      name.resize(static_cast<std::size_t>(len));
      out.push_back(name);
    }
    return out;
  }

  // --- attributes and strings ---------------------------------------------------------------
  // One string of file type `type`, fixed or variable length, read by read(mem, buffer).
  template <class Read>
  static std::optional<std::string> one_string(hid_t type, hid_t space, Read read, bool& failed) {
    failed = false;
    if (H5Tget_class(type) != H5T_STRING || H5Sget_simple_extent_npoints(space) != 1) return std::nullopt;
    Id mem(H5Tcopy(H5T_C_S1));
    H5Tset_cset(mem.get(), H5Tget_cset(type));
    if (H5Tis_variable_str(type) > 0) {
      H5Tset_size(mem.get(), H5T_VARIABLE);
      char* s = nullptr;
      if (read(mem.get(), static_cast<void*>(&s)) < 0) {
        failed = true;
        return std::nullopt;
      }
      std::string out(s ? s : "");
      if (s) H5free_memory(s);
      return out;
    }
    const std::size_t size = H5Tget_size(type);
    std::string buf(size + 1, '\0');
    H5Tset_size(mem.get(), size + 1);
    H5Tset_strpad(mem.get(), H5T_STR_NULLTERM);
    if (read(mem.get(), static_cast<void*>(buf.data())) < 0) {
      failed = true;
      return std::nullopt;
    }
    buf.resize(std::char_traits<char>::length(buf.c_str()));
    return buf;
  }

  Id attribute(hid_t obj, const std::string& where, const char* name) const {
    const htri_t e = H5Aexists(obj, name);
    if (e < 0) damaged("cannot read the attribute " + where + "/" + name);
    if (e == 0) return Id();
    Id a(H5Aopen(obj, name, H5P_DEFAULT));
    if (!a.ok()) damaged("cannot read the attribute " + where + "/" + name);
    return a;
  }

  // A string attribute (absent or of another type: nullopt).
  std::optional<std::string> attr_string(hid_t obj, const std::string& where, const char* name) const {
    Id a = attribute(obj, where, name);
    if (!a.ok()) return std::nullopt;
    Id t(H5Aget_type(a.get())), sp(H5Aget_space(a.get()));
    bool failed = false;
    auto s = one_string(t.get(), sp.get(), [&](hid_t m, void* b) { return H5Aread(a.get(), m, b); }, failed);
    if (failed) damaged("cannot read the attribute " + where + "/" + name);
    return s;
  }

  template <class T>
  std::optional<T> attr_number(hid_t obj, const std::string& where, const char* name, hid_t memtype) const {
    Id a = attribute(obj, where, name);
    if (!a.ok()) return std::nullopt;
    Id t(H5Aget_type(a.get())), sp(H5Aget_space(a.get()));
    const H5T_class_t c = H5Tget_class(t.get());
    if ((c != H5T_FLOAT && c != H5T_INTEGER) || H5Sget_simple_extent_npoints(sp.get()) != 1) return std::nullopt;
    T v{};
    if (H5Aread(a.get(), memtype, &v) < 0) damaged("cannot read the attribute " + where + "/" + name);
    return v;
  }

  std::optional<std::string> dataset_string(const std::string& p) const {
    if (!exists(p)) return std::nullopt;
    Id d = dataset(p);
    Id t(H5Dget_type(d.get())), sp(H5Dget_space(d.get()));
    bool failed = false;
    auto s = one_string(t.get(), sp.get(),
                        [&](hid_t m, void* b) { return H5Dread(d.get(), m, H5S_ALL, H5S_ALL, H5P_DEFAULT, b); },
                        failed);
    if (failed) damaged("cannot read " + p);
    return s;
  }

  // --- opening ------------------------------------------------------------------------------
  void open() {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (!fs::exists(st)) throw IoError(path + ": cannot open: no such file");
    if (fs::is_directory(st)) throw ConfigError(path + ": is a directory, not a run file");
    const bool write = access == Access::Update;
    const std::string for_writing = write ? " for writing" : "";
    if (::access(path.c_str(), write ? R_OK | W_OK : R_OK) != 0)
      throw IoError(path + ": cannot open" + for_writing + ": " + std::strerror(errno));
    const auto size = fs::file_size(path, ec);
    if (!ec && size == 0) throw IoError(path + ": empty file (0 bytes), not an attnflow run file");
    const htri_t is = H5Fis_hdf5(path.c_str());
    if (is <= 0) {
      const std::string why = h5_reason();
      if (is == 0)
        throw IoError(path + ": not an HDF5 file (no HDF5 signature): not an attnflow run file, "
                             "or its first bytes are damaged");
      throw IoError(path + ": cannot read" + (why.empty() ? "" : ": " + why));
    }
    Id fapl(H5Pcreate(H5P_FILE_ACCESS));
    if (write) {
      // The run file's own lock (a writer holds it too); HDF5's lock on a second descriptor of
      // the same file would conflict with it.
      lock = FileLock::exclusive(path, "write to it");
      H5Pset_file_locking(fapl.get(), false, true);
    } else if (access == Access::Held) {
      H5Pset_file_locking(fapl.get(), false, true);
    }
    file = Id(H5Fopen(path.c_str(), write ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl.get()));
    if (!file.ok()) {
      const std::string why = h5_reason();
      std::string msg = path + ": cannot open" + for_writing + " as HDF5";
      if (why.find("truncated") != std::string::npos)
        msg += ": the file is truncated (" + why + ")";
      else if (why.find("lock") != std::string::npos)
        msg += ": it is locked (" + why + "): a run is still writing it (HDF5_USE_FILE_LOCKING=FALSE "
               "reads its complete frames meanwhile)";
      else if (!why.empty())
        msg += ": " + why;
      throw IoError(msg);
    }
    read_metadata();
    count_frames();
  }

  void read_metadata() {
    if (exists(kParameters)) {
      Id g = group(kParameters);
      const hid_t p = g.get();
      auto str = [&](const char* name, std::string& out) {
        if (auto s = attr_string(p, kParameters, name)) out = *s;
      };
      auto num = [&](const char* name, std::int64_t& out) {
        if (auto v = attr_number<long long>(p, kParameters, name, H5T_NATIVE_LLONG)) out = *v;
      };
      auto real = [&](const char* name, double& out) {
        if (auto v = attr_number<double>(p, kParameters, name, H5T_NATIVE_DOUBLE)) out = *v;
      };
      str(attr::kName, meta.name);
      str(attr::kSpace, meta.space);
      str(attr::kModel, meta.model);
      str(attr::kIntegrator, meta.integrator);
      str(attr::kAttnflowVersion, meta.attnflow_version);
      str(attr::kScenarioPath, meta.scenario_path);
      str(attr::kScenarioHash, meta.scenario_hash);
      num(attr::kN, meta.n);
      num(attr::kD, meta.d);
      num(attr::kSeed, meta.seed);
      num(attr::kSteps, meta.steps);
      num(attr::kRhsEvals, meta.rhs_evals);
      num(attr::kOracleCalls, meta.oracle_calls);
      num(attr::kComplete, meta.complete);
      real(attr::kTFinal, meta.t_final);
      real(attr::kWallSeconds, meta.wall_seconds);
      if (auto s = dataset_string(kScenario))
        meta.scenario = *s;
      else
        str(attr::kScenarioText, meta.scenario);
      if (auto s = dataset_string(kScenarioSource)) meta.scenario_source = *s;
    }
    if (meta.name.empty()) meta.name = toml_string(meta.scenario, "run.name");
    if (meta.space.empty()) meta.space = toml_string(meta.scenario, "tokens.space");
  }

  // The per-frame series: complete frames are those all of them hold.
  void count_frames() {
    std::vector<std::string> series = {kPositionStep, kPositionTime, kPositionValue, kViewValue,
                                       kMomentumValue, kPhaseValue, kCountersValue, kIntegratorValue};
    for (const auto& o : children(kObservables)) series.push_back(observable_value(o));
    bool any = false;
    hsize_t t = std::numeric_limits<hsize_t>::max();
    for (const auto& s : series) {
      if (!is_dataset(s)) continue;
      const Dims dm = dims(s);
      if (dm.empty()) continue;
      any = true;
      t = std::min(t, dm[0]);
    }
    frames = any ? static_cast<std::int64_t>(t) : 0;
    for (const std::string p : {kPositionValue, kViewValue}) {
      if (!is_dataset(p)) continue;
      const Dims dm = dims(p);
      if (dm.size() >= 2) {
        n = static_cast<Index>(dm[1]);
        if (p == kPositionValue && dm.size() == 3) d = static_cast<Index>(dm[2]);
        break;
      }
    }
    if (d == 0 && meta.d > 0) d = static_cast<Index>(meta.d);
  }

  std::string series_path(const std::string& name) const {
    if (name == "position") return kPositionValue;
    if (name == "momentum") return kMomentumValue;
    if (name == "phase") return kPhaseValue;
    if (name == "view") return kViewValue;
    return h5md::token_series(name);
  }

  void need_update(const std::string& what) const {
    if (access != Access::Update) throw Error(path + ": opened read-only, cannot write " + what);
  }

  Id open_or_create_group(const std::string& p) {
    if (exists(p)) return group(p);
    Id g(H5Gcreate2(file.get(), p.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    if (!g.ok()) {
      const std::string why = h5_reason();
      throw IoError(path + ": cannot create " + p + (why.empty() ? "" : ": " + why));
    }
    return g;
  }
};

H5mdReader::H5mdReader(const std::string& path, Access access) : impl_(std::make_unique<Impl>()) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors are reported by exceptions
  impl_->path = path;
  impl_->access = access;
  impl_->open();
}

H5mdReader::~H5mdReader() {
  if (impl_ && impl_->file.ok()) {
    impl_->file.reset();
    H5Eclear2(H5E_DEFAULT);
  }
}

const std::string& H5mdReader::path() const { return impl_->path; }
const RunMetadata& H5mdReader::metadata() const { return impl_->meta; }
std::int64_t H5mdReader::frames() const { return impl_->frames; }
Index H5mdReader::tokens() const { return impl_->n; }
Index H5mdReader::dim() const { return impl_->d; }
bool H5mdReader::exists(const std::string& p) const { return impl_->exists(p); }

std::vector<std::size_t> H5mdReader::shape(const std::string& dataset) const {
  const Dims dm = impl_->dims(dataset);
  return std::vector<std::size_t>(dm.begin(), dm.end());
}

void H5mdReader::require_run() const {
  const std::string not_a_run = "not an attnflow run file (no " + std::string(kPositionValue) + ")";
  for (const char* p : {kParticles, kTokens, kPosition}) {
    if (!impl_->exists(p)) impl_->config(not_a_run);
    const H5I_type_t t = impl_->kind_of(p);
    if (t == H5I_BADID) impl_->damaged(std::string("cannot open ") + p);
    if (t != H5I_GROUP) impl_->config(not_a_run + ": " + p + " is not a group");
  }
  if (!impl_->exists(kPositionValue)) impl_->config(not_a_run);
  if (!impl_->is_dataset(kPositionValue)) impl_->config(not_a_run + ": it is not a dataset");
  if (impl_->dims(kPositionValue).size() != 3)
    impl_->config(std::string(kPositionValue) + " is not a [T][N][d] trajectory");
}

void H5mdReader::require_frames(const std::string& what) const {
  if (impl_->frames == 0)
    impl_->config("the run has no frames (it was stopped before its first frame was written)" + what);
}

bool H5mdReader::has_positions() const { return impl_->exists(kPositionValue); }
bool H5mdReader::has_momentum() const { return impl_->exists(kMomentumValue); }
bool H5mdReader::has_phase() const { return impl_->exists(kPhaseValue); }
bool H5mdReader::has_view() const { return impl_->exists(kViewValue); }
bool H5mdReader::has_checkpoint() const { return impl_->exists(kCountersValue); }
bool H5mdReader::has_integrator_state() const { return impl_->exists(kIntegratorValue); }

std::vector<double> H5mdReader::times() const {
  for (const char* p : {kPositionTime, kViewTime})
    if (impl_->exists(p)) return impl_->series(p);
  std::vector<double> t(static_cast<std::size_t>(impl_->frames));
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = static_cast<double>(i);
  return t;
}

std::vector<std::int64_t> H5mdReader::steps() const {
  for (const char* p : {kPositionStep, kViewStep})
    if (impl_->exists(p)) {
      const auto v = impl_->read_rows<long long>(p, 0, static_cast<hsize_t>(impl_->frames), H5T_NATIVE_LLONG);
      return std::vector<std::int64_t>(v.begin(), v.end());
    }
  std::vector<std::int64_t> s(static_cast<std::size_t>(impl_->frames));
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<std::int64_t>(i);
  return s;
}

// Frame k of a [T][N][d] series as an N x d matrix.
RowMat H5mdReader::frame_matrix(const char* dataset, std::int64_t k) const {
  Dims shape;
  const auto v = impl_->frame<double>(dataset, k, H5T_NATIVE_DOUBLE, &shape);
  if (shape.size() != 3) impl_->config(std::string(dataset) + " is not a [T][N][d] series");
  return Eigen::Map<const RowMat>(v.data(), static_cast<Index>(shape[1]), static_cast<Index>(shape[2]));
}

RowMat H5mdReader::positions(std::int64_t k) const { return frame_matrix(kPositionValue, k); }
RowMat H5mdReader::momenta(std::int64_t k) const { return frame_matrix(kMomentumValue, k); }
RowMat H5mdReader::view(std::int64_t k) const { return frame_matrix(kViewValue, k); }

Vec H5mdReader::phases(std::int64_t k) const {
  Dims s;
  const auto v = impl_->frame<double>(kPhaseValue, k, H5T_NATIVE_DOUBLE, &s);
  return Eigen::Map<const Vec>(v.data(), static_cast<Index>(v.size()));
}

StoredCheckpoint H5mdReader::checkpoint(std::int64_t k) const {
  StoredCheckpoint c;
  if (!impl_->exists(kCountersValue)) impl_->config(std::string("no checkpoint data (no ") + kCountersValue + ")");
  const auto v = impl_->frame<long long>(kCountersValue, k, H5T_NATIVE_LLONG);
  if (v.size() != 3) impl_->config(std::string("malformed ") + kCountersValue);
  c.rhs_evals = v[0];
  c.oracle_calls = v[1];
  c.rejected = v[2];
  if (impl_->exists(kIntegratorValue)) c.integrator = impl_->frame<double>(kIntegratorValue, k, H5T_NATIVE_DOUBLE);
  return c;
}

bool H5mdReader::has_token_series(const std::string& name) const {
  if (name.empty() || name.find('/') != std::string::npos) return false;
  const std::string p = impl_->series_path(name);
  if (!impl_->is_dataset(p)) return false;
  const Dims dm = impl_->dims(p);
  return (dm.size() == 2 || dm.size() == 3) && dm[0] >= static_cast<hsize_t>(impl_->frames) &&
         (impl_->n == 0 || dm[1] == static_cast<hsize_t>(impl_->n));
}

TokenSeries H5mdReader::token_series(const std::string& name) const {
  const std::string p = impl_->series_path(name);
  if (name.empty() || name.find('/') != std::string::npos || !impl_->exists(p))
    impl_->config("no per-token series " + p);
  const Dims dm = impl_->dims(p);
  if (dm.size() != 2 && dm.size() != 3) impl_->config(p + " must be [T][N] or [T][N][c]");
  if (dm[0] < static_cast<hsize_t>(impl_->frames) || (impl_->n && dm[1] != static_cast<hsize_t>(impl_->n)))
    impl_->config(p + " has shape [" + std::to_string(dm[0]) + "][" + std::to_string(dm[1]) +
                  "], expected [" + std::to_string(impl_->frames) + "][" + std::to_string(impl_->n) + "]");
  TokenSeries s;
  s.frames = static_cast<std::size_t>(impl_->frames);
  s.tokens = static_cast<std::size_t>(dm[1]);
  s.components = dm.size() == 3 ? static_cast<std::size_t>(dm[2]) : 1;
  s.data = impl_->series(p);
  return s;
}

std::vector<std::string> H5mdReader::observable_names() const { return impl_->children(kObservables); }

bool H5mdReader::has_observable(const std::string& name) const {
  return !name.empty() && name.find('/') == std::string::npos && impl_->exists(observable_value(name));
}

ObservableSeries H5mdReader::observable(const std::string& name) const {
  if (!has_observable(name)) {
    const auto have = observable_names();
    impl_->config("no observable '" + name + "' (recorded: " + (have.empty() ? "none" : join(have)) + ")");
  }
  const std::string vp = observable_value(name), tp = observable_time(name);
  Dims dm = impl_->dims(vp);
  if (!(dm.size() == 1 || (dm.size() == 2 && dm[1] == 1)))
    impl_->config("observable '" + name + "' is not a scalar series");
  ObservableSeries o;
  o.value = impl_->series(vp);
  o.time = impl_->exists(tp) ? impl_->series(tp) : times();
  return o;
}

std::map<std::string, StoredFit> H5mdReader::fits() const {
  std::map<std::string, StoredFit> out;
  for (const auto& name : impl_->children(kFits)) {
    const std::string p = fit(name);
    if (impl_->is_dataset(p)) continue;
    Id g = impl_->group(p);
    auto get = [&](const char* a) {
      return impl_->attr_number<double>(g.get(), p, a, H5T_NATIVE_DOUBLE)
          .value_or(std::numeric_limits<double>::quiet_NaN());
    };
    StoredFit f;
    f.rate = get(attr::kRate);
    if (std::isnan(f.rate)) continue;
    f.intercept = get(attr::kIntercept);
    f.t0 = get(attr::kT0);
    f.t1 = get(attr::kT1);
    f.power_rate = get(attr::kPowerRate);
    f.power_intercept = get(attr::kPowerIntercept);
    f.amplitude = get(attr::kAmplitude);
    out[name] = f;
  }
  return out;
}

std::vector<std::string> H5mdReader::matrix_names() const {
  std::vector<std::string> out;
  for (const auto& n : impl_->children(kMatrices))
    if (impl_->is_dataset(h5md::matrix(n))) out.push_back(n);
  return out;
}

StoredMatrix H5mdReader::matrix(const std::string& name) const {
  const std::string p = h5md::matrix(name);
  if (name.empty() || name.find('/') != std::string::npos || !impl_->exists(p)) {
    const auto have = matrix_names();
    impl_->config("no matrix " + p + (have.empty() ? " (none stored)" : " (stored: " + join(have) + ")"));
  }
  Dims dm;
  StoredMatrix m;
  Id d = impl_->dataset(p);
  dm = impl_->dims(d, p);
  if (dm.size() != 2 && dm.size() != 3) impl_->config(p + " must be [N][N] or [H][N][N]");
  m.data = impl_->read_rows<double>(p, 0, dm[0], H5T_NATIVE_DOUBLE);
  m.heads = dm.size() == 3 ? dm[0] : 1;
  m.rows = dm[dm.size() - 2];
  m.cols = dm[dm.size() - 1];
  if (m.rows == 0 || m.cols == 0 || m.heads == 0) impl_->config(p + " is empty");
  return m;
}

bool H5mdReader::has_density_field() const {
  if (!impl_->exists(kDensity)) return false;
  const H5I_type_t t = impl_->kind_of(kDensity);
  if (t == H5I_BADID) impl_->damaged(std::string("cannot open ") + kDensity);
  return t == H5I_GROUP;
}

DensityField H5mdReader::density_field() const {
  if (!has_density_field()) impl_->config(std::string("no density field (no group ") + kDensity + ")");
  const Dims g = impl_->dims(kDensityGrid), v = impl_->dims(kDensityValue), t = impl_->dims(kDensityTime);
  if (g.size() != 1 || g[0] == 0) impl_->config(std::string(kDensityGrid) + " must be [M] with M > 0");
  if (!(v.size() == 2 || (v.size() == 3 && v[2] == 1)) || v[1] != g[0])
    impl_->config(std::string(kDensityValue) + " must be [T][M][1] or [T][M] with M = " +
                  std::to_string(g[0]) + " (the size of " + kDensityGrid + ")");
  if (t.size() != 1) impl_->config(std::string(kDensityTime) + " must be [T]");
  DensityField f;
  f.cells = static_cast<std::size_t>(g[0]);
  f.frames = static_cast<std::size_t>(std::min<hsize_t>({v[0], t[0], static_cast<hsize_t>(impl_->frames)}));
  Id grp = impl_->group(kDensity);
  const auto cells = impl_->attr_number<long long>(grp.get(), kDensity, attr::kCells, H5T_NATIVE_LLONG);
  if (cells && *cells != static_cast<long long>(f.cells))
    impl_->config(std::string(kDensity) + ": attribute cells = " + std::to_string(*cells) + " but " +
                  kDensityGrid + " has " + std::to_string(f.cells) + " values");
  f.cell_width = impl_->attr_number<double>(grp.get(), kDensity, attr::kCellWidth, H5T_NATIVE_DOUBLE)
                     .value_or(2 * std::numbers::pi / static_cast<double>(f.cells));
  f.beta = impl_->attr_number<double>(grp.get(), kDensity, attr::kBeta, H5T_NATIVE_DOUBLE)
               .value_or(std::numeric_limits<double>::quiet_NaN());
  f.normalization = impl_->attr_string(grp.get(), kDensity, attr::kNormalization).value_or("");
  f.grid = impl_->read_rows<double>(kDensityGrid, 0, g[0], H5T_NATIVE_DOUBLE);
  f.time = impl_->read_rows<double>(kDensityTime, 0, f.frames, H5T_NATIVE_DOUBLE);
  f.value = impl_->read_rows<double>(kDensityValue, 0, f.frames, H5T_NATIVE_DOUBLE);
  return f;
}

void H5mdReader::write_fit(const std::string& observable, const StoredFit& f) {
  impl_->need_update("fits");
  const std::string p = fit(observable);
  impl_->open_or_create_group(kAnalysis);
  impl_->open_or_create_group(kFits);
  Id g = impl_->open_or_create_group(p);
  auto put = [&](const char* name, double v) {
    if (H5Aexists(g.get(), name) > 0 && H5Adelete(g.get(), name) < 0) return false;
    if (std::isnan(v)) return true;
    Id sp(H5Screate(H5S_SCALAR));
    Id a(H5Acreate2(g.get(), name, H5T_IEEE_F64LE, sp.get(), H5P_DEFAULT, H5P_DEFAULT));
    return a.ok() && H5Awrite(a.get(), H5T_NATIVE_DOUBLE, &v) >= 0;
  };
  bool ok = true;
  for (auto [name, v] : {std::pair{attr::kRate, f.rate}, {attr::kIntercept, f.intercept}, {attr::kT0, f.t0},
                         {attr::kT1, f.t1}, {attr::kPowerRate, f.power_rate},
                         {attr::kPowerIntercept, f.power_intercept}, {attr::kAmplitude, f.amplitude}})
    ok = ok && put(name, v);
  if (!ok || H5Fflush(impl_->file.get(), H5F_SCOPE_GLOBAL) < 0) {
    const std::string why = h5_reason();
    throw IoError(impl_->path + ": cannot write " + p + (why.empty() ? "" : ": " + why));
  }
}

void H5mdReader::write_matrices(const std::string& name, const std::vector<RowMat>& heads) {
  impl_->need_update("matrices");
  const std::string p = h5md::matrix(name);
  if (heads.empty()) throw Error("write_matrices: no matrices");
  impl_->open_or_create_group(kAnalysis);
  Id g = impl_->open_or_create_group(kMatrices);
  if (impl_->exists(p)) H5Ldelete(g.get(), name.c_str(), H5P_DEFAULT);
  const hsize_t H = heads.size(), r = static_cast<hsize_t>(heads[0].rows()), c = static_cast<hsize_t>(heads[0].cols());
  std::vector<double> buf;
  buf.reserve(H * r * c);
  for (const auto& h : heads) buf.insert(buf.end(), h.data(), h.data() + h.size());
  hsize_t dm[3] = {H, r, c};
  Id sp(H5Screate_simple(3, dm, nullptr));
  Id d(H5Dcreate2(g.get(), name.c_str(), H5T_IEEE_F64LE, sp.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!d.ok() || H5Dwrite(d.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) < 0 ||
      H5Fflush(impl_->file.get(), H5F_SCOPE_GLOBAL) < 0) {
    const std::string why = h5_reason();
    throw IoError(impl_->path + ": cannot write " + p + (why.empty() ? "" : ": " + why));
  }
}

}  // namespace attnflow
