#include "sim/io/run_file.hpp"

#include <optional>

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
  H5mdWriter writer(path, sc, sc.observe.quantities, sim.state(), &sim.model(),
                    sim.integrator().checkpoint_size(sim.state().shape),
                    opt.resume ? H5mdWriter::Mode::Append : H5mdWriter::Mode::Create);
  RunOptions ro;
  ro.progress = opt.progress;
  std::optional<TeeSink> tee;
  if (opt.also) tee.emplace(writer, *opt.also);
  ro.sink = tee ? static_cast<FrameSink*>(&*tee) : &writer;
  ro.resume = opt.resume;
  RunSummary s = sim.run(ro);
  s.output = path;
  return s;
}

}  // namespace attnflow
