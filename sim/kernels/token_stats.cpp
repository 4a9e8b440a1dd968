#include "sim/kernels/token_stats.hpp"

#include <algorithm>
#include <cmath>
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
  soa_.resize(N * D);
  row_.resize(N);
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
  // ---------------------------------------------------------------- pair loops
  // Copies X into the structure-of-arrays buffer: soa[k n + j] = X(j, k).
  static const double* load(Workspace& ws, const Cloud& X) {
    const Index n = X.rows(), d = X.cols();
    if (d < 1) throw std::invalid_argument("token_stats: the cloud needs d >= 1 columns");
    ws.reserve(n, d);
    double* s = ws.soa_.data();
    const double* x = X.data();
    const Index ld = X.outerStride();
    for (Index j = 0; j < n; ++j)
      for (Index k = 0; k < d; ++k) s[k * n + j] = x[j * ld + k];
    return s;
  }

  // g[j] = <x_i, x_j> for j in [lo, n). D > 0: the dimension at compile time; D = 0: runtime d.
  // Both compute ((a_0 b_0 + a_1 b_1) + a_2 b_2) + ..., so the value does not depend on D.
  template <int D>
  static inline void row_dots(const double* __restrict s, Index n, Index d, Index i, Index lo,
                              double* __restrict g) {
    if constexpr (D > 0) {
      double a[D];
      for (int k = 0; k < D; ++k) a[k] = s[k * n + i];
      for (Index j = lo; j < n; ++j) {
        double v = a[0] * s[j];
        for (int k = 1; k < D; ++k) v += a[k] * s[k * n + j];
        g[j] = v;
      }
    } else {
      const double a0 = s[i];
      for (Index j = lo; j < n; ++j) g[j] = a0 * s[j];
      for (Index k = 1; k < d; ++k) {
        const double a = s[k * n + i];
        const double* c = s + k * n;
        for (Index j = lo; j < n; ++j) g[j] += a * c[j];
      }
    }
  }

  // h[j] = |x_i - x_j|^2 for j in [lo, n), from coordinate differences.
  template <int D>
  static inline void row_dist2(const double* __restrict s, Index n, Index d, Index i, Index lo,
                               double* __restrict h) {
    if constexpr (D > 0) {
      double a[D];
      for (int k = 0; k < D; ++k) a[k] = s[k * n + i];
      for (Index j = lo; j < n; ++j) {
        const double e0 = s[j] - a[0];
        double v = e0 * e0;
        for (int k = 1; k < D; ++k) {
          const double e = s[k * n + j] - a[k];
          v += e * e;
        }
        h[j] = v;
      }
    } else {
      for (Index j = lo; j < n; ++j) {
        const double e = s[j] - s[i];
        h[j] = e * e;
      }
      for (Index k = 1; k < d; ++k) {
        const double a = s[k * n + i];
        const double* c = s + k * n;
        for (Index j = lo; j < n; ++j) {
          const double e = c[j] - a;
          h[j] += e * e;
        }
      }
    }
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

  static inline int find(int* parent, int x) {
    while (parent[x] != x) {
      parent[x] = parent[parent[x]];  // path halving
      x = parent[x];
    }
    return x;
  }
  // Joins the components of a and b (the larger root under the smaller); true if they differed.
  static inline bool unite(int* parent, int a, int b) {
    a = find(parent, a);
    b = find(parent, b);
    if (a == b) return false;
    if (a < b)
      parent[b] = a;
    else
      parent[a] = b;
    return true;
  }

  static Index close_pairs(const Cloud& X, double delta, Workspace& ws) {
    const Index n = X.rows(), d = X.cols();
    const double* s = load(ws, X);
    double* g = ws.row_.data();
    const double thr = 1 - delta;
    return dispatch(d, [&](auto D) {
      Index count = 0;
      for (Index i = 0; i + 1 < n; ++i) {
        row_dots<decltype(D)::value>(s, n, d, i, i + 1, g);
        Index c = 0;
        for (Index j = i + 1; j < n; ++j) c += g[j] > thr;
        count += c;
      }
      return count;
    });
  }

  static Index clusters(const Cloud& X, double delta, Workspace& ws) {
    const Index n = X.rows(), d = X.cols();
    const double* s = load(ws, X);
    double* g = ws.row_.data();
    int* parent = ws.parent_.data();
    for (Index i = 0; i < n; ++i) parent[i] = static_cast<int>(i);
    const double thr = 1 - delta;
    Index merges = 0;
    dispatch(d, [&](auto D) {
      for (Index i = 0; i + 1 < n; ++i) {
        row_dots<decltype(D)::value>(s, n, d, i, i + 1, g);
        for (Index j = i + 1; j < n; ++j)
          if (g[j] > thr) merges += unite(parent, static_cast<int>(i), static_cast<int>(j));
      }
      return 0;
    });
    return n - merges;
  }

  static double max_deviation(const Cloud& X, double gamma, Workspace& ws) {
    const Index n = X.rows(), d = X.cols();
    const double* s = load(ws, X);
    double* g = ws.row_.data();
    return dispatch(d, [&](auto D) {
      double m = 0;
      for (Index i = 0; i + 1 < n; ++i) {
        row_dots<decltype(D)::value>(s, n, d, i, i + 1, g);
        double mi = 0;
        for (Index j = i + 1; j < n; ++j) mi = std::max(mi, std::abs(g[j] - gamma));
        m = std::max(m, mi);
      }
      return m;
    });
  }

  static double diam2(const double* s, Index n, Index d, double* h) {
    return dispatch(d, [&](auto D) {
      double m = 0;
      for (Index i = 0; i + 1 < n; ++i) {
        row_dist2<decltype(D)::value>(s, n, d, i, i + 1, h);
        double mi = 0;
        for (Index j = i + 1; j < n; ++j) mi = std::max(mi, h[j]);
        m = std::max(m, mi);
      }
      return m;
    });
  }

  static double energy(const Cloud& X, double beta, Workspace& ws) {
    const Index n = X.rows(), d = X.cols();
    const double* s = load(ws, X);
    double* g = ws.row_.data();
    const double total = dispatch(d, [&](auto D) {
      double e = 0;
      for (Index i = 0; i < n; ++i) {
        row_dots<decltype(D)::value>(s, n, d, i, i, g);
        double ei = 0;
        for (Index j = i + 1; j < n; ++j) ei += std::exp(beta * g[j]);
        e += std::exp(beta * g[i]) + 2 * ei;
      }
      return e;
    });
    return total / (2 * beta * static_cast<double>(n) * static_cast<double>(n));
  }

  static FrameStats frame(const Cloud& X, const FrameRequest& req, Workspace& ws) {
    const Index n = X.rows(), d = X.cols();
    const double* s = load(ws, X);
    double* g = ws.row_.data();
    int* parent = ws.parent_.data();
    const bool want_dev = !std::isnan(req.gamma), want_energy = req.energy_beta > 0;
    const double thr = 1 - req.delta, gamma = req.gamma, beta = req.energy_beta;
    if (req.clusters)
      for (Index i = 0; i < n; ++i) parent[i] = static_cast<int>(i);
    Index count = 0, merges = 0;
    double dev = 0, e = 0;
    dispatch(d, [&](auto D) {
      for (Index i = 0; i < n; ++i) {
        row_dots<decltype(D)::value>(s, n, d, i, i, g);
        Index c = 0;
        for (Index j = i + 1; j < n; ++j) c += g[j] > thr;
        count += c;
        if (want_dev) {
          double mi = 0;
          for (Index j = i + 1; j < n; ++j) mi = std::max(mi, std::abs(g[j] - gamma));
          dev = std::max(dev, mi);
        }
        if (want_energy) {
          double ei = 0;
          for (Index j = i + 1; j < n; ++j) ei += std::exp(beta * g[j]);
          e += std::exp(beta * g[i]) + 2 * ei;
        }
        if (req.clusters && c > 0)
          for (Index j = i + 1; j < n; ++j)
            if (g[j] > thr) merges += unite(parent, static_cast<int>(i), static_cast<int>(j));
      }
      return 0;
    });
    FrameStats out;
    const double pairs = 0.5 * static_cast<double>(n) * static_cast<double>(n - 1);
    out.close_pair_fraction = static_cast<double>(count) / pairs;
    out.mean_pairwise_inner = mean_pairwise_inner(X);
    if (req.clusters) out.clusters = n - merges;
    if (want_dev) out.max_inner_deviation = dev;
    if (want_energy) out.energy = e / (2 * beta * static_cast<double>(n) * static_cast<double>(n));
    if (req.diameter) out.diameter = std::sqrt(diam2(s, n, d, g));
    return out;
  }

  static double diameter(const Cloud& X, Workspace& ws) {
    const double* s = load(ws, X);
    return std::sqrt(diam2(s, X.rows(), X.cols(), ws.row_.data()));
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
      if (scale == 0) return {};

      const int max_iter = static_cast<int>(100 * (n + d) + 1000);
      for (int it = 0; it < max_iter; ++it) {
        ws.iters_ = it + 1;
        if (pp <= 1e-30 * maxn) break;  // p = 0 up to rounding: 0 is in the hull
        const int j = min_dot();
        if (ws.dots_[j] >= pp * (1 - 1e-12)) break;  // optimal: <x_i, p> >= |p|^2 for all i
        if (std::find(ws.idx_.begin(), ws.idx_.begin() + ws.k_, j) != ws.idx_.begin() + ws.k_)
          break;  // no progress possible in floating point
        if (ws.k_ == K) break;
        ws.idx_[ws.k_] = j;
        ws.lam_[ws.k_] = 0;
        ++ws.k_;
        if (!append_column(ws.k_ - 1)) {  // affinely dependent (rounding): stop
          --ws.k_;
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
        const double pp_new = point();
        if (!ok || !(pp_new < pp)) {  // no strict decrease: rounding has taken over
          pp = std::min(pp, pp_new);
          break;
        }
        pp = pp_new;
      }
      // Decision from the certificate w = p/|p|: min_i <x_i, w> is a lower bound of the margin.
      const double norm_p = std::sqrt(point());
      Hemisphere h;
      if (norm_p > 0) {
        min_dot();
        const double lower = *std::min_element(ws.dots_.begin(), ws.dots_.begin() + n) / norm_p;
        h.inside = lower > 1e-10 * scale;
      }
      h.margin = h.inside ? norm_p : 0.0;
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
