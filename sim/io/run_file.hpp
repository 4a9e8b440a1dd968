#pragma once
// A run written to an H5MD file: the simulation loop with the H5MD writer as its sink.
//
//   RunSummary s = run_to_file(sim, "out/x.h5", {.progress = true});
//
// What the command line, the Python module and the MPI executable call to produce RUN.h5.
#include <string>

#include "sim/run/simulation.hpp"

namespace attnflow {

struct FileRunOptions {
  bool progress = false;
  const ResumePoint* resume = nullptr;  // append to `path` from this frame
  // A second sink that sees every frame after the file has it (the Python module's recorder:
  // on_frame callbacks, progress). It may stop the run by throwing Interrupted{0}.
  FrameSink* also = nullptr;
};

RunSummary run_to_file(Simulation& sim, const std::string& path, const FileRunOptions& opt = {});

}  // namespace attnflow
