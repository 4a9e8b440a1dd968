// HDF5 C API reader for attnflow runs; see h5_reader.hpp.
#include "viz/h5_reader.hpp"

#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

namespace attnflow::viz {
namespace {

// Closes an HDF5 handle of any kind when it goes out of scope.
class Handle {
 public:
  explicit Handle(hid_t id = -1) : id_(id) {}
  ~Handle() { reset(); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : id_(o.id_) { o.id_ = -1; }
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
        default: break;
      }
    }
    id_ = -1;
  }

 private:
  hid_t id_;
};

// True if every component of the absolute path exists (H5Lexists needs each parent).
bool exists(hid_t loc, const std::string& path) {
  std::string cur;
  std::stringstream ss(path);
  std::string part;
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    cur += "/" + part;
    if (H5Lexists(loc, cur.c_str(), H5P_DEFAULT) <= 0) return false;
    if (H5Oexists_by_name(loc, cur.c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return true;
}

std::vector<hsize_t> dims_of(hid_t dset) {
  Handle space(H5Dget_space(dset));
  int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) return {};
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

[[noreturn]] void fail(const std::string& file, const std::string& what) {
  throw H5Error(file + ": " + what);
}

// Reads a whole numeric dataset as double; returns its shape in dims.
std::vector<double> read_doubles(hid_t file, const std::string& fname, const std::string& path,
                                 std::vector<hsize_t>& dims) {
  Handle d(H5Dopen2(file, path.c_str(), H5P_DEFAULT));
  if (!d.ok()) fail(fname, "cannot open dataset " + path);
  Handle type(H5Dget_type(d.get()));
  H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_FLOAT && cls != H5T_INTEGER) fail(fname, path + " is not numeric");
  dims = dims_of(d.get());
  std::size_t n = 1;
  for (hsize_t x : dims) n *= static_cast<std::size_t>(x);
  std::vector<double> out(n);
  if (n && H5Dread(d.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    fail(fname, "cannot read dataset " + path);
  return out;
}

// One string, fixed or variable length, of file type `type` read by read(mem_type, buffer), i.e.
// H5Aread or H5Dread.
template <class Read>
std::optional<std::string> read_one_string(hid_t type, hid_t space, Read read) {
  if (H5Tget_class(type) != H5T_STRING || H5Sget_simple_extent_npoints(space) != 1)
    return std::nullopt;
  Handle mem(H5Tcopy(H5T_C_S1));
  H5Tset_cset(mem.get(), H5Tget_cset(type));
  if (H5Tis_variable_str(type) > 0) {
    H5Tset_size(mem.get(), H5T_VARIABLE);
    char* s = nullptr;
    if (read(mem.get(), static_cast<void*>(&s)) < 0 || !s) return std::nullopt;
    std::string out(s);
    H5free_memory(s);
    return out;
  }
  std::size_t size = H5Tget_size(type);
  std::string buf(size + 1, '\0');
  H5Tset_size(mem.get(), size + 1);
  H5Tset_strpad(mem.get(), H5T_STR_NULLTERM);
  if (read(mem.get(), static_cast<void*>(buf.data())) < 0) return std::nullopt;
  buf.resize(std::char_traits<char>::length(buf.c_str()));
  return buf;
}

std::optional<std::string> read_string_attr(hid_t obj, const char* name) {
  if (H5Aexists(obj, name) <= 0) return std::nullopt;
  Handle a(H5Aopen(obj, name, H5P_DEFAULT));
  if (!a.ok()) return std::nullopt;
  Handle type(H5Aget_type(a.get())), space(H5Aget_space(a.get()));
  return read_one_string(type.get(), space.get(),
                         [&](hid_t mem, void* buf) { return H5Aread(a.get(), mem, buf); });
}

std::optional<std::string> read_string_dataset(hid_t file, const std::string& path) {
  if (!exists(file, path)) return std::nullopt;
  Handle d(H5Dopen2(file, path.c_str(), H5P_DEFAULT));
  if (!d.ok()) return std::nullopt;
  Handle type(H5Dget_type(d.get())), space(H5Dget_space(d.get()));
  return read_one_string(type.get(), space.get(), [&](hid_t mem, void* buf) {
    return H5Dread(d.get(), mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
  });
}

std::optional<double> read_number_attr(hid_t obj, const char* name) {
  if (H5Aexists(obj, name) <= 0) return std::nullopt;
  Handle a(H5Aopen(obj, name, H5P_DEFAULT));
  if (!a.ok()) return std::nullopt;
  Handle type(H5Aget_type(a.get()));
  H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_FLOAT && cls != H5T_INTEGER) return std::nullopt;
  Handle space(H5Aget_space(a.get()));
  if (H5Sget_simple_extent_npoints(space.get()) != 1) return std::nullopt;
  double v = 0;
  if (H5Aread(a.get(), H5T_NATIVE_DOUBLE, &v) < 0) return std::nullopt;
  return v;
}

// Names of the links directly inside a group (empty if the group does not exist).
std::vector<std::string> children(hid_t file, const std::string& group) {
  std::vector<std::string> out;
  if (!exists(file, group)) return out;
  Handle g(H5Gopen2(file, group.c_str(), H5P_DEFAULT));
  if (!g.ok()) return out;
  H5G_info_t info;
  if (H5Gget_info(g.get(), &info) < 0) return out;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    ssize_t len = H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0,
                                     H5P_DEFAULT);
    if (len <= 0) continue;
    std::string name(static_cast<std::size_t>(len) + 1, '\0');
    H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(),
                       H5P_DEFAULT);
    name.resize(static_cast<std::size_t>(len));
    out.push_back(name);
  }
  return out;
}

std::string trim(std::string s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && ws(s.back())) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && ws(s[i])) ++i;
  return s.substr(i);
}

}  // namespace

std::string toml_lookup_string(const std::string& toml, const std::string& table,
                               const std::string& key) {
  std::stringstream ss(toml);
  std::string line, current;
  while (std::getline(ss, line)) {
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    if (t[0] == '[') {
      std::size_t open = t.rfind("[[", 0) == 0 ? 2 : 1;  // [table] or [[array]]
      std::size_t close = t.find(']', open);
      current = trim(t.substr(open, close == std::string::npos ? std::string::npos
                                                               : close - open));
      continue;
    }
    std::size_t eq = t.find('=');
    if (eq == std::string::npos) continue;
    std::string k = trim(t.substr(0, eq));
    std::string v = trim(t.substr(eq + 1));
    bool match = (current == table && k == key) || (current.empty() && k == table + "." + key);
    if (!match || v.empty()) continue;
    char q = v[0];
    if (q == '"' || q == '\'') {
      std::size_t end = v.find(q, 1);
      return v.substr(1, end == std::string::npos ? std::string::npos : end - 1);
    }
    std::size_t hash = v.find('#');
    return trim(v.substr(0, hash));
  }
  return {};
}

Run::Run(const std::string& path) : path_(path) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors are reported by exceptions
  if (!std::filesystem::exists(path)) fail(path, "no such file");
  if (H5Fis_hdf5(path.c_str()) <= 0) fail(path, "not an HDF5 file");
  file_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file_ < 0) fail(path, "cannot open HDF5 file");
  hid_t f = static_cast<hid_t>(file_);

  // Metadata: attributes on /parameters, else the scenario TOML, else defaults.
  std::string scenario;
  if (exists(f, "/parameters")) {
    Handle g(H5Oopen(f, "/parameters", H5P_DEFAULT));
    if (g.ok()) {
      if (auto s = read_string_attr(g.get(), "name")) name_ = *s;
      if (auto s = read_string_attr(g.get(), "space")) space_ = *s;
      if (auto v = read_number_attr(g.get(), "d")) d_ = static_cast<int>(*v);
      if (auto s = read_string_attr(g.get(), "scenario")) scenario = *s;
    }
    if (scenario.empty())
      if (auto s = read_string_dataset(f, "/parameters/scenario")) scenario = *s;
  }
  if (name_.empty()) name_ = toml_lookup_string(scenario, "run", "name");
  if (space_.empty()) space_ = toml_lookup_string(scenario, "tokens", "space");
  if (name_.empty()) name_ = std::filesystem::path(path).stem().string();

  // Frame times: from the view group, else from the full positions.
  for (const char* grp : {"/particles/tokens_view/position", "/particles/tokens/position"}) {
    std::string g(grp);
    if (!exists(f, g + "/value")) continue;
    Handle dset(H5Dopen2(f, (g + "/value").c_str(), H5P_DEFAULT));
    if (!dset.ok()) fail(path, "cannot open " + g + "/value");
    auto dims = dims_of(dset.get());
    if (dims.size() != 3) fail(path, g + "/value must be [T][N][D]");
    T_ = dims[0];
    N_ = dims[1];
    if (g == "/particles/tokens/position" && d_ == 0) d_ = static_cast<int>(dims[2]);
    if (exists(f, g + "/time")) {
      std::vector<hsize_t> td;
      time_ = read_doubles(f, path, g + "/time", td);
      if (time_.size() != T_) fail(path, g + "/time has " + std::to_string(time_.size()) +
                                             " entries for " + std::to_string(T_) + " frames");
    }
    if (exists(f, g + "/step")) {
      std::vector<hsize_t> sd;
      auto s = read_doubles(f, path, g + "/step", sd);
      if (s.size() == T_)
        for (double x : s) step_.push_back(static_cast<std::int64_t>(x));
    }
    break;
  }
  if (d_ == 0 && exists(f, "/particles/tokens/position/value")) {
    Handle dset(H5Dopen2(f, "/particles/tokens/position/value", H5P_DEFAULT));
    auto dims = dims_of(dset.get());
    if (dims.size() == 3) d_ = static_cast<int>(dims[2]);
  }
  if (time_.empty())
    for (std::size_t i = 0; i < T_; ++i) time_.push_back(static_cast<double>(i));
  if (step_.empty())
    for (std::size_t i = 0; i < T_; ++i) step_.push_back(static_cast<std::int64_t>(i));

  // Observables: scalar series only ([T] or [T][1]).
  for (const auto& name : children(f, "/observables")) {
    std::string g = "/observables/" + name;
    if (!exists(f, g + "/value")) continue;
    Observable o;
    std::vector<hsize_t> vd, td;
    o.value = read_doubles(f, path, g + "/value", vd);
    if (vd.empty() || o.value.size() != vd[0]) continue;  // not a scalar series
    if (exists(f, g + "/time")) o.time = read_doubles(f, path, g + "/time", td);
    if (o.time.size() != o.value.size()) {
      o.time.clear();
      for (std::size_t i = 0; i < o.value.size(); ++i) o.time.push_back(static_cast<double>(i));
    }
    observables_[name] = std::move(o);
  }

  // Fits from `attnflow analyze`.
  for (const auto& name : children(f, "/analysis/fits")) {
    Handle o(H5Oopen(f, ("/analysis/fits/" + name).c_str(), H5P_DEFAULT));
    if (!o.ok()) continue;
    auto rate = read_number_attr(o.get(), "rate");
    if (!rate) continue;
    Fit fit;
    fit.rate = *rate;
    fit.t0 = read_number_attr(o.get(), "t0").value_or(time_.empty() ? 0.0 : time_.front());
    fit.t1 = read_number_attr(o.get(), "t1").value_or(time_.empty() ? 1.0 : time_.back());
    if (auto a = read_number_attr(o.get(), "amplitude"))
      fit.amplitude = *a;
    else
      fit.amplitude = std::exp(read_number_attr(o.get(), "intercept").value_or(0.0));
    fits_[name] = fit;
  }
}

Run::~Run() {
  if (file_ >= 0) H5Fclose(static_cast<hid_t>(file_));
}

std::vector<double> Run::read_tokens_dataset(const std::string& dset, std::size_t& cols) const {
  std::vector<hsize_t> dims;
  auto v = read_doubles(static_cast<hid_t>(file_), path_, dset, dims);
  if (dims.size() == 2)
    cols = 1;
  else if (dims.size() == 3)
    cols = dims[2];
  else
    fail(path_, dset + " must be [T][N] or [T][N][c]");
  if (dims[0] != T_ || dims[1] != N_)
    fail(path_, dset + " has shape [" + std::to_string(dims[0]) + "][" +
                    std::to_string(dims[1]) + "], expected [" + std::to_string(T_) + "][" +
                    std::to_string(N_) + "]");
  return v;
}

const std::vector<double>& Run::view_positions() {
  if (view_) return *view_;
  if (T_ == 0) fail(path_, "no trajectory (/particles/tokens_view/position/value)");
  hid_t f = static_cast<hid_t>(file_);
  std::size_t cols = 0;
  std::vector<double> raw;
  if (exists(f, "/particles/tokens_view/position/value"))
    raw = read_tokens_dataset("/particles/tokens_view/position/value", cols);
  else
    raw = read_tokens_dataset("/particles/tokens/position/value", cols);
  std::vector<double> out(T_ * N_ * 3, 0.0);
  std::size_t c = std::min<std::size_t>(cols, 3);
  for (std::size_t p = 0; p < T_ * N_; ++p)
    for (std::size_t k = 0; k < c; ++k) out[p * 3 + k] = raw[p * cols + k];
  for (double x : out)
    if (!std::isfinite(x)) fail(path_, "trajectory contains NaN or Inf");
  view_ = std::move(out);
  return *view_;
}

std::vector<double> Run::token_scalar(const std::string& quantity) {
  hid_t f = static_cast<hid_t>(file_);
  std::vector<double> out(T_ * N_, 0.0);
  auto norm_rows = [&](const std::vector<double>& raw, std::size_t cols) {
    for (std::size_t p = 0; p < T_ * N_; ++p) {
      double s = 0;
      for (std::size_t k = 0; k < cols; ++k) s += raw[p * cols + k] * raw[p * cols + k];
      out[p] = std::sqrt(s);
    }
  };
  if (quantity == "index") {
    for (std::size_t t = 0; t < T_; ++t)
      for (std::size_t i = 0; i < N_; ++i) out[t * N_ + i] = static_cast<double>(i);
    return out;
  }
  if (quantity == "speed") {
    std::size_t cols = 0;
    if (exists(f, "/particles/tokens/momentum/value")) {
      auto p = read_tokens_dataset("/particles/tokens/momentum/value", cols);
      norm_rows(p, cols);  // (not in one expression: cols is set by the read)
      return out;
    }
    std::vector<double> x;
    if (exists(f, "/particles/tokens/position/value")) {
      x = read_tokens_dataset("/particles/tokens/position/value", cols);
    } else {
      x = view_positions();
      cols = 3;
    }
    if (T_ < 2) return out;
    for (std::size_t t = 0; t < T_; ++t) {
      std::size_t a = t == 0 ? 0 : t - 1, b = t == 0 ? 1 : t;
      double dt = time_[b] - time_[a];
      if (dt == 0) dt = 1;
      for (std::size_t i = 0; i < N_; ++i) {
        double s = 0;
        for (std::size_t k = 0; k < cols; ++k) {
          double dx = x[(b * N_ + i) * cols + k] - x[(a * N_ + i) * cols + k];
          s += dx * dx;
        }
        out[t * N_ + i] = std::sqrt(s) / std::abs(dt);
      }
    }
    return out;
  }
  std::string dset = "/particles/tokens/" + quantity + "/value";
  if (!exists(f, dset)) fail(path_, "no per-token dataset " + dset + " to colour by");
  std::size_t cols = 0;
  auto raw = read_tokens_dataset(dset, cols);
  if (cols == 1 || quantity == "phase") {
    for (std::size_t p = 0; p < T_ * N_; ++p) out[p] = raw[p * cols];
  } else {
    norm_rows(raw, cols);
  }
  return out;
}

bool Run::has_token_scalar(const std::string& quantity) const {
  if (quantity == "index" || quantity == "speed") return true;
  hid_t f = static_cast<hid_t>(file_);
  std::string dset = "/particles/tokens/" + quantity + "/value";
  if (quantity.empty() || quantity.find('/') != std::string::npos || !exists(f, dset))
    return false;
  Handle d(H5Dopen2(f, dset.c_str(), H5P_DEFAULT));
  if (!d.ok()) return false;
  auto dims = dims_of(d.get());
  return (dims.size() == 2 || dims.size() == 3) && dims[0] == T_ && dims[1] == N_;
}

std::vector<std::string> Run::matrix_names() const {
  return children(static_cast<hid_t>(file_), "/analysis/matrices");
}

Matrix Run::matrix(const std::string& name) const {
  hid_t f = static_cast<hid_t>(file_);
  std::string p = "/analysis/matrices/" + name;
  if (!exists(f, p)) {
    std::string avail;
    for (const auto& n : matrix_names()) avail += (avail.empty() ? "" : ", ") + n;
    fail(path_, "no matrix " + p + (avail.empty() ? " (none stored)" : " (stored: " + avail + ")"));
  }
  std::vector<hsize_t> dims;
  Matrix m;
  m.data = read_doubles(f, path_, p, dims);
  if (dims.size() == 2) {
    m.rows = dims[0];
    m.cols = dims[1];
  } else if (dims.size() == 3) {
    m.heads = dims[0];
    m.rows = dims[1];
    m.cols = dims[2];
  } else {
    fail(path_, p + " must be [N][N] or [H][N][N]");
  }
  if (m.rows == 0 || m.cols == 0 || m.heads == 0) fail(path_, p + " is empty");
  return m;
}

}  // namespace attnflow::viz
