#include "sim/run/simulation.hpp"

#include <cstdio>
#include <sstream>

#include "sim/run/observables.hpp"
#include "sim/run/init.hpp"

namespace attnflow {

std::string RunSummary::line() const {
  std::ostringstream os;
  os.precision(4);
  os << (signal ? "interrupted" : "done") << ": " << steps << " steps";
  if (rejected) os << " (" << rejected << " rejected)";
  os << ", " << rhs_evals << " RHS evaluations, " << oracle_calls << " oracle calls, " << frames
     << " frames, t = " << t_final << ", " << wall_seconds << " s wall";
  if (!output.empty()) os << " -> " << output;
  if (!backup.empty()) os << " (the earlier file is now " << backup << ")";
  return os.str();
}

Simulation::Simulation(const Scenario& sc, const ResumePoint* resume, const Comm* comm)
    : sc_(sc), comm_(comm) {
  if (comm && !sc.model.not_distributed.empty())
    throw ConfigError("model \"" + sc.model_kind + "\" " + sc.model.not_distributed);
  model_ = sc.build_model(sc.run.model_seed, comm);
  if (comm) full_ = sc.build_model(sc.run.model_seed);
  flow_ = dynamic_cast<Flow*>(model_.get());
  layers_ = dynamic_cast<LayerMap*>(model_.get());
  if (!flow_ && !layers_) throw Error(model_->kind() + " is neither a flow nor a layer map");
  if (comm && !flow_) throw ConfigError(model_->kind() + " is a layer map: no distributed path");
  integrator_ = sc.integrator_info->make(sc.integrator);
  State all;
  if (resume && sc.tokens.init == "file") {
    // The init file was not read (LoadOptions::resume): the stored frame 0 is the initial state.
    if (!resume->history || resume->frames < 1) throw ConfigError("the run file holds no frame 0");
    all = State(sc.shape());
    double t0 = 0;
    resume->history->frame(0, t0, all);
  } else {
    all = initial_state(sc);
  }
  frame_model().initialize(all, sc.run.seed);
  frame_model().retract(all);
  if (!comm) {
    state_ = std::move(all);
    return;
  }
  // This rank's rows of the same initial state.
  const RowBlock r = model_->rows();
  state_ = State(model_->shape());
  state_.x() = all.x().middleRows(r.offset, r.count);
  if (state_.shape.momentum) state_.y() = all.y().middleRows(r.offset, r.count);
}

const State& Simulation::full_state() {
  if (!comm_) return state_;
  const Shape whole = sc_.shape();
  if (gathered_.shape != whole) gathered_ = State(whole);
  gather_state(*comm_, state_, gathered_);
  return gathered_;
}

Simulation::~Simulation() = default;

namespace {
void progress_bar(double frac, double t) {
  const int width = 40, fill = static_cast<int>(frac * width + 0.5);
  std::fprintf(stderr, "\r[%.*s%*s] %3d%%  t = %-10.4g", fill,
               "########################################", width - fill, "",
               static_cast<int>(frac * 100 + 0.5), t);
  std::fflush(stderr);
}
}  // namespace

RunSummary Simulation::run(const RunOptions& opt) {
  const auto wall0 = std::chrono::steady_clock::now();
  RunSummary sum;
  Model& whole = frame_model();
  ObservableSet obs(sc_, whole, full_state());
  // Distributed: the frames' observables and hooks need all tokens (gathered per frame).
  const bool gather = comm_ && (!obs.names().empty() || whole.keeps_time_averages());
  FrameSink* writer = opt.sink;
  const std::vector<double> times = sc_.frame_times();
  double t = sc_.integrator.t0;
  StepStats st;
  series_ = Series{};
  std::size_t first_frame = 0;
  if (opt.resume) {
    const ResumePoint& rp = *opt.resume;
    const Shape all = sc_.shape();
    if (rp.x.size() != all.block() || (all.momentum && rp.y.size() != all.block()))
      throw ConfigError("the stored state does not match the scenario's shape");
    // This rank's rows (all of them when serial): a run may resume on another rank count.
    const RowBlock r = model_->rows();
    const Index nd = state_.shape.block();
    state_.u.head(nd) = rp.x.segment(r.offset * all.d, nd);
    if (state_.shape.momentum) state_.u.tail(nd) = rp.y.segment(r.offset * all.d, nd);
    t = rp.t;
    st.steps = rp.step;
    st.rejected = rp.checkpoint.rejected;
    model_->counters.rhs_evals = rp.checkpoint.rhs_evals;
    model_->counters.oracle_calls = rp.checkpoint.oracle_calls;
    if (static_cast<Index>(rp.checkpoint.integrator.size()) != integrator_->checkpoint_size(state_.shape))
      throw ConfigError("the stored integrator state does not match the scenario");
    integrator_->restore_checkpoint(rp.checkpoint.integrator);
    first_frame = static_cast<std::size_t>(rp.frames);
    if (whole.keeps_time_averages()) {
      if (!rp.history) throw Error("resuming " + model_->kind() + " needs the stored frames");
      State past(sc_.shape());
      double tk = 0;
      for (std::int64_t k = 0; k < rp.frames; ++k) {
        rp.history->frame(k, tk, past);
        whole.observe_frame(tk, past.view());
      }
    }
  }
  auto finish = [&] {
    sum.steps = st.steps;
    sum.rejected = st.rejected;
    sum.rhs_evals = model_->counters.rhs_evals;
    sum.oracle_calls = model_->counters.oracle_calls;
    sum.t_final = t;
    sum.frames = static_cast<std::int64_t>(first_frame + series_.t.size());
    sum.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    if (writer) {
      writer->write_summary({sum.steps, sum.rhs_evals, sum.oracle_calls, sum.t_final,
                             sum.wall_seconds, sum.frames == static_cast<std::int64_t>(times.size())});
      writer->close();
    }
    if (opt.progress) std::fprintf(stderr, "\n");
  };
  try {
    check_finite(state_, 0, t, comm_, model_->rows().offset);
    for (std::size_t fi = first_frame; fi < times.size(); ++fi) {
      const double tk = times[fi];
      if (flow_)
        integrator_->advance(*flow_, state_, t, tk, st);
      else
        advance_layers(*layers_, state_, t, tk, sc_.integrator.dt, st);
      if (full_) full_->counters = model_->counters;  // (the oracle_calls observable)
      const State& frame = gather ? full_state() : state_;
      if (!comm_ || gather) whole.observe_frame(t, frame.view());
      const std::vector<double> values = obs.evaluate(t, frame);
      for (std::size_t i = 0; i < values.size(); ++i) {
        if (!std::isfinite(values[i])) {
          std::ostringstream os;
          os.precision(10);
          os << "observable '" << obs.names()[i] << "' is " << values[i] << " at step "
             << st.steps << ", t = " << t;
          throw NumericalError(os.str());
        }
        series_.values[obs.names()[i]].push_back(values[i]);
      }
      series_.t.push_back(t);
      series_.step.push_back(st.steps);
      if (writer) {
        FrameCheckpoint ck{model_->counters.rhs_evals, model_->counters.oracle_calls, st.rejected,
                           integrator_->save_checkpoint()};
        writer->write_frame(st.steps, t, state_, values, ck);
      }
      if (opt.progress)
        progress_bar((t - sc_.integrator.t0) / (sc_.integrator.t_end - sc_.integrator.t0), t);
    }
  } catch (const Interrupted& in) {
    sum.signal = in.signal;
    finish();
    return sum;
  } catch (...) {
    finish();
    throw;
  }
  finish();
  return sum;
}

}  // namespace attnflow
