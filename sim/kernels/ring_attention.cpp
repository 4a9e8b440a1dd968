#include "sim/kernels/ring_attention.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

namespace attnflow {

namespace {

// A block on the wire: [rows, dk, dv, has_bias | keys | values | bias], row-major.
constexpr Index kHeader = 4;

void pack(const AttentionPass& p, std::vector<double>& buf) {
  const Index n = p.k->rows(), dk = p.k->cols(), dv = p.v ? p.v->cols() : 0;
  const bool bias = p.key_bias != nullptr;
  buf.resize(static_cast<std::size_t>(kHeader + n * (dk + dv + (bias ? 1 : 0))));
  double* b = buf.data();
  b[0] = double(n), b[1] = double(dk), b[2] = double(dv), b[3] = bias ? 1 : 0;
  b += kHeader;
  std::copy(p.k->data(), p.k->data() + n * dk, b);
  b += n * dk;
  if (dv) std::copy(p.v->data(), p.v->data() + n * dv, b), b += n * dv;
  if (bias) std::copy(p.key_bias->data(), p.key_bias->data() + n, b);
}

// Rows [r0, r1) of a packed block.
struct Unpacked {
  RowMat k, v;
  Vec bias;
};
void unpack(const double* buf, Index r0, Index r1, Unpacked& u) {
  const Index n = Index(buf[0]), dk = Index(buf[1]), dv = Index(buf[2]);
  const bool bias = buf[3] != 0;
  const double* k = buf + kHeader;
  const double* v = k + n * dk;
  const double* bb = v + n * dv;
  const Index m = r1 - r0;
  u.k = Eigen::Map<const RowMat>(k + r0 * dk, m, dk);
  if (dv) u.v = Eigen::Map<const RowMat>(v + r0 * dv, m, dv);
  if (bias) u.bias = Eigen::Map<const Vec>(bb + r0, m);
}

// Sub-blocks per received block: the kernel lets MPI progress the transfer in between.
constexpr Index kSubBlocks = 4;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

RingCounters& ring_counters() {
  static RingCounters c;
  return c;
}

void stream_attention(const AttentionPass& p, RowMat* out, Vec* logz, const Comm* comm) {
  if (!comm) return stream_attention(p, out, logz);
  const int P = comm->size();
  const Index dk = p.k->cols(), dv = p.v ? p.v->cols() : 0;
  const Index most = comm->max(p.k->rows());
  const Index cap = kHeader + most * (dk + dv + (p.key_bias ? 1 : 0));
  std::vector<double> cur, next(static_cast<std::size_t>(cap));
  pack(p, cur);
  SoftmaxCarry carry;
  Unpacked u;
  RingCounters& rc = ring_counters();
  ++rc.passes;
  for (int s = 0; s < P; ++s) {
    std::unique_ptr<Comm::Shift> flight;
    if (s + 1 < P) {
      flight = comm->shift(cur.data(), Index(cur.size()), next.data(), cap);
      rc.doubles_sent += double(cur.size());
    }
    const auto t_kernel = std::chrono::steady_clock::now();
    const Index n = Index(cur[0]);
    const Index step = std::max<Index>(1, (n + kSubBlocks - 1) / kSubBlocks);
    for (Index r0 = 0; r0 < n; r0 += step) {
      const Index r1 = std::min(n, r0 + step);
      unpack(cur.data(), r0, r1, u);
      AttentionPass sub{p.q, &u.k, dv ? &u.v : nullptr, p.key_bias ? &u.bias : nullptr, p.norm};
      stream_attention_accumulate(sub, carry);
      if (flight) flight->test();
    }
    rc.kernel_seconds += seconds_since(t_kernel);
    if (flight) {
      const auto t_wait = std::chrono::steady_clock::now();
      const Index got = flight->wait();
      rc.wait_seconds += seconds_since(t_wait);
      next.resize(static_cast<std::size_t>(got));
      std::swap(cur, next);
      next.resize(static_cast<std::size_t>(cap));
    }
  }
  finish_attention(carry, p.norm, out, logz);
}

}  // namespace attnflow
