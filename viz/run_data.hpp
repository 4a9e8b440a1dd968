// A run as the renderer sees it: a thin adapter over the one reader of run files
// (sim/io/h5md_reader.hpp) that adds the renderer's conventions: a file without a trajectory
// can still be plotted, the view is [T][N][3] (the first three coordinates when a file has no
// tokens_view), per-token colours ("index", "speed", "phase", any per-token series), the name
// falls back to the file stem, non-scalar observables are left out of plots, and a mean-field
// density run (/fields/density) has no trajectory.
// Every failure to read is an attnflow::Error naming the file and the reason; render_main maps
// it to exit code 4.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/io/h5md_reader.hpp"

namespace attnflow::viz {

// One time series /observables/<name>: value[T] against time[T].
using Observable = ObservableSeries;
// A matrix /analysis/matrices/<name>: [N][N] (heads = 1) or [H][N][N].
using Matrix = StoredMatrix;

// An exponential fit stored by `attnflow analyze` under /analysis/fits/<observable>:
// value(t) ~ amplitude * exp(-rate * t) on [t0, t1]; amplitude = exp(intercept)
// (intercept of the log-linear fit), or the attribute `amplitude` when present.
struct Fit {
  double rate = 0, t0 = 0, t1 = 0, amplitude = 1;
};

// The metadata and (lazily) the datasets of one run file.
class Run {
 public:
  // Opens the file and reads metadata, times and observables. Throws attnflow::Error.
  explicit Run(const std::string& path);
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
  std::vector<std::string> matrix_names() const { return reader_->matrix_names(); }
  Matrix matrix(const std::string& name) const { return reader_->matrix(name); }

  // /fields/density of a mean-field density run (H5mdReader::density_field).
  bool has_density() const { return density_; }
  DensityField density() const { return reader_->density_field(); }
  // Token angles in [0, 2 pi), [T][N] row-major: the phases mod 2 pi of an oscillator run,
  // else atan2(y, x) of d = 2 positions (a run on the circle). has_angles(): either exists.
  bool has_angles() const;
  std::vector<double> angles() const;

 private:
  std::unique_ptr<H5mdReader> reader_;
  std::string path_;
  std::string name_, space_;
  int d_ = 0;
  std::size_t T_ = 0, N_ = 0;
  bool view_ds_ = false;  // the file has tokens_view (else the view is cut from the positions)
  bool density_ = false;  // the file has /fields/density (and then no trajectory)
  std::vector<double> time_;
  std::vector<std::int64_t> step_;
  std::optional<std::vector<double>> view_;
  std::map<std::string, Observable> observables_;
  std::map<std::string, Fit> fits_;
};

}  // namespace attnflow::viz
