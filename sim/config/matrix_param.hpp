#pragma once
// A d x d matrix parameter of a model: "identity" | "-identity" | "random" | "gaussian_product" |
// "goe" | "random_spd" | "zero" | explicit array. With G, G1, G2 d x d with i.i.d. N(0, 1) entries:
//   random           : G / sqrt(d)             (i.i.d. N(0, 1/d) entries)
//   gaussian_product : G1 G2 / sqrt(d)         (GLPR's random bilinear form; entries of variance 1)
//   goe              : (G + G^T) / sqrt(2 d)   (symmetric; off-diagonal variance 1/d, diagonal 2/d)
//   random_spd       : I + G G^T / d           (symmetric positive definite)
//   [[...]]          : rows of numbers
//   { file = "w.npy" }                      NumPy .npy (read here: float64 or float32,
//                                           little-endian, C or Fortran order, 2-D)
//   { file = "w.h5", dataset = "/l0/Wq" }   a 2-D floating-point HDF5 dataset, read through the
//                                           reader sim/io registers (sim/config has no HDF5)
// File paths resolve against the scenario file's folder and are recorded as inputs of the run.
// Errors name the key's location in the scenario and the file: shape, dtype, byte order,
// truncation, a missing dataset, a non-finite entry.
// Random matrices are drawn from the stream "model.<key>" of the run seed.
#include <cstdint>
#include <string>

#include "sim/config/section.hpp"
#include "sim/core/key_doc.hpp"

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

// --- matrices in files -------------------------------------------------------------------------
// Both readers throw ConfigError with a message that does not name a location (the caller adds
// it): "dtype '<i8' is not supported (float64 or float32, little-endian)".

// A 2-D array from a NumPy .npy file (format versions 1, 2 and 3), as float64.
RowMat read_npy_matrix(const std::string& path);

// A 2-D dataset of an HDF5 file. sim/io/matrix_dataset.cpp registers the reader from a static
// initialiser of libattnflow; without one, { file = ..., dataset = ... } is a ConfigError.
using DatasetReader = RowMat (*)(const std::string& path, const std::string& dataset);
void set_dataset_reader(DatasetReader reader);
DatasetReader dataset_reader();

// Section[key] = { file = "...", dataset = "..." } read as a matrix (any shape; the caller checks
// it). Records the file as an input of the run; `source` (optional) receives its resolved path.
RowMat read_matrix_file(Section& s, const std::string& key, std::string* source = nullptr);
// The documentation of such a key (`attnflow help model KIND`): the values it takes and how
// random matrices are drawn.
inline KeyDoc matrix_key_doc(const std::string& key, const std::string& meaning,
                             const std::string& source = "", const std::string& when = "",
                             const std::string& def = "\"identity\"") {
  return KeyDoc(key, "matrix", def,
                "\"identity\" | \"-identity\" | \"random\" | \"gaussian_product\" | \"goe\" | "
                "\"random_spd\" | \"zero\" | d x d array | { file = \"w.npy\" } | "
                "{ file = \"w.h5\", dataset = \"/name\" }",
                meaning + " (with G, G1, G2 i.i.d. N(0, 1): random = G / sqrt(d), i.i.d. N(0, 1/d) entries; gaussian_product = "
                          "G1 G2 / sqrt(d); goe = (G + G^T) / sqrt(2 d); random_spd = I + G G^T / d; "
                          "drawn from run.model_seed, stream model." + key + ")",
                source, when);
}

}  // namespace attnflow
