// Per-system token statistics (sim/kernels/token_stats.hpp) against brute-force references
// computed here from the materialised Gram matrix, constructed clouds with known answers, the
// optimality conditions of the minimum-norm point, and Wendel's theorem (GLPR Theorem 6.7).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <doctest/doctest.h>

#include "sim/kernels/statistics.hpp"
#include "sim/kernels/token_stats.hpp"
#include "sim/core/rng.hpp"

using namespace attnflow;
namespace ts = attnflow::token_stats;

namespace {

doctest::Approx rel(double v) { return doctest::Approx(v).scale(0); }

RowMat uniform_sphere(Rng& rng, Index n, Index d) {
  RowMat x(n, d);
  for (Index i = 0; i < n; ++i) {
    for (Index k = 0; k < d; ++k) x(i, k) = rng.normal();
    x.row(i).normalize();
  }
  return x;
}

// m well-separated unit centres in R^d (d >= 2), each with `per` tokens within an angle of
// about `spread` of it; returns the tokens in a shuffled order.
RowMat clustered(Rng& rng, Index m, Index per, Index d, double spread) {
  RowMat c(m, d);
  for (;;) {  // centres with pairwise inner products < 0.5
    c = uniform_sphere(rng, m, d);
    const RowMat g = c * c.transpose();
    bool ok = true;
    for (Index a = 0; a < m; ++a)
      for (Index b = a + 1; b < m; ++b) ok = ok && g(a, b) < 0.5;
    if (ok) break;
  }
  RowMat x(m * per, d);
  std::vector<Index> order(m * per);
  std::iota(order.begin(), order.end(), 0);
  for (Index i = static_cast<Index>(order.size()) - 1; i > 0; --i)
    std::swap(order[i], order[static_cast<Index>(rng.uniform() * double(i + 1))]);
  for (Index a = 0; a < m; ++a)
    for (Index p = 0; p < per; ++p) {
      Eigen::RowVectorXd v = c.row(a);
      for (Index k = 0; k < d; ++k) v(k) += spread / std::sqrt(double(d)) * rng.normal();
      x.row(order[a * per + p]) = v.normalized();
    }
  return x;
}

// Brute force: number of connected components of {i - j : <x_i, x_j> > 1 - delta} by
// depth-first search on the materialised Gram matrix.
Index components_brute(const RowMat& x, double delta) {
  const Index n = x.rows();
  const RowMat g = x * x.transpose();
  std::vector<int> seen(n, 0);
  Index comps = 0;
  for (Index s = 0; s < n; ++s) {
    if (seen[s]) continue;
    ++comps;
    std::vector<Index> stack{s};
    seen[s] = 1;
    while (!stack.empty()) {
      const Index i = stack.back();
      stack.pop_back();
      for (Index j = 0; j < n; ++j)
        if (j != i && !seen[j] && g(i, j) > 1 - delta) {
          seen[j] = 1;
          stack.push_back(j);
        }
    }
  }
  return comps;
}

Index close_brute(const RowMat& x, double delta) {
  const RowMat g = x * x.transpose();
  Index c = 0;
  for (Index i = 0; i < x.rows(); ++i)
    for (Index j = i + 1; j < x.rows(); ++j) c += g(i, j) > 1 - delta;
  return c;
}

// Brute force for "0 in conv{x_i}" in general position (Caratheodory): 0 lies in the simplex
// of some d + 1 of the points; the barycentric coordinates solve [x^T; 1^T] lambda = [0; 1].
bool zero_in_hull_brute(const RowMat& x) {
  const Index n = x.rows(), d = x.cols();
  std::vector<int> pick(n, 0);
  std::fill(pick.end() - (d + 1), pick.end(), 1);
  do {
    Eigen::MatrixXd A(d + 1, d + 1);
    Index c = 0;
    for (Index i = 0; i < n; ++i)
      if (pick[i]) {
        A.block(0, c, d, 1) = x.row(i).transpose();
        A(d, c) = 1;
        ++c;
      }
    Eigen::VectorXd rhs = Eigen::VectorXd::Zero(d + 1);
    rhs(d) = 1;
    const Eigen::VectorXd lam = A.fullPivLu().solve(rhs);
    if (lam.minCoeff() >= 0) return true;
  } while (std::next_permutation(pick.begin(), pick.end()));
  return false;
}

// Optimality of the minimum-norm point p returned in the workspace: p = sum lam_k x_{s_k} with
// lam > 0, sum lam = 1 (p in the hull), and <x_i, p> >= |p|^2 for all i (no hull point is
// nearer to 0). Together they characterise the nearest point.
void check_min_norm_point(const RowMat& x, const ts::Workspace& ws, const ts::Hemisphere& h) {
  const Eigen::VectorXd p = ws.hull_point();
  const auto s = ws.hull_support();
  const auto lam = ws.hull_weights();
  REQUIRE(!s.empty());
  CHECK(static_cast<Index>(s.size()) <= std::min<Index>(x.rows(), x.cols() + 1));
  Eigen::VectorXd q = Eigen::VectorXd::Zero(x.cols());
  double sum = 0;
  for (size_t k = 0; k < s.size(); ++k) {
    CHECK(lam[k] > 0);
    sum += lam[k];
    q += lam[k] * x.row(s[k]).transpose();
  }
  CHECK(sum == doctest::Approx(1.0).epsilon(1e-13));
  CHECK((q - p).norm() <= 1e-13);
  const double pp = p.squaredNorm();
  const Eigen::VectorXd dots = x * p;
  CHECK(dots.minCoeff() >= pp - 1e-12 * pp - 1e-14);
  if (h.inside) {
    // margin = min_i <x_i, p/|p|>: a certified lower bound of |p| = dist(0, conv), equal to it
    // within the optimality tolerance.
    CHECK(h.margin == doctest::Approx(dots.minCoeff() / p.norm()).epsilon(1e-14));
    CHECK(h.margin == rel(p.norm()).epsilon(1e-12));
  } else {
    CHECK(h.margin == 0.0);
    CHECK(p.norm() <= 1e-10);
  }
}

}  // namespace

TEST_CASE("close-pair fraction and cluster count match brute force on random and clustered clouds") {
  Rng rng(1);
  ts::Workspace ws;
  for (Index d : {1, 2, 3, 4, 5, 7, 16})
    for (Index n : {2, 3, 17, 32, 101}) {
      const RowMat x = uniform_sphere(rng, n, d);
      for (double delta : {1e-3, 0.05, 0.3, 1.0, 1.7}) {
        const double pairs = 0.5 * double(n) * double(n - 1);
        CHECK(ts::close_pair_count(x, delta, ws) == close_brute(x, delta));
        CHECK(ts::close_pair_fraction(x, delta, ws) == double(close_brute(x, delta)) / pairs);
        CHECK(ts::cluster_count(x, delta, ws) == components_brute(x, delta));
      }
    }
  for (Index d : {2, 3, 8}) {
    const RowMat x = clustered(rng, 4, 8, d, 0.01);
    // Tokens within ~0.02 rad of their centre; centres at least 60 degrees apart.
    CHECK(ts::cluster_count(x, 0.01, ws) == 4);
    CHECK(components_brute(x, 0.01) == 4);
    CHECK(ts::close_pair_count(x, 0.01, ws) == 4 * (8 * 7 / 2));
    CHECK(ts::cluster_count(x, 1e-9, ws) == 32);  // nothing that close: singletons
    CHECK(ts::cluster_count(x, 2.5, ws) == 1);    // every pair is an edge
    for (double delta : {1e-5, 1e-4, 1e-3, 0.2, 0.6})
      CHECK(ts::cluster_count(x, delta, ws) == components_brute(x, delta));
  }
}

TEST_CASE("cluster count: a chain is one cluster (where the thresholded-Gram rank says 3)") {
  // Angles 0, t, 2t on the circle with cos t > 1 - delta > cos 2t.
  const double t = 0.1, delta = 1 - std::cos(1.5 * t);
  RowMat x(3, 2);
  x << 1, 0, std::cos(t), std::sin(t), std::cos(2 * t), std::sin(2 * t);
  CHECK(ts::close_pair_count(x, delta) == 2);
  CHECK(ts::cluster_count(x, delta) == 1);
  Eigen::Matrix3d a;  // the thresholded Gram matrix and its rank
  const RowMat g = x * x.transpose();
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) a(i, j) = g(i, j) > 1 - delta ? 1 : 0;
  CHECK(a.fullPivLu().rank() == 3);
  // Identical tokens: one cluster, all pairs close; a single token: one cluster.
  const RowMat same = RowMat::Constant(5, 3, 1 / std::sqrt(3.0));
  CHECK(ts::cluster_count(same, 1e-12) == 1);
  CHECK(ts::close_pair_fraction(same, 1e-12) == 1.0);
  CHECK(ts::cluster_count(same.topRows(1), 0.1) == 1);
}

TEST_CASE("inner-product statistics, diameter and energy match brute force") {
  Rng rng(2);
  ts::Workspace ws;
  for (Index d : {1, 2, 3, 4, 6, 33})
    for (Index n : {2, 5, 32, 77}) {
      RowMat x = uniform_sphere(rng, n, d);
      if (n == 5) x *= 1.7;  // not only unit vectors
      const RowMat g = x * x.transpose();
      double dev = 0, mean = 0, diam = 0, e = 0;
      const double gamma = 0.3;
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < n; ++j) {
          e += std::exp(0.7 * g(i, j));
          if (i == j) continue;
          dev = std::max(dev, std::abs(g(i, j) - gamma));
          mean += g(i, j);
          diam = std::max(diam, (x.row(i) - x.row(j)).norm());
        }
      mean /= double(n) * double(n - 1);
      e /= 2 * 0.7 * double(n) * double(n);
      CHECK(ts::max_inner_deviation(x, gamma, ws) == rel(dev).epsilon(1e-13));
      CHECK(ts::mean_pairwise_inner(x) == doctest::Approx(mean).epsilon(1e-13));
      CHECK(ts::diameter(x, ws) == rel(diam).epsilon(1e-13));
      CHECK(ts::attention_energy(x, 0.7, ws) == rel(e).epsilon(1e-13));
    }
  // Closed forms: an orthonormal frame (all <x_i, x_j> = 0 for i != j).
  const RowMat id = RowMat::Identity(6, 6);
  CHECK(ts::mean_pairwise_inner(id) == 0.0);
  CHECK(ts::max_inner_deviation(id, 0.25) == rel(0.25).epsilon(1e-15));
  CHECK(ts::diameter(id) == rel(std::sqrt(2.0)).epsilon(1e-15));
  CHECK(ts::attention_energy(id, 2.0) == rel((6 * std::exp(2.0) + 30) / (2 * 2.0 * 36)).epsilon(1e-14));
  // Two close tokens: the diameter keeps its relative accuracy (no sqrt(2 - 2g)).
  RowMat two(2, 2);
  two << 1, 0, std::cos(1e-9), std::sin(1e-9);
  CHECK(ts::diameter(two) == rel(2 * std::sin(0.5e-9)).epsilon(1e-7));
  CHECK(ts::diameter(two.topRows(1)) == 0.0);
  CHECK_THROWS_AS(ts::mean_pairwise_inner(two.topRows(1)), std::invalid_argument);
}

TEST_CASE("frame_stats equals the individual statistics bit for bit, also on strided views") {
  Rng rng(3);
  ts::Workspace ws;
  for (Index d : {2, 3, 9})
    for (Index n : {2, 32, 150}) {
      const RowMat x = clustered(rng, 3, (n + 2) / 3, d, 0.05).topRows(n);
      ts::FrameRequest req;
      req.delta = 2e-3;
      req.gamma = 0.4;
      req.diameter = true;
      req.energy_beta = 3.0;
      const ts::FrameStats f = ts::frame_stats(x, req, ws);
      CHECK(f.close_pair_fraction == ts::close_pair_fraction(x, 2e-3, ws));
      CHECK(f.clusters == ts::cluster_count(x, 2e-3, ws));
      CHECK(f.max_inner_deviation == ts::max_inner_deviation(x, 0.4, ws));
      CHECK(f.mean_pairwise_inner == ts::mean_pairwise_inner(x));
      CHECK(f.diameter == ts::diameter(x, ws));
      CHECK(f.energy == ts::attention_energy(x, 3.0, ws));
      // A view with an outer stride (the first d columns of a wider matrix).
      RowMat wide = RowMat::Random(n, d + 3);
      wide.leftCols(d) = x;
      const ts::FrameStats v = ts::frame_stats(wide.leftCols(d), req, ws);
      CHECK(v.close_pair_fraction == f.close_pair_fraction);
      CHECK(v.clusters == f.clusters);
      CHECK(v.diameter == f.diameter);
      CHECK(v.mean_pairwise_inner == rel(f.mean_pairwise_inner).epsilon(1e-15));
      const ts::FrameStats minimal = ts::frame_stats(x, ts::FrameRequest{}, ws);
      CHECK(minimal.clusters >= 1);
      CHECK(std::isnan(minimal.diameter));
      CHECK(std::isnan(minimal.energy));
      CHECK(std::isnan(minimal.max_inner_deviation));
    }
  // A few thousand tokens: same answers as brute force.
  const RowMat big = clustered(rng, 4, 500, 3, 0.02);
  CHECK(ts::close_pair_count(big, 1e-3) == close_brute(big, 1e-3));
  CHECK(ts::cluster_count(big, 1e-3) == components_brute(big, 1e-3));
}

TEST_CASE("open hemisphere: constructed configurations with known answers") {
  ts::Workspace ws;
  // d >= n orthonormal tokens: inside, nearest hull point (1/n) sum e_i, margin 1/sqrt(n).
  for (Index n : {1, 2, 5, 16})
    for (Index d : {n, n + 3, Index(64)}) {
      RowMat x = RowMat::Zero(n, d);
      for (Index i = 0; i < n; ++i) x(i, i) = 1;
      const ts::Hemisphere h = ts::open_hemisphere(x, ws);
      CHECK(h.inside);
      CHECK(h.margin == rel(1 / std::sqrt(double(n))).epsilon(1e-14));
      check_min_norm_point(x, ws, h);
    }
  Rng rng(4);
  // d >= n random tokens (linearly independent almost surely): inside.
  for (Index d = 2; d <= 64; d += 7)
    for (Index n : {Index(1), Index(2), d / 2 + 1, d}) {
      const RowMat x = uniform_sphere(rng, n, d);
      const ts::Hemisphere h = ts::open_hemisphere(x, ws);
      CHECK(h.inside);
      check_min_norm_point(x, ws, h);
    }
  // An antipodal pair among random tokens: never inside.
  for (Index d : {2, 3, 10, 64})
    for (Index n : {2, 5, 40}) {
      RowMat x = uniform_sphere(rng, n, d);
      x.row(n - 1) = -x.row(0);
      const ts::Hemisphere h = ts::open_hemisphere(x, ws);
      CHECK_FALSE(h.inside);
      CHECK(h.margin == 0.0);
      check_min_norm_point(x, ws, h);
    }
  // m points equally spaced on a great circle (in a random 2-plane of R^d): not inside, m >= 3.
  // Points on an arc of half-angle a (ends included): inside with margin cos a.
  for (Index d : {2, 3, 6, 64}) {
    const RowMat frame = uniform_sphere(rng, 2, d);
    Eigen::RowVectorXd u = frame.row(0), v = frame.row(1);
    v -= v.dot(u) * u;
    v.normalize();
    for (Index m : {3, 4, 7, 32, 64}) {
      RowMat x(m, d);
      for (Index k = 0; k < m; ++k) {
        const double t = 2 * M_PI * double(k) / double(m);
        x.row(k) = std::cos(t) * u + std::sin(t) * v;
      }
      const ts::Hemisphere h = ts::open_hemisphere(x, ws);
      CHECK_FALSE(h.inside);
      check_min_norm_point(x, ws, h);
    }
    for (double a : {0.1, 0.7, 1.5, 1.57}) {
      const Index m = 9;
      RowMat x(m, d);
      for (Index k = 0; k < m; ++k) {
        const double t = -a + 2 * a * double(k) / double(m - 1);
        x.row(k) = std::cos(t) * u + std::sin(t) * v;
      }
      const ts::Hemisphere h = ts::open_hemisphere(x, ws);
      CHECK(h.inside);
      CHECK(h.margin == rel(std::cos(a)).epsilon(1e-12));
      check_min_norm_point(x, ws, h);
    }
  }
  // A zero token: 0 is in the hull.
  RowMat z = uniform_sphere(rng, 4, 3);
  z.row(2).setZero();
  CHECK_FALSE(ts::open_hemisphere(z, ws).inside);
  // A tight cluster far from 0: inside, margin close to 1.
  RowMat c = RowMat::Ones(20, 5) + 1e-7 * uniform_sphere(rng, 20, 5);
  for (Index i = 0; i < 20; ++i) c.row(i).normalize();
  const ts::Hemisphere hc = ts::open_hemisphere(c, ws);
  CHECK(hc.inside);
  CHECK(hc.margin > 1 - 1e-12);
  check_min_norm_point(c, ws, hc);
}

TEST_CASE("open hemisphere agrees with exact references on random clouds") {
  Rng rng(6);
  ts::Workspace ws;
  // d = 2: unit vectors lie in an open half-plane iff the largest angular gap exceeds pi.
  for (Index n : {2, 3, 4, 6, 10, 32, 64})
    for (int rep = 0; rep < 200; ++rep) {
      const RowMat x = uniform_sphere(rng, n, 2);
      std::vector<double> ang(n);
      for (Index i = 0; i < n; ++i) ang[i] = std::atan2(x(i, 1), x(i, 0));
      std::sort(ang.begin(), ang.end());
      double gap = ang.front() + 2 * M_PI - ang.back();
      for (Index i = 1; i < n; ++i) gap = std::max(gap, ang[i] - ang[i - 1]);
      const ts::Hemisphere h = ts::open_hemisphere(x, ws);
      CHECK(h.inside == (gap > M_PI));
      if (h.inside) CHECK(h.margin == rel(std::cos(M_PI - gap / 2)).epsilon(1e-10));
      check_min_norm_point(x, ws, h);
    }
  // d = 3, 4: Caratheodory brute force over all (d + 1)-subsets.
  for (Index d : {3, 4})
    for (Index n : {d + 1, d + 3, Index(9)})
      for (int rep = 0; rep < 100; ++rep) {
        const RowMat x = uniform_sphere(rng, n, d);
        const ts::Hemisphere h = ts::open_hemisphere(x, ws);
        CHECK(h.inside == !zero_in_hull_brute(x));
        check_min_norm_point(x, ws, h);
      }
  // n up to 64, d from 2 to 64: the nearest point satisfies the optimality conditions.
  for (Index d : {2, 3, 5, 8, 16, 31, 32, 33, 63, 64})
    for (Index n : {8, 33, 64})
      for (int rep = 0; rep < 5; ++rep) {
        RowMat x = uniform_sphere(rng, n, d);
        if (rep == 4) x.array() += 0.3;  // shifted: more often inside
        const ts::Hemisphere h = ts::open_hemisphere(x, ws);
        check_min_norm_point(x, ws, h);
        if (n <= d) CHECK(h.inside);
      }
}

TEST_CASE("Wendel's theorem: Monte Carlo fraction inside an open hemisphere") {
  // For n i.i.d. uniform tokens on S^{d-1}, P(inside) = 2^{-(n-1)} sum_{k<d} C(n-1, k) (GLPR
  // Theorem 6.7); 20000 clouds per (n, d), 99.9% Clopper-Pearson interval.
  Rng rng(7);
  ts::Workspace ws;
  struct Case { Index n, d; };
  for (const Case c : {Case{6, 3}, Case{10, 4}, Case{32, 2}, Case{5, 2}, Case{12, 7}, Case{4, 6}}) {
    const std::int64_t trials = 20000;
    std::int64_t inside = 0;
    for (std::int64_t r = 0; r < trials; ++r)
      inside += ts::open_hemisphere(uniform_sphere(rng, c.n, c.d), ws).inside;
    const double p = stats::wendel_probability(c.n, c.d);
    const stats::Interval ci = stats::clopper_pearson_interval(inside, trials, 0.999);
    INFO("n = " << c.n << ", d = " << c.d << ": " << inside << " of " << trials << ", Wendel " << p);
    CHECK(ci.contains(p));
  }
}
