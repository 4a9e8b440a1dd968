#pragma once
// A run written to an H5MD file: the simulation loop with the H5MD writer as its sink.
//
//   RunSummary s = run_to_file(sim, "out/x.h5", {.progress = true});
//
// What the command line, the Python module and the MPI executable call to produce RUN.h5.
// Nothing is ever lost (sim/io/output_claim.hpp, sim/io/h5md_writer.hpp): the output must not be
// an input of the run (ConfigError), a file another run writes is refused (ConfigError), an
// earlier RUN.h5 is kept as #RUN.h5.N# (or replaced with ExistingOutput::Overwrite) once the
// run has computed its first frame, and a run that stops before that leaves it as it was
// (RunSummary::kept).
#include <string>

#include "sim/io/output_claim.hpp"
#include "sim/run/simulation.hpp"

namespace attnflow {

struct FileRunOptions {
  bool progress = false;
  ExistingOutput existing = ExistingOutput::Backup;
  // Append to `path` from this frame (read_resume_point(path), held until the run returns).
  const ResumePoint* resume = nullptr;
  // A second sink that sees every frame after the file has it (the Python module's recorder:
  // on_frame callbacks, progress). It may stop the run by throwing Interrupted{0}.
  FrameSink* also = nullptr;
};

RunSummary run_to_file(Simulation& sim, const std::string& path, const FileRunOptions& opt = {});

}  // namespace attnflow
