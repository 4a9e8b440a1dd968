#pragma once
// Linear self-attention flow x_i' = (1/N) sum_j (x_i^T A x_j) V x_j (sim/models/linear_attention.cpp),
// and the reader pieces it shares with its closed moment ODE (sim/models/linear_attention_moments.cpp).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/config/matrix_param.hpp"
#include "sim/config/section.hpp"
#include "sim/core/key_doc.hpp"
#include "sim/core/model.hpp"

namespace attnflow {

// A, V: d x d. On the sphere the field is projected onto the tangent space. `moments`: follow the
// closed moment ODE from the first observed frame (the moment_residual observable).
std::unique_ptr<Flow> make_linear_attention(Shape shape, Space space, RowMat A, RowMat V,
                                            bool moments = false);

// The keys A | (beta, Q, K) and V as read, random matrices still to be drawn.
struct LinearAttentionSpec {
  bool has_a = false;  // A given (else A = beta Q^T K)
  double beta = 1.0;
  MatrixParam A, Q, K, V;
  RowMat score(Index d, std::uint64_t seed) const;  // A, or beta Q^T K
  RowMat value(Index d, std::uint64_t seed) const;  // V
  bool explicit_matrices() const;  // V and A (or Q and K) given as arrays
};
// Reads A (or beta, Q, K) and V of a d x d linear attention, with located errors.
LinearAttentionSpec read_linear_attention_spec(Section& m, Index d);
// Their documentation (`attnflow help model KIND`), with `source` as the paper.
std::vector<KeyDoc> linear_attention_key_docs(const std::string& source);

}  // namespace attnflow
