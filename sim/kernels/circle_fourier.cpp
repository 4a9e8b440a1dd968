#include "sim/kernels/circle_fourier.hpp"

#include <algorithm>
#include <cmath>

#include "sim/core/error.hpp"
#include "sim/core/parallel.hpp"

namespace attnflow {
namespace {

constexpr Index kBlock = 256;           // tokens per block: fixed, so sums are thread-independent
constexpr Index kParallelTokens = 8192;  // below this the two O(N n_max) passes run serially
constexpr int kMaxModes = 400;

}  // namespace

CircleFourierKernel make_circle_fourier(double beta, Normalization norm) {
  if (!(beta >= 0 && beta <= 500))
    throw Error("the circle Fourier evaluator needs beta in [0, 500] (got " + std::to_string(beta) + ")");
  CircleFourierKernel k;
  k.beta = beta;
  k.norm = norm;
  const double i0 = std::cyl_bessel_i(0.0, beta);
  int n = 1;
  while (n < kMaxModes && std::cyl_bessel_i(double(n), beta) > 1e-17 * i0) ++n;
  k.n_max = n;
  std::vector<double> in(n + 2);
  for (int m = 0; m <= n + 1; ++m) in[m] = std::cyl_bessel_i(double(m), beta);
  k.two_i.assign(n + 1, 0.0);
  k.g.assign(n + 1, 0.0);
  k.two_i[0] = in[0];
  for (int m = 1; m <= n; ++m) {
    k.two_i[m] = 2 * in[m];
    k.g[m] = in[m - 1] - in[m + 1];
  }
  return k;
}

std::vector<double> circle_moments(const CircleFourierKernel& k, CMatMap x) {
  const Index n = x.rows();
  const int modes = k.n_max;
  const Index blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(static_cast<std::size_t>(blocks) * 2 * (modes + 1), 0.0);
  parallel_for(blocks, n >= kParallelTokens, [&](Index b) {
    const Index lo = b * kBlock, len = std::min(kBlock, n - lo);
    alignas(64) double wr[kBlock], wi[kBlock], qr[kBlock], qi[kBlock];
    for (Index j = 0; j < len; ++j) {
      wr[j] = qr[j] = x(lo + j, 0);
      wi[j] = qi[j] = x(lo + j, 1);
    }
    double* out = partial.data() + b * 2 * (modes + 1);
    out[0] = static_cast<double>(len);
    for (int m = 1; m <= modes; ++m) {
      double sr = 0, si = 0;
#pragma omp simd reduction(+ : sr, si)
      for (Index j = 0; j < len; ++j) {
        sr += qr[j];
        si += qi[j];
      }
      out[2 * m] = sr;
      out[2 * m + 1] = si;
      if (m == modes) break;
#pragma omp simd
      for (Index j = 0; j < len; ++j) {  // q <- q w
        const double a = qr[j] * wr[j] - qi[j] * wi[j];
        qi[j] = qr[j] * wi[j] + qi[j] * wr[j];
        qr[j] = a;
      }
    }
  });
  std::vector<double> moments(2 * (modes + 1), 0.0);
  for (Index b = 0; b < blocks; ++b)  // blocks in order: independent of the thread count
    for (int m = 0; m < 2 * (modes + 1); ++m) moments[m] += partial[b * 2 * (modes + 1) + m];
  return moments;
}

void circle_fourier_attention(const CircleFourierKernel& k, CMatMap x, RowMat& out) {
  const Index n = x.rows();
  const std::vector<double> mom = circle_moments(k, x);
  out.resize(n, 2);
  const int modes = k.n_max;
  const double nn = static_cast<double>(n);
  const bool softmax = k.norm == Normalization::Softmax;
  const Index blocks = (n + kBlock - 1) / kBlock;
  parallel_for(blocks, n >= kParallelTokens, [&](Index b) {
    const Index lo = b * kBlock, len = std::min(kBlock, n - lo);
    alignas(64) double wr[kBlock], wi[kBlock], pr[kBlock], pi[kBlock], z[kBlock], u[kBlock];
    for (Index j = 0; j < len; ++j) {
      wr[j] = x(lo + j, 0);
      wi[j] = x(lo + j, 1);
      pr[j] = 1;
      pi[j] = 0;
      z[j] = nn * k.two_i[0];
      u[j] = 0;
    }
    for (int m = 1; m <= modes; ++m) {
      const double am = mom[2 * m], bm = mom[2 * m + 1], c = k.two_i[m], gm = k.g[m];
#pragma omp simd
      for (Index j = 0; j < len; ++j) {  // p <- p conj(w): p = e^{-i m theta_j}
        const double a = pr[j] * wr[j] + pi[j] * wi[j];
        const double bb = pi[j] * wr[j] - pr[j] * wi[j];
        pr[j] = a;
        pi[j] = bb;
        z[j] += c * (a * am - bb * bm);
        u[j] += gm * (a * bm + bb * am);
      }
    }
    for (Index j = 0; j < len; ++j) {
      const double w = softmax ? u[j] / z[j] : u[j] / nn;  // theta_j'
      out(lo + j, 0) = -w * wi[j];
      out(lo + j, 1) = w * wr[j];
    }
  });
}

double circle_partition_sum(const CircleFourierKernel& k, const std::vector<double>& m, Index n) {
  const double nn = static_cast<double>(n);
  double s = 0;
  for (int j = k.n_max; j >= 1; --j) s += k.two_i[j] * (m[2 * j] * m[2 * j] + m[2 * j + 1] * m[2 * j + 1]);
  return nn * nn * k.two_i[0] + s;
}

}  // namespace attnflow
