#pragma once
// Scenario file -> plain spec structs -> validation (one place, file:line:col messages).
//
//   Scenario s = load_scenario("glpr.toml", {"integrator.dt=0.05"});
//
// load_scenario parses the TOML file (toml++), applies --set overrides, reads every section
// through a Section (typed, located, unknown keys rejected with a suggestion), lets the chosen
// model read its own [model] keys, and checks cross-section constraints. It also builds the
// model once to check that every requested observable exists. The resolved scenario (defaults
// filled in) is kept as TOML text for the output file.
#include <map>
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
  // A resolved value as a number / string (throws Error if absent or of another type).
  double number(const std::string& key) const;
  std::string text(const std::string& key) const;
  RunSpec run;
  TokensSpec tokens;
  std::string model_kind;
  const ModelInfo* model_info = nullptr;
  ModelFactory make_model;
  IntegratorSpec integrator;
  const IntegratorInfo* integrator_info = nullptr;
  ObserveSpec observe;
  std::vector<ClaimSpec> expect;

  Shape shape() const { return {tokens.n, tokens.d, model_info && model_info->second_order}; }
  bool layers_mode() const { return integrator.layers > 0; }
  // Frame times (and, in layers mode, their layer indices as steps).
  std::vector<double> frame_times() const;
};

Scenario load_scenario(const std::string& path, const std::vector<std::string>& overrides = {});
// Same, from text (tests and fuzzing); `name` is used in error locations.
Scenario load_scenario_text(const std::string& text, const std::string& name,
                            const std::vector<std::string>& overrides = {});


}  // namespace attnflow
