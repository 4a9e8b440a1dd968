#pragma once
// Wasserstein (or softmax-metric) gradient flow of an interaction energy plus an external
// potential (formulas in sim/models/interaction_energy.cpp).
#include <memory>
#include <string>

#include "sim/core/model.hpp"

namespace attnflow {

struct InteractionParams {
  std::string interaction = "none", potential = "none";
  double strength = 1.0, sigma = 1.0;
  bool softmax_mobility = false;
  RowMat H, A, B;
};

std::unique_ptr<Flow> make_interaction_energy(Shape shape, Space space, InteractionParams p);

}  // namespace attnflow
