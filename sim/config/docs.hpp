#pragma once
// Documentation of the scenario tables the loader reads itself ([run], [tokens], [integrator],
// [observe], [ensemble], [[sweep]]) and of the claim kinds ([[expect]]). The tables live in
// sim/config/scenario.cpp beside the readers; models and integrators document themselves in
// their registrations (sim/core/registry.hpp). `attnflow help` and docs/reference.md render
// them (sim/cli/help.cpp).
#include <string>
#include <vector>

#include "sim/core/key_doc.hpp"

namespace attnflow {

struct SectionDoc {
  std::string name;         // "run", "tokens", ..., "sweep" (written [[sweep]])
  std::string description;
  std::vector<KeyDoc> keys;
};

struct ClaimDoc {
  std::string kind;
  bool ensemble = false;    // a claim about an [ensemble] (analysis/ensemble_claims.hpp)
  std::string meaning;
  std::string source;
  std::vector<KeyDoc> keys; // besides kind and the comparison keys
};

const std::vector<SectionDoc>& scenario_section_docs();
const SectionDoc* find_section_doc(const std::string& name);
const std::vector<ClaimDoc>& claim_docs();
// The comparison keys every claim but `monotone` takes (equals, rel_tol, ...), and label.
const std::vector<KeyDoc>& claim_comparison_docs();
std::vector<std::string> claim_kinds();

}  // namespace attnflow
