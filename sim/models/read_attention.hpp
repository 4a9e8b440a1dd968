#pragma once
// Reading the keys the attention-family models share, so that every model validates them alike:
//
//   normalization = "softmax" | "mean"     SA or USA (GLPR eq. 2.3)
//   beta          >= 0                     inverse temperature
//   Q, K, V       d x d matrix parameters  "identity" | "random" | "goe" | ... | [[...]]
//                                          (sim/config/matrix_param.hpp)
//   V             also "QtK" or "-QtK": V = +/- Q^T K (GLPR's attractive / repulsive
//                 pairing; drawn with Q and K, so per system when they are)
#include <cstdint>

#include "sim/config/matrix_param.hpp"
#include "sim/config/section.hpp"
#include "sim/models/attention.hpp"

namespace attnflow {

// beta >= 0 (default 1), the same rule in every model that has one.
inline double read_beta(Section& m, double def = 1.0) { return m.non_negative("beta", def); }

inline Normalization read_normalization(Section& m) {
  return m.choice("normalization", {"softmax", "mean"}, "softmax") == "mean"
             ? Normalization::Mean
             : Normalization::Softmax;
}

// The parameters of AttentionParams as read, with random matrices still to be drawn.
struct AttentionSpec {
  Normalization norm = Normalization::Softmax;
  double beta = 1.0;
  MatrixParam Q, K, V;
  int v_from_qk = 0;  // +1: V = Q^T K, -1: V = -Q^T K, 0: V as read
  AttentionParams resolve(Index d, std::uint64_t seed) const {
    AttentionParams p;
    p.norm = norm;
    p.beta = beta;
    p.Q = Q.resolve(d, seed);
    p.K = K.resolve(d, seed);
    p.V = v_from_qk ? RowMat(double(v_from_qk) * (p.Q.transpose() * p.K)) : V.resolve(d, seed);
    return p;
  }
};

// The keys read_attention_spec reads (`attnflow help model attention`).
inline std::vector<KeyDoc> attention_key_docs() {
  const std::string glpr = "GLPR (Geshkovski, Letrouit, Polyanskiy, Rigollet, arXiv 2312.10794)";
  return {
      {"normalization", "choice", "\"softmax\"", "\"softmax\" | \"mean\"",
       "softmax: weights exp(beta <Q x_i, K x_j>) / Z_i (SA); mean: the same weights divided "
       "by N instead of Z_i (USA)", glpr + ", eq. (2.3)"},
      {"beta", "number", "1.0", ">= 0", "inverse temperature of the weights", glpr},
      matrix_key_doc("Q", "query matrix: scores <Q x_i, K x_j>", glpr),
      matrix_key_doc("K", "key matrix", glpr),
      matrix_key_doc("V", "value matrix: x_i' = sum_j w_ij V x_j; also \"QtK\" / \"-QtK\": "
                     "V = +/- Q^T K (attractive / repulsive pairing, drawn with Q and K)", glpr),
  };
}

inline AttentionSpec read_attention_spec(Section& m, Index d) {
  AttentionSpec s;
  s.norm = read_normalization(m);
  s.beta = read_beta(m);
  s.Q = read_matrix_param(m, "Q", d);
  s.K = read_matrix_param(m, "K", d);
  if (m.is_string("V")) {
    const std::string v = m.string("V");
    if (v == "QtK" || v == "-QtK") {
      s.v_from_qk = v == "QtK" ? 1 : -1;
      return s;
    }
  }
  s.V = read_matrix_param(m, "V", d);
  return s;
}

}  // namespace attnflow
