#pragma once
// The command line's ensemble and sweep commands (scenarios with [ensemble] / [[sweep]]):
// run to a sweep file, check ensemble claims, resume a sweep file, and extract one system as an
// ordinary single run (`--system G:I`).
#include <string>
#include <vector>

#include "sim/config/scenario.hpp"
#include "sim/io/output_claim.hpp"

namespace attnflow::cli {

// Runs the sweep into `output` (a sweep file); returns the exit code.
int run_sweep(const Scenario& sc, const std::string& output, bool quiet, bool resume,
              ExistingOutput existing = ExistingOutput::Backup);
// Runs and checks the claims; prints PASS/FAIL lines; returns the number of failed claims or
// -signal when interrupted.
int check_sweep(const Scenario& sc, const std::string& label, bool quiet, ExistingOutput existing);
// The scenario of system I of grid point G of `path`'s ensemble, as a single run.
Scenario system_scenario(const std::string& path, const std::vector<std::string>& sets,
                         const std::string& spec);

}  // namespace attnflow::cli
