#include "analysis/h5_read.hpp"

#include "sim/core/error.hpp"

namespace attnflow {

// Frame k of a [T][N][d] dataset.
RowMat read_frame(hid_t file, const std::string& path, hsize_t k) {
  hid_t d = H5Dopen2(file, path.c_str(), H5P_DEFAULT);
  if (d < 0) throw ConfigError("no dataset " + path);
  hid_t sp = H5Dget_space(d);
  hsize_t dims[3] = {0, 0, 0};
  if (H5Sget_simple_extent_ndims(sp) != 3) throw ConfigError(path + " is not [T][N][d]");
  H5Sget_simple_extent_dims(sp, dims, nullptr);
  if (k >= dims[0]) throw ConfigError(path + ": frame out of range");
  hsize_t start[3] = {k, 0, 0}, count[3] = {1, dims[1], dims[2]};
  H5Sselect_hyperslab(sp, H5S_SELECT_SET, start, nullptr, count, nullptr);
  hid_t mem = H5Screate_simple(3, count, nullptr);
  RowMat x(static_cast<Index>(dims[1]), static_cast<Index>(dims[2]));
  const herr_t st = H5Dread(d, H5T_NATIVE_DOUBLE, mem, sp, H5P_DEFAULT, x.data());
  H5Sclose(mem);
  H5Sclose(sp);
  H5Dclose(d);
  if (st < 0) throw IoError("cannot read " + path);
  return x;
}

hsize_t frames_of(hid_t file, const std::string& path) {
  hid_t d = H5Dopen2(file, path.c_str(), H5P_DEFAULT);
  if (d < 0) throw ConfigError("no dataset " + path);
  hid_t sp = H5Dget_space(d);
  hsize_t dims[3] = {0, 0, 0};
  H5Sget_simple_extent_dims(sp, dims, nullptr);
  H5Sclose(sp);
  H5Dclose(d);
  return dims[0];
}

}  // namespace attnflow
