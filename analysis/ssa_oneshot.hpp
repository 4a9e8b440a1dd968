#pragma once
// One-shot SSA analysis of a token cloud (Hays, arXiv 2602.14445; research/ssa.md 2, 5.6):
//
//   attnflow analyze RUN.h5 --ssa [--heads H] [--init default|figure|osn] [--frame K]
//                    [--seed S] [--write-matrices]
//
// Takes the token cloud X (N x D) of frame K (default: the last) of a run, applies one OSN
// block's SSA at initialisation (weights from the seed, as model "ssa" draws them) and a random
// transformer layer's softmax attention on the same LayerNorm'd input, and prints the
// statistics of analysis/attention_stats.hpp for both (sparsity, row entropy / ln N, CV,
// row max/min, head correlation). --write-matrices stores the per-head matrices as
// /analysis/matrices/ssa and /analysis/matrices/transformer ([H][N][N], N <= 4096) for
// `attnflow render --heatmap`.
#include <string>
#include <vector>

namespace attnflow {

// Exit code: 0 ok, 2 invalid options/input, 4 unreadable file.
int ssa_oneshot_main(const std::vector<std::string>& args);

}  // namespace attnflow
