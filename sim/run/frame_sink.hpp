#pragma once
// Where the frames of a run go. The simulation loop (sim/run/simulation.hpp) hands every frame
// to a FrameSink; the H5MD writer (sim/io) is one, the Python module's in-memory recorder
// another. A run without a sink keeps its observables in memory only (Simulation::series()).
//
// A ResumePoint is the last complete frame of an earlier run: positions, momenta, counters and
// the integrator's internal state (FrameCheckpoint), from which a run continues bit-identically.
// Everything comes from the run file (sim/io/resume.hpp): the scenario stored in it, the state
// of its last complete frame, and its earlier frames (FrameHistory) for the models that keep
// time averages and for the initial state of a run whose tokens came from a file.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/state.hpp"

namespace attnflow {

// Per-frame data beyond the state, for checkpoint and resume.
struct FrameCheckpoint {
  std::int64_t rhs_evals = 0, oracle_calls = 0, rejected = 0;
  std::vector<double> integrator;  // Integrator::save_checkpoint(), size fixed for the run
};

struct RunTotals {
  std::int64_t steps = 0, rhs_evals = 0, oracle_calls = 0;
  double t_final = 0, wall_seconds = 0;
  bool complete = false;  // every frame was written
};

class FrameSink {
 public:
  virtual ~FrameSink() = default;
  // Frame `index` (0-based over the whole run, resumed runs included).
  virtual void write_frame(std::int64_t step, double t, const State& s,
                           const std::vector<double>& observables, const FrameCheckpoint& ck) = 0;
  virtual void write_summary(const RunTotals& totals) = 0;
  virtual void close() = 0;
};

// The frames a run file already holds: a resumed run replays them through models that keep time
// averages (Model::observe_frame), so the averages continue exactly.
class FrameHistory {
 public:
  virtual ~FrameHistory() = default;
  // Frame k (< the resume point's frames): its time and positions (and momenta); `s` has the
  // run's shape.
  virtual void frame(std::int64_t k, double& t, State& s) const = 0;
};

struct ResumePoint {
  std::string scenario_text;  // resolved TOML stored with the run
  std::string scenario_path;  // where relative paths in it resolve
  std::int64_t frames = 0;    // complete frames in the file
  std::int64_t step = 0;
  double t = 0;
  Vec x, y;                   // last frame (y empty without momenta)
  FrameCheckpoint checkpoint;
  std::vector<double> times;  // of the complete frames
  bool complete = false;      // the run had already finished
  // The stored frames. The history of a run file also keeps the file open and locked until the
  // last copy of it goes: hold the ResumePoint while the resumed run appends.
  std::shared_ptr<const FrameHistory> history;
};

}  // namespace attnflow
