#include "sim/core/comm.hpp"

#include "sim/core/interrupt.hpp"

namespace attnflow {

std::atomic<int> g_local_signal{0};

RowBlock row_block(Index n, int rank, int size) {
  const Index p = size, r = rank, base = n / p, extra = n % p;
  RowBlock b;
  b.total = n;
  b.count = base + (r < extra ? 1 : 0);
  b.offset = r * base + std::min(r, extra);
  return b;
}

void gather_state(const Comm& comm, const State& mine, State& all) {
  const Shape whole = all.shape;
  comm.gather_rows(mine.u.data(), whole.d, all.u.data(), whole.n);
  if (whole.momentum)
    comm.gather_rows(mine.u.data() + mine.shape.block(), whole.d, all.u.data() + whole.block(),
                     whole.n);
}

void agree_on_signals(const Comm& comm) {
  const auto sig = comm.max(g_local_signal.load(std::memory_order_relaxed));
  if (sig != 0) g_pending_signal.store(static_cast<int>(sig), std::memory_order_relaxed);
}

}  // namespace attnflow
