// SympFormer block integrators (research/sympformer.md 4.3, 10 items 9-10; SympFormer
// arXiv 2603.16535): empirical orders by halving h, conformal symplecticity of
// kick_damp_drift on a separable quadratic H, damping weights.
#include <cmath>

#include <doctest/doctest.h>

#include "sim/core/registry.hpp"
#include "sim/core/rng.hpp"
#include "sim/models/second_order.hpp"
#include "helpers.hpp"

using namespace attnflow;

namespace {

std::unique_ptr<Integrator> make(const std::string& kind, double dt) {
  IntegratorSpec spec;
  spec.kind = kind;
  spec.dt = dt;
  return IntegratorRegistry::find(kind)->make(spec);
}

State integrate(Flow& m, const State& s0, const std::string& kind, double t0, double t1, double dt) {
  State s = s0;
  auto in = make(kind, dt);
  StepStats st;
  double t = t0;
  in->advance(m, s, t, t1, st);
  return s;
}

const char* kSoftmax = R"(
[tokens]
n = 6
d = 2
[model]
kind = "accelerated_attention"
A = [[0.5, 0.1], [0.1, 0.3]]
B = [[1.0, 0.2], [0.2, 0.8]]
damping = "nesterov"
[integrator]
t0 = 1.0
t_end = 2.0
)";

const char* kLinear = R"(
[tokens]
n = 6
d = 2
[model]
kind = "accelerated_linear_attention"
A = [[0.5, 0.1], [0.1, 0.3]]
V = [[0.4, 0.0], [0.0, -0.3]]
damping = "log_lin"
c_log = 3.0
c_lin = 0.2
[integrator]
t0 = 1.0
t_end = 2.0
)";

double measured_order(const char* text, const std::string& kind, double h) {
  const Scenario sc = test::scenario(text);
  auto m = test::build_flow(sc);
  Rng rng(17);
  State s0(sc.shape());
  for (Index k = 0; k < s0.u.size(); ++k) s0.u[k] = 0.6 * rng.normal();
  const double t0 = 1.0, t1 = 2.0;
  const State ref = integrate(*m, s0, "rk4", t0, t1, 1e-4);
  const double e1 = (integrate(*m, s0, kind, t0, t1, h).u - ref.u).norm();
  const double e2 = (integrate(*m, s0, kind, t0, t1, h / 2).u - ref.u).norm();
  const double e4 = (integrate(*m, s0, kind, t0, t1, h / 4).u - ref.u).norm();
  MESSAGE(kind << ": errors " << e1 << " " << e2 << " " << e4 << ", orders "
                << std::log2(e1 / e2) << " " << std::log2(e2 / e4));
  return std::log2(e2 / e4);
}

}  // namespace

TEST_CASE("empirical orders by halving h: 1 for the Euler-type blocks, 2 for ab2, etd_ab2, tao, strang") {
  for (const char* text : {kSoftmax, kLinear}) {
    for (const char* k : {"heavy_ball_euler", "damped_euler", "kick_damp_drift", "exp_euler",
                          "symplectic_euler"}) {
      CAPTURE(k);
      const double p = measured_order(text, k, 0.02);
      CHECK(p == doctest::Approx(1.0).epsilon(0.1));
    }
    for (const char* k : {"ab2", "etd_ab2", "tao", "strang"}) {
      CAPTURE(k);
      const double p = measured_order(text, k, 0.02);
      CHECK(p == doctest::Approx(2.0).epsilon(0.1));
    }
  }
}

TEST_CASE("velocity_verlet is second order on a separable quadratic H") {
  test::Quadratic m(3, 2, RowMat{{1.0, 0.3}, {0.3, 2.0}}, RowMat{{2.0, 0.5}, {0.5, 1.0}},
              Damping{3.0, 0.1});
  Rng rng(2);
  State s0(m.shape());
  for (Index k = 0; k < s0.u.size(); ++k) s0.u[k] = rng.normal();
  const State ref = integrate(m, s0, "rk4", 1.0, 2.0, 1e-4);
  const double e2 = (integrate(m, s0, "velocity_verlet", 1.0, 2.0, 0.01).u - ref.u).norm();
  const double e4 = (integrate(m, s0, "velocity_verlet", 1.0, 2.0, 0.005).u - ref.u).norm();
  CHECK(std::log2(e2 / e4) == doctest::Approx(2.0).epsilon(0.1));
}

TEST_CASE("kick_damp_drift is conformally symplectic on a separable quadratic H: J^T Omega J = sigma Omega") {
  const Index n = 2, d = 2, dim = 2 * n * d;
  for (Damping dmp : {Damping{0.0, 0.3}, Damping{3.0, 0.0}, Damping{0.0, 0.0}}) {
    test::Quadratic m(n, d, RowMat{{1.0, 0.3}, {0.3, 2.0}}, RowMat{{2.0, 0.5}, {0.5, 1.0}}, dmp);
    const double t = 1.3, h = 0.07;
    const double sigma = dmp.sigma(t, t + h);
    auto in = make("kick_damp_drift", h);
    // The map is linear: J e_k = Phi(e_k).
    Eigen::MatrixXd J(dim, dim);
    for (Index k = 0; k < dim; ++k) {
      State s(m.shape());
      s.u[k] = 1.0;
      in->step(m, s, t, h);
      J.col(k) = s.u;
    }
    // Coordinates u = (x(:), y(:)): Omega = [[0, I], [-I, 0]].
    const Index nd = n * d;
    Eigen::MatrixXd Om = Eigen::MatrixXd::Zero(dim, dim);
    Om.topRightCorner(nd, nd).setIdentity();
    Om.bottomLeftCorner(nd, nd) = -Eigen::MatrixXd::Identity(nd, nd);
    const Eigen::MatrixXd R = J.transpose() * Om * J - sigma * Om;
    CAPTURE(sigma);
    CHECK(R.cwiseAbs().maxCoeff() < 1e-12);
    CHECK(std::abs(J.determinant() - std::pow(sigma, double(nd))) < 1e-12);
  }
}

TEST_CASE("damping: sigma and the exact variation-of-constants weight") {
  const Damping nest{3.0, 0.0}, cst{0.0, 0.4}, both{3.0, 0.2};
  CHECK(nest.sigma(1.0, 2.0) == doctest::Approx(1.0 / 8).epsilon(1e-14));
  CHECK(cst.sigma(1.0, 2.0) == doctest::Approx(std::exp(-0.4)).epsilon(1e-14));
  CHECK(nest.weight(1.0, 2.0) == doctest::Approx(2.0 / 4 * (1 - 1.0 / 16)).epsilon(1e-14));
  CHECK(cst.weight(1.0, 1.5) == doctest::Approx((1 - std::exp(-0.2)) / 0.4).epsilon(1e-14));
  // Quadrature of the general case vs a fine midpoint rule.
  double ref = 0;
  const int k = 200000;
  for (int i = 0; i < k; ++i) {
    const double s = 1.0 + (i + 0.5) / k;
    ref += std::exp(-both.delta_eta(s, 2.0)) / k;
  }
  CHECK(both.weight(1.0, 2.0) == doctest::Approx(ref).epsilon(1e-9));
}

TEST_CASE("block integrators refuse first-order models with a clear message, before any run") {
  CHECK_THROWS_WITH_AS(test::scenario("[tokens]\nn = 4\nd = 2\n[model]\nkind = \"attention\"\n"
                                      "[integrator]\nkind = \"ab2\"\nt_end = 1.0\n"),
                       doctest::Contains("test.toml:7:8: integrator.kind = \"ab2\" is a block scheme "
                                         "for second-order"),
                       ConfigError);
}

TEST_CASE("ab2 and etd_ab2 checkpoints: a restored integrator continues bit-identically") {
  for (const char* kind : {"ab2", "etd_ab2"}) {
    CAPTURE(kind);
    const Scenario sc = test::scenario(kLinear);
    auto m = test::build_flow(sc);
    Rng rng(5);
    State s(sc.shape());
    for (Index k = 0; k < s.u.size(); ++k) s.u[k] = 0.5 * rng.normal();
    auto a = make(kind, 0.05);
    StepStats st;
    double t = 1.0;
    a->advance(*m, s, t, 1.5, st);
    const std::vector<double> ck = a->save_checkpoint();
    CHECK(static_cast<Index>(ck.size()) == a->checkpoint_size(s.shape));
    State s2 = s;
    double t2 = t;
    a->advance(*m, s, t, 2.0, st);
    auto b = make(kind, 0.05);
    b->restore_checkpoint(ck);
    b->advance(*m, s2, t2, 2.0, st);
    CHECK(s.u == s2.u);
  }
}
