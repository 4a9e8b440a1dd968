#pragma once
// Name -> factory registries for models and integrators. Each model / integrator file ends with
// a static registration, e.g.
//
//   static const bool registered = ModelRegistry::add({"attention", "softmax/mean attention",
//                                                      /*second_order=*/false, &read_attention});
//
// The sources live in an OBJECT library, so registrars are never dropped by the linker.
#include <functional>
#include <map>
#include <utility>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/integrator.hpp"
#include "sim/core/key_doc.hpp"
#include "sim/core/model.hpp"
#include "sim/core/spec.hpp"

namespace attnflow {

class Section;  // sim/config/section.hpp: how a reader sees its [model] table

using ModelFactory = std::function<std::unique_ptr<Model>(const BuildContext&)>;

// What the validation pass and the simulation loop need to know about a configured model.
struct ModelTraits {
  bool second_order = false;  // the state carries momenta y (Shape::momentum)
  bool layer_map = false;     // a LayerMap: run with integrator.layers = L, one step = one layer
  double default_dt = 0.1;    // integrator.dt when the scenario gives none
  bool needs_positive_t0 = false;  // e.g. damping c_log / t: integrator.t0 must be > 0
};

// What reading a [model] table yields: everything validation needs without building the model
// (which can be expensive), and the factory that builds it.
struct ModelRecipe {
  ModelTraits traits;
  std::vector<std::string> observables;  // offered by this configuration
  // Observables of this model that this configuration cannot offer, with the reason
  // ("needs coupling_rule = \"uniform\"", "keeps an N x N average: needs N <= 8192").
  std::vector<std::pair<std::string, std::string>> unavailable;
  // Why this configuration may not give a finite run, and what to set (validate prints them
  // as warnings), e.g. tokens that escape to infinity on R^d.
  std::vector<std::string> warnings;
  double pairs_per_rhs = 0;    // cost estimate: pair interactions per RHS (or layer)
  // A distributed path (attnflow-mpi: each rank its rows, Model::distribute): "" when this
  // configuration has one, else why not (attnflow-mpi refuses it at validation, exit 2).
  std::string not_distributed = "has no distributed path";
  ModelFactory build;
};

struct ModelInfo {
  std::string kind;
  std::string summary;
  // Reads and validates the [model] table (kind already consumed).
  std::function<ModelRecipe(Section& model, const TokensSpec& tokens)> read;
  ModelDoc doc;  // every [model] key it reads, its observables (sim/core/key_doc.hpp)
};

struct IntegratorInfo {
  std::string kind;
  std::string summary;
  bool adaptive = false;            // chooses its own steps (rtol, atol); no layers, no save_every
  bool needs_second_order = false;  // a SympFormer block: the model must carry momenta
  bool separable_order = false;     // order() holds for separable Hamiltonians only
  double rhs_per_step = 1;          // RHS evaluations (oracle calls) per step, for cost estimates
  std::function<std::unique_ptr<Integrator>(const IntegratorSpec&)> make;
  IntegratorDoc doc;  // order, source, notes (sim/core/key_doc.hpp)
};

template <class Info>
class Registry {
 public:
  static bool add(Info info) {
    auto& m = map();
    const std::string k = info.kind;
    m.emplace(k, std::move(info));
    return true;
  }
  static const Info* find(const std::string& kind) {
    auto& m = map();
    auto it = m.find(kind);
    return it == m.end() ? nullptr : &it->second;
  }
  static std::vector<std::string> names() {
    std::vector<std::string> out;
    for (auto& [k, v] : map()) out.push_back(k);
    return out;
  }

 private:
  static std::map<std::string, Info>& map() {
    static std::map<std::string, Info> m;
    return m;
  }
};

using ModelRegistry = Registry<ModelInfo>;
using IntegratorRegistry = Registry<IntegratorInfo>;

}  // namespace attnflow
