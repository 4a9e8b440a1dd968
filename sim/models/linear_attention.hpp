#pragma once
// Linear self-attention flow x_i' = (1/N) sum_j (x_i^T A x_j) V x_j (sim/models/linear_attention.cpp).
#include <memory>

#include "sim/core/model.hpp"

namespace attnflow {

// A, V: d x d. On the sphere the field is projected onto the tangent space.
std::unique_ptr<Flow> make_linear_attention(Shape shape, Space space, RowMat A, RowMat V);

}  // namespace attnflow
