#pragma once
// Checkpoint and resume: the last complete frame of a run file is a full restart point
// (positions, momenta, step counter, time, RHS/oracle counters, integrator state such as the
// adaptive step size). `attnflow run --resume RUN.h5` continues from it, and the frames it
// appends equal, bit for bit, those of an uninterrupted run of the same scenario.
// (No model draws random numbers during a run; all draws happen at set-up from the seed.)
#include <string>

#include "sim/run/frame_sink.hpp"

namespace attnflow {

// Throws IoError (unreadable, truncated) or ConfigError (not an attnflow run file).
ResumePoint read_resume_point(const std::string& path);

}  // namespace attnflow
