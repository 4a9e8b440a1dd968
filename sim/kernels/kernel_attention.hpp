#pragma once
// The one streaming pair kernel shared by attention-like models.
//
// For queries q (N x dk), keys k (M x dk), values v (M x dv) and an optional key bias b (M):
//     s_ij  = <q_i, k_j> + b_j
//     out_i = sum_j exp(s_ij) v_j / Z_i,   Z_i = sum_j exp(s_ij)  (Softmax, "SA")
//                                          Z_i = M                 (Mean,    "USA")
//     logz_i = log sum_j exp(s_ij)
// A model supplies its score through q, k (and b: e.g. an RBF kernel exp(-|x-y|^2/h) is
// <2x/h, y> - |y|^2/h up to a per-query factor) and its value through v.
//
// Keys are streamed in blocks with an online (running-max) softmax, so memory is O((N+M)(dk+dv))
// and no N x M matrix exists. The loop is the generic row stream (sim/kernels/pair_stream.hpp):
// query rows are split statically over OpenMP threads; each row is computed by one thread in a
// fixed order, so results are bit-identical for any thread count; SIGINT is polled per chunk.
#include <optional>

#include "sim/core/state.hpp"

namespace attnflow {

enum class Normalization { Softmax, Mean };

struct AttentionPass {
  const RowMat* q = nullptr;     // N x dk
  const RowMat* k = nullptr;     // M x dk
  const RowMat* v = nullptr;     // M x dv (may be null: only logz is computed)
  const Vec* key_bias = nullptr; // M (optional)
  Normalization norm = Normalization::Softmax;
};

// out: N x dv (resized); logz: N (optional, resized).
void stream_attention(const AttentionPass& p, RowMat* out, Vec* logz = nullptr);

// Keys that arrive in pieces (the MPI ring sends key/value blocks from rank to rank): the online
// softmax state of every query row is carried between pieces,
//   sum_j exp(s_ij) = l_i exp(mx_i),   sum_j exp(s_ij) v_j = acc_i exp(mx_i),
// so the result equals one pass over all keys up to the order of the floating-point sums.
struct SoftmaxCarry {
  Vec mx, l;       // N
  RowMat acc;      // N x dv
  Index keys = 0;  // keys accumulated so far
};
// Adds the keys (and values, bias) of p to `carry` (p.norm is not used here).
void stream_attention_accumulate(const AttentionPass& p, SoftmaxCarry& carry);
// The pass's result from the carried state (Mean divides by carry.keys).
void finish_attention(const SoftmaxCarry& carry, Normalization norm, RowMat* out,
                      Vec* logz = nullptr);

}  // namespace attnflow
