#pragma once
// Attention polynomials h(x1, ..., xt) (Chakrabarti, Pitassi, Alman, "Poly-attention",
// arXiv 2602.02422; research note polyattention.md section 1.1):
//
//   h = sum over a SET of monomials mu, each a product of >= 2 distinct variables:
//       multilinear (no x_j^2), coefficients 0/1 (no repeated monomial), degree k = max |mu| >= 2.
//   t = largest variable index; x1 is the query variable (it indexes the output row).
//
// Text form: "x1*x2 + x2*x3" (whitespace free; an explicit coefficient "1*" is accepted).
// parse_polynomial() rejects anything else with a message that names the character position.
//
// Structure (note 2.4, 3.2-3.4), used to pick the algorithm:
//   tensor : one monomial x1 x2 ... xt
//   forest : degree 2 and the graph (vertex = variable, edge = monomial x_a x_b) has no cycle
//            ("tree polynomial"; variables in no monomial are allowed)
//   cycle  : degree 2, t >= 3 and the graph is one cycle through all t variables (C_3 = Strassen)
#include <string>
#include <vector>

namespace attnflow {

struct Polynomial {
  int t = 0;                             // number of variables (largest index)
  std::vector<std::vector<int>> monos;   // 0-based variable indices, each sorted ascending
  int degree() const;
  int size() const { return static_cast<int>(monos.size()); }
  bool uses(int var) const;              // does some monomial contain var?
  bool is_tensor() const;
  bool is_forest() const;
  bool is_cycle() const;
  // For a cycle: the variables in cycle order starting at 0 (the query variable).
  std::vector<int> cycle_order() const;
  std::string str() const;               // canonical text, e.g. "x1*x2 + x2*x3"
};

// Parses and validates; throws PolyParseError on invalid input.
struct PolyParseError {
  std::string message;
  int column = 0;  // 1-based position in the text (0 = whole text)
};
Polynomial parse_polynomial(const std::string& text);

// Named polynomials: path (x1x2 + ... + x_r x_{r+1}), cycle C_t, tensor x1...xt.
Polynomial path_polynomial(int r);
Polynomial cycle_polynomial(int t);
Polynomial tensor_polynomial(int t);

}  // namespace attnflow
