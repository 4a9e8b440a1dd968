#include "sim/io/run_file.hpp"

#include "sim/config/validate.hpp"
#include "sim/core/error.hpp"
#include "sim/io/h5md_writer.hpp"

namespace attnflow {

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
    ro.sink = &writer;
    ro.resume = opt.resume;
    s = sim.run(ro);
    s.kept = !writer.committed();
    s.output = writer.committed() ? path : std::string();
    s.backup = writer.backup();
  }
  return s;
}

}  // namespace attnflow
