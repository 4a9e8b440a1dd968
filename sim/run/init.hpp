#pragma once
// Initial token clouds ([tokens] init), drawn from the seed stream "tokens.init":
//   gaussian       x_i ~ N(mean, cov)
//   uniform_sphere x_i uniform on S^{d-1}
//   elliptical_t   x_i = mean + L z / sqrt(w / nu), z ~ N(0, I), w ~ chi2(nu), L L^T = cov
//                  (multivariate t, an elliptically contoured law; SympFormer section 6)
//   orthogonal     x_i = e_i (needs d >= N); GLPR's equiangular initial condition
//   clusters       `clusters` centres uniform on S^{d-1} (sphere) or N(0, I) (euclidean),
//                  tokens = centre + spread * N(0, I), assigned round-robin
//   hemisphere     uniform in the open cap {<x, e_1> > cos(spread)} of S^{d-1}
//   file           CSV of N rows and d columns
// On the sphere every token is then normalised. Momenta ([tokens] momentum): zero,
// gaussian (momentum_scale * N(0, I), stream "tokens.momentum"), affine y_i = P0 x_i + c0.
#include "sim/config/scenario.hpp"
#include "sim/core/state.hpp"

namespace attnflow {

// The initial state of the scenario's [tokens], drawn from `seed` (stream "tokens.init").
State initial_state(const Scenario& sc, std::uint64_t seed);
inline State initial_state(const Scenario& sc) { return initial_state(sc, sc.run.seed); }

}  // namespace attnflow
