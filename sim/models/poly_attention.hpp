#pragma once
// Poly-attention over an attention polynomial h, as a flow or as blocks, and polyadic tasks
// (formulas in sim/models/poly_attention.cpp; research/polyattention.md).
#include <cstdint>
#include <memory>
#include <string>

#include "sim/core/model.hpp"
#include "sim/kernels/poly_algorithms.hpp"
#include "sim/models/poly_tasks.hpp"

namespace attnflow {

struct PolyParams {
  Polynomial h;
  PolyAlgorithm algorithm = PolyAlgorithm::Auto;
  int degree = 4;
  double beta = 1.0;
  bool mean = false;
  bool layers = false;
  std::string Q = "identity", V = "identity";
  PolyTaskSpec task;
};

// A Flow (mode = flow), or a LayerMap (mode = layers, or a task).
std::unique_ptr<Model> make_poly_attention(Shape shape, Space space, PolyParams p,
                                           std::uint64_t seed);
// Whether the t-body energy observable is defined for these parameters.
bool poly_energy_exists(const PolyParams& p);

}  // namespace attnflow
