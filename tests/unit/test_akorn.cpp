#include <cmath>

#include <doctest/doctest.h>

#include "sim/core/rng.hpp"
#include "helpers.hpp"

using namespace attnflow;

TEST_SUITE_BEGIN("oscillators");

TEST_CASE("AKOrN with n = 2 and uniform coupling and no stimulus reduces to the Kuramoto RHS") {
  const Index n = 50;
  Rng rng(8);
  std::string om = "[";
  Vec omega(n), theta(n);
  for (Index i = 0; i < n; ++i) {
    omega[i] = rng.normal();
    theta[i] = rng.uniform(0, 2 * M_PI);
    om += (i ? ", " : "") + std::to_string(omega[i]);
  }
  om += "]";
  auto ak = test::scenario("[tokens]\nn = 50\nd = 2\nspace = \"sphere\"\n[model]\nkind = \"akorn\"\n"
                           "coupling = 1.3\nfrequencies = \"values\"\nomega = " + om +
                           "\n[integrator]\nkind = \"rk4\"\ndt = 0.01\nt_end = 0.1\n");
  auto ku = test::scenario("[tokens]\nn = 50\nd = 1\n[model]\nkind = \"kuramoto\"\n"
                           "coupling = 1.3\nfrequencies = \"values\"\nomega = " + om +
                           "\n[integrator]\nkind = \"rk4\"\ndt = 0.01\nt_end = 0.1\n");
  Simulation sa(ak), sk(ku);
  State xa(sa.state().shape), da(xa.shape), xk(sk.state().shape), dk(xk.shape);
  // Frequencies went through the TOML as decimal text: read them back from the models.
  for (Index i = 0; i < n; ++i) {
    xa.x()(i, 0) = std::cos(theta[i]);
    xa.x()(i, 1) = std::sin(theta[i]);
    xk.x()(i, 0) = theta[i];
  }
  sa.flow().rhs(0, xa.view(), da.view());
  sk.flow().rhs(0, xk.view(), dk.view());
  for (Index i = 0; i < n; ++i) {
    // x' = theta' (-sin theta, cos theta)
    CHECK(da.x()(i, 0) == doctest::Approx(-std::sin(theta[i]) * dk.x()(i, 0)).epsilon(1e-12).scale(1));
    CHECK(da.x()(i, 1) == doctest::Approx(std::cos(theta[i]) * dk.x()(i, 0)).epsilon(1e-12).scale(1));
  }
}

TEST_CASE("an AKOrN run stays on the sphere and its energy decreases when Omega = 0") {
  auto sc = test::scenario(
      "[run]\nframes = 41\n[tokens]\nn = 64\nd = 4\nspace = \"sphere\"\n[model]\nkind = \"akorn\"\n"
      "coupling = 0.8\nstimulus = \"random\"\nstimulus_scale = 0.3\n[integrator]\nkind = \"rk4\"\n"
      "dt = 0.05\nt_end = 8.0\n[observe]\nquantities = [\"energy\", \"mean_norm\"]\n");
  Simulation sim(sc);
  RunOptions opt;
  sim.run(opt);
  const auto& e = sim.series().values.at("energy");
  for (std::size_t k = 1; k < e.size(); ++k) CHECK(e[k] <= e[k - 1] + 1e-12);
  CHECK(sim.series().values.at("mean_norm").back() == doctest::Approx(1.0).epsilon(1e-14));
}

TEST_CASE("AKOrN with attention coupling runs and counts one oracle call per RHS") {
  auto sc = test::scenario(
      "[tokens]\nn = 32\nd = 4\nspace = \"sphere\"\n[model]\nkind = \"akorn\"\ncoupling = 1.0\n"
      "coupling_rule = \"attention\"\nbeta = 2.0\nfrequencies = \"gaussian\"\nsigma = 0.1\n"
      "[integrator]\nkind = \"rk4\"\ndt = 0.05\nt_end = 1.0\n");
  Simulation sim(sc);
  RunOptions opt;
  const auto sum = sim.run(opt);
  CHECK(sum.oracle_calls == sum.rhs_evals);
  CHECK(sim.state().u.allFinite());
}

TEST_SUITE_END();
