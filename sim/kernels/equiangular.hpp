#pragma once
// GLPR's equiangular reduction (Geshkovski, Letrouit, Polyanskiy, Rigollet, arXiv 2312.10794,
// Theorem 6.8; research/sympformer.md 9.2): n pairwise orthogonal tokens on the sphere stay
// equiangular under SA / USA with Q = K = V = I, with gamma(t) = <x_i(t), x_j(t)>, gamma(t0) = 0:
//
//   SA  (6.9):  gamma' = 2 e^{beta gamma} (1 - gamma) ((n - 1) gamma + 1) / (e^beta + (n - 1) e^{beta gamma})
//   USA (6.10): gamma' = (2/n) e^{beta gamma} (1 - gamma) ((n - 1) gamma + 1)
//
// Theorem 6.9 compares uniform random tokens in high dimension d with this curve.
#include <vector>

#include "sim/core/state.hpp"

namespace attnflow {

// gamma at the given (non-decreasing) times, by RK4 with steps <= 1e-3 from gamma(t0) = 0.
std::vector<double> equiangular_gamma(const std::vector<double>& times, double t0, Index n,
                                      double beta, bool softmax);

}  // namespace attnflow
