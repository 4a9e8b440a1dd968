#include "sim/kernels/ssa_operator.hpp"

#include <algorithm>

#include "sim/kernels/pair_stream.hpp"
#include "sim/core/parallel.hpp"

namespace attnflow {

double fixed_sum(const double* a, Index n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  Index i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += a[i + k];
  double tail = 0;
  for (; i < n; ++i) tail += a[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail;
}

void phase_sums(const double* x, Index n, double* s, double* c, double& sum_c, double& sum_s) {
  const Index nb = (n + kSumBlock - 1) / kSumBlock;
  std::vector<double> pc(static_cast<std::size_t>(nb)), ps(static_cast<std::size_t>(nb));
  parallel_for(nb, n >= kParallelMin, [&](Index b) {
    const Index lo = b * kSumBlock, len = std::min(kSumBlock, n - lo);
    alignas(64) double sb[kSumBlock], cb[kSumBlock];
    double* so = s ? s + lo : sb;
    double* co = c ? c + lo : cb;
    sincos_range(x + lo, len, so, co);
    pc[b] = fixed_sum(co, len);
    ps[b] = fixed_sum(so, len);
  });
  sum_c = 0;
  sum_s = 0;
  for (Index b = 0; b < nb; ++b) {
    sum_c += pc[b];
    sum_s += ps[b];
  }
}

namespace ssa {

double order_parameter(const double* theta, Index n, Index d, Index ld) {
  if (n == 0 || d == 0) return 0;
  double r = 0;
  for (Index c = 0; c < d; ++c) {
    double cs = 0, sn = 0;
    for (Index j = 0; j < n; ++j) {
      double s, co;
      fast_sincos(theta[j * ld + c], s, co);
      if (!(std::abs(theta[j * ld + c]) < 1e15)) { s = std::sin(theta[j * ld + c]); co = std::cos(theta[j * ld + c]); }
      cs += co;
      sn += s;
    }
    r += std::hypot(cs, sn) / static_cast<double>(n);
  }
  return r / static_cast<double>(d);
}

void top_k_row(double* row, Index n, Index self, Index k, std::vector<Index>& idx) {
  if (k <= 0 || k >= n) return;
  idx.resize(static_cast<std::size_t>(n));
  for (Index j = 0; j < n; ++j) idx[j] = j;
  auto before = [&](Index a, Index b) {
    if (row[a] != row[b]) return row[a] > row[b];
    if ((a == self) != (b == self)) return a == self;
    return a < b;
  };
  std::nth_element(idx.begin(), idx.begin() + (k - 1), idx.end(), before);
  // idx[0..k) are the kept entries; zero the rest.
  for (Index t = k; t < n; ++t) row[idx[t]] = 0.0;
}

namespace {

inline void fill_row(const Head& h, Index i, double kr, double alpha, double* row) {
  const double* oi = h.omega + i * h.ld;
  for (Index j = 0; j < h.n; ++j) {
    const double* oj = h.omega + j * h.ld;
    double d2 = 0;
    for (Index c = 0; c < h.d; ++c) {
      const double df = oi[c] - oj[c];
      d2 += df * df;
    }
    row[j] = pair_weight(d2, i == j, kr, alpha);
  }
}

}  // namespace

namespace {
// One row of S at a time (the row buffer the optional top-k needs), then either A v (forward)
// or the row itself (matrix): a pair_stream evaluator over whole rows.
struct HeadRows {
  static constexpr Index kRows = 1, kCols = kWholeRow;
  struct Tile {
    std::vector<double> row;
    std::vector<Index> idx;
  };
  const Head& h;
  double kr, alpha;
  Index top_k;
  double* out;   // forward: N x ldo outputs; matrix: N x N (row pointer out + i * ldo)
  Index ldo;
  bool forward, normalized;

  Tile make_tile() const { return {std::vector<double>(forward ? static_cast<std::size_t>(h.n) : 0), {}}; }
  void begin(Tile&, Index, Index) const {}
  void end(Tile&, Index, Index) const {}
  void accumulate(Tile& t, Index i0, Index, Index, Index) const {
    const Index i = i0;
    double* row = forward ? t.row.data() : out + i * ldo;
    fill_row(h, i, kr, alpha, row);
    top_k_row(row, h.n, i, top_k, t.idx);
    if (!forward && !normalized) return;
    double z = 0;
    for (Index j = 0; j < h.n; ++j) z += row[j];
    z += kEps;
    if (!forward) {
      for (Index j = 0; j < h.n; ++j) row[j] /= z;
      return;
    }
    double* oi = out + i * ldo;
    for (Index c = 0; c < h.d; ++c) oi[c] = 0;
    for (Index j = 0; j < h.n; ++j) {
      if (row[j] == 0) continue;
      const double a = row[j] / z;
      const double* vj = h.v + j * h.ld;
      for (Index c = 0; c < h.d; ++c) oi[c] += a * vj[c];
    }
  }
};
}  // namespace

void head_forward(const Head& h, double kr, double alpha, Index top_k, double* out, Index ldo) {
  HeadRows e{h, kr, alpha, top_k, out, ldo, true, true};
  stream_rows(e, h.n, h.n, true);
}

RowMat head_matrix(const Head& h, double kr, double alpha, Index top_k, bool normalized) {
  RowMat m(h.n, h.n);
  HeadRows e{h, kr, alpha, top_k, m.data(), h.n, false, normalized};
  stream_rows(e, h.n, h.n, true);
  return m;
}

}  // namespace ssa
}  // namespace attnflow
