#include "sim/kernels/kernel_attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "sim/core/error.hpp"
#include "sim/kernels/fast_exp.hpp"
#include "sim/kernels/pair_stream.hpp"

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

// The fused path as a pair_stream evaluator: rows in blocks of kRows, keys in chunks of kCols
// (about 100-200 KB, held in L2); inside a chunk every row of the block walks the chunk's key
// blocks of kBlock. Each row visits the same key blocks in the same order whatever the thread
// count or the chunking.
template <int DK, int DV, bool Bias>
struct FusedEval {
  static constexpr Index kBlock = 512, kCols = 8 * kBlock, kRows = 128;
  struct Tile {
    RowState<DV> st[kRows];
    double qc[kRows][DK];
  };
  const RowMat& q;
  const double *kt, *vt, *bias;
  Index m;
  bool mean;
  RowMat* out;
  Vec* logz;
  SoftmaxCarry* carry;  // non-null: continue from / store into the carried row states

  Tile make_tile() const {
    Tile t;  // uninitialised: begin() sets the rows it uses
    return t;
  }
  void begin(Tile& t, Index i0, Index i1) const {
    for (Index r = 0; r < i1 - i0; ++r) {
      for (int c = 0; c < DK; ++c) t.qc[r][c] = q(i0 + r, c);
      if (carry && carry->keys > 0) {
        t.st[r].mx = carry->mx[i0 + r];
        t.st[r].l = carry->l[i0 + r];
        for (int c = 0; c < DV; ++c) t.st[r].acc[c] = carry->acc(i0 + r, c);
        continue;
      }
      t.st[r].mx = 0;  // the first key's score: a finite starting shift
      if (m > 0) {
        t.st[r].mx = Bias ? bias[0] : 0.0;
        for (int c = 0; c < DK; ++c) t.st[r].mx += t.qc[r][c] * kt[c * m];
      }
      t.st[r].l = 0;
      for (int c = 0; c < DV; ++c) t.st[r].acc[c] = 0;
    }
  }
  void accumulate(Tile& t, Index i0, Index i1, Index c0, Index c1) const {
    for (Index r = 0; r < i1 - i0; ++r)
      for (Index j0 = c0; j0 < c1; j0 += kBlock)
        fused_block<DK, DV, Bias>(t.qc[r], t.st[r], kt, vt, bias, m, j0, std::min(kBlock, c1 - j0));
  }
  void end(Tile& t, Index i0, Index i1) const {
    for (Index r = 0; r < i1 - i0; ++r) {
      if (carry) {
        carry->mx[i0 + r] = t.st[r].mx;
        carry->l[i0 + r] = t.st[r].l;
        for (int c = 0; c < DV; ++c) carry->acc(i0 + r, c) = t.st[r].acc[c];
        continue;
      }
      if (out) {
        const double f = mean ? std::exp(t.st[r].mx) / static_cast<double>(m) : 1.0 / t.st[r].l;
        for (int c = 0; c < DV; ++c) (*out)(i0 + r, c) = t.st[r].acc[c] * f;
      }
      if (logz) (*logz)[i0 + r] = t.st[r].mx + std::log(t.st[r].l);
    }
  }
};

template <int DK, int DV, bool Bias>
void fused_rows(const RowMat& q, const double* kt, const double* vt, const double* bias, Index m,
                bool mean, RowMat* out, Vec* logz, SoftmaxCarry* carry) {
  FusedEval<DK, DV, Bias> e{q, kt, vt, bias, m, mean, out, logz, carry};
  stream_rows(e, q.rows(), m, double(q.rows()) * double(m) >= kParallelPairs);
}

// General d: flash-attention style tiles. A tile of query rows against a block of keys gives a
// score block S = Q_t K_b^T by GEMM; rows are rescaled online, S is exponentiated in place and
// accumulated as S V_b by GEMM. Tiles are fixed by N, not by the thread count, so results do not
// depend on it. Memory: one kRows x kCols score block per thread.
struct TiledEval {
  static constexpr Index kRows = 256, kCols = 128;
  struct Tile {
    RowMat s, acc;
    Vec mx, l;
  };
  const RowMat& q;
  const RowMat& k;
  const RowMat* v;
  const Vec* key_bias;
  bool mean;
  RowMat* out;
  Vec* logz;
  Index dv;
  SoftmaxCarry* carry;

  Tile make_tile() const {  // sized for the rows and keys there are (a small system: small tiles)
    const Index r = std::min(kRows, q.rows()), c = std::min(kCols, k.rows());
    return {RowMat(r, c), RowMat(r, dv), Vec(r), Vec(r)};
  }
  void begin(Tile& t, Index i0, Index i1) const {
    if (carry && carry->keys > 0) {
      const Index qt = i1 - i0;
      t.mx.head(qt) = carry->mx.segment(i0, qt);
      t.l.head(qt) = carry->l.segment(i0, qt);
      if (dv > 0) t.acc.topRows(qt) = carry->acc.middleRows(i0, qt);
      return;
    }
    t.acc.setZero();  // (whole tile: the rows of a last partial block are never read)
    t.mx.setConstant(kNegInf);
    t.l.setZero();
  }
  void accumulate(Tile& t, Index i0, Index i1, Index j0, Index j1) const {
    const Index qt = i1 - i0, jb = j1 - j0;
    auto sb = t.s.topLeftCorner(qt, jb);
    sb.noalias() = q.middleRows(i0, qt) * k.middleRows(j0, jb).transpose();
    if (key_bias) sb.rowwise() += key_bias->segment(j0, jb).transpose();
    for (Index r = 0; r < qt; ++r) {
      const double bm = sb.row(r).maxCoeff();
      if (bm > t.mx[r]) {
        const double scale = t.mx[r] == kNegInf ? 0.0 : std::exp(t.mx[r] - bm);
        t.l[r] *= scale;
        t.acc.row(r) *= scale;
        t.mx[r] = bm;
      }
      double* sp = sb.row(r).data();
      const double mr = t.mx[r];
      double lsum = 0;
#pragma omp simd reduction(+ : lsum)
      for (Index j = 0; j < jb; ++j) {
        sp[j] = fast_exp_nonpos(sp[j] - mr);
        lsum += sp[j];
      }
      t.l[r] += lsum;
    }
    if (dv > 0) t.acc.topRows(qt).noalias() += sb * v->middleRows(j0, jb);
  }
  void end(Tile& t, Index i0, Index i1) const {
    if (carry) {
      const Index qt = i1 - i0;
      carry->mx.segment(i0, qt) = t.mx.head(qt);
      carry->l.segment(i0, qt) = t.l.head(qt);
      if (dv > 0) carry->acc.middleRows(i0, qt) = t.acc.topRows(qt);
      return;
    }
    for (Index r = 0; r < i1 - i0; ++r) {
      if (out) {
        const double f = mean ? std::exp(t.mx[r]) / static_cast<double>(k.rows()) : 1.0 / t.l[r];
        out->row(i0 + r) = t.acc.row(r) * f;
      }
      if (logz) (*logz)[i0 + r] = t.mx[r] + std::log(t.l[r]);
    }
  }
};

void tiled(const RowMat& q, const RowMat& k, const RowMat* v, const Vec* key_bias, bool mean,
           RowMat* out, Vec* logz, SoftmaxCarry* carry) {
  TiledEval e{q, k, v, key_bias, mean, out, logz, v ? v->cols() : 0, carry};
  stream_rows(e, q.rows(), k.rows(), double(q.rows()) * double(k.rows()) >= kParallelPairs);
}

template <int DK>
bool try_fused(const AttentionPass& p, RowMat* out, Vec* logz, SoftmaxCarry* carry) {
  const Index dv = p.v ? p.v->cols() : 0;
  if (p.q->cols() != DK || (dv != 0 && dv != DK && dv != 2 * DK)) return false;
  const Index m = p.k->rows();
  // Keys and values in structure-of-arrays form; per-thread buffers, so that a small system
  // (an ensemble's, one per thread) allocates nothing per step.
  thread_local RowMat kt, vt;
  kt = p.k->transpose();
  if (p.v) vt = p.v->transpose();
  const double* bias = p.key_bias ? p.key_bias->data() : nullptr;
  const bool mean = p.norm == Normalization::Mean;
  const double* v = p.v ? vt.data() : nullptr;
  const auto run = [&]<int DV>() {
    if (bias) fused_rows<DK, DV, true>(*p.q, kt.data(), v, bias, m, mean, out, logz, carry);
    else fused_rows<DK, DV, false>(*p.q, kt.data(), v, bias, m, mean, out, logz, carry);
  };
  if (dv == 0) run.template operator()<0>();
  else if (dv == DK) run.template operator()<DK>();
  else run.template operator()<2 * DK>();
  return true;
}

}  // namespace

namespace {
void dispatch(const AttentionPass& p, RowMat* out, Vec* logz, SoftmaxCarry* carry) {
  if (try_fused<1>(p, out, logz, carry) || try_fused<2>(p, out, logz, carry) ||
      try_fused<3>(p, out, logz, carry) || try_fused<4>(p, out, logz, carry))
    return;
  tiled(*p.q, *p.k, p.v, p.key_bias, p.norm == Normalization::Mean, out, logz, carry);
}
}  // namespace

void stream_attention(const AttentionPass& p, RowMat* out, Vec* logz) {
  const Index n = p.q->rows(), dv = p.v ? p.v->cols() : 0;
  if (out) out->resize(n, dv);
  if (logz) logz->resize(n);
  dispatch(p, out, logz, nullptr);
}

void stream_attention_accumulate(const AttentionPass& p, SoftmaxCarry& carry) {
  const Index n = p.q->rows(), dv = p.v ? p.v->cols() : 0;
  if (p.k->rows() == 0) return;
  if (carry.keys == 0) {
    carry.mx.resize(n);
    carry.l.resize(n);
    carry.acc.resize(n, dv);
  } else if (carry.mx.size() != n || carry.acc.cols() != dv) {
    throw Error("stream_attention_accumulate: the carried state has another shape");
  }
  dispatch(p, nullptr, nullptr, &carry);
  carry.keys += p.k->rows();
}

void finish_attention(const SoftmaxCarry& carry, Normalization norm, RowMat* out, Vec* logz) {
  const Index n = carry.mx.size();
  if (carry.keys == 0) throw Error("finish_attention: no keys were accumulated");
  if (out) {
    out->resize(n, carry.acc.cols());
    for (Index i = 0; i < n; ++i) {
      const double f = norm == Normalization::Mean
                           ? std::exp(carry.mx[i]) / static_cast<double>(carry.keys)
                           : 1.0 / carry.l[i];
      out->row(i) = carry.acc.row(i) * f;
    }
  }
  if (logz) {
    logz->resize(n);
    for (Index i = 0; i < n; ++i) (*logz)[i] = carry.mx[i] + std::log(carry.l[i]);
  }
}

}  // namespace attnflow
