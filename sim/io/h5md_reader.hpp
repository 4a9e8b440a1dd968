#pragma once
// The one reader of attnflow run files (layout: sim/io/h5md_layout.hpp). `run --resume`,
// `analyze` (also --ssa) and `render` read runs through it; it also writes what `analyze` adds
// to an existing run (/analysis/fits, /analysis/matrices).
//
//   H5mdReader r("out/run.h5");
//   r.require_run();                    // an attnflow trajectory, or ConfigError
//   RowMat x = r.positions(r.frames() - 1);
//   ObservableSeries e = r.observable("energy");
//
// Opening checks the file and names it and the reason in every error:
//   IoError (exit 4)     missing or unreadable, a directory, empty, not HDF5, truncated,
//                        damaged (a group, dataset or attribute that exists but cannot be read),
//                        or locked by a run that is still writing it (read access: HDF5's own
//                        file locking; HDF5_USE_FILE_LOCKING=FALSE reads the complete frames);
//   ConfigError (exit 2) not an attnflow run (require_run), no frames (require_frames), a missing
//                        observable or matrix, a dataset of the wrong shape; with Update access,
//                        a file another process holds (a run writing it: sim/io/output_claim.hpp).
// What is absent is empty (metadata), false (has_...) or a ConfigError when asked for; files
// written by other programs (h5py) with part of the layout read as far as they go.
//
// Frames: frames() is the number of complete frames, those every per-frame series holds (a
// run killed mid-frame leaves a longer series or two); every per-frame read is cut to it.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/state.hpp"

namespace attnflow {

// /parameters. Absent strings are empty, absent numbers -1 (complete: -1 unknown, 0, 1).
struct RunMetadata {
  std::string name, space, model, integrator, attnflow_version;
  std::string scenario;         // the resolved TOML (/parameters/scenario)
  std::string scenario_source;  // the scenario file as written
  std::string scenario_path;    // where it was read from (relative paths in it resolve there)
  std::string scenario_hash;    // h5md::scenario_hash of `scenario` when the run was created
  std::int64_t n = -1, d = -1, seed = -1;
  std::int64_t steps = -1, rhs_evals = -1, oracle_calls = -1, complete = -1;
  double t_final = -1, wall_seconds = -1;
};

struct ObservableSeries {
  std::vector<double> time, value;
};

// /particles/tokens/<name>/value: [T][N] (components = 1) or [T][N][c], row-major.
struct TokenSeries {
  std::size_t frames = 0, tokens = 0, components = 1;
  std::vector<double> data;
};

// An exponential fit (value ~ exp(intercept - rate t) on [t0, t1]) and a power law
// (value ~ exp(power_intercept) t^-power_rate); NaN where not recorded.
struct StoredFit {
  double rate, intercept, t0, t1, power_rate, power_intercept, amplitude;
  StoredFit();
};

// /analysis/matrices/<name>: [N][N] (heads = 1) or [H][N][N].
struct StoredMatrix {
  std::size_t heads = 1, rows = 0, cols = 0;
  std::vector<double> data;  // heads * rows * cols, row-major
  double at(std::size_t h, std::size_t i, std::size_t j) const { return data[(h * rows + i) * cols + j]; }
};

// /fields/density of a mean-field density run on the circle: cell averages rho_i(t) on M cells
// of width h = 2 pi / M centred on grid[i] = (i + 1/2) h, unit mass (h sum_i rho_i = 1).
struct DensityField {
  std::size_t frames = 0, cells = 0;
  double cell_width = 0, beta = 0;  // beta NaN if not recorded
  std::string normalization;        // "softmax" | "mean" ("" if not recorded)
  std::vector<double> grid, time;   // [M], [T]
  std::vector<double> value;        // [T][M] row-major
  double at(std::size_t t, std::size_t i) const { return value[t * cells + i]; }
};

struct StoredCheckpoint {
  std::int64_t rhs_evals = 0, oracle_calls = 0, rejected = 0;
  std::vector<double> integrator;
};

class H5mdReader {
 public:
  // Read: read-only. Update: read-write under the run file's lock (FileLock), for resume and
  // for what analyze adds; refused while another process holds the file. Held: read-only
  // without HDF5's own file locking, for the ranks of a distributed resume (rank 0 of the run
  // holds the file's lock, which HDF5's would conflict with; sim/io/resume.hpp).
  enum class Access { Read, Update, Held };
  explicit H5mdReader(const std::string& path, Access access = Access::Read);
  ~H5mdReader();
  H5mdReader(const H5mdReader&) = delete;
  H5mdReader& operator=(const H5mdReader&) = delete;

  const std::string& path() const;

  // --- what the file is ---------------------------------------------------------------------
  // ConfigError unless /particles/tokens/position/value is a [T][N][d] dataset.
  void require_run() const;
  // ConfigError if the run holds no complete frame (`what` ends the message, e.g. ": nothing
  // to analyze").
  void require_frames(const std::string& what = "") const;
  bool has_positions() const;
  bool has_momentum() const;
  bool has_phase() const;
  bool has_view() const;
  bool has_checkpoint() const;
  bool has_integrator_state() const;
  // The shape of any dataset (ConfigError if it is not one).
  std::vector<std::size_t> shape(const std::string& dataset) const;
  bool exists(const std::string& path) const;

  const RunMetadata& metadata() const;

  // --- frames -------------------------------------------------------------------------------
  std::int64_t frames() const;
  Index tokens() const;  // N (0 without a trajectory)
  Index dim() const;     // d of the positions (else metadata d, else 0)
  // Frame times and steps (without a time / step series: the frame index).
  std::vector<double> times() const;
  std::vector<std::int64_t> steps() const;
  RowMat positions(std::int64_t k) const;  // N x d
  RowMat momenta(std::int64_t k) const;    // N x d
  RowMat view(std::int64_t k) const;       // N x 3
  Vec phases(std::int64_t k) const;        // N
  StoredCheckpoint checkpoint(std::int64_t k) const;
  // A whole per-token series: "position", "momentum", "phase", or any other element
  // /particles/tokens/<name> with value [T][N] or [T][N][c]; "view" for tokens_view/position.
  TokenSeries token_series(const std::string& name) const;
  bool has_token_series(const std::string& name) const;

  // --- observables and analysis results -------------------------------------------------------
  std::vector<std::string> observable_names() const;
  bool has_observable(const std::string& name) const;
  // Its own time series if it has one, else the frame times. ConfigError if absent or not a
  // scalar series ([T] or [T][1]).
  ObservableSeries observable(const std::string& name) const;
  std::map<std::string, StoredFit> fits() const;  // only groups with a rate
  std::vector<std::string> matrix_names() const;
  StoredMatrix matrix(const std::string& name) const;
  // /fields/density (cut to the complete frames). ConfigError if absent or if the shapes of
  // grid, value and time and the attribute cells disagree.
  bool has_density_field() const;
  DensityField density_field() const;

  // --- what analyze adds (Update access) ------------------------------------------------------
  // /analysis/fits/<observable>: the finite members of `fit` as attributes (replacing earlier).
  void write_fit(const std::string& observable, const StoredFit& fit);
  // /analysis/matrices/<name> = [H][N][N] (replacing an earlier one).
  void write_matrices(const std::string& name, const std::vector<RowMat>& heads);

 private:
  RowMat frame_matrix(const char* dataset, std::int64_t k) const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace attnflow
