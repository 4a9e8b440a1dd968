#pragma once
// Reading run files (HDF5 C API) for the analysis commands: an owning file handle, the frame
// count of a [T]... series and frame k of a [T][N][d] dataset. Errors: ConfigError for a
// missing or misshapen dataset, IoError for a failed read.
#include <hdf5.h>

#include <string>

#include "sim/core/state.hpp"

namespace attnflow {

struct H5File {
  hid_t id = -1;
  ~H5File() { if (id >= 0) H5Fclose(id); }
};

hsize_t frames_of(hid_t file, const std::string& path);
RowMat read_frame(hid_t file, const std::string& path, hsize_t k);

}  // namespace attnflow
