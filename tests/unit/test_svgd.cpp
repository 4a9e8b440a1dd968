// SVGD and interaction-energy flows (research/sympformer.md 2.2, 2.3, 5; SympFormer
// arXiv 2603.16535): streamed RHS vs brute-force double sums, bilinear-kernel SVGD reaching a
// Gaussian target, E021's gradient flow (A = 0) against its closed form.
#include <cmath>

#include <doctest/doctest.h>

#include "sim/core/rng.hpp"
#include "helpers.hpp"

using namespace attnflow;

namespace {

RowMat rhs_of(const std::string& text, const RowMat& x) {
  const Scenario sc = test::scenario(text);
  auto m = test::build_flow(sc);
  State s(sc.shape()), ds(sc.shape());
  s.x() = x;
  m->rhs(1.0, s.view(), ds.view());
  return ds.x();
}

RowMat random_x(Index n, Index d, std::uint64_t seed) {
  Rng rng(seed);
  RowMat x(n, d);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < d; ++j) x(i, j) = 1.5 * rng.normal();
  return x;
}

}  // namespace

TEST_CASE("svgd rbf RHS equals the brute-force double sum (fixed bandwidth, gaussian target)") {
  const Index n = 300, d = 3;
  const RowMat x = random_x(n, d, 4);
  const double h = 2.3;
  const RowMat got = rhs_of(R"(
[tokens]
n = 300
d = 3
[model]
kind = "svgd"
target = "gaussian"
mean = [0.5, 0.0, -1.0]
kernel = "rbf"
bandwidth = 2.3
[integrator]
t_end = 1.0
)", x);
  RowMat ref = RowMat::Zero(n, d);
  Eigen::RowVectorXd mu(3);
  mu << 0.5, 0.0, -1.0;
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) {
      const double k = std::exp(-(x.row(i) - x.row(j)).squaredNorm() / h);
      ref.row(i) += k * (-(x.row(j) - mu)) + k * 2.0 / h * (x.row(i) - x.row(j));
    }
  ref /= double(n);
  CHECK((got - ref).cwiseAbs().maxCoeff() < 1e-12 * ref.cwiseAbs().maxCoeff());
}

TEST_CASE("interaction_energy gaussian kernel RHS equals the brute-force double sum") {
  const Index n = 257, d = 2;
  const RowMat x = random_x(n, d, 6);
  const RowMat got = rhs_of(R"(
[tokens]
n = 257
d = 2
[model]
kind = "interaction_energy"
interaction = "gaussian"
strength = 0.7
sigma = 1.3
potential = "quadratic"
potential_matrix = [[1.0, 0.2], [0.2, 0.5]]
[integrator]
t_end = 1.0
)", x);
  const RowMat H{{1.0, 0.2}, {0.2, 0.5}};
  RowMat ref = -(x * H);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) {
      const double k = std::exp(-(x.row(i) - x.row(j)).squaredNorm() / (2 * 1.3 * 1.3));
      ref.row(i) += 0.7 / (n * 1.3 * 1.3) * k * (x.row(i) - x.row(j));
    }
  CHECK((got - ref).cwiseAbs().maxCoeff() < 1e-12 * ref.cwiseAbs().maxCoeff());
}

TEST_CASE("E021 gradient flow with A = 0 (softmax mobility) matches x0 exp(-H t)") {
  const Scenario sc = test::scenario(R"(
[run]
seed = 31001
[tokens]
n = 16
d = 2
[model]
kind = "interaction_energy"
interaction = "none"
potential = "quadratic"
potential_matrix = [[0.01, 0.0], [0.0, 1.0]]
mobility = "softmax"
A = [[0.0, 0.0], [0.0, 0.0]]
B = "identity"
[integrator]
kind = "rk4"
dt = 0.01
t_end = 5.0
)");
  Simulation sim(sc);
  const RowMat x0 = sim.state().x();
  RunOptions opt;
  sim.run(opt);
  RowMat ref = x0;
  ref.col(0) *= std::exp(-0.01 * 5.0);
  ref.col(1) *= std::exp(-1.0 * 5.0);
  CHECK((sim.state().x() - ref).cwiseAbs().maxCoeff() < 1e-9);
}

TEST_CASE("E021 accelerated flow with A = 0: critically damped slow mode x0 (1 + 0.1 t) e^{-0.1 t}") {
  const Scenario sc = test::scenario(R"(
[run]
seed = 31002
[tokens]
n = 16
d = 2
[model]
kind = "accelerated_attention"
potential = "quadratic"
potential_matrix = [[0.01, 0.0], [0.0, 1.0]]
A = [[0.0, 0.0], [0.0, 0.0]]
damping = "constant"
alpha = 0.2
[integrator]
kind = "rk4"
dt = 0.01
t_end = 6.0
)");
  Simulation sim(sc);
  const RowMat x0 = sim.state().x();
  RunOptions opt;
  sim.run(opt);
  const double t = 6.0, w = std::sqrt(0.99);
  RowMat ref = x0;
  ref.col(0) *= (1 + 0.1 * t) * std::exp(-0.1 * t);
  ref.col(1) *= std::exp(-0.1 * t) * (std::cos(w * t) + 0.1 / w * std::sin(w * t));
  CHECK((sim.state().x() - ref).cwiseAbs().maxCoeff() < 1e-9);
}

TEST_CASE("svgd with the bilinear kernel (c = 1) reaches the Gaussian target's mean and covariance") {
  const Scenario sc = test::scenario(R"(
[run]
seed = 5
[tokens]
n = 200
d = 2
init = "gaussian"
[model]
kind = "svgd"
target = "gaussian"
mean = [1.0, -0.5]
cov = [[2.0, 0.6], [0.6, 0.5]]
kernel = "bilinear"
c = 1.0
[integrator]
kind = "rk4"
dt = 0.05
t_end = 30.0
[observe]
quantities = ["mean_error", "cov_error"]
)");
  Simulation sim(sc);
  RunOptions opt;
  sim.run(opt);
  CHECK(sim.series().values.at("mean_error").back() < 1e-6);
  CHECK(sim.series().values.at("cov_error").back() < 1e-6);
}
