#include "sim/io/resume.hpp"

#include <hdf5.h>

#include <algorithm>
#include <filesystem>

#include "sim/core/error.hpp"

namespace attnflow {

namespace {

struct File {
  hid_t id;
  ~File() { if (id >= 0) H5Fclose(id); }
};

hsize_t length(hid_t f, const char* name, std::vector<hsize_t>* dims_out = nullptr) {
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  if (d < 0) return 0;
  hid_t sp = H5Dget_space(d);
  std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(0, H5Sget_simple_extent_ndims(sp))));
  H5Sget_simple_extent_dims(sp, dims.data(), nullptr);
  H5Sclose(sp);
  H5Dclose(d);
  if (dims_out) *dims_out = dims;
  return dims.empty() ? 0 : dims[0];
}

// Reads frame `k` of a [T][...] series into out (resized to the frame's element count).
template <class T>
void read_frame(hid_t f, const std::string& path, const char* name, hsize_t k, hid_t memtype,
                std::vector<T>& out) {
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  if (d < 0) throw ConfigError(path + ": not an attnflow run file (no " + name + ")");
  hid_t sp = H5Dget_space(d);
  const int rank = H5Sget_simple_extent_ndims(sp);
  std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 1))), start(dims.size(), 0), count;
  H5Sget_simple_extent_dims(sp, dims.data(), nullptr);
  count = dims;
  start[0] = k;
  count[0] = 1;
  hsize_t n = 1;
  for (std::size_t i = 1; i < dims.size(); ++i) n *= dims[i];
  out.resize(n);
  H5Sselect_hyperslab(sp, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
  hid_t msp = H5Screate_simple(rank, count.data(), nullptr);
  const herr_t r = H5Dread(d, memtype, msp, sp, H5P_DEFAULT, out.data());
  H5Sclose(msp); H5Sclose(sp); H5Dclose(d);
  if (r < 0) throw IoError(path + ": cannot read " + name + " (truncated or corrupt file)");
}

std::string read_string(hid_t f, const std::string& path, const char* name) {
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  if (d < 0) throw ConfigError(path + ": not an attnflow run file (no " + name + ")");
  hid_t t = H5Dget_type(d);
  std::string s;
  if (H5Tget_class(t) == H5T_STRING && !H5Tis_variable_str(t)) {
    s.resize(H5Tget_size(t));
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, s.size());
    H5Tset_strpad(mt, H5T_STR_NULLPAD);
    const herr_t r = H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, s.data());
    H5Tclose(mt);
    if (r < 0) s.clear();
    s.erase(std::find(s.begin(), s.end(), '\0'), s.end());
  }
  H5Tclose(t);
  H5Dclose(d);
  if (s.empty()) throw ConfigError(path + ": cannot read " + name + " as a string");
  return s;
}

}  // namespace

ResumePoint read_resume_point(const std::string& path) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw ConfigError(path + ": no such run file");
  if (H5Fis_hdf5(path.c_str()) <= 0) throw IoError(path + ": not an HDF5 file (or truncated)");
  File f{H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)};
  if (f.id < 0) throw IoError(path + ": cannot open (corrupt, truncated or locked by a running process)");
  ResumePoint rp;
  rp.scenario_text = read_string(f.id, path, "/parameters/scenario");
  hid_t par = H5Gopen2(f.id, "/parameters", H5P_DEFAULT);
  if (par >= 0) {
    if (H5Aexists(par, "scenario_path") > 0) {
      hid_t a = H5Aopen(par, "scenario_path", H5P_DEFAULT);
      hid_t t = H5Aget_type(a);
      std::string s(H5Tget_size(t), '\0');
      H5Aread(a, t, s.data());
      s.erase(std::find(s.begin(), s.end(), '\0'), s.end());
      rp.scenario_path = s;
      H5Tclose(t);
      H5Aclose(a);
    }
    if (H5Aexists(par, "complete") > 0) {
      long long c = 0;
      hid_t a = H5Aopen(par, "complete", H5P_DEFAULT);
      H5Aread(a, H5T_NATIVE_LLONG, &c);
      H5Aclose(a);
      rp.complete = c == 1;
    }
    H5Gclose(par);
  }
  if (rp.scenario_path.empty()) rp.scenario_path = path;
  // The last complete frame: the shortest of the series written per frame.
  std::vector<const char*> series = {"/particles/tokens/position/step", "/particles/tokens/position/time",
                                     "/particles/tokens/position/value",
                                     "/particles/tokens_view/position/value", "/checkpoint/counters/value"};
  for (const char* opt : {"/particles/tokens/momentum/value", "/checkpoint/integrator/value",
                          "/particles/tokens/phase/value"})
  {
    const std::string parent = std::string(opt).substr(0, std::string(opt).rfind('/'));
    if (H5Lexists(f.id, parent.c_str(), H5P_DEFAULT) > 0 && H5Lexists(f.id, opt, H5P_DEFAULT) > 0)
      series.push_back(opt);
  }
  hsize_t t = ~hsize_t(0);
  for (const char* s : series) {
    if (H5Lexists(f.id, "/checkpoint", H5P_DEFAULT) <= 0 && std::string(s).rfind("/checkpoint", 0) == 0)
      throw ConfigError(path + ": no checkpoint data (written by an older attnflow?)");
    t = std::min(t, length(f.id, s));
  }
  if (H5Lexists(f.id, "/observables", H5P_DEFAULT) > 0) {
    hid_t og = H5Gopen2(f.id, "/observables", H5P_DEFAULT);
    H5G_info_t info;
    H5Gget_info(og, &info);
    for (hsize_t i = 0; i < info.nlinks; ++i) {
      char name[256];
      H5Lget_name_by_idx(og, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT);
      t = std::min(t, length(f.id, ("/observables/" + std::string(name) + "/value").c_str()));
    }
    H5Gclose(og);
  }
  if (t == 0 || t == ~hsize_t(0)) throw ConfigError(path + ": the run file holds no complete frame to resume from");
  rp.frames = static_cast<std::int64_t>(t);
  const hsize_t k = t - 1;
  std::vector<long long> step, counters;
  std::vector<double> time, x;
  read_frame(f.id, path, "/particles/tokens/position/step", k, H5T_NATIVE_LLONG, step);
  read_frame(f.id, path, "/particles/tokens/position/time", k, H5T_NATIVE_DOUBLE, time);
  read_frame(f.id, path, "/particles/tokens/position/value", k, H5T_NATIVE_DOUBLE, x);
  read_frame(f.id, path, "/checkpoint/counters/value", k, H5T_NATIVE_LLONG, counters);
  rp.step = step.at(0);
  rp.t = time.at(0);
  rp.x = Eigen::Map<Vec>(x.data(), static_cast<Index>(x.size()));
  if (counters.size() != 3) throw ConfigError(path + ": malformed /checkpoint/counters");
  rp.checkpoint.rhs_evals = counters[0];
  rp.checkpoint.oracle_calls = counters[1];
  rp.checkpoint.rejected = counters[2];
  if (H5Lexists(f.id, "/particles/tokens/momentum", H5P_DEFAULT) > 0) {
    std::vector<double> y;
    read_frame(f.id, path, "/particles/tokens/momentum/value", k, H5T_NATIVE_DOUBLE, y);
    rp.y = Eigen::Map<Vec>(y.data(), static_cast<Index>(y.size()));
  }
  if (H5Lexists(f.id, "/checkpoint/integrator", H5P_DEFAULT) > 0)
    read_frame(f.id, path, "/checkpoint/integrator/value", k, H5T_NATIVE_DOUBLE, rp.checkpoint.integrator);
  return rp;
}

}  // namespace attnflow
