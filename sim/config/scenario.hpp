#pragma once
// Scenario file -> plain spec structs -> one validation pass -> Scenario.
//
//   Scenario s = load_scenario("glpr.toml", {"integrator.dt=0.05"});
//
// load_scenario parses the TOML file (toml++ stays in sim/config), applies --set overrides, reads
// every section through a Section (typed, located, unknown keys rejected with a suggestion; the
// model's reader reads its own [model] keys into a ModelRecipe), then runs validate()
// (sim/config/validate.cpp): every rule that involves more than one key, and every check that
// would otherwise only fail once a run has started, with a `file:line:col` message. A Scenario
// that loads runs: the loader builds the model once to prove it.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/registry.hpp"
#include "sim/core/spec.hpp"

namespace attnflow {

struct Scenario {
  std::string path;           // scenario file as given
  std::string source_text;    // original file contents
  std::vector<std::string> overrides;  // --set key=value, applied on top of source_text
  std::string resolved_toml;  // every key with its effective value
  // The same, flattened: dotted key -> value as TOML text ("model.beta" -> "1.5",
  // "model.normalization" -> "\"softmax\""); arrays of tables as "expect[0].kind".
  std::map<std::string, std::string> resolved_values;
  std::vector<std::string> inputs;  // files the scenario reads (init CSV, matrices, ...)
  std::vector<std::string> notes;   // what validation adjusted or warns about (printed by the CLI)

  RunSpec run;
  TokensSpec tokens;
  std::string model_kind;
  ModelRecipe model;
  IntegratorSpec integrator;
  const IntegratorInfo* integrator_info = nullptr;
  ObserveSpec observe;
  std::vector<ClaimSpec> expect;
  EnsembleSpec ensemble;           // [ensemble]: many systems per grid point
  std::vector<SweepAxis> sweep;    // [[sweep]]: the grid (cartesian product, first axis slowest)
  bool is_ensemble() const { return ensemble.active() || !sweep.empty(); }
  // Ensembles: the grid points of the sweep (one for an ensemble without [[sweep]]), each a
  // validated scenario with the point's values set, in row-major order (first axis slowest).
  std::vector<std::shared_ptr<const Scenario>> grid;
  std::vector<std::vector<double>> grid_values;  // [point][axis]
  // The --set text that puts grid value v of an axis into a scenario ("model.beta=0.5").
  static std::string grid_override(const SweepAxis& axis, double v);

  // Estimated work: pair interactions of the whole run (model cost x RHS per step x steps).
  double estimated_pairs = 0;

  Shape shape() const { return {tokens.n, tokens.d, model.traits.second_order}; }
  bool layers_mode() const { return integrator.layers > 0; }
  // Frame times (and, in layers mode, their layer indices as steps).
  std::vector<double> frame_times() const;
  // The model, built for `seed` (usually run.seed) with the observables the run records; with
  // a Comm, this rank's part of it (rows row_block(N, rank, P); model.not_distributed is "").
  std::unique_ptr<Model> build_model(std::uint64_t seed, const Comm* comm = nullptr) const;

  // A resolved value as a number / string (throws Error if absent or of another type).
  double number(const std::string& key) const;
  std::string text(const std::string& key) const;
};

struct LoadOptions {
  // Resuming a run file: the state comes from the file, so [tokens] init files are not read
  // (and need not exist any more).
  bool resume = false;
  // Loading the scenario of a compare_runs claim: its own compare_runs files are not loaded.
  bool nested = false;
  // Check that every claim's window holds frames of the run (for `check` and `validate`; `run`
  // evaluates no claims, so a run shortened with --set need not keep them evaluable).
  bool claim_windows = true;
  // One grid point of a sweep (sim/run/ensemble.hpp): the base scenario's [ensemble] and [sweep]
  // are carried into the resolved text but not read again.
  bool grid_point = false;
  // attnflow-mpi: a single run must have a distributed path (model, integrator); ensembles
  // spread whole systems over the ranks and need none.
  bool distributed = false;
};

Scenario load_scenario(const std::string& path, const std::vector<std::string>& overrides = {},
                       const LoadOptions& opt = {});
// Same, from text (tests, fuzzing, resume, Python); `name` is used in error locations and as
// the base of relative paths.
Scenario load_scenario_text(const std::string& text, const std::string& name,
                            const std::vector<std::string>& overrides = {},
                            const LoadOptions& opt = {});

// The string value of a dotted key ("run.name") in a TOML text, without loading it as a
// scenario (e.g. the scenario stored in a run file written by another version); empty when the
// text does not parse or has no such string.
std::string toml_string(const std::string& text, const std::string& dotted_key);
// The same for an integer value (nullopt when absent or not an integer).
std::optional<std::int64_t> toml_integer(const std::string& text, const std::string& dotted_key);

}  // namespace attnflow
