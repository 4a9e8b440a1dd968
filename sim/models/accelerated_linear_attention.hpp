#pragma once
// Accelerated linear attention = accelerated Stein flow with the bilinear kernel x^T A y
// (formulas in sim/models/accelerated_linear_attention.cpp; research/sympformer.md 3.4).
#include <memory>

#include "sim/models/second_order.hpp"

namespace attnflow {

// A, V: d x d symmetric; the state carries momenta.
std::unique_ptr<Flow> make_accelerated_linear_attention(Shape shape, Space space, RowMat A,
                                                        RowMat V, Damping damping);

}  // namespace attnflow
