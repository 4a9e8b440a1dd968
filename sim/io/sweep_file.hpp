#pragma once
// The sweep file: one HDF5 file for a whole ensemble or parameter sweep (sim/run/ensemble.hpp).
//
//   /parameters                 scenario (resolved TOML), scenario_source; attributes kind =
//                               "sweep", attnflow_version, scenario_path, scenario_hash, seed
//   /sweep/keys                 [A] the swept scenario keys (strings); attribute log [A]
//   /sweep/axis<k>              [n_k] the values of axis k
//   /sweep/grid                 [G][A] the values of every grid point (first axis slowest)
//   /sweep/done                 [G] int8: 1 once the point's results are written (resume)
//   /ensemble/seeds             [S] uint64: run.seed of every system (model seed: attribute
//                               shared_matrices says whether it is the scenario's or the same)
//   /ensemble                   attributes size, delta, trajectories, shared_matrices, quantiles
//   /statistics/time            [G][F] frame times of every point
//   /statistics/<name>/value    [G][F][S] per system (chunked by point, compressed)
//   /statistics/<name>/mean     [G][F]     mean over the systems
//   /statistics/<name>/stderr   [G][F]     standard error of the mean (sd / sqrt S)
//   /statistics/<name>/quantiles [G][F][Q] at /ensemble quantiles (type 7)
//   /trajectories/position      [G][K][F][N][d] the first K systems of every point
//   /summary                    attributes steps, rhs_evals, wall_seconds, complete
//
// A point is written and flushed as a whole, then marked done: a killed sweep leaves a readable
// file whose done points are complete, and `attnflow run --resume` runs only the others
// (bit-identical to an uninterrupted sweep: every point depends only on its values and seeds).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/io/output_claim.hpp"
#include "sim/run/ensemble.hpp"

namespace attnflow {

class SweepWriter : public EnsembleSink {
 public:
  enum class Mode { Create, Append };
  // Create: the file is claimed as a run file is (sim/io/output_claim.hpp): written as
  // PATH.part and moved into place, an existing PATH kept as #PATH.N# (or replaced with
  // Overwrite), once the first grid point is complete. Append: PATH is locked while written.
  SweepWriter(const std::string& path, const Scenario& sc, Mode mode,
              ExistingOutput existing = ExistingOutput::Backup);
  ~SweepWriter() override;
  void write_point(const EnsemblePoint& p) override;
  void write_summary(const EnsembleSummary& s, bool complete);
  void close();
  // Where an earlier file at the path went ("" if none, or overwritten).
  const std::string& backup() const;
  std::vector<char> done() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What a sweep file holds (aggregates always; per-system values and trajectories on request).
struct SweepData {
  std::string path, scenario_text, scenario_path;
  std::string scenario_hash;
  std::vector<std::string> keys;             // A
  std::vector<char> log;                     // A
  std::vector<std::vector<double>> axes;     // A x n_k
  std::vector<std::vector<double>> grid;     // G x A
  std::vector<char> done;                    // G
  std::int64_t size = 0, trajectories = 0;   // S, K
  double delta = 0;
  std::vector<double> quantile_levels;
  std::vector<std::uint64_t> seeds;          // S
  std::vector<std::string> statistics;
  std::vector<std::vector<double>> times;    // G x F
  // per statistic: [G][F] mean and stderr, [G][F][Q] quantiles, [G][F][S] values (if read)
  std::vector<std::vector<double>> mean, stderr_, quantiles, values;
  std::size_t points() const { return grid.size(); }
  std::size_t frames() const { return times.empty() ? 0 : times.front().size(); }
  int statistic(const std::string& name) const;  // index, or -1
};

// Throws IoError (unreadable) or ConfigError (not a sweep file).
SweepData read_sweep(const std::string& path, bool with_values = false);
bool is_sweep_file(const std::string& path);

// A 64-bit FNV-1a hash of a scenario text (what resume compares).

}  // namespace attnflow
