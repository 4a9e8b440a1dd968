#pragma once
// Discrete transformer layers (a LayerMap; formulas in sim/models/transformer.cpp).
#include <cstdint>
#include <memory>

#include "sim/models/attention.hpp"

namespace attnflow {

struct TransformerParams {
  AttentionParams attn;    // the attention sublayer (Q, K, V d x d, beta, normalization)
  bool layernorm = false;  // LN before attention and FFN (no affine part)
  bool ffn = false;        // feed-forward sublayer W2 gelu(W1 z + b1)
  Index hidden = 0;        // FFN width (weights drawn from stream "model.ffn" of `seed`)
};

std::unique_ptr<LayerMap> make_transformer(Shape shape, Space space, TransformerParams p,
                                           std::uint64_t seed);

}  // namespace attnflow
