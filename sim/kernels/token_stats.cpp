#include "sim/kernels/token_stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#if defined(__AVX__)
#include <immintrin.h>
#endif
#include <stdexcept>
#include <string>
#include <type_traits>

namespace attnflow::token_stats {

void Workspace::reserve(Index n, Index d) {
  if (n <= cap_n_ && d <= cap_d_) return;
  cap_n_ = std::max(cap_n_, n);
  cap_d_ = std::max(cap_d_, d);
  const size_t N = static_cast<size_t>(cap_n_), D = static_cast<size_t>(cap_d_);
  const size_t K = std::min(N, D + 1);
  soa_.resize((N + 3) / 4 * 4 * D);  // padded to whole blocks of 4 tokens
  parent_.resize(N);
  idx_.resize(K);
  lam_.resize(K);
  mu_.resize(K);
  c_.resize(K);
  q_.resize(D * K);
  r_.resize(K * K);
  p_.resize(D);
  dots_.resize(N);
  norms_.resize(N);
}

Workspace& thread_workspace() {
  static thread_local Workspace ws;
  return ws;
}

// The implementation: a friend of Workspace, so the buffers stay private to users.
struct Access {
  using Stop = Workspace::Stop;
  static constexpr double kEps = std::numeric_limits<double>::epsilon();
  // ---------------------------------------------------------------- pair loops
  // Blocks of W = 4 doubles as GCC/Clang vector extensions: one AVX2 register (two SSE2
  // registers in a portable build). Comparisons give lanes of -1 (true) or 0.
  using vd = double __attribute__((vector_size(32)));
  using vm = std::int64_t __attribute__((vector_size(32)));
  static constexpr Index W = 4;
  // (Vectors travel by reference between these helpers, so no function has a vector in its
  // signature's ABI: no -Wpsabi note in portable builds without AVX.)
  static inline vd& loadv(vd& v, const double* p) {
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static inline std::int64_t lanes_sum(const vm& m) { return m[0] + m[1] + m[2] + m[3]; }
  static inline double lanes_max(const vd& v) {
    return std::max(std::max(v[0], v[1]), std::max(v[2], v[3]));
  }
  static Index padded(Index n) { return (n + W - 1) / W * W; }
  // Bit l set iff lane l of m is true (one movemask instruction on x86).
  static inline unsigned lane_bits(const vm& m) {
#if defined(__AVX__)
    return static_cast<unsigned>(_mm256_movemask_pd(reinterpret_cast<const __m256d&>(m)));
#else
    return static_cast<unsigned>((m[0] & 1) | (m[1] & 2) | (m[2] & 4) | (m[3] & 8));
#endif
  }

  // Calls f(std::integral_constant<int, D>) with D = d for d <= 4, else D = 0 (runtime d).
  template <class F>
  static inline auto dispatch(Index d, F&& f) {
    switch (d) {
      case 1: return f(std::integral_constant<int, 1>{});
      case 2: return f(std::integral_constant<int, 2>{});
      case 3: return f(std::integral_constant<int, 3>{});
      case 4: return f(std::integral_constant<int, 4>{});
      default: return f(std::integral_constant<int, 0>{});
    }
  }

  // Copies X into the structure-of-arrays buffer, padded to a multiple of W tokens with zeros:
  // soa[k np + j] = X(j, k), np = padded(n).
  static const double* load(Workspace& ws, const Cloud& X) {
    const Index n = X.rows(), d = X.cols(), np = padded(n);
    if (d < 1) throw std::invalid_argument("token_stats: the cloud needs d >= 1 columns");
    ws.reserve(n, d);
    double* s = ws.soa_.data();
    const double* x = X.data();
    const Index ld = X.outerStride();
    dispatch(d, [&](auto D) {
      constexpr int Dv = decltype(D)::value;
      if constexpr (Dv > 0) {
        for (Index j = 0; j < n; ++j)
          for (int k = 0; k < Dv; ++k) s[k * np + j] = x[j * ld + k];
      } else {
        for (Index j = 0; j < n; ++j)
          for (Index k = 0; k < d; ++k) s[k * np + j] = x[j * ld + k];
      }
      return 0;
    });
    for (Index k = 0; k < d; ++k)
      for (Index j = n; j < np; ++j) s[k * np + j] = 0;
    return s;
  }

  // Row i against the tokens j in [lo, n), in blocks of W: f(j, g, valid) with g the inner
  // products <x_i, x_{j+l}> of the block's lanes and valid the lanes with lo <= j + l < n. Blocks
  // start at multiples of W, so the lane of token j is computed by the same instructions whatever
  // lo or the statistic; the first and the last block carry a lane mask, the full blocks between
  // them a constant all-true mask (which the compiler folds away). D > 0: the dimension at
  // compile time; D = 0: runtime d. Both compute ((a_0 b_0 + a_1 b_1) + a_2 b_2) + ... .
  template <int D, class Block, class F>
  static inline void row_blocks(Index np, Index n, Index lo, Block&& block, F&& f) {
    const vm lane = {0, 1, 2, 3}, all = {-1, -1, -1, -1};
    Index j = lo / W * W;
    if (j >= np) return;
    vd g;
    {
      const vm jv = lane + j;
      block(j, g);
      f(j, g, (jv >= lo) & (jv < n));
      j += W;
    }
    for (; j + W <= n; j += W) {
      block(j, g);
      f(j, g, all);
    }
    if (j < np) {
      block(j, g);
      f(j, g, (lane + j) < n);
    }
  }

  template <int D, class F>
  static inline void row_dots(const double* __restrict s, Index np, Index n, Index d, Index i,
                              Index lo, F&& f) {
    if constexpr (D > 0) {
      double a[D];
      for (int k = 0; k < D; ++k) a[k] = s[k * np + i];
      row_blocks<D>(np, n, lo, [&](Index j, vd& g) {
        vd b;
        g = a[0] * loadv(b, s + j);
        for (int k = 1; k < D; ++k) g += a[k] * loadv(b, s + k * np + j);
      }, f);
    } else {
      row_blocks<D>(np, n, lo, [&](Index j, vd& g) {
        vd b;
        g = s[i] * loadv(b, s + j);
        for (Index k = 1; k < d; ++k) g += s[k * np + i] * loadv(b, s + k * np + j);
      }, f);
    }
  }

  // The same for squared distances |x_i - x_j|^2 from coordinate differences.
  template <int D, class F>
  static inline void row_dist2(const double* __restrict s, Index np, Index n, Index d, Index i,
                               Index lo, F&& f) {
    const Index dd = D > 0 ? D : d;
    row_blocks<D>(np, n, lo, [&](Index j, vd& h) {
      vd b;
      vd e = loadv(b, s + j) - s[i];
      h = e * e;
      for (Index k = 1; k < dd; ++k) {
        e = loadv(b, s + k * np + j) - s[k * np + i];
        h += e * e;
      }
    }, f);
  }

  static inline int find(int* parent, int x) {
    while (parent[x] != x) {
      parent[x] = parent[parent[x]];  // path halving
      x = parent[x];
    }
    return x;
  }

  // Union-find over the delta-graph, row by row. The pair loop hands over a row's edges as the
  // set bits of 64-token words (one movemask per block, no branch per pair); the edges i - j
  // (j > i) of one row share the root of i, found once; a token already pointing at that root
  // needs no find (the common case inside a cluster); the larger root goes under the smaller.
  // Once everything is one component (n - 1 merges) the remaining edges are skipped.
  struct Components {
    int* parent;
    Index n;
    Index merges = 0;
    int ri = -1;
    void reset() {
      for (Index i = 0; i < n; ++i) parent[i] = static_cast<int>(i);
    }
    // Edges from token i to the tokens base + l for the set bits l of `bits`.
    void edges(Index i, Index base, std::uint64_t bits) {
      if (merges + 1 >= n) return;
      if (ri < 0) ri = find(parent, static_cast<int>(i));
      for (; bits; bits &= bits - 1) {
        const int j = static_cast<int>(base + __builtin_ctzll(bits));
        if (parent[j] == ri) continue;  // the common case inside a cluster: no find
        const int rj = find(parent, j);
        if (rj == ri) continue;
        ++merges;
        if (ri < rj) {
          parent[rj] = ri;
        } else {
          parent[ri] = rj;
          ri = rj;
        }
      }
    }
  };

  // Which statistics a pass computes (compile-time flags: one specialised loop per combination).
  enum Flags : unsigned { kClose = 1, kClusters = 2, kDev = 4, kEnergy = 8 };

  // sum_{i,j} exp(beta g_ij) = sum_i (exp(beta g_ii) + 2 sum_{j>i} exp(beta g_ij)), in this order.
  struct EnergySum {
    double beta, total = 0, row = 0, diag = 0;
    void block(Index i, Index j, const vd& g, const vm& valid) {
      for (int l = 0; l < W; ++l) {
        if (!valid[l]) continue;
        if (j + l == i)
          diag = std::exp(beta * g[l]);
        else
          row += std::exp(beta * g[l]);
      }
    }
    void end_row() {
      total += diag + 2 * row;
      row = 0;
    }
  };

  struct PassResult {
    Index close = 0, clusters = 0;
    double dev = 0, energy_sum = 0;
  };

  // One pass over the pairs i < j (and i = j for the energy) computing the statistics in F.
  // Small: n <= 64, so a row's edges fit in one 64-bit word (no mid-row hand-over).
  template <int D, unsigned F, bool Small>
  static PassResult pass(const double* s, Index n, Index d, double thr, double gamma, double beta,
                         int* parent) {
    const Index np = padded(n);
    constexpr bool close = F & kClose, clusters = F & kClusters, dev = F & kDev,
                   energy = F & kEnergy;
    Components uf{parent, n};
    if constexpr (clusters) uf.reset();
    EnergySum es{beta};
    vm cnt = {0, 0, 0, 0};
    vd mdev = {0, 0, 0, 0};
    const vd zero = {0, 0, 0, 0};
    for (Index i = 0; i < n; ++i) {
      if (!energy && i + 1 == n) break;
      vm row_cnt = {0, 0, 0, 0};
      std::uint64_t word = 0;
      uf.ri = -1;
      row_dots<D>(s, np, n, d, i, energy ? i : i + 1, [&](Index j, const vd& g, const vm& in) {
        vm valid = in;
        if constexpr (energy) {
          es.block(i, j, g, valid);
          const vm lane = {0, 1, 2, 3};
          valid &= (lane + j) > i;
        }
        if constexpr (close || clusters) {
          const vm e = (g > thr) & valid;
          if constexpr (close) row_cnt += e;
          if constexpr (clusters) {
            // The row's edges as bits of 64-token words, handed to union-find per word.
            word |= static_cast<std::uint64_t>(lane_bits(e)) << (j & 63);
            if constexpr (!Small)
              if (((j + W) & 63) == 0) {
                if (word) uf.edges(i, j + W - 64, word);
                word = 0;
              }
          }
        }
        if constexpr (dev) {
          vd v = g - gamma;
          v = v < 0 ? -v : v;
          v = valid ? v : zero;
          mdev = mdev < v ? v : mdev;
        }
      });
      if constexpr (energy) es.end_row();
      if constexpr (close) cnt += row_cnt;
      if constexpr (clusters)
        if (word) uf.edges(i, (np - 1) / 64 * 64, word);
    }
    PassResult r;
    r.close = static_cast<Index>(-lanes_sum(cnt));
    r.clusters = n - uf.merges;
    r.dev = lanes_max(mdev);
    r.energy_sum = es.total;
    return r;
  }

  template <unsigned F>
  static PassResult run_pass(const Cloud& X, Workspace& ws, double thr, double gamma, double beta) {
    const double* s = load(ws, X);
    const Index n = X.rows(), d = X.cols();
    int* parent = ws.parent_.data();
    return dispatch(d, [&](auto D) {
      constexpr int Dv = decltype(D)::value;
      return n <= 64 ? pass<Dv, F, true>(s, n, d, thr, gamma, beta, parent)
                     : pass<Dv, F, false>(s, n, d, thr, gamma, beta, parent);
    });
  }

  static Index close_pairs(const Cloud& X, double delta, Workspace& ws) {
    return run_pass<kClose>(X, ws, 1 - delta, 0, 0).close;
  }
  static Index clusters(const Cloud& X, double delta, Workspace& ws) {
    return run_pass<kClusters>(X, ws, 1 - delta, 0, 0).clusters;
  }
  static double max_deviation(const Cloud& X, double gamma, Workspace& ws) {
    return run_pass<kDev>(X, ws, 0, gamma, 0).dev;
  }
  static double energy(const Cloud& X, double beta, Workspace& ws) {
    const double n = static_cast<double>(X.rows());
    return run_pass<kEnergy>(X, ws, 0, 0, beta).energy_sum / (2 * beta * n * n);
  }

  static double diam2(const double* s, Index n, Index d) {
    const Index np = padded(n);
    return dispatch(d, [&](auto D) {
      vd m = {0, 0, 0, 0};
      const vd zero = {0, 0, 0, 0};
      for (Index i = 0; i + 1 < n; ++i)
        row_dist2<decltype(D)::value>(s, np, n, d, i, i + 1, [&](Index, const vd& h, const vm& valid) {
          const vd v = valid ? h : zero;
          m = m < v ? v : m;
        });
      return lanes_max(m);
    });
  }

  static double diameter(const Cloud& X, Workspace& ws) {
    const double* s = load(ws, X);
    return std::sqrt(diam2(s, X.rows(), X.cols()));
  }

  static FrameStats frame(const Cloud& X, const FrameRequest& req, Workspace& ws) {
    const Index n = X.rows();
    const bool want_dev = !std::isnan(req.gamma), want_energy = req.energy_beta > 0;
    const unsigned flags = kClose | (req.clusters ? kClusters : 0u) | (want_dev ? kDev : 0u) |
                           (want_energy ? kEnergy : 0u);
    const double thr = 1 - req.delta, gamma = req.gamma, beta = req.energy_beta;
    PassResult r;
    switch (flags) {
#define ATTNFLOW_PASS(f) \
  case f: r = run_pass<f>(X, ws, thr, gamma, beta); break;
      ATTNFLOW_PASS(kClose)
      ATTNFLOW_PASS(kClose | kClusters)
      ATTNFLOW_PASS(kClose | kDev)
      ATTNFLOW_PASS(kClose | kClusters | kDev)
      ATTNFLOW_PASS(kClose | kEnergy)
      ATTNFLOW_PASS(kClose | kClusters | kEnergy)
      ATTNFLOW_PASS(kClose | kDev | kEnergy)
      ATTNFLOW_PASS(kClose | kClusters | kDev | kEnergy)
#undef ATTNFLOW_PASS
    }
    FrameStats out;
    const double pairs = 0.5 * static_cast<double>(n) * static_cast<double>(n - 1);
    out.close_pair_fraction = static_cast<double>(r.close) / pairs;
    out.mean_pairwise_inner = mean_pairwise_inner(X);
    if (req.clusters) out.clusters = r.clusters;
    if (want_dev) out.max_inner_deviation = r.dev;
    if (want_energy)
      out.energy = r.energy_sum / (2 * beta * static_cast<double>(n) * static_cast<double>(n));
    if (req.diameter) out.diameter = std::sqrt(diam2(ws.soa_.data(), n, X.cols()));
    return out;
  }

  // ---------------------------------------------------------------- Wolfe's algorithm
  // Support set S = idx[0..k) (affinely independent tokens), weights lam (> 0, sum 1).
  // Q (d x (k-1), orthonormal columns q[m d ..]) and R ((k-1) x (k-1) upper triangular, r[a K + b])
  // factor the differences D = [x_{idx[1]} - x_{idx[0]}, ...].
  struct Wolfe {
    Workspace& ws;
    const double* x;
    Index ld, n, d, K;
    double scale;

    const double* row(int i) const { return x + static_cast<Index>(i) * ld; }

    // Orthogonalises column m (>= 1) of D against q_0..q_{m-2} (twice: Gram-Schmidt with
    // reorthogonalisation) and appends it; false if it is (numerically) in their span.
    bool append_column(int m) {
      double* q = ws.q_.data() + static_cast<Index>(m - 1) * d;
      double* r = ws.r_.data();
      const double* a = row(ws.idx_[m]);
      const double* b = row(ws.idx_[0]);
      for (Index t = 0; t < d; ++t) q[t] = a[t] - b[t];
      for (int c = 0; c < m - 1; ++c) r[c * K + (m - 1)] = 0;
      for (int pass = 0; pass < 2; ++pass)
        for (int c = 0; c < m - 1; ++c) {
          const double* qc = ws.q_.data() + static_cast<Index>(c) * d;
          double h = 0;
          for (Index t = 0; t < d; ++t) h += qc[t] * q[t];
          for (Index t = 0; t < d; ++t) q[t] -= h * qc[t];
          r[c * K + (m - 1)] += h;
        }
      double nn = 0;
      for (Index t = 0; t < d; ++t) nn += q[t] * q[t];
      const double norm = std::sqrt(nn);
      if (!(norm > 1e-13 * scale)) return false;
      for (Index t = 0; t < d; ++t) q[t] /= norm;
      r[(m - 1) * K + (m - 1)] = norm;
      return true;
    }
    bool rebuild() {
      for (int m = 1; m < ws.k_; ++m)
        if (!append_column(m)) return false;
      return true;
    }
    // mu = barycentric coordinates of the point of aff(S) nearest to 0:
    // min |x_0 + D c|  ->  c = -R^{-1} Q^T x_0, mu_0 = 1 - sum c, mu_m = c_{m-1}.
    void affine_minimiser() {
      const int k = ws.k_;
      double* c = ws.c_.data();
      double* mu = ws.mu_.data();
      const double* x0 = row(ws.idx_[0]);
      const double* r = ws.r_.data();
      for (int m = 0; m < k - 1; ++m) {
        const double* qm = ws.q_.data() + static_cast<Index>(m) * d;
        double h = 0;
        for (Index t = 0; t < d; ++t) h += qm[t] * x0[t];
        c[m] = -h;
      }
      for (int m = k - 2; m >= 0; --m) {
        double v = c[m];
        for (int b = m + 1; b < k - 1; ++b) v -= r[m * K + b] * c[b];
        c[m] = v / r[m * K + m];
      }
      double sum = 0;
      for (int m = 0; m < k - 1; ++m) {
        mu[m + 1] = c[m];
        sum += c[m];
      }
      mu[0] = 1 - sum;
    }
    // p = sum lam_m x_{idx[m]}; returns |p|^2.
    double point() {
      double* p = ws.p_.data();
      std::fill(p, p + d, 0.0);
      for (int m = 0; m < ws.k_; ++m) {
        const double* a = row(ws.idx_[m]);
        const double l = ws.lam_[m];
        for (Index t = 0; t < d; ++t) p[t] += l * a[t];
      }
      double pp = 0;
      for (Index t = 0; t < d; ++t) pp += p[t] * p[t];
      return pp;
    }
    // p = the point of aff(S) nearest to 0, as the residual of x_0 after projection onto
    // span(Q) (twice): accurate to rounding of |x_0| even when the barycentric coordinates are
    // ill-conditioned (a nearly affinely dependent S); returns |p|^2.
    double affine_point() {
      double* p = ws.p_.data();
      const double* x0 = row(ws.idx_[0]);
      std::copy(x0, x0 + d, p);
      for (int pass = 0; pass < 2; ++pass)
        for (int m = 0; m < ws.k_ - 1; ++m) {
          const double* qm = ws.q_.data() + static_cast<Index>(m) * d;
          double h = 0;
          for (Index t = 0; t < d; ++t) h += qm[t] * p[t];
          for (Index t = 0; t < d; ++t) p[t] -= h * qm[t];
        }
      double pp = 0;
      for (Index t = 0; t < d; ++t) pp += p[t] * p[t];
      return pp;
    }
    // dots[i] = <x_i, p>; returns the first index of the minimum.
    int min_dot() {
      const double* p = ws.p_.data();
      double* dots = ws.dots_.data();
      int best = 0;
      for (Index i = 0; i < n; ++i) {
        const double* a = row(static_cast<int>(i));
        double v = 0;
        for (Index t = 0; t < d; ++t) v += a[t] * p[t];
        dots[i] = v;
        if (v < dots[best]) best = static_cast<int>(i);
      }
      return best;
    }

    Hemisphere run() {
      ws.k_ = 0;
      ws.iters_ = 0;
      double* norms = ws.norms_.data();
      int j0 = 0;
      double maxn = 0;
      for (Index i = 0; i < n; ++i) {
        const double* a = row(static_cast<int>(i));
        double v = 0;
        for (Index t = 0; t < d; ++t) v += a[t] * a[t];
        norms[i] = v;
        if (v < norms[j0]) j0 = static_cast<int>(i);
        maxn = std::max(maxn, v);
      }
      scale = std::sqrt(maxn);
      ws.idx_[0] = j0;
      ws.lam_[0] = 1;
      ws.k_ = 1;
      double pp = point();
      ws.stop_ = Stop::Zero;
      if (scale == 0) return {};

      const int max_iter = static_cast<int>(100 * (n + d) + 1000);
      ws.stop_ = Stop::IterationCap;
      for (int it = 0; it < max_iter; ++it) {
        ws.iters_ = it + 1;
        if (pp <= 1e-30 * maxn) {  // p = 0 up to rounding: 0 is in the hull
          ws.stop_ = Stop::Zero;
          break;
        }
        const int j = min_dot();
        // Optimal: <x_i, p> >= |p|^2 for all i, up to a relative 1e-12 and the rounding of the
        // inner products (4 eps sqrt(d) max|x_i| |p|): the margin is then exact to about 1e-15.
        const double slack = 1e-12 * pp + 4 * kEps * std::sqrt(static_cast<double>(d)) * scale * std::sqrt(pp);
        if (ws.dots_[j] >= pp - slack) {
          ws.stop_ = Stop::Optimal;
          break;
        }
        if (std::find(ws.idx_.begin(), ws.idx_.begin() + ws.k_, j) != ws.idx_.begin() + ws.k_) {
          ws.stop_ = Stop::InSupport;  // no progress possible in floating point
          break;
        }
        if (ws.k_ == K) {
          ws.stop_ = Stop::Full;
          break;
        }
        ws.idx_[ws.k_] = j;
        ws.lam_[ws.k_] = 0;
        ++ws.k_;
        if (!append_column(ws.k_ - 1)) {  // affinely dependent (rounding): stop
          --ws.k_;
          ws.stop_ = Stop::Dependent;
          break;
        }
        bool ok = true;
        for (int minor = 0; minor <= K + 1; ++minor) {
          affine_minimiser();
          const int k = ws.k_;
          double* lam = ws.lam_.data();
          const double* mu = ws.mu_.data();
          bool positive = true;
          for (int m = 0; m < k; ++m) positive = positive && mu[m] > 0;
          if (positive) {
            std::copy(mu, mu + k, lam);
            break;
          }
          // Move from lam towards mu until the first weight reaches 0, and drop it.
          double theta = 1;
          int drop = -1;
          for (int m = 0; m < k; ++m)
            if (mu[m] <= 0) {
              const double den = lam[m] - mu[m];
              const double t = den > 0 ? lam[m] / den : 0.0;
              if (drop < 0 || t < theta) {
                theta = t;
                drop = m;
              }
            }
          for (int m = 0; m < k; ++m) lam[m] += theta * (mu[m] - lam[m]);
          lam[drop] = 0;
          int kept = 0;
          double sum = 0;
          for (int m = 0; m < k; ++m)
            if (lam[m] > 0) {
              ws.idx_[kept] = ws.idx_[m];
              lam[kept] = lam[m];
              sum += lam[m];
              ++kept;
            }
          ws.k_ = kept;
          for (int m = 0; m < kept; ++m) lam[m] /= sum;
          if (!rebuild()) {
            ok = false;
            break;
          }
        }
        if (!ok) {
          ws.stop_ = Stop::Dependent;
          break;
        }
        // The minor cycle ends with all weights positive: p is the affine minimiser of S.
        const double pp_new = affine_point();
        if (!(pp_new < pp)) {  // no strict decrease: rounding has taken over
          ws.stop_ = Stop::NoDecrease;
          break;
        }
        pp = pp_new;
      }
      // Decision from the certificate w = p/|p|: min_i <x_i, w> is a lower bound of the margin
      // (and equals |p| within a relative 1e-12 when the optimality test passed).
      double norm_p = 0;
      for (Index t = 0; t < d; ++t) norm_p += ws.p_[t] * ws.p_[t];
      norm_p = std::sqrt(norm_p);
      Hemisphere h;
      if (norm_p > 0) {
        const double lower = ws.dots_[min_dot()] / norm_p;
        if (lower > 1e-10 * scale) {
          h.inside = true;
          h.margin = lower;
        }
      }
      return h;
    }
  };

  static Hemisphere hemisphere(const Cloud& X, Workspace& ws) {
    const Index n = X.rows(), d = X.cols();
    ws.reserve(n, d);
    ws.d_ = d;
    Wolfe w{ws, X.data(), X.outerStride(), n, d, std::min(n, d + 1), 0.0};
    return w.run();
  }
};

namespace {
void need_pairs(const Cloud& X, const char* what) {
  if (X.rows() < 2)
    throw std::invalid_argument(std::string("token_stats::") + what + " needs n >= 2 tokens (got " +
                                std::to_string(X.rows()) + ")");
}
}  // namespace

Index close_pair_count(const Cloud& X, double delta, Workspace& ws) {
  return Access::close_pairs(X, delta, ws);
}

double close_pair_fraction(const Cloud& X, double delta, Workspace& ws) {
  need_pairs(X, "close_pair_fraction");
  const double n = static_cast<double>(X.rows());
  return static_cast<double>(Access::close_pairs(X, delta, ws)) / (0.5 * n * (n - 1));
}

Index cluster_count(const Cloud& X, double delta, Workspace& ws) {
  return Access::clusters(X, delta, ws);
}

double max_inner_deviation(const Cloud& X, double gamma, Workspace& ws) {
  need_pairs(X, "max_inner_deviation");
  return Access::max_deviation(X, gamma, ws);
}

double mean_pairwise_inner(const Cloud& X) {
  need_pairs(X, "mean_pairwise_inner");
  const Index n = X.rows(), d = X.cols();
  const double* x = X.data();
  const Index ld = X.outerStride();
  double s2 = 0, diag = 0;
  for (Index k = 0; k < d; ++k) {
    double sk = 0, dk = 0;
    for (Index i = 0; i < n; ++i) {
      const double v = x[i * ld + k];
      sk += v;
      dk += v * v;
    }
    s2 += sk * sk;
    diag += dk;
  }
  const double nn = static_cast<double>(n);
  return (s2 - diag) / (nn * (nn - 1));
}

double diameter(const Cloud& X, Workspace& ws) {
  const Index n = X.rows();
  if (n < 2) return 0;
  return Access::diameter(X, ws);
}

double attention_energy(const Cloud& X, double beta, Workspace& ws) {
  if (!(beta > 0) || X.rows() < 1)
    throw std::invalid_argument("token_stats::attention_energy needs beta > 0 and n >= 1");
  return Access::energy(X, beta, ws);
}

Hemisphere open_hemisphere(const Cloud& X, Workspace& ws) {
  const Index n = X.rows(), d = X.cols();
  if (n < 1 || d < 1) throw std::invalid_argument("token_stats::open_hemisphere needs n, d >= 1");
  return Access::hemisphere(X, ws);
}

FrameStats frame_stats(const Cloud& X, const FrameRequest& req, Workspace& ws) {
  need_pairs(X, "frame_stats");
  return Access::frame(X, req, ws);
}

}  // namespace attnflow::token_stats
