#include "sim/kernel_attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "sim/fast_exp.hpp"

namespace attnflow {

namespace {
constexpr Index kKeyBlock = 256;
}

void stream_attention(const AttentionPass& p, RowMat* out, Vec* logz) {
  const RowMat& q = *p.q;
  const RowMat& k = *p.k;
  const Index n = q.rows(), m = k.rows(), dk = q.cols();
  const Index dv = p.v ? p.v->cols() : 0;
  // Structure of arrays: one contiguous row per coordinate, so the j-loops are unit-stride.
  const RowMat kt = k.transpose();
  RowMat vt;
  if (p.v) vt = p.v->transpose();
  if (out) out->resize(n, dv);
  if (logz) logz->resize(n);
  const double* bias = p.key_bias ? p.key_bias->data() : nullptr;
  const bool mean = p.norm == Normalization::Mean;

#pragma omp parallel if (n * m >= 65536)
  {
    std::vector<double> s(kKeyBlock), acc(static_cast<std::size_t>(dv));
#pragma omp for schedule(static)
    for (Index i = 0; i < n; ++i) {
      double mx = -std::numeric_limits<double>::infinity(), l = 0;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (Index j0 = 0; j0 < m; j0 += kKeyBlock) {
        const Index jb = std::min(kKeyBlock, m - j0);
        double* sp = s.data();
        if (bias) {
          for (Index j = 0; j < jb; ++j) sp[j] = bias[j0 + j];
        } else {
          std::fill(sp, sp + jb, 0.0);
        }
        for (Index c = 0; c < dk; ++c) {
          const double qc = q(i, c);
          const double* kc = kt.data() + c * m + j0;
#pragma omp simd
          for (Index j = 0; j < jb; ++j) sp[j] += qc * kc[j];
        }
        double bm = sp[0];
#pragma omp simd reduction(max : bm)
        for (Index j = 0; j < jb; ++j) bm = std::max(bm, sp[j]);
        if (bm > mx) {
          const double scale = std::isinf(mx) ? 0.0 : std::exp(mx - bm);
          l *= scale;
          for (auto& a : acc) a *= scale;
          mx = bm;
        }
        double lsum = 0;
#pragma omp simd reduction(+ : lsum)
        for (Index j = 0; j < jb; ++j) {
          sp[j] = fast_exp_nonpos(sp[j] - mx);
          lsum += sp[j];
        }
        l += lsum;
        for (Index c = 0; c < dv; ++c) {
          const double* vc = vt.data() + c * m + j0;
          double a = 0;
#pragma omp simd reduction(+ : a)
          for (Index j = 0; j < jb; ++j) a += sp[j] * vc[j];
          acc[static_cast<std::size_t>(c)] += a;
        }
      }
      if (out) {
        const double f = mean ? std::exp(mx) / static_cast<double>(m) : 1.0 / l;
        for (Index c = 0; c < dv; ++c) (*out)(i, c) = acc[static_cast<std::size_t>(c)] * f;
      }
      if (logz) (*logz)[i] = mx + std::log(l);
    }
  }
}

}  // namespace attnflow
