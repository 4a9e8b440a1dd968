#pragma once
// `attnflow analyze RUN.h5 [RUN2.h5 ...] [options]` (SPEC section 2; SympFormer arXiv 2603.16535,
// research/sympformer.md 6.4, 7.3): reads H5MD runs (layout in sim/io/h5md_layout.hpp) through
// sim/io/h5md_reader.hpp and prints, per observable,
//   - fitted exponential rate r (log y = c - r t) and power-law exponent p (log y = c - p log t)
//     over --window T0 T1 (default: the whole run);
//   - sustained hitting times of each --threshold X (y/y(t0) < X from then on; --absolute
//     compares y itself), measured from the first frame;
//   - with several runs, a side-by-side table with ratios to the first run (rates, hitting
//     times, oracle calls and RHS evaluations from /parameters attributes);
//   - --ellipticity: linear-image, affine-image and Mahalanobis residuals between the first and
//     last frame of /particles/tokens/position (the test of sympformer.md 6.4; a softmax or
//     LayerNorm run is its negative control, O(1) residual);
//   - --density DENSITY.h5 (one particle run, tokens on the circle or phases): at every frame time
//     the two runs share, the exact Wasserstein-1 distance on the circle between the tokens and
//     the density of a circle_density run, and r, |c_2|, |c_3| of both (docs/mean_field.md 9);
//   - --write-fits: stores /analysis/fits/<observable> with attributes rate, t0, t1, intercept
//     (exponential fit) and power_rate, power_intercept, for the renderer to overlay.
// Exit codes: 0 ok, 2 bad options or input (missing observable, empty window), 4 unreadable file.
#include <string>
#include <vector>

namespace attnflow {

int analyze_main(const std::vector<std::string>& args);

}  // namespace attnflow
