#pragma once
// Kuramoto phase oscillators (formulas, observables and keys in sim/models/kuramoto.cpp):
//
//   theta_i' = omega_i + (K/N) sum_j J_ij sin(theta_j - theta_i),   x = theta (tokens.d = 1)
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/model.hpp"
#include "sim/kernels/frequency_laws.hpp"

namespace attnflow {

enum class KuramotoRule { Uniform, Ssa, Matrix };

struct KuramotoParams {
  double K = 1.0;                         // coupling
  KuramotoRule rule = KuramotoRule::Uniform;
  double alpha = 1.0;                     // SSA rule: J_ij = exp(-alpha (omega_i - omega_j)^2)
  bool pairs = false;                     // tokens (2k, 2k+1) are independent Adler pairs
  Vec omega;                              // N natural frequencies
  RowMat J;                               // N x N (matrix rule)
  std::string initial = "uniform";        // initial phases: uniform | zero | from_tokens |
                                          // wrapped_cauchy
  double r0 = 0.0, psi0 = 0.0;            // wrapped_cauchy: first moment r0 e^{i psi0}
  double t0 = 0.0;                        // integrator.t0 (r_ott_antonsen starts there)
  double average_from = 0.0;              // time averages over frames with t >= this
  FrequencyLaw law = FrequencyLaw::None;  // the law omega was drawn from (r_theory), if any
  double scale = 1.0;                     // its gamma | sigma | width
};

// `coherence`: keep the N x N time-averaged coherence (the coherence_* observables).
std::unique_ptr<Flow> make_kuramoto(Shape shape, KuramotoParams p, std::uint64_t seed,
                                    bool coherence = false);

// The observables a configuration offers, and those it cannot with the reason.
void kuramoto_observables(const KuramotoParams& p, Index n, std::vector<std::string>& offered,
                          std::vector<std::pair<std::string, std::string>>& unavailable);

}  // namespace attnflow
