#pragma once
// The observables every model offers ([observe] quantities), computed by sim/run/observables.cpp.
// Models add their own (energy, Hamiltonian, order parameter, ...).
#include <string>
#include <vector>

namespace attnflow {

struct ObservableDoc {
  std::string name;
  std::string meaning;
};

inline const std::vector<ObservableDoc>& geometry_observable_docs() {
  static const std::vector<ObservableDoc> docs = {
      {"diameter", "max_{i,j} |x_i - x_j|"},
      {"mean_cosine", "(1/N^2) sum_{i,j} <x_i, x_j> / (|x_i| |x_j|)"},
      {"mean_inner", "mean over i != j of <x_i, x_j>"},
      {"inner_spread", "max - min over i != j of <x_i, x_j> (0 iff the tokens are equiangular)"},
      {"hemisphere_margin", "min_i <x_i, w>, w = observe.w or the initial mean direction"},
      {"mean_norm", "(1/N) sum_i |x_i|"},
  };
  return docs;
}

inline std::vector<std::string> geometry_observables() {
  std::vector<std::string> out;
  for (const auto& d : geometry_observable_docs()) out.push_back(d.name);
  return out;
}

}  // namespace attnflow
