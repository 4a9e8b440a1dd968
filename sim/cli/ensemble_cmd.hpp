#pragma once
// The command line's ensemble and sweep commands (scenarios with [ensemble] / [[sweep]]):
// run to a sweep file, check ensemble claims, resume a sweep file, and extract one system as an
// ordinary single run (`--system G:I`).
#include <string>
#include <vector>

#include "sim/config/scenario.hpp"
#include "sim/io/output_claim.hpp"

namespace attnflow::cli {

// Runs the sweep into `output` (a sweep file); returns the exit code. Distributed (comm): the
// systems are spread over the ranks (sim/run/ensemble.hpp) and rank 0 writes the file.
int run_sweep(const Scenario& sc, const std::string& output, bool quiet, bool resume,
              ExistingOutput existing = ExistingOutput::Backup, const Comm* comm = nullptr);
// Runs and checks the claims; prints PASS/FAIL lines; returns the number of failed claims or
// -signal when interrupted.
int check_sweep(const Scenario& sc, const std::string& label, bool quiet, ExistingOutput existing,
                const Comm* comm = nullptr);
// The scenario of system I of grid point G of `path`'s ensemble, as a single run.
Scenario system_scenario(const std::string& path, const std::vector<std::string>& sets,
                         const std::string& spec);

}  // namespace attnflow::cli
