#pragma once
// Statistics of attention / synchronisation matrices (research/ssa.md 5.6: explicit metrics for
// the SSA paper's claim 5, "non-uniform, head-diverse coupling at initialisation").
//
// Input: H matrices W_h (N x N, entries >= 0): SSA's un-normalised S, a softmax layer's A, or a
// Kuramoto run's time-averaged coherence max(C, 0). A_h = W_h with rows normalised to sum 1.
//
//   sparsity        fraction of off-diagonal W_ij that are exactly 0          (mean over heads)
//   row_entropy     mean over rows of -sum_j A_ij ln A_ij / ln N                (1 = uniform, 0 = one-hot)
//   cv              std / mean of the off-diagonal W_ij (0 if the mean is 0)    (mean over heads)
//   row_max_min     mean over rows whose off-diagonal entries are all > 0 of max/min of those
//                   entries (0 if no such row)                                  (mean over heads)
//   head_corr       mean over head pairs of the Pearson correlation of the off-diagonal W
//                   (a head with zero variance correlates 0; 0 for H = 1)
//   mean_max_weight mean over rows of max_j A_ij  (1/N for uniform attention)
//   offdiag_mean    mean of the off-diagonal W_ij
//
// Everything is summed serially in a fixed order (thread-count independent).
#include <string>
#include <vector>

#include "sim/core/state.hpp"

namespace attnflow {

// These statistics look at whole N x N matrices: observables built on them need N <= this.
constexpr Index kMaxStatTokens = 8192;

struct AttentionStats {
  double sparsity = 0, row_entropy = 0, cv = 0, row_max_min = 0, head_corr = 0,
         mean_max_weight = 0, offdiag_mean = 0;
  // By name (one of attention_stat_names()); throws on an unknown name.
  double get(const std::string& name) const;
};

std::vector<std::string> attention_stat_names();

AttentionStats attention_stats(const std::vector<RowMat>& heads);

}  // namespace attnflow
