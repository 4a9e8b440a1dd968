#include "sim/simulation.hpp"

#include <cstdio>
#include <sstream>

#include "sim/h5md_writer.hpp"
#include "sim/init.hpp"

namespace attnflow {

std::string RunSummary::line() const {
  std::ostringstream os;
  os.precision(4);
  os << (signal ? "interrupted" : "done") << ": " << steps << " steps";
  if (rejected) os << " (" << rejected << " rejected)";
  os << ", " << rhs_evals << " RHS evaluations, " << oracle_calls << " oracle calls, " << frames
     << " frames, t = " << t_final << ", " << wall_seconds << " s wall";
  if (!output.empty()) os << " -> " << output;
  return os.str();
}

Simulation::Simulation(const Scenario& sc) : sc_(sc) {
  model_ = sc.make_model(BuildContext{sc.shape(), sc.tokens.space, sc.run.seed});
  integrator_ = sc.integrator_info->make(sc.integrator);
  state_ = initial_state(sc);
  model_->initialize(state_);
  model_->retract(state_);
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
  ObservableSet obs(sc_, *model_, state_);
  std::unique_ptr<H5mdWriter> writer;
  if (opt.write) {
    sum.output = opt.output.empty() ? sc_.run.output : opt.output;
    writer = std::make_unique<H5mdWriter>(sum.output, sc_, obs.names(), state_, model_.get());
  }
  const std::vector<double> times = sc_.frame_times();
  double t = sc_.integrator.t0;
  StepStats st;
  series_ = Series{};
  auto finish = [&] {
    sum.steps = st.steps;
    sum.rejected = st.rejected;
    sum.rhs_evals = model_->counters.rhs_evals;
    sum.oracle_calls = model_->counters.oracle_calls;
    sum.t_final = t;
    sum.frames = static_cast<std::int64_t>(series_.t.size());
    sum.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    if (writer) {
      writer->write_summary(sum.steps, sum.rhs_evals, sum.oracle_calls, sum.t_final,
                            sum.wall_seconds, sum.frames == static_cast<std::int64_t>(times.size()));
      writer->close();
    }
    if (opt.progress) std::fprintf(stderr, "\n");
  };
  try {
    check_finite(state_, 0, t);
    for (double tk : times) {
      integrator_->advance(*model_, state_, t, tk, st);
      const std::vector<double> values = obs.evaluate(t, state_);
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
      if (writer) writer->write_frame(st.steps, t, state_, values);
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
