#pragma once
// The ranks of a distributed run (attnflow-mpi, docs/mpi.md). The library never includes <mpi.h>:
// the MPI executable (mpi/) implements Comm on MPI_COMM_WORLD and hands it to the simulation;
// physics code sees only this interface, and a serial run has none (nullptr).
//
// Rows: rank r of P owns the contiguous tokens [offset, offset + count) of N, in the global token
// order (N / P each, the first N mod P ranks one more), so gathered states and the run file are in
// the serial order.
//
// Determinism: every collective here gives the same bits on every rank and, for a fixed rank
// count, on every run: sum() gathers the ranks' partial sums and adds them in rank order (an
// MPI_Allreduce may add in an order that depends on the algorithm it picks and may differ between
// ranks). Across rank counts the partial sums differ, so results agree to rounding only.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "sim/core/state.hpp"

namespace attnflow {

struct RowBlock {
  Index offset = 0, count = 0, total = 0;
};
RowBlock row_block(Index n, int rank, int size);

class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // In place: v[k] = sum over ranks of v[k], added in rank order (the same bits everywhere).
  virtual void sum(double* v, int n) const = 0;
  // The largest v over the ranks.
  virtual std::int64_t max(std::int64_t v) const = 0;
  // Every rank's rows (row-major, `cols` columns, counts by row_block(total, r, P)) into `all`
  // (total x cols) on every rank.
  virtual void gather_rows(const double* mine, Index cols, double* all, Index total) const = 0;
  virtual void barrier() const = 0;
  // root's `s` on every rank.
  virtual void broadcast(std::string& s, int root = 0) const = 0;

  // One step of the ring: sends `count` doubles to rank + 1 and receives at most `cap` doubles
  // from rank - 1 into `recv`, non-blocking (MPI_Isend / MPI_Irecv); wait() completes both and
  // returns the number received. `send` and `recv` must stay untouched until then.
  class Shift {
   public:
    virtual ~Shift() = default;
    virtual Index wait() = 0;
    // Lets the transfer progress (MPI_Testall) while the caller computes.
    virtual void test() = 0;
  };
  virtual std::unique_ptr<Shift> shift(const double* send, Index count, double* recv,
                                       Index cap) const = 0;

  // The MPI communicator (an MPI_Comm*) for parallel HDF5 in sim/io's MPI build.
  virtual const void* native() const = 0;
};

// Signals under MPI: the handler records the signal in g_local_signal only; every rank calls
// agree_on_signals() at the same point of the run (before each step), which sets
// g_pending_signal (sim/core/interrupt.hpp) on all ranks at once to the largest signal any rank
// received. So all ranks stop at the same step and no rank waits for one that has stopped.
// Every rank's rows of a state (positions, then momenta) into `all`, the whole system's state
// (all.shape: N tokens), on every rank.
void gather_state(const Comm& comm, const State& mine, State& all);

extern std::atomic<int> g_local_signal;
void agree_on_signals(const Comm& comm);

}  // namespace attnflow
