#pragma once
// Observables written at every frame ([observe] quantities). Geometry observables exist for
// every model; the model adds its own (energy, Hamiltonian, ...).
//
//   diameter          max_{i,j} |x_i - x_j|                       O(N^2 d), streamed
//   mean_cosine       (1/N^2) sum_{i,j} <x_i, x_j>/(|x_i||x_j|)    O(N d)
//   mean_inner        mean over i != j of <x_i, x_j>               O(N d)
//   inner_spread      max - min over i != j of <x_i, x_j>          O(N^2 d)
//                     (0 iff all pairwise inner products are equal: GLPR's equiangular set)
//   hemisphere_margin min_i <x_i, w>, w = observe.w or the initial mean direction
//   mean_norm         (1/N) sum_i |x_i|
#include <string>
#include <vector>

#include "sim/core/model.hpp"
#include "sim/config/scenario.hpp"

namespace attnflow {

class ObservableSet {
 public:
  ObservableSet(const Scenario& sc, Model& model, const State& initial);
  const std::vector<std::string>& names() const { return names_; }
  std::vector<double> evaluate(double t, const State& s);

 private:
  Model& model_;
  std::vector<std::string> names_;
  Vec w_;
};

double diameter(CMatMap x);
double inner_spread(CMatMap x);

}  // namespace attnflow
