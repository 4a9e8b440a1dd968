#pragma once
// Polyadic tasks solved by one poly-attention head with explicit weights (Chakrabarti,
// Pitassi, Alman, arXiv 2602.02422; research note polyattention.md section 4, all constructions
// [D] there). Each instance is a block of N tokens; an embedding row is linear-feature data
// and every projection is linear in it: Q^{(j)} = X WQ_j^T (dk wide), V^{(j)} = X WV_j^T (dv wide).
// The last embedding column is the answer slot, written by the model's layer (-1 = unanswered).
//
// function_composition (FC_r(m), note 4.1): N = r m + 1 tokens, D = r + 7 columns
//   [1, in, in^2, out, out^2, onehot(type 0..r), answer]; token (s-1)m + a is (type s, in a,
//   out f_s(a)); the last is the query (type 0, in x). Target y = f_r(...f_1(x)).
//   tree:     h = x1x2 + ... + x_r x_{r+1}, dk = 4r; edge s owns block B_s = [4(s-1), 4s):
//             Q^{(s)}|B_s = [u^2, u, 1, 1] (u = in for s = 1, out otherwise),
//             Q^{(s+1)}|B_s = [-L, 2L in, -L in^2, -L_T (1 - 1[type = s])]
//             => edge score -L (u - in')^2 - L_T 1[type' != s];  V^{(2..r)} = 1, V^{(r+1)} = out.
//   strassen: r = 2, h = x1x2 + x2x3 + x3x1 with the same 8 coordinates (x3x1 block empty).
//   tensor:   r = 2, h = x1x2x3: Q^{(3)} = 1 on B_1, Q^{(1)} = 1 on B_2.
//   Read-out: round(Att_query). Default L = L_T = r ln N + ln(2(m-1)) + 1.
// match3, tensor (mod M, note 4.2a): D = 5 [1, cos th, sin th, x, answer], th = 2 pi x / M,
//   h = x1x2x3, dk = dv = 4: Q1 = L[cos, -cos, -sin, -sin], Q2 = V2 = [cos, sin, cos, sin],
//   Q3 = V3 = [cos, sin, sin, cos]; score L cos(th_i + th_j + th_k).
//   g_i = cos th_i (o1 - o2) - sin th_i (o3 + o4); y_i = 1[g_i > (1 + cos(2 pi/M))/2].
//   Default L = [ln N^2 + ln(4/(1 - cos(2 pi/M)))] / (1 - cos(2 pi/M)).
// match3, strassen (integers, note 4.2b): D = 4 [1, x, x^2, answer], x in [-range, range],
//   h = x1x2 + x2x3 + x3x1, dk = dv = 5: score -L (a+b+c)^2 + L a^2;
//   g_i = a^2 + 2a(o1 + o2) + o3 + o4 + 2 o5 = E[(a+b+c)^2]; y_i = 1[g_i < 1/2].
//   Default L = ln(2 N^2) + 1 (then g <= N^2 e^{-L} < 1/2 on positives).
// Target of match3: y_i = 1 iff some j, k (repeats and j = i allowed) have x_i + x_j + x_k = 0
// (mod M for the tensor version).
#include <cstdint>
#include <string>
#include <vector>

#include "sim/kernels/poly_polynomial.hpp"
#include "sim/core/state.hpp"

namespace attnflow {

enum class PolyTaskKind { None, FunctionComposition, Match3 };

struct PolyTaskSpec {
  PolyTaskKind kind = PolyTaskKind::None;
  std::string mechanism = "tree";  // tree | strassen | tensor
  int r = 2;                       // FC: composition depth
  int m = 5;                       // FC: domain size [m]
  int modulus = 7;                 // match3 tensor: M
  int length = 6;                  // match3: tokens per instance
  int range = 4;                   // match3 strassen: x in [-range, range]
  int instances = 20;
  double lambda = 0;               // <= 0: the default (sufficient) value
};

Index poly_task_tokens(const PolyTaskSpec& t);  // N per instance
Index poly_task_dim(const PolyTaskSpec& t);     // D
Polynomial poly_task_polynomial(const PolyTaskSpec& t);
double poly_task_default_lambda(const PolyTaskSpec& t);
// Empty if the (task, mechanism, r) combination exists, else why not.
std::string poly_task_unsupported(const PolyTaskSpec& t);

struct PolyTaskWeights {
  std::vector<RowMat> WQ;  // t matrices dk x D
  std::vector<RowMat> WV;  // t matrices dv x D (WV[0] unused)
};
PolyTaskWeights poly_task_weights(const PolyTaskSpec& t, double lambda);

// Random instances (stream "model.task"): x gets instances * N rows, D columns.
void poly_task_encode(const PolyTaskSpec& t, std::uint64_t seed, MatMap x);

// One instance (rows xi, N x D) and its attention output att (N x dv): the answer per token
// (FC: the query token only; other entries -1), its target, and the signed margin of every
// judged token (> 0: the thresholded / rounded read-out is right).
struct PolyTaskReadout {
  Vec answer, truth, margin;  // N each; margin = +inf for tokens not judged
};
PolyTaskReadout poly_task_readout(const PolyTaskSpec& t, const RowMat& xi, const RowMat& att);
Vec poly_task_truth(const PolyTaskSpec& t, const RowMat& xi);

}  // namespace attnflow
