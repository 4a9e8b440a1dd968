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
#include <memory>
#include <string>
#include <vector>

#include "sim/core/integrator.hpp"
#include "sim/core/model.hpp"
#include "sim/core/spec.hpp"

namespace attnflow {

class Section;  // sim/config/section.hpp: how a reader sees its [model] table

using ModelFactory = std::function<std::unique_ptr<Model>(const BuildContext&)>;

struct ModelInfo {
  std::string kind;
  std::string summary;
  bool second_order = false;  // the state carries momenta y
  // Reads and validates the [model] table (kind already consumed) into a factory.
  std::function<ModelFactory(Section& model, const TokensSpec& tokens)> read;
};

struct IntegratorInfo {
  std::string kind;
  std::string summary;
  bool adaptive = false;
  std::function<std::unique_ptr<Integrator>(const IntegratorSpec&)> make;
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
