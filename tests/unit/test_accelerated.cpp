// Accelerated (Hamiltonian momentum) models: finite-difference checks of every Hamiltonian RHS,
// the zero-momentum identity, validation errors, oracle counting, thread determinism and
// O(N d) memory of the softmax RHS (SympFormer arXiv 2603.16535; research/sympformer.md 3.3,
// 3.4, 4.4, 10 items 3-6).
#include <utility>
#include <omp.h>
#include <sys/resource.h>

#include <doctest/doctest.h>

#include "sim/core/registry.hpp"
#include "sim/core/rng.hpp"
#include "sim/models/second_order.hpp"
#include "helpers.hpp"

using namespace attnflow;

namespace {

std::unique_ptr<Flow> build(const std::string& text, Index n, Index d, std::uint64_t seed = 1) {
  // n and d go through validation, so matrices of the wrong size are rejected, not misused.
  const Scenario sc = test::scenario(text, {"tokens.n=" + std::to_string(n), "tokens.d=" + std::to_string(d)});
  std::unique_ptr<Model> m =
      sc.model.build(BuildContext{Shape{n, d, sc.shape().momentum}, Space::Euclidean, seed, {}});
  return std::unique_ptr<Flow>(&dynamic_cast<Flow&>(*m.release()));
}

State random_state(Index n, Index d, std::uint64_t seed, double xs, double ys) {
  Rng rng(seed);
  State s(Shape{n, d, true});
  for (Index k = 0; k < s.u.size(); ++k) s.u[k] = (k < n * d ? xs : ys) * rng.normal();
  return s;
}

// max |F - c dH/dy| and |G + c dH/dx| relative to max |(F, G)|, central differences.
double fd_error(Model& m, const State& s0) {
  auto& so = dynamic_cast<SecondOrderModel&>(m);
  RowMat F, G;
  so.oracle(1.0, s0.x(), s0.y(), F, G);
  const double c = so.symplectic_scale();
  const Index nd = s0.shape.block();
  State s = s0;
  double worst = 0, scale = std::max(F.cwiseAbs().maxCoeff(), G.cwiseAbs().maxCoeff());
  for (Index k = 0; k < s.u.size(); ++k) {
    const double eps = 1e-5 * std::max(1.0, std::abs(s0.u[k]));
    s.u[k] = s0.u[k] + eps;
    const double hp = so.hamiltonian(s.view());
    s.u[k] = s0.u[k] - eps;
    const double hm = so.hamiltonian(s.view());
    s.u[k] = s0.u[k];
    const double dh = (hp - hm) / (2 * eps);
    const double exact = k < nd ? -G.data()[k] : F.data()[k - nd];
    worst = std::max(worst, std::abs(c * dh - exact));
  }
  return worst / scale;
}

const char* kAccSoftmax = R"(
[tokens]
n = 7
d = 3
[model]
kind = "accelerated_attention"
convention = "%CONV%"
potential = "%POT%"
A = [[0.6, 0.1, 0.0], [0.1, 0.4, 0.05], [0.0, 0.05, 0.5]]
B = [[1.2, 0.2, 0.1], [0.2, 0.9, 0.0], [0.1, 0.0, 0.8]]
potential_matrix = [[0.5, 0.1, 0.0], [0.1, 1.0, 0.0], [0.0, 0.0, 0.3]]
[integrator]
t0 = 1.0
t_end = 2.0
)";

std::string subst(std::string s, const std::string& key, const std::string& val) {
  for (auto p = s.find(key); p != std::string::npos; p = s.find(key)) s.replace(p, key.size(), val);
  return s;
}

std::string softmax_text(const std::string& conv, const std::string& pot) {
  std::string t = subst(subst(kAccSoftmax, "%CONV%", conv), "%POT%", pot);
  if (pot == "attention") t = subst(t, "potential_matrix = [[0.5, 0.1, 0.0], [0.1, 1.0, 0.0], [0.0, 0.0, 0.3]]\n", "");
  return t;
}

}  // namespace

TEST_CASE("finite differences: accelerated softmax RHS = (c dH/dy, -c dH/dx), conventions a and b") {
  for (const char* conv : {"density", "v1"})
    for (const char* pot : {"attention", "quadratic"}) {
      CAPTURE(conv); CAPTURE(pot);
      auto m = build(softmax_text(conv, pot), 7, 3);
      const State s = random_state(7, 3, 11, 0.8, 0.7);
      CHECK(fd_error(*m, s) < 1e-7);
    }
}

TEST_CASE("finite differences: accelerated linear attention RHS is Hamiltonian") {
  auto m = build(R"(
[tokens]
n = 6
d = 3
[model]
kind = "accelerated_linear_attention"
A = [[0.6, 0.1, 0.0], [0.1, 0.4, 0.05], [0.0, 0.05, 0.5]]
V = [[0.3, 0.1, 0.0], [0.1, -0.2, 0.0], [0.0, 0.0, 0.1]]
[integrator]
t0 = 1.0
t_end = 2.0
)", 6, 3);
  CHECK(fd_error(*m, random_state(6, 3, 5, 1.0, 0.8)) < 1e-7);
}

TEST_CASE("finite differences: accelerated SVGD RHS (rbf fixed bandwidth, bilinear) is Hamiltonian") {
  for (const char* kernel : {"kernel = \"rbf\"\nbandwidth = 1.7", "kernel = \"bilinear\"\nc = 0.5"})
    for (const char* target : {"target = \"gaussian\"\nmean = [0.5, -0.2, 0.1]",
                               "target = \"gaussian_mixture\"\nmeans = [[1, 0, 0], [-1, 0.5, 0]]\nsigma = 0.8"}) {
      CAPTURE(kernel); CAPTURE(target);
      auto m = build(std::string(R"(
[tokens]
n = 8
d = 3
[model]
kind = "accelerated_svgd"
)") + kernel + "\n" + target + "\n[integrator]\nt_end = 1.0\n", 8, 3);
      CHECK(fd_error(*m, random_state(8, 3, 9, 1.0, 0.6)) < 1e-7);
    }
}

TEST_CASE("zero-momentum identity: x''(0) = Gamma(x) in convention a, N^2 Gamma(x) in b") {
  const Index n = 9, d = 3;
  for (const char* conv : {"density", "v1"}) {
    CAPTURE(conv);
    auto m = build(softmax_text(conv, "attention"), n, d);
    auto& so = dynamic_cast<SecondOrderModel&>(*m);
    State s = random_state(n, d, 3, 0.7, 0.0);
    s.y().setZero();
    RowMat F, G, acc;
    so.oracle(1.0, std::as_const(s).x(), std::as_const(s).y(), F, G);
    CHECK(F.cwiseAbs().maxCoeff() == 0.0);
    // x'' = dF/dt = F(x, y') since F is linear in y and x' = 0 at y = 0; y' = G at y = 0.
    so.velocity(cmap(G), acc);
    const RowMat A{{0.6, 0.1, 0.0}, {0.1, 0.4, 0.05}, {0.0, 0.05, 0.5}};
    const RowMat B{{1.2, 0.2, 0.1}, {0.2, 0.9, 0.0}, {0.1, 0.0, 0.8}};
    RowMat gamma = test::attention_reference(s.x(), RowMat::Identity(d, d), A, B * A, 1.0, true);
    if (std::string(conv) == "v1") gamma *= double(n * n);
    CHECK((acc - gamma).cwiseAbs().maxCoeff() <= 1e-13 * gamma.cwiseAbs().maxCoeff());
  }
}

TEST_CASE("zero_momentum_gain is 1 in convention a and N^2 in b, whatever the momentum in the state") {
  const Index n = 9, d = 3;
  for (const char* conv : {"density", "v1"}) {
    CAPTURE(conv);
    auto m = build(softmax_text(conv, "attention"), n, d);
    const State s = random_state(n, d, 5, 0.7, 0.4);  // the observable sets y = 0 itself
    const double want = std::string(conv) == "v1" ? double(n * n) : 1.0;
    CHECK(m->observable("zero_momentum_gain", 1.0, s.view()) == doctest::Approx(want).epsilon(1e-13));
    CHECK(m->observable("zero_momentum_residual", 1.0, s.view()) < 1e-13);
  }
}

TEST_CASE("accelerated_attention rejects a non-symmetric A and a non-SPD B = V A^-1, with location") {
  auto fails = [](const std::string& text, const std::string& needle) {
    try {
      const Scenario sc = test::scenario(text);
      FAIL("accepted: " << text);
    } catch (const ConfigError& e) {
      const std::string msg = e.what();
      CAPTURE(msg);
      CHECK(msg.find("test.toml:") != std::string::npos);
      CHECK(msg.find(needle) != std::string::npos);
    }
  };
  const std::string head = "[tokens]\nn = 4\nd = 2\n[model]\nkind = \"accelerated_attention\"\n";
  const std::string tail = "[integrator]\nt0 = 1.0\nt_end = 2.0\n";
  fails(head + "A = [[1.0, 0.5], [0.0, 1.0]]\n" + tail, "symmetric");
  fails(head + "A = [[1.0, 0.0], [0.0, 1.0]]\nV = [[1.0, 0.0], [0.0, -1.0]]\n" + tail,
        "B = V A^-1 must be symmetric positive definite");
  fails(head + "B = [[1.0, 2.0], [2.0, 1.0]]\n" + tail, "positive definite");
}

TEST_CASE("one oracle call a layer for the one-call schemes, four for tao and strang") {
  const std::string base = R"(
[tokens]
n = 16
d = 2
[model]
kind = "accelerated_attention"
A = [[0.3, 0.0], [0.0, 0.3]]
[integrator]
t0 = 1.0
dt = 0.1
layers = 10
[observe]
quantities = ["oracle_calls"]
)";
  for (const char* k : {"heavy_ball_euler", "damped_euler", "kick_damp_drift", "exp_euler", "ab2",
                        "etd_ab2", "tao", "strang"}) {
    CAPTURE(k);
    const Scenario sc = test::scenario(base, {std::string("integrator.kind=\"") + k + "\""});
    Simulation sim(sc);
    RunOptions opt;
    const RunSummary sum = sim.run(opt);
    const bool four = std::string(k) == "tao" || std::string(k) == "strang";
    CHECK(sum.oracle_calls == (four ? 40 : 10));
    CHECK(sim.series().values.at("oracle_calls").back() == (four ? 40.0 : 10.0));
  }
}

TEST_CASE("the accelerated softmax RHS is bit-identical for 1 and 2 threads") {
  const Index n = 900, d = 3;
  auto m = build(softmax_text("density", "attention"), n, d);
  const State s = random_state(n, d, 21, 0.6, 0.5);
  State d1(s.shape), d2(s.shape);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  m->rhs(1.0, s.view(), d1.view());
  omp_set_num_threads(2);
  m->rhs(1.0, s.view(), d2.view());
  omp_set_num_threads(saved);
  CHECK(d1.u == d2.u);
}

TEST_CASE("the accelerated softmax RHS keeps O(N d) memory (two streaming passes, no N x N)") {
  const Index n = 20000, d = 3;  // an N x N double matrix would be 3.2 GB
  auto m = build(softmax_text("density", "attention"), n, d);
  const State s = random_state(n, d, 4, 0.3, 0.3);
  State ds(s.shape);
  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);
  m->rhs(1.0, s.view(), ds.view());
  getrusage(RUSAGE_SELF, &after);
  CHECK(ds.u.allFinite());
  CHECK(after.ru_maxrss - before.ru_maxrss < 64 * 1024);  // kB
}

TEST_CASE("accelerated linear attention: particles follow the closed moment ODE (M, P) of notes 6.2") {
  // x_i(t) = M(t) x_i(0), y_i(t) = P(t) x_i(t), with Y0 = 0 (P0 = 0, c = 0):
  //   C = M C0 M^T, L = P C A, M' = L M, P' = -alpha P - A C P^T P - P L + V.
  const std::string text = R"(
[run]
seed = 12
[tokens]
n = 50
d = 3
init = "elliptical_t"
nu = 5.0
mean = [1.0, -0.5, 0.25]
cov = [[1.0, 0.3, 0.0], [0.3, 0.5, 0.0], [0.0, 0.0, 0.2]]
[model]
kind = "accelerated_linear_attention"
A = [[0.3, 0.05, 0.0], [0.05, 0.2, 0.0], [0.0, 0.0, 0.25]]
V = [[-0.5, 0.1, 0.0], [0.1, -0.3, 0.0], [0.0, 0.0, 0.2]]
damping = "nesterov"
[integrator]
kind = "rk4"
dt = 0.01
t0 = 1.0
t_end = 2.0
)";
  const Scenario sc = test::scenario(text);
  Simulation sim(sc);
  const RowMat x0 = sim.state().x();
  RunOptions opt;
  sim.run(opt);
  const RowMat A{{0.3, 0.05, 0.0}, {0.05, 0.2, 0.0}, {0.0, 0.0, 0.25}};
  const RowMat V{{-0.5, 0.1, 0.0}, {0.1, -0.3, 0.0}, {0.0, 0.0, 0.2}};
  const RowMat C0 = x0.transpose() * x0 / double(x0.rows());
  using M3 = Eigen::Matrix3d;
  auto f = [&](double t, const M3& M, const M3& P, M3& dM, M3& dP) {
    const M3 C = M * C0 * M.transpose();
    const M3 L = P * C * A;
    dM = L * M;
    dP = -(3.0 / t) * P - A * C * P.transpose() * P - P * L + V;
  };
  M3 M = M3::Identity(), P = M3::Zero();
  const double h = 1e-3;
  for (int k = 0; k < 1000; ++k) {
    const double t = 1.0 + k * h;
    M3 m1, p1, m2, p2, m3, p3, m4, p4;
    f(t, M, P, m1, p1);
    f(t + h / 2, M + h / 2 * m1, P + h / 2 * p1, m2, p2);
    f(t + h / 2, M + h / 2 * m2, P + h / 2 * p2, m3, p3);
    f(t + h, M + h * m3, P + h * p3, m4, p4);
    M += h / 6 * (m1 + 2 * m2 + 2 * m3 + m4);
    P += h / 6 * (p1 + 2 * p2 + 2 * p3 + p4);
  }
  const RowMat xT = sim.state().x(), yT = sim.state().y();
  const RowMat xref = x0 * M.transpose(), yref = xT * P.transpose();
  CHECK((xT - xref).cwiseAbs().maxCoeff() < 1e-8 * xref.cwiseAbs().maxCoeff());
  CHECK((yT - yref).cwiseAbs().maxCoeff() < 1e-8 * std::max(1.0, yref.cwiseAbs().maxCoeff()));
}
