#pragma once
// The one pair loop. Every all-pairs computation in attnflow is a row stream: for each row i
// (a query token), a reduction over the columns j (key tokens, or the first free index of a
// tuple) in a fixed order. Attention passes (both kernel paths), Kuramoto's pair couplings, the
// SSA operator, naive poly-attention and the O(N^2) observables supply a small evaluator; this
// loop owns everything else:
//
//   for each row block [i0, i1)            blocks of Eval::kRows rows, split statically over
//                                          OpenMP threads (parallel only when asked)
//     e.begin(tile, i0, i1)                per-row state (running max, sums, ...)
//     for each column chunk [j0, j1)       chunks of Eval::kCols columns, in order
//       e.accumulate(tile, i0, i1, j0, j1) the arithmetic: scores, weights, values (vectorised)
//     e.end(tile, i0, i1)                  normalise, write the rows' results
//
// `Eval::Tile` is per-thread scratch, constructed once per thread by `e.make_tile()`.
//
// Memory: O(threads x tile), no rows x cols matrix unless an evaluator writes one on purpose.
// Determinism: a row block is computed by one thread and its columns in a fixed order, so the
// results do not depend on the number of threads.
// Interrupts: the loop polls for SIGINT/SIGTERM before every chunk; once one is pending, every
// thread skips its remaining work and the loop throws Interrupted after the parallel region
// (a long step stops within one chunk, not at the next step).
#include <algorithm>
#include <atomic>
#include <limits>

#include "sim/core/interrupt.hpp"
#include "sim/core/parallel.hpp"
#include "sim/core/state.hpp"

namespace attnflow {

// kCols for evaluators that reduce a whole row in one accumulate() call.
constexpr Index kWholeRow = std::numeric_limits<Index>::max() / 2;

template <class Eval>
void stream_rows(Eval& e, Index rows, Index cols, bool parallel) {
  constexpr Index kRows = Eval::kRows, kCols = Eval::kCols;
  const Index blocks = (rows + kRows - 1) / kRows;
  std::atomic<bool> stop{false};
  const auto block = [&](typename Eval::Tile& tile, Index b) {
    if (stop.load(std::memory_order_relaxed)) return;
    const Index i0 = b * kRows, i1 = std::min(rows, i0 + kRows);
    e.begin(tile, i0, i1);
    for (Index j0 = 0; j0 < cols; j0 += kCols) {
      if (interrupt_pending()) {
        stop.store(true, std::memory_order_relaxed);
        return;
      }
      e.accumulate(tile, i0, i1, j0, std::min(cols, j0 + kCols));
    }
    e.end(tile, i0, i1);
  };
  if (fork_threads(parallel)) {
#pragma omp parallel
    {
      auto tile = e.make_tile();
#pragma omp for schedule(static)
      for (Index b = 0; b < blocks; ++b) block(tile, b);
    }
  } else {
    auto tile = e.make_tile();
    for (Index b = 0; b < blocks; ++b) block(tile, b);
  }
  if (stop.load()) check_interrupt();
}

}  // namespace attnflow
