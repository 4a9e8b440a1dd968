#pragma once
// Checkpoint and resume: the last complete frame of a run file is a full restart point
// (positions, momenta, step counter, time, RHS/oracle counters, integrator state such as the
// adaptive step size). `attnflow run --resume RUN.h5` continues from it, and the frames it
// appends equal, bit for bit, those of an uninterrupted run of the same scenario.
// (No model draws random numbers during a run; all draws happen at set-up from the seed.)
#include <string>

#include "sim/h5md_writer.hpp"
#include "sim/state.hpp"

namespace attnflow {

struct ResumePoint {
  std::string scenario_text;  // resolved TOML stored in /parameters/scenario
  std::string scenario_path;  // where relative paths in it resolve
  std::int64_t frames = 0;    // complete frames in the file
  std::int64_t step = 0;
  double t = 0;
  Vec x, y;                   // last frame (y empty without momenta)
  FrameCheckpoint checkpoint;
  bool complete = false;      // the run had already finished
};

// Throws IoError (unreadable, truncated) or ConfigError (not an attnflow run file).
ResumePoint read_resume_point(const std::string& path);

}  // namespace attnflow
