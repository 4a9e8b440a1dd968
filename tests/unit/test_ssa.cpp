#include <omp.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include <doctest/doctest.h>

#include "sim/kernels/attention_stats.hpp"
#include "sim/models/ssa.hpp"
#include "sim/core/rng.hpp"
#include "sim/kernels/ssa_operator.hpp"
#include "helpers.hpp"

using namespace attnflow;

TEST_SUITE_BEGIN("oscillators");

namespace {

RowMat randm(Index r, Index c, Rng& rng, double scale = 1.0) {
  RowMat m(r, c);
  for (Index i = 0; i < r; ++i)
    for (Index j = 0; j < c; ++j) m(i, j) = scale * rng.normal();
  return m;
}

// research/ssa.md 2.11, literally (one head): S materialised, top-k by a full sort.
struct Ref {
  RowMat S, out;
  double r;
};
Ref reference(const RowMat& omega, const RowMat& theta, const RowMat& V, double K_hat,
              double alpha_hat, Index topk) {
  const double eps = 1e-8;
  const Index N = omega.rows(), d = omega.cols();
  const double K = std::log1p(std::exp(K_hat)), alpha = std::log1p(std::exp(alpha_hat));
  double r = 0;
  for (Index c = 0; c < d; ++c) {
    double cs = 0, sn = 0;
    for (Index j = 0; j < N; ++j) { cs += std::cos(theta(j, c)); sn += std::sin(theta(j, c)); }
    r += std::hypot(cs, sn) / N;
  }
  r /= d;
  RowMat S(N, N);
  for (Index i = 0; i < N; ++i)
    for (Index j = 0; j < N; ++j) {
      double D2 = 0;
      for (Index c = 0; c < d; ++c) D2 += (omega(i, c) - omega(j, c)) * (omega(i, c) - omega(j, c));
      const double Dl = i == j ? 0 : std::sqrt(D2);
      const double J = std::exp(-alpha * D2), T = K * r * J + eps;
      S(i, j) = Dl <= T ? J * std::sqrt(std::max(0.0, 1 - (Dl / T) * (Dl / T))) : 0;
    }
  if (topk > 0 && topk < N) {
    for (Index i = 0; i < N; ++i) {
      std::vector<Index> idx(N);
      std::iota(idx.begin(), idx.end(), 0);
      std::sort(idx.begin(), idx.end(), [&](Index a, Index b) {
        if (S(i, a) != S(i, b)) return S(i, a) > S(i, b);
        if ((a == i) != (b == i)) return a == i;
        return a < b;
      });
      for (Index t = topk; t < N; ++t) S(i, idx[t]) = 0;
    }
  }
  RowMat out = RowMat::Zero(N, V.cols());
  for (Index i = 0; i < N; ++i) {
    const double Z = S.row(i).sum() + eps;
    for (Index j = 0; j < N; ++j) out.row(i) += (S(i, j) / Z) * V.row(j);
  }
  return {S, out, r};
}

double maxabs(const RowMat& a) { return a.cwiseAbs().maxCoeff(); }

}  // namespace

TEST_CASE("the SSA operator equals the brute-force reference of research section 2.11 to 1e-12") {
  Rng rng(11);
  for (Index N : {1, 2, 5, 64, 130}) {
    for (Index d : {1, 3, 16}) {
      for (Index topk : {0, 1, 3, 17}) {
        for (double omega_scale : {0.05, 0.3, 2.0}) {
          CAPTURE(N); CAPTURE(d); CAPTURE(topk); CAPTURE(omega_scale);
          const RowMat om = randm(N, d, rng, omega_scale), th = randm(N, d, rng, 0.7),
                       v = randm(N, d, rng);
          const double K_hat = 1.5, alpha_hat = -0.5;
          const Ref ref = reference(om, th, v, K_hat, alpha_hat, topk);
          const ssa::Head h{om.data(), th.data(), v.data(), N, d, d};
          const double r = ssa::order_parameter(th.data(), N, d, d);
          CHECK(std::abs(r - ref.r) < 1e-13);
          const double kr = ssa::softplus(K_hat) * r, alpha = ssa::softplus(alpha_hat);
          RowMat out(N, d);
          ssa::head_forward(h, kr, alpha, topk, out.data(), d);
          CHECK(maxabs(out - ref.out) <= 1e-12 * std::max(1.0, maxabs(ref.out)));
          const RowMat S = ssa::head_matrix(h, kr, alpha, topk, false);
          CHECK(maxabs(S - ref.S) <= 1e-12);
        }
      }
    }
  }
}

TEST_CASE("SSA edge cases: Delta = 0 gives S = 1 and rho = 1 gives S = 0 and the diagonal is exactly 1") {
  // Delta = 0 between distinct tokens: J = 1, rho = 0, S = 1.
  CHECK(ssa::pair_weight(0.0, false, 2.0, 0.7) == 1.0);
  CHECK(ssa::pair_weight(0.0, true, 0.0, 0.7) == 1.0);  // diagonal survives K r = 0
  // rho = 1 exactly (alpha = 0, Delta = T = K r + eps): the exact operator gives 0, never < 0.
  const double kr = 0.75, t = kr + ssa::kEps;
  CHECK(ssa::pair_weight(t * t, false, kr, 0.0) >= 0.0);
  CHECK(ssa::pair_weight(t * t, false, kr, 0.0) < 1e-7);
  CHECK(ssa::pair_weight(std::nextafter(t, 10.0) * std::nextafter(t, 10.0), false, kr, 0.0) == 0.0);
  // Adler closed form when alpha = 0.
  CHECK(ssa::pair_weight(0.36, false, 1.0, 0.0) == doctest::Approx(0.8).epsilon(1e-7));
  // Identical frequency vectors: every pair is fully locked, A is uniform.
  const Index N = 6, d = 4;
  RowMat om = RowMat::Constant(N, d, 0.3), th = RowMat::Zero(N, d), v(N, d);
  Rng rng(1);
  v = randm(N, d, rng);
  const ssa::Head h{om.data(), th.data(), v.data(), N, d, d};
  const RowMat A = ssa::head_matrix(h, 1.0, 1.0, 0, true);
  CHECK(maxabs(A.array() - 1.0 / (N + ssa::kEps)) < 1e-15);
  // Top-k with ties keeps the diagonal first.
  const RowMat S2 = ssa::head_matrix(h, 1.0, 1.0, 2, false);
  for (Index i = 0; i < N; ++i) {
    CHECK(S2(i, i) == 1.0);
    CHECK((S2.row(i).array() > 0).count() == 2);
  }
}

TEST_CASE("the OSN block has 3152393 parameters at D = 512 and H = 8") {
  OsnParams p;
  p.D = 512; p.H = 8; p.F = 2048;
  p.alpha_hat.assign(8, 1.0);
  // Construction draws 3.1M weights; cheap enough.
  OsnBlock b(p, 1);
  CHECK(b.parameter_count() == 3152393);
}

TEST_CASE("the SSA block equals per-head reference evaluations and is bit-identical for 1 and 2 threads") {
  OsnParams p;
  p.D = 24; p.H = 3; p.F = 48; p.init = "figure"; p.K_hat = 100; p.alpha_hat = {-5, -1, 0.5};
  p.top_k = 9;
  OsnBlock b(p, 5);
  Rng rng(4);
  const RowMat x = randm(40, 24, rng);
  const RowMat z = b.input(x);
  RowMat y;
  b.ssa(z, y);
  // Reference: project, split heads, apply 2.11, concatenate, W_o.
  const RowMat om = (z * b.W_omega.transpose()).rowwise() + b.b_omega.transpose();
  const RowMat th = (z * b.W_theta.transpose()).rowwise() + b.b_theta.transpose();
  const RowMat v = (z * b.W_v.transpose()).rowwise() + b.b_v.transpose();
  RowMat o(40, 24);
  for (Index h = 0; h < 3; ++h) {
    const Ref ref = reference(om.middleCols(h * 8, 8), th.middleCols(h * 8, 8), v.middleCols(h * 8, 8),
                              p.K_hat, p.alpha_hat[h], p.top_k);
    o.middleCols(h * 8, 8) = ref.out;
  }
  const RowMat yref = (o * b.W_o.transpose()).rowwise() + b.b_o.transpose();
  CHECK(maxabs(y - yref) <= 1e-12 * maxabs(yref));

  const int saved = omp_get_max_threads();
  RowMat x1 = x, x2 = x;
  omp_set_num_threads(1);
  b.forward(x1, 1.0);
  omp_set_num_threads(2);
  b.forward(x2, 1.0);
  omp_set_num_threads(saved);
  CHECK(x1 == x2);
}

TEST_CASE("default-init SSA is the identity attention and the figure init is dense and near-uniform") {
  for (const char* init : {"default", "figure"}) {
    CAPTURE(init);
    auto sc = test::scenario(std::string("[tokens]\nn = 96\nd = 64\n[model]\nkind = \"ssa\"\nheads = 2\n"
                                         "init = \"") + init + "\"\n[integrator]\nkind = \"euler\"\n"
                                         "dt = 1.0\nlayers = 2\n");
    Simulation sim(sc);
    Model& m = sim.model();
    const State& s = sim.state();
    const double sp = m.observable("ssa_sparsity", 0, s.view());
    const double ent = m.observable("ssa_row_entropy", 0, s.view());
    if (std::string(init) == "default") {
      CHECK(sp == 1.0);
      CHECK(ent == 0.0);
    } else {
      CHECK(sp == 0.0);
      CHECK(ent > 0.99);
    }
    CHECK(m.observable("tf_sparsity", 0, s.view()) == 0.0);
    RunOptions opt;
    sim.run(opt);  // two OSN layers run and stay finite
    CHECK(sim.state().u.allFinite());
  }
}

TEST_CASE("attention statistics of the identity matrix and the uniform matrix and identical heads") {
  const Index n = 10;
  auto I = attention_stats({RowMat::Identity(n, n)});
  CHECK(I.sparsity == 1.0);
  CHECK(I.row_entropy == 0.0);
  CHECK(I.mean_max_weight == 1.0);
  auto U = attention_stats({RowMat::Constant(n, n, 0.3), RowMat::Constant(n, n, 0.3)});
  CHECK(U.sparsity == 0.0);
  CHECK(U.row_entropy == doctest::Approx(1.0));
  CHECK(U.cv == doctest::Approx(0.0));
  CHECK(U.row_max_min == doctest::Approx(1.0));
  CHECK(U.mean_max_weight == doctest::Approx(0.1));
  Rng rng(2);
  RowMat w = randm(n, n, rng).cwiseAbs();
  auto same = attention_stats({w, w});
  CHECK(same.head_corr == doctest::Approx(1.0));
  auto opp = attention_stats({w, RowMat((-w).array() + 10.0)});
  CHECK(opp.head_corr == doctest::Approx(-1.0));
}

TEST_SUITE_END();
