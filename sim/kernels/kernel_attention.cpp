#include "sim/kernels/kernel_attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "sim/kernels/fast_exp.hpp"

namespace attnflow {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
// Parallelise only when there is enough work; below this the fork/join costs more than it saves.
constexpr double kParallelPairs = 65536;

// Small d (dk <= 4, dv in {0, dk, 2 dk}): one query row at a time, keys in structure-of-arrays form, one
// fused pass per key block (score, exp, sums) in registers. The softmax shift is lazy: a block is
// exponentiated against the running max mx of the earlier blocks (the first key's score to begin
// with) and the sums are rescaled only when the block max exceeds mx by kLazyShift; a block whose
// scores exceed mx by more than kRedoShift (exp would overflow) is redone against its own max.
// Softmax is shift-invariant, so this is the same sum as a two-pass max-then-exp, at one pass.
//
// Loop order: rows in blocks of kRows, keys in chunks of kChunk (about 100-200 KB, held in L2)
// and, inside a chunk, every row of the block walks the chunk's key blocks. Each row still visits
// the same key blocks in the same order whatever the thread count or the chunking.
template <int DV>
struct RowState {
  double mx, l, acc[DV > 0 ? DV : 1];
};

template <int DK, int DV, bool Bias>
inline void fused_block(const double* qc, RowState<DV>& st, const double* kt, const double* vt,
                        const double* bias, Index m, Index j0, Index jb) {
  constexpr double kLazyShift = 32, kRedoShift = 600;
  double shift = st.mx;
  for (int attempt = 0; attempt < 2; ++attempt) {
    double bm = kNegInf, lsum = 0, a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
#pragma omp simd reduction(max : bm) reduction(+ : lsum, a0, a1, a2, a3, a4, a5, a6, a7)
    for (Index j = j0; j < j0 + jb; ++j) {
      double s = Bias ? bias[j] - shift : -shift;
      for (int c = 0; c < DK; ++c) s += qc[c] * kt[c * m + j];
      bm = std::max(bm, s);
      const double w = fast_exp_below(s);
      lsum += w;
      if constexpr (DV > 0) a0 += w * vt[0 * m + j];
      if constexpr (DV > 1) a1 += w * vt[1 * m + j];
      if constexpr (DV > 2) a2 += w * vt[2 * m + j];
      if constexpr (DV > 3) a3 += w * vt[3 * m + j];
      if constexpr (DV > 4) a4 += w * vt[4 * m + j];
      if constexpr (DV > 5) a5 += w * vt[5 * m + j];
      if constexpr (DV > 6) a6 += w * vt[6 * m + j];
      if constexpr (DV > 7) a7 += w * vt[7 * m + j];
    }
    if (bm > kRedoShift && attempt == 0) {  // exp overflowed: redo against this block's max
      shift += bm;
      continue;
    }
    if (shift != st.mx) {  // the sums so far are relative to mx: bring them to the new shift
      const double scale = fast_exp_below(st.mx - shift);
      st.l *= scale;
      for (int c = 0; c < DV; ++c) st.acc[c] *= scale;
      st.mx = shift;
    }
    const double a[8] = {a0, a1, a2, a3, a4, a5, a6, a7};
    st.l += lsum;
    for (int c = 0; c < DV; ++c) st.acc[c] += a[c];
    if (bm > kLazyShift) {
      const double scale = fast_exp_below(-bm);
      st.l *= scale;
      for (int c = 0; c < DV; ++c) st.acc[c] *= scale;
      st.mx += bm;
    }
    return;
  }
}

template <int DK, int DV, bool Bias>
void fused_rows(const RowMat& q, const double* kt, const double* vt, const double* bias, Index m,
                bool mean, RowMat* out, Vec* logz) {
  constexpr Index kBlock = 512, kChunk = 8 * kBlock, kRows = 128;
  const Index n = q.rows(), row_blocks = (n + kRows - 1) / kRows;
#pragma omp parallel for schedule(static) if (double(n) * double(m) >= kParallelPairs)
  for (Index rb = 0; rb < row_blocks; ++rb) {
    const Index i0 = rb * kRows, rows = std::min(kRows, n - i0);
    RowState<DV> st[kRows];
    double qc[kRows][DK];
    for (Index r = 0; r < rows; ++r) {
      for (int c = 0; c < DK; ++c) qc[r][c] = q(i0 + r, c);
      st[r].mx = 0;  // the first key's score: a finite starting shift
      if (m > 0) {
        st[r].mx = Bias ? bias[0] : 0.0;
        for (int c = 0; c < DK; ++c) st[r].mx += qc[r][c] * kt[c * m];
      }
      st[r].l = 0;
      for (int c = 0; c < DV; ++c) st[r].acc[c] = 0;
    }
    for (Index c0 = 0; c0 < m; c0 += kChunk) {
      const Index c1 = std::min(c0 + kChunk, m);
      for (Index r = 0; r < rows; ++r)
        for (Index j0 = c0; j0 < c1; j0 += kBlock)
          fused_block<DK, DV, Bias>(qc[r], st[r], kt, vt, bias, m, j0, std::min(kBlock, c1 - j0));
    }
    for (Index r = 0; r < rows; ++r) {
      if (out) {
        const double f = mean ? std::exp(st[r].mx) / static_cast<double>(m) : 1.0 / st[r].l;
        for (int c = 0; c < DV; ++c) (*out)(i0 + r, c) = st[r].acc[c] * f;
      }
      if (logz) (*logz)[i0 + r] = st[r].mx + std::log(st[r].l);
    }
  }
}

// General d: flash-attention style tiles. A tile of query rows against a block of keys gives a
// score block S = Q_t K_b^T by GEMM; rows are rescaled online, S is exponentiated in place and
// accumulated as S V_b by GEMM. Each tile belongs to one thread (static schedule) and tiles are
// fixed by N, not by the thread count, so results do not depend on it. Memory: one
// kTile x kBlock score block per thread.
void tiled(const RowMat& q, const RowMat& k, const RowMat* v, const Vec* key_bias, bool mean,
           RowMat* out, Vec* logz) {
  constexpr Index kTile = 256, kBlock = 128;
  const Index n = q.rows(), m = k.rows(), dv = v ? v->cols() : 0;
  const Index tiles = (n + kTile - 1) / kTile;
#pragma omp parallel if (double(n) * double(m) >= kParallelPairs)
  {
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> s(kTile, kBlock);
    RowMat acc(kTile, dv);
    Vec mx(kTile), l(kTile);
#pragma omp for schedule(static)
    for (Index t = 0; t < tiles; ++t) {
      const Index i0 = t * kTile, qt = std::min(kTile, n - i0);
      acc.setZero();
      mx.setConstant(kNegInf);
      l.setZero();
      for (Index j0 = 0; j0 < m; j0 += kBlock) {
        const Index jb = std::min(kBlock, m - j0);
        auto sb = s.topLeftCorner(qt, jb);
        sb.noalias() = q.middleRows(i0, qt) * k.middleRows(j0, jb).transpose();
        if (key_bias) sb.rowwise() += key_bias->segment(j0, jb).transpose();
        for (Index r = 0; r < qt; ++r) {
          const double bm = sb.row(r).maxCoeff();
          if (bm > mx[r]) {
            const double scale = mx[r] == kNegInf ? 0.0 : std::exp(mx[r] - bm);
            l[r] *= scale;
            acc.row(r) *= scale;
            mx[r] = bm;
          }
          double* sp = sb.row(r).data();
          const double mr = mx[r];
          double lsum = 0;
#pragma omp simd reduction(+ : lsum)
          for (Index j = 0; j < jb; ++j) {
            sp[j] = fast_exp_nonpos(sp[j] - mr);
            lsum += sp[j];
          }
          l[r] += lsum;
        }
        if (dv > 0) acc.topRows(qt).noalias() += sb * v->middleRows(j0, jb);
      }
      for (Index r = 0; r < qt; ++r) {
        if (out) {
          const double f = mean ? std::exp(mx[r]) / static_cast<double>(m) : 1.0 / l[r];
          out->row(i0 + r) = acc.row(r) * f;
        }
        if (logz) (*logz)[i0 + r] = mx[r] + std::log(l[r]);
      }
    }
  }
}

template <int DK>
bool try_fused(const AttentionPass& p, RowMat* out, Vec* logz) {
  const Index dv = p.v ? p.v->cols() : 0;
  if (p.q->cols() != DK || (dv != 0 && dv != DK && dv != 2 * DK)) return false;
  const Index m = p.k->rows();
  const RowMat kt = p.k->transpose();
  RowMat vt;
  if (p.v) vt = p.v->transpose();
  const double* bias = p.key_bias ? p.key_bias->data() : nullptr;
  const bool mean = p.norm == Normalization::Mean;
  const double* v = p.v ? vt.data() : nullptr;
  const auto run = [&]<int DV>() {
    if (bias) fused_rows<DK, DV, true>(*p.q, kt.data(), v, bias, m, mean, out, logz);
    else fused_rows<DK, DV, false>(*p.q, kt.data(), v, bias, m, mean, out, logz);
  };
  if (dv == 0) run.template operator()<0>();
  else if (dv == DK) run.template operator()<DK>();
  else run.template operator()<2 * DK>();
  return true;
}

}  // namespace

void stream_attention(const AttentionPass& p, RowMat* out, Vec* logz) {
  const Index n = p.q->rows(), dv = p.v ? p.v->cols() : 0;
  if (out) out->resize(n, dv);
  if (logz) logz->resize(n);
  if (try_fused<1>(p, out, logz) || try_fused<2>(p, out, logz) || try_fused<3>(p, out, logz) ||
      try_fused<4>(p, out, logz))
    return;
  tiled(*p.q, *p.k, p.v, p.key_bias, p.norm == Normalization::Mean, out, logz);
}

}  // namespace attnflow
