#pragma once
// SympFormer's accelerated softmax attention particle system (formulas and conventions in
// sim/models/accelerated_attention.cpp; research/sympformer.md 3.3).
#include <memory>

#include "sim/models/second_order.hpp"

namespace attnflow {

struct AccAttentionParams {
  RowMat A, B, Hpot;       // d x d: A symmetric (scores x^T A y), B SPD (mobility), Hpot symmetric
  bool v1 = false;         // convention (b) of the authors' code instead of (a) density
  bool quadratic = false;  // potential 1/(2N) sum x^T Hpot x instead of the attention energy
  Damping damping;         // alpha(t) = c_log / t + c_lin
};

std::unique_ptr<Flow> make_accelerated_attention(Shape shape, Space space, AccAttentionParams p);

}  // namespace attnflow
