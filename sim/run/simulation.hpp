#pragma once
// Simulation: scenario -> (model, initial state, integrator, observables, writer) -> run.
//
//   for each frame time t_k:  integrator.advance(model, state, t, t_k)  -> observe -> write
//
// The loop stops cleanly on SIGINT/SIGTERM (frame in progress discarded, sink closed, summary
// says where) and on NaN/Inf (NumericalError naming step, time, token; frames kept).
// Writing a file is the caller's business (sim/io/run_file.hpp); the loop only sees a sink.
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/integrator.hpp"
#include "sim/core/model.hpp"
#include "sim/run/frame_sink.hpp"
#include "sim/config/scenario.hpp"

namespace attnflow {

struct RunOptions {
  bool progress = false;               // progress bar on stderr
  FrameSink* sink = nullptr;           // where frames go (none: observables in memory only)
  const ResumePoint* resume = nullptr; // continue from this frame (the sink appends)
};

struct Series {
  std::vector<double> t;
  std::vector<std::int64_t> step;
  std::map<std::string, std::vector<double>> values;
};

struct RunSummary {
  std::int64_t steps = 0, rejected = 0, rhs_evals = 0, oracle_calls = 0, frames = 0;
  double wall_seconds = 0, t_final = 0;
  std::string output;      // the file written ("" if none was: see kept)
  std::string backup;      // where an earlier file at the output path went ("" if none)
  bool kept = false;       // stopped before its first computed frame: nothing written, an
                           // earlier file at the output path left as it was
  int signal = 0;          // non-zero: interrupted by this signal
  std::string line() const;
};

class Simulation {
 public:
  // Builds the model (for run.seed), the integrator and the initial state. `sc` must outlive
  // the simulation. Resuming (`resume`: the run's file), the initial state is drawn again from
  // the seed (bit for bit the original one, and what models derive from it at set-up), except
  // for tokens read from a file: those come from the stored frame 0, as the file is not read.
  //
  // Distributed (attnflow-mpi, `comm`): this rank integrates its rows only (model(), state():
  // rows model().rows() of the N tokens); frame_model() is a model of the whole system that
  // evaluates the observables on the state gathered from all ranks (full_state()), and every
  // rank draws the same initial state and keeps its own rows of it.
  explicit Simulation(const Scenario& sc, const ResumePoint* resume = nullptr,
                      const Comm* comm = nullptr);
  ~Simulation();
  RunSummary run(const RunOptions& opt = {});

  Model& model() { return *model_; }
  // The model as a flow (throws Error for a layer map).
  Flow& flow() {
    if (!flow_) throw Error(model_->kind() + " is a layer map, not a flow");
    return *flow_;
  }
  Integrator& integrator() { return *integrator_; }
  State& state() { return state_; }
  const Comm* comm() const { return comm_; }
  // The model of all N tokens: model() when serial; distributed, the one that evaluates
  // observables and frame hooks (and what the writer asks about phases, constants).
  Model& frame_model() { return full_ ? *full_ : *model_; }
  // The state of all tokens: state() when serial; distributed, gathered from every rank (a
  // collective call: every rank must make it).
  const State& full_state();
  const Series& series() const { return series_; }
  const Scenario& scenario() const { return sc_; }

 private:
  const Scenario& sc_;  // must outlive the simulation
  std::unique_ptr<Model> model_;
  Flow* flow_ = nullptr;       // model_ as a flow (integrated by integrator_), or
  LayerMap* layers_ = nullptr; // model_ as a layer map
  std::unique_ptr<Integrator> integrator_;
  State state_;
  const Comm* comm_ = nullptr;
  std::unique_ptr<Model> full_;  // distributed: the whole system's model (observables)
  State gathered_;               // distributed: full_state()
  Series series_;
};

}  // namespace attnflow
