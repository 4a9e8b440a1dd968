#include "sim/kernels/attention_stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "sim/core/error.hpp"

namespace attnflow {

std::vector<std::string> attention_stat_names() {
  return {"sparsity", "row_entropy", "cv", "row_max_min", "head_corr", "mean_max_weight",
          "offdiag_mean"};
}

double AttentionStats::get(const std::string& name) const {
  if (name == "sparsity") return sparsity;
  if (name == "row_entropy") return row_entropy;
  if (name == "cv") return cv;
  if (name == "row_max_min") return row_max_min;
  if (name == "head_corr") return head_corr;
  if (name == "mean_max_weight") return mean_max_weight;
  if (name == "offdiag_mean") return offdiag_mean;
  throw Error("unknown attention statistic '" + name + "'");
}

AttentionStats attention_stats(const std::vector<RowMat>& heads) {
  AttentionStats st;
  const std::size_t H = heads.size();
  if (H == 0) return st;
  const Index n = heads[0].rows();
  const double nn = static_cast<double>(n);
  const double m = nn * (nn - 1);  // off-diagonal count
  std::vector<double> mean(H), sd(H);
  for (std::size_t h = 0; h < H; ++h) {
    const RowMat& w = heads[h];
    if (w.rows() != n || w.cols() != n) throw Error("attention_stats: heads must be N x N");
    double zeros = 0, sum = 0, sum2 = 0, ent = 0, mm = 0, mx = 0;
    Index mm_rows = 0;
    for (Index i = 0; i < n; ++i) {
      double z = 0, lo = std::numeric_limits<double>::infinity(), hi = 0;
      for (Index j = 0; j < n; ++j) {
        const double v = w(i, j);
        z += v;
        if (j == i) continue;
        if (v == 0) zeros += 1;
        sum += v;
        sum2 += v * v;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      if (n > 1 && lo > 0) {
        mm += hi / lo;
        ++mm_rows;
      }
      if (z > 0) {
        double e = 0, amax = 0;
        for (Index j = 0; j < n; ++j) {
          const double a = w(i, j) / z;
          if (a > 0) e -= a * std::log(a);
          amax = std::max(amax, a);
        }
        ent += n > 1 ? e / std::log(nn) : 0.0;
        mx += amax;
      }
    }
    const double mu = m > 0 ? sum / m : 0.0;
    const double var = m > 0 ? std::max(0.0, sum2 / m - mu * mu) : 0.0;
    mean[h] = mu;
    sd[h] = std::sqrt(var);
    st.sparsity += m > 0 ? zeros / m : 0.0;
    st.row_entropy += ent / nn;
    st.cv += mu > 0 ? sd[h] / mu : 0.0;
    st.row_max_min += mm_rows ? mm / static_cast<double>(mm_rows) : 0.0;
    st.mean_max_weight += mx / nn;
    st.offdiag_mean += mu;
  }
  const double dh = static_cast<double>(H);
  st.sparsity /= dh;
  st.row_entropy /= dh;
  st.cv /= dh;
  st.row_max_min /= dh;
  st.mean_max_weight /= dh;
  st.offdiag_mean /= dh;
  if (H > 1 && m > 0) {
    double corr = 0;
    int pairs = 0;
    for (std::size_t a = 0; a < H; ++a)
      for (std::size_t b = a + 1; b < H; ++b) {
        ++pairs;
        if (sd[a] == 0 || sd[b] == 0) continue;
        double cov = 0;
        for (Index i = 0; i < n; ++i)
          for (Index j = 0; j < n; ++j)
            if (i != j) cov += (heads[a](i, j) - mean[a]) * (heads[b](i, j) - mean[b]);
        corr += cov / m / (sd[a] * sd[b]);
      }
    st.head_corr = corr / pairs;
  }
  return st;
}

}  // namespace attnflow
