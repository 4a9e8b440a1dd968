#pragma once
// The layout of an attnflow run file: every group, dataset and attribute name, in one place.
// Written by sim/io/h5md_writer.cpp, read by sim/io/h5md_reader.cpp (nothing else opens the
// datasets). H5MD 1.1 (SPEC section 4; research/ecosystem.md 1):
//
//   /h5md                        version [1,1]; author/name; creator/name, creator/version
//   /particles/tokens/box        dimension = d; boundary = "none" x d
//   /particles/tokens/id         [N] int64 token index (time-independent)
//   /particles/tokens/position   step[T] int64, time[T] float64, value[T][N][d]
//   /particles/tokens/momentum   value[T][N][d] (second-order models); step/time hard links
//   /particles/tokens/phase      value[T][N] (oscillator models, d = 1); step/time hard links
//   /particles/tokens/<name>     [N] float64 time-independent per-token arrays (e.g. frequency)
//   /particles/tokens_view/box   dimension = 3
//   /particles/tokens_view/position  value[T][N][3]: d = 3 as is; d > 3 the fixed PCA basis of
//                                frame 0; d = 2 (x, y, 0); d = 1 (x, 0, 0); phases
//                                (cos, sin, 0); densities (cos theta_i, sin theta_i, rho_i);
//                                step/time hard links
//   /observables/<name>          step[T], time[T] (hard links), value[T]
//   /parameters                  datasets scenario (the resolved TOML), scenario_source (the
//                                file as written); attributes name, space, model, integrator,
//                                d, n, seed, attnflow_version, scenario_path, scenario_hash,
//                                mpi_ranks (int64: the ranks of the run that writes the file,
//                                1 for attnflow; a resumed run records its own);
//                                written at the end: steps, rhs_evals, oracle_calls, complete,
//                                t_final, wall_seconds
//   /checkpoint/counters         value[T][3] int64: rhs_evals, oracle_calls, rejected steps
//   /checkpoint/integrator       value[T][K] float64: integrator state (K > 0 only)
//                                (what `attnflow run --resume` needs besides the positions)
//   /analysis/fits/<observable>  attributes rate, intercept, t0, t1, power_rate,
//                                power_intercept (written by `attnflow analyze --write-fits`;
//                                the renderer also honours amplitude)
//   /analysis/matrices/<name>    [N][N] or [H][N][N] (`attnflow analyze --ssa --write-matrices`)
//   /fields/density              mean-field density runs on the circle (sim/models/
//                                circle_density.cpp; written when the model has a
//                                density_field()): attributes cells (M),
//                                cell_width (h = 2 pi / M), beta, normalization ("softmax" |
//                                "mean"); grid[M] cell centres (i + 1/2) h; value[T][M][1] (or
//                                [T][M]) cell averages rho_i(t), h sum_i rho_i = 1 (a hard link
//                                to position/value); time[T], step[T] (hard links to position/time, step)
//
// Every per-frame dataset has an unlimited first axis and is chunked one frame per chunk; the
// file is flushed after every frame. The complete frames of a file are those every per-frame
// series holds (a killed run may have written part of its last frame). Next to RUN.h5 the
// ParaView sidecar RUN.xdmf2 (XDMF 2 temporal collection of Polyvertex grids whose geometry is
// a HyperSlab into tokens_view/position/value, paths relative to the sidecar, names
// XML-escaped) is rewritten as frames are added.
//
// attnflow-mpi writes the same layout (the same datasets, shapes, types, chunks and attributes,
// the tokens in the global order) collectively through parallel HDF5: rank r writes the rows
// [offset_r, offset_r + count_r) of every per-token dataset (sim/core/comm.hpp row_block), rank 0
// the rest (sim/io/h5md_writer.hpp). Only mpi_ranks, wall_seconds and the bits of the positions
// (rounding of the sums over ranks) tell the two apart.
//
// scenario_hash: "fnv1a64:" and 16 hex digits, the 64-bit FNV-1a hash of the bytes of
// /parameters/scenario as written. `attnflow run --resume` refuses a file whose stored scenario
// no longer has this hash (edited after the run: resuming it would mix two runs in one file).
#include <cstdint>
#include <cstdio>
#include <string>

namespace attnflow::h5md {

// --- groups and datasets -------------------------------------------------------------------
inline constexpr const char* kH5md = "/h5md";
inline constexpr const char* kAuthor = "/h5md/author";
inline constexpr const char* kCreator = "/h5md/creator";
inline constexpr const char* kParticles = "/particles";
inline constexpr const char* kTokens = "/particles/tokens";
inline constexpr const char* kTokensBox = "/particles/tokens/box";
inline constexpr const char* kTokenId = "/particles/tokens/id";
inline constexpr const char* kPosition = "/particles/tokens/position";
inline constexpr const char* kPositionStep = "/particles/tokens/position/step";
inline constexpr const char* kPositionTime = "/particles/tokens/position/time";
inline constexpr const char* kPositionValue = "/particles/tokens/position/value";
inline constexpr const char* kMomentum = "/particles/tokens/momentum";
inline constexpr const char* kMomentumValue = "/particles/tokens/momentum/value";
inline constexpr const char* kPhase = "/particles/tokens/phase";
inline constexpr const char* kPhaseValue = "/particles/tokens/phase/value";
inline constexpr const char* kView = "/particles/tokens_view";
inline constexpr const char* kViewBox = "/particles/tokens_view/box";
inline constexpr const char* kViewPosition = "/particles/tokens_view/position";
inline constexpr const char* kViewStep = "/particles/tokens_view/position/step";
inline constexpr const char* kViewTime = "/particles/tokens_view/position/time";
inline constexpr const char* kViewValue = "/particles/tokens_view/position/value";
inline constexpr const char* kObservables = "/observables";
inline constexpr const char* kParameters = "/parameters";
inline constexpr const char* kScenario = "/parameters/scenario";
inline constexpr const char* kScenarioSource = "/parameters/scenario_source";
inline constexpr const char* kCheckpoint = "/checkpoint";
inline constexpr const char* kCounters = "/checkpoint/counters";
inline constexpr const char* kCountersValue = "/checkpoint/counters/value";
inline constexpr const char* kIntegrator = "/checkpoint/integrator";
inline constexpr const char* kIntegratorValue = "/checkpoint/integrator/value";
inline constexpr const char* kAnalysis = "/analysis";
inline constexpr const char* kFits = "/analysis/fits";
inline constexpr const char* kMatrices = "/analysis/matrices";
inline constexpr const char* kFields = "/fields";
inline constexpr const char* kDensity = "/fields/density";
inline constexpr const char* kDensityGrid = "/fields/density/grid";
inline constexpr const char* kDensityValue = "/fields/density/value";
inline constexpr const char* kDensityTime = "/fields/density/time";

// Members of a time-dependent element (H5MD: a group holding step, time and value).
inline constexpr const char* kStep = "step";
inline constexpr const char* kTime = "time";
inline constexpr const char* kValue = "value";

inline std::string observable(const std::string& name) { return std::string(kObservables) + "/" + name; }
inline std::string observable_value(const std::string& name) { return observable(name) + "/value"; }
inline std::string observable_time(const std::string& name) { return observable(name) + "/time"; }
// A per-token element: /particles/tokens/<name> (a time-independent [N] dataset, or a group
// with value[T][N] / value[T][N][c]).
inline std::string token_element(const std::string& name) { return std::string(kTokens) + "/" + name; }
inline std::string token_series(const std::string& name) { return token_element(name) + "/value"; }
inline std::string fit(const std::string& observable) { return std::string(kFits) + "/" + observable; }
inline std::string matrix(const std::string& name) { return std::string(kMatrices) + "/" + name; }

// --- attributes ----------------------------------------------------------------------------
namespace attr {
inline constexpr const char* kVersion = "version";        // /h5md, creator
inline constexpr const char* kName = "name";              // author, creator, /parameters
inline constexpr const char* kDimension = "dimension";    // box
inline constexpr const char* kBoundary = "boundary";      // box
// /parameters
inline constexpr const char* kSpace = "space";
inline constexpr const char* kModel = "model";
inline constexpr const char* kIntegrator = "integrator";
inline constexpr const char* kD = "d";
inline constexpr const char* kN = "n";
inline constexpr const char* kSeed = "seed";
inline constexpr const char* kAttnflowVersion = "attnflow_version";
inline constexpr const char* kScenarioPath = "scenario_path";
inline constexpr const char* kScenarioHash = "scenario_hash";
inline constexpr const char* kScenarioText = "scenario";  // older files and foreign writers
inline constexpr const char* kSteps = "steps";
inline constexpr const char* kRhsEvals = "rhs_evals";
inline constexpr const char* kOracleCalls = "oracle_calls";
inline constexpr const char* kComplete = "complete";
inline constexpr const char* kTFinal = "t_final";
inline constexpr const char* kWallSeconds = "wall_seconds";
inline constexpr const char* kMpiRanks = "mpi_ranks";
// /analysis/fits/<observable>
inline constexpr const char* kRate = "rate";
inline constexpr const char* kIntercept = "intercept";
inline constexpr const char* kT0 = "t0";
inline constexpr const char* kT1 = "t1";
inline constexpr const char* kPowerRate = "power_rate";
inline constexpr const char* kPowerIntercept = "power_intercept";
inline constexpr const char* kAmplitude = "amplitude";
// /fields/density
inline constexpr const char* kCells = "cells";
inline constexpr const char* kCellWidth = "cell_width";
inline constexpr const char* kBeta = "beta";
inline constexpr const char* kNormalization = "normalization";
}  // namespace attr

// The value of the scenario_hash attribute for a stored scenario text.
inline std::string scenario_hash(const std::string& text) {
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a 64
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "fnv1a64:%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace attnflow::h5md
