#pragma once
// Poly-attention operators (Chakrabarti, Pitassi, Alman, arXiv 2602.02422; research note
// polyattention.md sections 1.2-1.3 and 3):
//
//   Att_{l1} = sum_{l2..lt} exp(beta h(Q1_{l1}, ..., Qt_{lt})) V2_{l2} (.) ... (.) Vt_{lt}
//              / sum_{l2..lt} exp(beta h(...))                       (softmax over [n]^{t-1})
//   h(y_1..y_t) = sum_{mu in h} <y_mu>,   <y_1..y_m> = sum_c prod_i y_i[c]   (m-way inner product)
//   logz_{l1}   = log sum_{l2..lt} exp(beta h(...))
//
// Shapes: q[j] is n x dk for every variable j = 0..t-1 (q[0] = the query variable x1);
//         v[j] is n x dv for j >= 1 (v[0] unused); out is n x dv; logz is n.
// The paper's temperature 1/d is beta = 1/dk.
//
// Algorithms:
//   naive      any h. Depth-first enumeration of (l2..lt) with partial Hadamard products per
//              monomial and an online softmax per row: O(n^t (s dk + dv)) time, O(t (s dk + dv))
//              memory per row (note 3.1).
//   tree       forests (degree 2, acyclic). Leaf-to-root message passing in log space; every
//              edge is one streamed softmax pass (sim/kernel_attention) with a key bias
//              sum_c log Z_c and values V_j (.) prod_c m_c: O(s n^2 (dk + dv)) time, O(n (dk+dv))
//              memory per edge (note 3.2). Components without x1 and unused variables multiply
//              the output by a constant vector.
//   cycle      h = one cycle through all t >= 3 variables (t = 3: Strassen attention). Kernel
//              matrices K_i = exp(beta Q_{v_i} Q_{v_{i+1}}^T) (n x n, shifted by row / column /
//              global maxima), den = diag(K_0 K_1 ... K_{t-1}), num_c = diag(K_0 D_c K_1 ... K_{t-1})
//              with D_c = diag(V_{v_i}[:, c]): (t-2)(dv+1) GEMMs, O(n^3) time, O(t n^2) memory
//              (note 2.3, 3.3, 3.4). A row whose shifted denominator underflows is recomputed
//              by the naive enumeration, so the result stays exact.
//   polynomial approximation for bounded entries (note 3.5, step 3b): exp(beta <y_mu>) is
//              replaced by its degree-g Taylor polynomial, factorised over ordered coordinate
//              tuples (R = sum_{e<=g} dk^e features per monomial); the sums over tokens then
//              factor by variable: O(R^s t n dv) time. Not exact: compare with an exact one.
#include <string>
#include <vector>

#include "sim/kernels/poly_polynomial.hpp"
#include "sim/core/state.hpp"

namespace attnflow {

struct PolyInput {
  std::vector<RowMat> q;  // t matrices n x dk
  std::vector<RowMat> v;  // t matrices n x dv (v[0] unused)
  double beta = 1.0;
};

enum class PolyAlgorithm { Auto, Naive, Cycle, Tree, Polynomial };

PolyAlgorithm parse_poly_algorithm(const std::string& name);   // auto|naive|strassen|tree|polynomial
std::string poly_algorithm_name(PolyAlgorithm a);
// The exact algorithm "auto" picks: tree for forests, cycle for cycles, naive otherwise.
PolyAlgorithm auto_poly_algorithm(const Polynomial& h);
// Empty if algorithm a applies to h, else the reason it does not.
std::string poly_algorithm_unsupported(const Polynomial& h, PolyAlgorithm a);

void poly_naive(const Polynomial& h, const PolyInput& in, RowMat& out, Vec* logz = nullptr);
void poly_tree(const Polynomial& h, const PolyInput& in, RowMat& out, Vec* logz = nullptr);
void poly_cycle(const Polynomial& h, const PolyInput& in, RowMat& out, Vec* logz = nullptr);
void poly_polynomial(const Polynomial& h, const PolyInput& in, int degree, RowMat& out,
                     Vec* logz = nullptr);

// Dispatch (Auto resolved by auto_poly_algorithm). `degree` is used by Polynomial only.
void poly_attention(const Polynomial& h, PolyAlgorithm a, const PolyInput& in, RowMat& out,
                    Vec* logz = nullptr, int degree = 4);

// Attention passes one evaluation makes (Model::oracle_calls_per_rhs): tree = one per edge.
int poly_oracle_passes(const Polynomial& h, PolyAlgorithm a);
// Estimated elementary interactions of one evaluation at n tokens (for `validate`'s cost
// estimate): naive n^t, tree (t - 1) n^2, cycle n^3 (GEMM), polynomial n (features aside).
double poly_cost(const Polynomial& h, PolyAlgorithm a, double n);

}  // namespace attnflow
