#pragma once
// Ring attention: the streaming kernel (sim/kernels/kernel_attention.hpp) over the ranks of a
// distributed run (attnflow-mpi, docs/mpi.md 2).
//
// Rank r of P holds its n_r query rows and its own n_r key/value rows (and key bias). The key
// blocks travel round the ring r -> r + 1: at step s = 0 .. P-1 rank r accumulates the block of
// rank (r - s) mod P into the online-softmax state of its rows (SoftmaxCarry: running max,
// normaliser and weighted sum per row) while the next block is in flight (double buffer,
// MPI_Isend / MPI_Irecv posted before the kernel, completed after it; the kernel calls
// MPI_Test between sub-blocks so that the transfer progresses). After P steps every row has seen
// all N keys:
//
//   out_i = sum_j exp(s_ij) v_j / Z_i,  Z_i = sum_j exp(s_ij) (Softmax) or N (Mean), s_ij = <q_i, k_j> + b_j
//
// the same result as one pass over all keys, up to the order of the floating-point sums (the
// blocks are added in another order for each rank count: results agree across rank counts to
// rounding, and are bit-identical across runs and thread counts for a fixed one).
//
// Memory: two blocks of ceil(N / P) (dk + dv + 1) doubles per rank besides the model's own;
// traffic per call and rank: (P - 1) blocks sent and received, (P - 1) / P N (dk + dv [+ 1]) doubles.
#include "sim/core/comm.hpp"
#include "sim/kernels/kernel_attention.hpp"

namespace attnflow {

// comm null: stream_attention(p, out, logz). Else p.q, p.k, p.v, p.key_bias are this rank's rows
// and the keys are those of every rank.
void stream_attention(const AttentionPass& p, RowMat* out, Vec* logz, const Comm* comm);

// What this process's ring passes cost (bench/mpi_ring.cpp): seconds in the kernel, seconds
// waiting for a block after the kernel had finished with the previous one (communication not
// hidden), doubles sent. Counted by the thread that calls stream_attention; reset by the caller.
struct RingCounters {
  double kernel_seconds = 0, wait_seconds = 0, doubles_sent = 0;
  std::int64_t passes = 0;
};
RingCounters& ring_counters();

}  // namespace attnflow
