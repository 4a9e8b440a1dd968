// Reading an attnflow run (H5MD 1.1 layout, SPEC section 4) with the HDF5 C API.
// Every failure (missing dataset, wrong shape, not an HDF5 file) throws H5Error with a
// message naming the file and the object; render_main maps it to exit code 4.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace attnflow::viz {

struct H5Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One time series /observables/<name>: value[T] against time[T].
struct Observable {
  std::vector<double> time;
  std::vector<double> value;
};

// An exponential fit stored by `attnflow analyze` under /analysis/fits/<observable>:
// value(t) ~ amplitude * exp(-rate * t) on [t0, t1]; amplitude = exp(intercept)
// (intercept of the log-linear fit), or the attribute `amplitude` when present.
struct Fit {
  double rate = 0, t0 = 0, t1 = 0, amplitude = 1;
};

// A matrix /analysis/matrices/<name>: [N][N] (heads = 1) or [H][N][N].
struct Matrix {
  std::size_t heads = 1, rows = 0, cols = 0;
  std::vector<double> data;  // heads * rows * cols, row-major
  double at(std::size_t h, std::size_t i, std::size_t j) const {
    return data[(h * rows + i) * cols + j];
  }
};

// The metadata and (lazily) the datasets of one run file.
class Run {
 public:
  // Opens the file and reads metadata, times and observables. Throws H5Error.
  explicit Run(const std::string& path);
  ~Run();
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  const std::string& path() const { return path_; }
  const std::string& name() const { return name_; }    // [run] name, else file stem
  const std::string& space() const { return space_; }  // "sphere" | "euclidean" | ""
  int dim() const { return d_; }                      // d of the tokens (0 if unknown)
  std::size_t frames() const { return T_; }
  std::size_t tokens() const { return N_; }
  const std::vector<double>& times() const { return time_; }
  const std::vector<std::int64_t>& steps() const { return step_; }
  bool has_trajectory() const { return T_ > 0; }

  // tokens_view positions, [T][N][3] row-major (throws if the run has no trajectory).
  const std::vector<double>& view_positions();

  // Per-token scalar of frame f for colouring:
  //   "index"  token number; "speed" |momentum| if stored, else |dx/dt| by finite
  //   differences of the full-dimensional positions; "phase" /particles/tokens/phase
  //   (first component); any other name: /particles/tokens/<name>/value, [T][N] or
  //   [T][N][c] (then the Euclidean norm over c). Result: [T][N] row-major.
  std::vector<double> token_scalar(const std::string& quantity);
  // Whether token_scalar(quantity) can succeed (the dataset exists with the right shape).
  bool has_token_scalar(const std::string& quantity) const;

  const std::map<std::string, Observable>& observables() const { return observables_; }
  const std::map<std::string, Fit>& fits() const { return fits_; }
  std::vector<std::string> matrix_names() const;
  Matrix matrix(const std::string& name) const;  // throws H5Error if absent / malformed

 private:
  std::vector<double> read_tokens_dataset(const std::string& dset, std::size_t& cols) const;

  std::string path_;
  long long file_ = -1;  // hid_t
  std::string name_, space_;
  int d_ = 0;
  std::size_t T_ = 0, N_ = 0;
  std::vector<double> time_;
  std::vector<std::int64_t> step_;
  std::optional<std::vector<double>> view_;
  std::map<std::string, Observable> observables_;
  std::map<std::string, Fit> fits_;
};

// Extracts `key` from table `table` of a TOML text (enough for the flat strings the
// core writes: name = "..." under [run], space = "..." under [tokens]). Empty if absent.
std::string toml_lookup_string(const std::string& toml, const std::string& table,
                               const std::string& key);

}  // namespace attnflow::viz
