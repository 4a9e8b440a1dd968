#pragma once
// A d x d matrix parameter of a model: "identity" | "-identity" | "random" | "gaussian_product" |
// "goe" | "random_spd" | "zero" | explicit array. With G, G1, G2 d x d with i.i.d. N(0, 1) entries:
//   random           : G / sqrt(d)             (i.i.d. N(0, 1/d) entries)
//   gaussian_product : G1 G2 / sqrt(d)         (GLPR's random bilinear form; entries of variance 1)
//   goe              : (G + G^T) / sqrt(2 d)   (symmetric; off-diagonal variance 1/d, diagonal 2/d)
//   random_spd       : I + G G^T / d           (symmetric positive definite)
// Random matrices are drawn from the stream "model.<key>" of the run seed.
#include <cstdint>
#include <string>

#include "sim/config/section.hpp"

namespace attnflow {

struct MatrixParam {
  enum class Kind { Identity, MinusIdentity, Random, GaussianProduct, Goe, RandomSpd, Explicit, Zero } kind =
      Kind::Identity;
  std::string key;
  RowMat value;  // Explicit
  RowMat resolve(Index d, std::uint64_t seed) const;
  bool is_identity() const { return kind == Kind::Identity; }
};

// Reads section[key] as a d x d matrix parameter (default `def` when absent).
MatrixParam read_matrix_param(Section& s, const std::string& key, Index d,
                              const std::string& def = "identity");

}  // namespace attnflow
