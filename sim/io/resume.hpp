#pragma once
// Checkpoint and resume: the last complete frame of a run file is a full restart point
// (positions, momenta, step counter, time, RHS/oracle counters, integrator state such as the
// adaptive step size). `attnflow run --resume RUN.h5` continues from it, and the frames it
// appends equal, bit for bit, those of an uninterrupted run of the same scenario.
// (No model draws random numbers during a run; all draws happen at set-up from the seed.)
//
// Everything comes from the file: the scenario stored in it (loaded with LoadOptions::resume,
// so init files are not read), the state of the last complete frame, and the earlier frames
// (ResumePoint::history): models that keep time averages replay them (Model::observe_frame),
// tokens read from a file start from the stored frame 0, and the view of d > 3 tokens is the PCA
// basis of the stored frame 0.
#include <string>

#include "sim/core/comm.hpp"
#include "sim/run/frame_sink.hpp"

namespace attnflow {

// Opens RUN.h5 for appending under its lock (held by the returned history until the last copy
// of it goes). Throws ConfigError (exit 2) for a missing file, a file another run holds, a file
// that is not an attnflow run or has no checkpoint or no complete frame, and a stored scenario
// whose hash no longer matches (edited after the run); IoError (exit 4) for an unreadable,
// truncated or damaged file.
//
// Distributed (attnflow-mpi, `comm`; every rank calls it): rank 0 takes the lock (two ranks
// asking for LOCK_EX on one file would refuse each other), then every rank reads the file
// read-only (H5mdReader::Access::Held), so that the writer can reopen it on all ranks through
// MPI-IO; an error on any rank is thrown on all (sim/io/collective.hpp). The resume point holds
// the whole state (all tokens): the run may continue on another rank count.
ResumePoint read_resume_point(const std::string& path, const Comm* comm = nullptr);

}  // namespace attnflow
