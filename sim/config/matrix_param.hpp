#pragma once
// A d x d matrix parameter of a model: "identity" | "random" | "random_spd" | explicit array.
//   random     : i.i.d. N(0, 1/d) entries
//   random_spd : I + G G^T / d with G i.i.d. N(0, 1)   (symmetric positive definite)
// Random matrices are drawn from the stream "model.<key>" of the run seed.
#include <cstdint>
#include <string>

#include "sim/config/section.hpp"
#include "sim/core/key_doc.hpp"

namespace attnflow {

struct MatrixParam {
  enum class Kind { Identity, Random, RandomSpd, Explicit, Zero } kind = Kind::Identity;
  std::string key;
  RowMat value;  // Explicit
  RowMat resolve(Index d, std::uint64_t seed) const;
  bool is_identity() const { return kind == Kind::Identity; }
};

// Reads section[key] as a d x d matrix parameter (default `def` when absent).
MatrixParam read_matrix_param(Section& s, const std::string& key, Index d,
                              const std::string& def = "identity");

// The documentation of such a key (`attnflow help model KIND`): the values it takes and how
// random matrices are drawn.
inline KeyDoc matrix_key_doc(const std::string& key, const std::string& meaning,
                             const std::string& source = "", const std::string& when = "",
                             const std::string& def = "\"identity\"") {
  return KeyDoc(key, "matrix", def,
                "\"identity\" | \"random\" | \"random_spd\" | \"zero\" | d x d array",
                meaning + " (random: i.i.d. N(0, 1/d) entries; random_spd: I + G G^T / d, G "
                          "i.i.d. N(0, 1); both drawn from run.model_seed, stream model." + key + ")",
                source, when);
}

}  // namespace attnflow
