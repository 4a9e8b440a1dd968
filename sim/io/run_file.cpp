#include "sim/io/run_file.hpp"

#include <optional>

#include "sim/config/validate.hpp"
#include "sim/core/error.hpp"
#include "sim/io/h5md_writer.hpp"

namespace attnflow {
namespace {
// Frames to the file first, then to the second sink.
class TeeSink : public FrameSink {
 public:
  TeeSink(FrameSink& a, FrameSink& b) : a_(a), b_(b) {}
  void write_frame(std::int64_t step, double t, const State& s, const std::vector<double>& obs,
                   const FrameCheckpoint& ck) override {
    a_.write_frame(step, t, s, obs, ck);
    b_.write_frame(step, t, s, obs, ck);
  }
  void write_summary(const RunTotals& totals) override {
    a_.write_summary(totals);
    b_.write_summary(totals);
  }
  void close() override {
    a_.close();
    b_.close();
  }

 private:
  FrameSink &a_, &b_;
};
}  // namespace

RunSummary run_to_file(Simulation& sim, const std::string& path, const FileRunOptions& opt) {
  const Scenario& sc = sim.scenario();
  State frame0 = sim.state();
  if (opt.resume) {
    if (!opt.resume->history) throw Error("resuming needs the run file's frames");
    double t0 = 0;
    opt.resume->history->frame(0, t0, frame0);
  } else {
    const std::string in = output_overwrites_input(sc, {path, sidecar_path(path)});
    if (!in.empty())
      throw ConfigError(path + ": the output would write over " + in + ", an input of this run");
  }
  WriterOptions wo;
  wo.existing = opt.existing;
  wo.resume = opt.resume;
  RunSummary s;
  {
    H5mdWriter writer(path, sc, sc.observe.quantities, frame0, &sim.model(),
                      sim.integrator().checkpoint_size(sim.state().shape), wo);
    RunOptions ro;
    ro.progress = opt.progress;
    std::optional<TeeSink> tee;
    if (opt.also) tee.emplace(writer, *opt.also);
    ro.sink = tee ? static_cast<FrameSink*>(&*tee) : &writer;
    ro.resume = opt.resume;
    s = sim.run(ro);
    s.kept = !writer.committed();
    s.output = writer.committed() ? path : std::string();
    s.backup = writer.backup();
  }
  return s;
}

}  // namespace attnflow
