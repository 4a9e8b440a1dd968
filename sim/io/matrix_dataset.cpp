// The HDF5 reader behind matrix parameters { file = "w.h5", dataset = "/l0/Wq" }
// (sim/config/matrix_param.hpp): sim/config does not include hdf5.h, so this file registers the
// reader from a static initialiser of libattnflow.
//
// Accepted: a 2-D dataset of a floating-point type (float64, float32, either byte order; HDF5
// converts to native double). Refused with a message: a file that is not HDF5, a missing dataset
// or a path that names a group, integer/string/compound types, ranks other than 2, empty or
// non-finite data.
#include <hdf5.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "sim/config/matrix_param.hpp"

namespace attnflow {
namespace {

struct Id {
  hid_t id = -1;
  herr_t (*close)(hid_t) = nullptr;
  ~Id() {
    if (id >= 0 && close) close(id);
  }
};

std::string type_description(hid_t t) {
  switch (H5Tget_class(t)) {
    case H5T_INTEGER: return "integers";
    case H5T_STRING: return "strings";
    case H5T_COMPOUND: return "a compound (structured) type";
    case H5T_ENUM: return "an enumeration";
    case H5T_ARRAY: return "an array type";
    default: return "a non-floating-point type";
  }
}

RowMat read_h5_matrix(const std::string& path, const std::string& dataset) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  if (H5Fis_hdf5(path.c_str()) <= 0) throw ConfigError("not an HDF5 file (or truncated)");
  Id f{H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose};
  if (f.id < 0) throw ConfigError("cannot open the HDF5 file (damaged, or locked by a writer)");
  // Every component of the path must exist (H5Lexists fails on a missing intermediate group).
  std::string prefix;
  std::size_t pos = dataset.front() == '/' ? 1 : 0;
  while (pos <= dataset.size()) {
    const std::size_t next = dataset.find('/', pos);
    const std::string part = dataset.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    if (!part.empty()) {
      prefix += "/" + part;
      if (H5Lexists(f.id, prefix.c_str(), H5P_DEFAULT) <= 0)
        throw ConfigError("no dataset " + dataset + " in the file (" + prefix + " does not exist)");
    }
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  H5O_info_t info;
  if (H5Oget_info_by_name2(f.id, dataset.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0 ||
      info.type != H5O_TYPE_DATASET)
    throw ConfigError(dataset + " is not a dataset (a group?)");
  Id d{H5Dopen2(f.id, dataset.c_str(), H5P_DEFAULT), H5Dclose};
  if (d.id < 0) throw ConfigError("cannot open dataset " + dataset);
  Id t{H5Dget_type(d.id), H5Tclose};
  if (H5Tget_class(t.id) != H5T_FLOAT)
    throw ConfigError("dataset " + dataset + " holds " + type_description(t.id) +
                      "; a matrix needs floating-point numbers (float64 or float32)");
  Id sp{H5Dget_space(d.id), H5Sclose};
  const int rank = H5Sget_simple_extent_ndims(sp.id);
  hsize_t dims[8] = {0};
  if (rank < 0 || rank > 8) throw ConfigError("cannot read the shape of dataset " + dataset);
  H5Sget_simple_extent_dims(sp.id, dims, nullptr);
  if (rank != 2) {
    std::string shape = "(";
    for (int i = 0; i < rank; ++i) shape += (i ? ", " : "") + std::to_string(dims[i]);
    shape += rank == 1 ? ",)" : ")";
    throw ConfigError("dataset " + dataset + " has shape " + shape + "; a matrix needs 2 dimensions");
  }
  if (dims[0] == 0 || dims[1] == 0) throw ConfigError("dataset " + dataset + " is empty");
  RowMat m(static_cast<Index>(dims[0]), static_cast<Index>(dims[1]));
  if (H5Dread(d.id, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, m.data()) < 0)
    throw ConfigError("cannot read dataset " + dataset + " (damaged file?)");
  for (Index i = 0; i < m.rows(); ++i)
    for (Index j = 0; j < m.cols(); ++j)
      if (!std::isfinite(m(i, j)))
        throw ConfigError("dataset " + dataset + ": entry [" + std::to_string(i) + ", " +
                          std::to_string(j) + "] is " + (std::isnan(m(i, j)) ? "NaN" : "infinite") +
                          "; a matrix parameter must be finite");
  return m;
}

const bool registered = (set_dataset_reader(&read_h5_matrix), true);

}  // namespace
}  // namespace attnflow
