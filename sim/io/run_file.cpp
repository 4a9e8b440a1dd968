#include "sim/io/run_file.hpp"

#include "sim/io/h5md_writer.hpp"

namespace attnflow {

RunSummary run_to_file(Simulation& sim, const std::string& path, const FileRunOptions& opt) {
  const Scenario& sc = sim.scenario();
  H5mdWriter writer(path, sc, sc.observe.quantities, sim.state(), &sim.model(),
                    sim.integrator().checkpoint_size(sim.state().shape),
                    opt.resume ? H5mdWriter::Mode::Append : H5mdWriter::Mode::Create);
  RunOptions ro;
  ro.progress = opt.progress;
  ro.sink = &writer;
  ro.resume = opt.resume;
  RunSummary s = sim.run(ro);
  s.output = path;
  return s;
}

}  // namespace attnflow
