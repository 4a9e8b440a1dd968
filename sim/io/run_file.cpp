#include "sim/io/run_file.hpp"

#include <optional>

#include "sim/config/validate.hpp"
#include "sim/core/error.hpp"
#include "sim/io/collective.hpp"
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

// Distributed: how many per-token blocks (N x d, in the token order) the integrator's checkpoint
// holds after its head (WriterOptions::checkpoint_blocks), from its sizes for all tokens and for
// this rank's rows: a checkpoint of H + B N d values is H + B n d on a rank of n rows.
Index checkpoint_blocks(const Integrator& in, const Shape& all, const Shape& mine) {
  const Index whole = in.checkpoint_size(all), part = in.checkpoint_size(mine);
  if (whole == part) return 0;  // (this rank has every row, or nothing is per token)
  const Index per_row = (all.n - mine.n) * all.d;
  if (per_row <= 0 || (whole - part) % per_row != 0 || whole - (whole - part) / per_row * all.block() < 0)
    throw Error(in.kind() + ": its checkpoint (" + std::to_string(whole) + " values for " +
                std::to_string(all.n) + " tokens, " + std::to_string(part) + " for " +
                std::to_string(mine.n) + ") is not a head and per-token blocks: it cannot be "
                "written by several ranks");
  return (whole - part) / per_row;
}

// This rank's part of a checkpoint of all tokens: the head and its rows of each block.
std::vector<double> checkpoint_rows(const std::vector<double>& all, Index blocks, const Shape& shape,
                                    const RowBlock& rows) {
  const Index head = static_cast<Index>(all.size()) - blocks * shape.block();
  if (blocks == 0 || head < 0) return all;
  std::vector<double> mine(all.begin(), all.begin() + head);
  for (Index b = 0; b < blocks; ++b) {
    const auto first = all.begin() + head + b * shape.block() + rows.offset * shape.d;
    mine.insert(mine.end(), first, first + rows.count * shape.d);
  }
  return mine;
}
}  // namespace

RunSummary run_to_file(Simulation& sim, const std::string& path, const FileRunOptions& opt) {
  const Scenario& sc = sim.scenario();
  const Comm* comm = sim.comm();
  // Frame 0 of all tokens (distributed: gathered, a collective call): the view's PCA basis is
  // the serial one.
  State frame0 = sim.full_state();
  if (opt.resume) {
    if (!opt.resume->history) throw Error("resuming needs the run file's frames");
    // (every rank reads it; a rank that fails takes the others with it instead of leaving them
    // waiting in the writer's collective calls)
    on_all(comm, [&] {
      double t0 = 0;
      opt.resume->history->frame(0, t0, frame0);
    });
  } else {
    const std::string in = output_overwrites_input(sc, {path, sidecar_path(path)});
    if (!in.empty())
      throw ConfigError(path + ": the output would write over " + in + ", an input of this run");
  }
  WriterOptions wo;
  wo.existing = opt.existing;
  wo.resume = opt.resume;
  Index checkpoint_size = sim.integrator().checkpoint_size(sim.state().shape);
  // Distributed: the file holds the checkpoint of all tokens; this rank resumes from its rows.
  std::optional<ResumePoint> local_resume;
  if (comm) {
    wo.comm = comm;
    wo.rows = sim.model().rows();
    on_all(comm, [&] {
      wo.checkpoint_blocks = checkpoint_blocks(sim.integrator(), frame0.shape, sim.state().shape);
    });
    checkpoint_size = sim.integrator().checkpoint_size(frame0.shape);
    if (opt.resume && wo.checkpoint_blocks > 0) {
      local_resume = *opt.resume;
      local_resume->checkpoint.integrator =
          checkpoint_rows(opt.resume->checkpoint.integrator, wo.checkpoint_blocks, frame0.shape, wo.rows);
    }
  }
  RunSummary s;
  {
    H5mdWriter writer(path, sc, sc.observe.quantities, frame0, &sim.frame_model(), checkpoint_size, wo);
    RunOptions ro;
    ro.progress = opt.progress;
    std::optional<TeeSink> tee;
    if (opt.also) tee.emplace(writer, *opt.also);
    ro.sink = tee ? static_cast<FrameSink*>(&*tee) : &writer;
    ro.resume = local_resume ? &*local_resume : opt.resume;
    s = sim.run(ro);
    s.kept = !writer.committed();
    s.output = writer.committed() ? path : std::string();
    s.backup = writer.backup();
  }
  return s;
}

}  // namespace attnflow
