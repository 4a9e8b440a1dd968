#pragma once
// Ensembles and parameter sweeps: thousands of independent systems in one run.
//
//   [ensemble]  size = S systems per grid point           (statistics, trajectories, delta, ...)
//   [[sweep]]   key = "model.beta", from/to/count or values  (one table per axis; the grid is the
//               cartesian product, first axis slowest)
//
// System i (0 <= i < S) of every grid point is the ordinary single run of that point's scenario
// with run.seed = system_seed(run.seed, i) and, unless `matrices = "per_system"`, run.model_seed
// = the scenario's own model seed (random matrices and frequencies shared by the ensemble): the
// same initial tokens at every grid point (common random numbers), and `attnflow run FILE
// --system G:I` reproduces it bit for bit.
//
// Work: systems are spread over OpenMP threads (dynamic schedule); each system is integrated by
// one thread with its own model, integrator and state, through the same Integrator::advance and
// model code as a single run, so results are identical for any number of threads and equal to
// the single runs. Per system and frame the runner records the requested statistics
// (sim/kernels/token_stats.hpp, or a model observable) into [frame][system] arrays; no file
// and no per-system allocation beyond the state. SIGINT/SIGTERM stops at the next system: the
// grid point in progress is discarded (Interrupted).
//
// Distributed (attnflow-mpi, EnsembleOptions::comm): rank r of P runs the systems
// row_block(S, r, P) of every grid point (no communication while they run), then the ranks
// exchange their systems' values, so every rank holds the whole point: the same numbers, bit for
// bit, as one process, for any rank count (every system is computed by the same code from the
// same seeds). A signal stops all ranks after the grid point in progress, which is discarded.
#include <cstdint>
#include <string>
#include <vector>

#include "sim/config/scenario.hpp"
#include "sim/config/validate.hpp"

namespace attnflow {

// The seed of system i of an ensemble with base seed `base` (splitmix64 of base + (i + 1) phi).
std::uint64_t system_seed(std::uint64_t base, std::int64_t i);

// The per-system statistics an ensemble can record (besides the model's observables):
//   close_pair_fraction  #{i < j: <x_i, x_j> > 1 - delta} / (n (n - 1) / 2)     (GLPR's quantity)
//   clusters             connected components of that delta-graph
//   diameter             max |x_i - x_j|
//   mean_inner           mean over i != j of <x_i, x_j>
//   inner_deviation      max_{i != j} |<x_i, x_j> - gamma_beta(t)|, gamma the equiangular curve
//                        of GLPR's ODE (6.9) SA / (6.10) USA (Theorem 6.9)
//   hemisphere           1 if all tokens lie in one open hemisphere, else 0 (Wendel, Theorem 6.7);
//                        recorded at every frame
// (the list: ensemble_token_statistics() in sim/config/validate.hpp)

// The results of one grid point.
struct EnsemblePoint {
  std::int64_t point = 0;
  std::vector<double> times;                   // F frame times
  std::vector<std::string> statistics;         // names, as in the scenario
  std::vector<std::vector<double>> values;     // per statistic: F x S, frame-major
  std::vector<RowMat> trajectories;            // the first k systems: F x (N d) positions
  std::int64_t steps = 0, rhs_evals = 0;       // summed over the systems
  double wall_seconds = 0;
};

// Where an ensemble's grid points go (the sweep file writer in sim/io, the in-memory collector
// of `attnflow check` and the Python module).
class EnsembleSink {
 public:
  virtual ~EnsembleSink() = default;
  virtual void write_point(const EnsemblePoint& p) = 0;
};

// Keeps the grid points in memory (`attnflow check`, the Python module).
class EnsembleCollector : public EnsembleSink {
 public:
  void write_point(const EnsemblePoint& p) override { points.push_back(p); }
  std::vector<EnsemblePoint> points;
};

// Aggregates of one statistic at one grid point and frame over the systems.
struct Aggregate {
  double mean = 0, stderr_ = 0;  // standard error of the mean: sd / sqrt(S)
  std::vector<double> quantiles;  // at EnsembleSpec::quantiles (type 7, NumPy's default)
};
Aggregate aggregate(const double* values, std::int64_t systems, const std::vector<double>& qs);

struct EnsembleOptions {
  bool progress = false;
  const Comm* comm = nullptr;  // distributed: this rank's share of the systems
  std::vector<char> skip;  // skip[g] != 0: grid point g is already done (resume)
};

struct EnsembleSummary {
  std::int64_t points_done = 0, systems = 0, steps = 0, rhs_evals = 0;
  double wall_seconds = 0;
  int signal = 0;  // non-zero: interrupted by this signal (the point in progress is discarded)
  std::string line() const;
};

// Runs every grid point (in order) and hands each to the sink.
EnsembleSummary run_ensemble(const Scenario& sc, EnsembleSink& sink, const EnsembleOptions& opt = {});

// One grid point, all systems (what run_ensemble calls).
EnsemblePoint run_grid_point(const Scenario& sc, std::int64_t g, const Comm* comm = nullptr);

// The scenario of system i of grid point g as an ordinary single run (no [ensemble] or
// [[sweep]]; the point's values and the system's seeds set): `attnflow run FILE --system G:I`.
std::vector<std::string> system_overrides(const Scenario& sc, std::int64_t g, std::int64_t i);

}  // namespace attnflow
