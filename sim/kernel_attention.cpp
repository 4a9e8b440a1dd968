#include "sim/kernel_attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "sim/fast_exp.hpp"

namespace attnflow {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
// Parallelise only when there is enough work; below this the fork/join costs more than it saves.
constexpr double kParallelPairs = 65536;

// Small d (dk <= 4, dv in {0, dk}): one query row at a time, keys in structure-of-arrays form,
// two fused passes per key block (block max of the scores, then exp + sums), everything in
// registers; the score is recomputed in the second pass instead of stored.
template <int DK, int DV, bool Bias>
void fused_rows(const RowMat& q, const double* kt, const double* vt, const double* bias, Index m,
                bool mean, RowMat* out, Vec* logz) {
  constexpr Index kBlock = 512;
  const Index n = q.rows();
#pragma omp parallel for schedule(static) if (double(n) * double(m) >= kParallelPairs)
  for (Index i = 0; i < n; ++i) {
    double qc[DK];
    for (int c = 0; c < DK; ++c) qc[c] = q(i, c);
    double mx = kNegInf, l = 0;
    double acc[DV > 0 ? DV : 1] = {};
    for (Index j0 = 0; j0 < m; j0 += kBlock) {
      const Index jb = std::min(kBlock, m - j0);
      double bm = kNegInf;
#pragma omp simd reduction(max : bm)
      for (Index j = j0; j < j0 + jb; ++j) {
        double s = 0.0;
        if constexpr (Bias) s = bias[j];
        for (int c = 0; c < DK; ++c) s += qc[c] * kt[c * m + j];
        bm = std::max(bm, s);
      }
      if (bm > mx) {
        const double scale = mx == kNegInf ? 0.0 : std::exp(mx - bm);
        l *= scale;
        for (int c = 0; c < DV; ++c) acc[c] *= scale;
        mx = bm;
      }
      double lsum = 0, a0 = 0, a1 = 0, a2 = 0, a3 = 0;
#pragma omp simd reduction(+ : lsum, a0, a1, a2, a3)
      for (Index j = j0; j < j0 + jb; ++j) {
        double s = 0.0;
        if constexpr (Bias) s = bias[j];
        for (int c = 0; c < DK; ++c) s += qc[c] * kt[c * m + j];
        const double w = fast_exp_nonpos(s - mx);
        lsum += w;
        if constexpr (DV > 0) a0 += w * vt[0 * m + j];
        if constexpr (DV > 1) a1 += w * vt[1 * m + j];
        if constexpr (DV > 2) a2 += w * vt[2 * m + j];
        if constexpr (DV > 3) a3 += w * vt[3 * m + j];
      }
      l += lsum;
      const double a[4] = {a0, a1, a2, a3};
      for (int c = 0; c < DV; ++c) acc[c] += a[c];
    }
    if (out) {
      const double f = mean ? std::exp(mx) / static_cast<double>(m) : 1.0 / l;
      for (int c = 0; c < DV; ++c) (*out)(i, c) = acc[c] * f;
    }
    if (logz) (*logz)[i] = mx + std::log(l);
  }
}

// General d: flash-attention style tiles. A tile of query rows against a block of keys gives a
// score block S = Q_t K_b^T by GEMM; rows are rescaled online, S is exponentiated in place and
// accumulated as S V_b by GEMM. Each tile belongs to one thread (static schedule) and tiles are
// fixed by N, not by the thread count, so results do not depend on it. Memory: one
// kTile x kBlock score block per thread.
void tiled(const RowMat& q, const RowMat& k, const RowMat* v, const Vec* key_bias, bool mean,
           RowMat* out, Vec* logz) {
  constexpr Index kTile = 32, kBlock = 256;
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
  if (p.q->cols() != DK || (dv != 0 && dv != DK)) return false;
  const Index m = p.k->rows();
  const RowMat kt = p.k->transpose();
  RowMat vt;
  if (p.v) vt = p.v->transpose();
  const double* bias = p.key_bias ? p.key_bias->data() : nullptr;
  const bool mean = p.norm == Normalization::Mean;
  if (dv == 0) {
    if (bias) fused_rows<DK, 0, true>(*p.q, kt.data(), nullptr, bias, m, mean, out, logz);
    else fused_rows<DK, 0, false>(*p.q, kt.data(), nullptr, bias, m, mean, out, logz);
  } else {
    if (bias) fused_rows<DK, DK, true>(*p.q, kt.data(), vt.data(), bias, m, mean, out, logz);
    else fused_rows<DK, DK, false>(*p.q, kt.data(), vt.data(), bias, m, mean, out, logz);
  }
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
