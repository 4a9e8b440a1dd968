#pragma once
// The one validation pass over a scenario whose sections have been read (sim/config/scenario.cpp
// reads keys, types and single-key ranges; everything else is here). Each rule fails with a
// located ConfigError, so `attnflow validate` finds every input error that `attnflow run` would
// meet, and `run` meets them before it creates any file:
//
//   state and parameter sizes against the machine's memory (before anything is allocated);
//   tokens.momentum only with second-order models;
//   integrator vs model: block schemes need momenta, layer maps need integrator.layers,
//     adaptive integrators take no layers or save_every, damping c_log / t needs t0 > 0;
//   step and frame counts: a sane number of steps, frames <= steps + 1 (the default 101 frames
//     is capped, with a note), save_every dividing the steps;
//   observables: known for the model and available in this configuration, listed once;
//   claims: observables recorded, windows holding frames, references that exist, compare_runs
//     scenarios that load, drift_order on fixed-step runs;
//   run.name a plain file name; run.output not an input of the run;
//   the model builds (random matrices drawn, symmetric/SPD conditions checked);
// and it estimates the cost (pair interactions of the whole run) for `validate` to print.
#include "sim/config/scenario.hpp"

namespace attnflow {

class Section;
struct TomlDoc;

// The state must fit in memory (ATTNFLOW_MAX_STATE_BYTES, default: the machine's RAM).
void check_state_size(Section& tokens, const TokensSpec& t);

void validate(Scenario& sc, TomlDoc& doc, const LoadOptions& opt);

// Limits (documented in README: what validate rejects).
constexpr double kMaxSteps = 1e12;        // steps (or layers) of one run
constexpr std::int64_t kMaxFrames = 10'000'000;
constexpr double kCostWarningPairs = 1e13;  // pair interactions: ~1.5 h at 2e9 pairs/s

// Statistics an ensemble records per system besides model observables (sim/run/ensemble.hpp).
const std::vector<std::string>& ensemble_token_statistics();

// The input of the run (the scenario file, init CSV, matrix and coupling files, compare_runs
// scenarios and their inputs) that one of `outputs` would write over, or "" if none.
std::string output_overwrites_input(const Scenario& sc, const std::vector<std::string>& outputs);

// Bytes of memory available to a run (ATTNFLOW_MAX_STATE_BYTES or the machine's RAM).
double memory_limit_bytes();

}  // namespace attnflow
