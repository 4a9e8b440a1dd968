// Integrators on problems with a closed form. The test problem is the linear-attention flow
// with N = d = 1, A = V = 1:  x' = x^3,  x(t) = x0 / sqrt(1 - 2 x0^2 t)  (SympFormer 2.3).
#include <unistd.h>

#include <cmath>

#include <doctest/doctest.h>

#include "analysis/claims.hpp"
#include "helpers.hpp"

using namespace attnflow;

namespace {

const char* kCubic = R"(
[tokens]
n = 1
d = 1
init = "file"
path = "CSV"
[model]
kind = "linear_attention"
A = [[1.0]]
V = [[1.0]]
[integrator]
t_end = 1.0
[run]
frames = 2
)";

std::string cubic_with_x0(double x0) {
  const std::string csv = "/tmp/attnflow_test_x0_" + std::to_string(::getpid()) + "_" +
                          std::to_string(x0) + ".csv";
  FILE* f = std::fopen(csv.c_str(), "w");
  std::fprintf(f, "%.17g\n", x0);
  std::fclose(f);
  std::string s = kCubic;
  s.replace(s.find("CSV"), 3, csv);
  return s;
}

double cubic_exact(double x0, double t) { return x0 / std::sqrt(1 - 2 * x0 * x0 * t); }

double final_error(const std::string& kind, double dt, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> sets = {"integrator.kind=" + kind, "integrator.dt=" + std::to_string(dt)};
  sets.insert(sets.end(), extra.begin(), extra.end());
  const Scenario sc = test::scenario(cubic_with_x0(0.5), sets);
  return std::abs(test::run_final(sc).x()(0, 0) - cubic_exact(0.5, 1.0));
}

}  // namespace

TEST_CASE("rk4 error falls by 16 when dt halves (order 4) on x' = x^3") {
  const double e1 = final_error("rk4", 0.02), e2 = final_error("rk4", 0.01);
  MESSAGE("rk4 error ratio (dt 0.02 -> 0.01): " << e1 / e2);
  CHECK(e1 / e2 == doctest::Approx(16).epsilon(0.10));
}

TEST_CASE("euler error falls by 2 when dt halves (order 1) on x' = x^3") {
  const double e1 = final_error("euler", 0.002), e2 = final_error("euler", 0.001);
  MESSAGE("euler error ratio (dt 0.002 -> 0.001): " << e1 / e2);
  CHECK(e1 / e2 == doctest::Approx(2).epsilon(0.10));
}

TEST_CASE("dopri5 meets its tolerance and its error shrinks with the tolerance") {
  const double loose = final_error("dopri5", 0.1, {"integrator.rtol=1e-6", "integrator.atol=1e-8"});
  const double tight = final_error("dopri5", 0.1, {"integrator.rtol=1e-10", "integrator.atol=1e-12"});
  MESSAGE("dopri5 final error: " << loose << " (rtol 1e-6), " << tight << " (rtol 1e-10)");
  // Global error of a tolerance-controlled run: a small multiple of the local tolerance.
  CHECK(loose < 10 * (1e-8 + 1e-6 * 0.71));
  CHECK(tight < 10 * (1e-12 + 1e-10 * 0.71));
  CHECK(tight < loose);
}

TEST_CASE("finite-time blow-up of x' = x^3 stops the run with a numerical error") {
  // x0 = 1: blow-up at t = 1/2.
  const Scenario sc = test::scenario(cubic_with_x0(1.0), {"integrator.kind=rk4", "integrator.dt=0.01"});
  Simulation sim(sc);
  RunOptions opt;
  CHECK_THROWS_AS(sim.run(opt), NumericalError);
}

TEST_CASE("dopri5 stops with a step-size underflow before the blow-up time") {
  const Scenario sc = test::scenario(cubic_with_x0(1.0), {"integrator.kind=dopri5", "integrator.dt_min=1e-9"});
  Simulation sim(sc);
  RunOptions opt;
  try {
    sim.run(opt);
    FAIL("expected a numerical error");
  } catch (const NumericalError& e) {
    CHECK(std::string(e.what()).find("t = 0.49") != std::string::npos);
  }
}

TEST_CASE("every fixed-step integrator keeps tokens on the sphere and dopri5 too") {
  for (const char* kind : {"euler", "rk4", "dopri5"}) {
    CAPTURE(kind);
    const Scenario sc = test::scenario(R"(
[tokens]
n = 30
d = 3
space = "sphere"
[model]
kind = "attention"
Q = "random"
K = "random"
V = "random"
[integrator]
dt = 0.05
t_end = 2.0
)", {std::string("integrator.kind=") + kind});
    const State s = test::run_final(sc);
    CHECK((s.x().rowwise().norm().array() - 1).abs().maxCoeff() < 1e-14);
  }
}

TEST_CASE("rk4 on the sphere converges at order 4 to the equiangular ODE solution") {
  // GLPR (6.9): from orthogonal tokens the particle system reduces exactly to a scalar ODE, so
  // the particle error at t = 2 is the integrator's error.
  auto error = [](double dt) {
    const Scenario sc = test::scenario(R"(
[tokens]
n = 4
d = 4
space = "sphere"
init = "orthogonal"
[model]
kind = "attention"
beta = 1.0
[integrator]
kind = "rk4"
t_end = 2.0
[run]
frames = 2
)", {"integrator.dt=" + std::to_string(dt)});
    const State s = test::run_final(sc);
    const double g = s.x().row(0).dot(s.x().row(1));
    return std::abs(g - equiangular_gamma({2.0}, 0.0, 4, 1.0, true)[0]);
  };
  const double e1 = error(0.2), e2 = error(0.1);
  CAPTURE(e1); CAPTURE(e2);
  CHECK(e1 / e2 == doctest::Approx(16).epsilon(0.10));
}
