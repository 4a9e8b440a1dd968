// The closed mean-field ODEs as models, and particles against them (issue 17, parts 2 and 3):
// Kuramoto on the Ott-Antonsen manifold (wrapped-Cauchy phases, r_ott_antonsen), the
// ott_antonsen model, linear attention's moment_residual and the linear_attention_moments model.
// Derivations: docs/mean_field.md 5 and 7.
#include <unistd.h>

#include <cmath>
#include <complex>
#include <filesystem>

#include <doctest/doctest.h>

#include "helpers.hpp"
#include "sim/core/rng.hpp"
#include "sim/io/h5md_reader.hpp"
#include "sim/io/h5md_writer.hpp"
#include "sim/io/resume.hpp"
#include "sim/io/run_file.hpp"
#include "sim/kernels/mean_field_odes.hpp"
#include "sim/run/init.hpp"

using namespace attnflow;
namespace fs = std::filesystem;

TEST_SUITE_BEGIN("mean_field_models");

namespace {

std::string oa_kuramoto(Index n, double r0, double psi0, const std::string& extra = "") {
  return "[run]\nseed = 4\nframes = 21\n[tokens]\nn = " + std::to_string(n) +
         "\nd = 1\n[model]\nkind = \"kuramoto\"\ncoupling = 2.0\nfrequencies = \"quantiles\"\n"
         "distribution = \"lorentzian\"\ngamma = 0.5\ncenter = 0.3\n"
         "initial_phases = \"wrapped_cauchy\"\nr0 = " + std::to_string(r0) + "\npsi0 = " +
         std::to_string(psi0) + "\n" + extra +
         "[integrator]\nkind = \"rk4\"\ndt = 0.01\nt_end = 10.0\n"
         "[observe]\nquantities = [\"order_parameter\", \"r_ott_antonsen\", \"psi\"]\n";
}

std::complex<double> order(const State& s) {
  std::complex<double> z = 0;
  for (Index i = 0; i < s.shape.n; ++i) z += std::polar(1.0, s.x()(i, 0));
  return z / static_cast<double>(s.shape.n);
}

// Random d x d matrix with N(0, scale^2) entries.
RowMat random_matrix(Index d, Rng& rng, double scale) {
  RowMat a(d, d);
  for (Index i = 0; i < d; ++i)
    for (Index j = 0; j < d; ++j) a(i, j) = scale * rng.normal();
  return a;
}

std::string toml_matrix(const RowMat& a) {
  std::string s = "[";
  for (Index i = 0; i < a.rows(); ++i) {
    s += i ? ", [" : "[";
    for (Index j = 0; j < a.cols(); ++j) {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%s%.17g", j ? ", " : "", a(i, j));
      s += buf;
    }
    s += "]";
  }
  return s + "]";
}

std::string toml_vector(const Vec& v) {
  std::string s = "[";
  for (Index j = 0; j < v.size(); ++j) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%s%.17g", j ? ", " : "", v[j]);
    s += buf;
  }
  return s + "]";
}

// Linear attention on R^3 with non-symmetric A, a negative definite V (no blow-up) and tokens
// with a non-zero mean; `extra` goes into [model] or overrides.
std::string linear_particles(const std::string& space, Index n, double dt, double t_end,
                             std::int64_t frames) {
  return "[run]\nseed = 9\nframes = " + std::to_string(frames) + "\n[tokens]\nn = " +
         std::to_string(n) + "\nd = 3\nspace = \"" + space +
         "\"\ninit = \"gaussian\"\nmean = [1.0, -0.5, 0.3]\n"
         "cov = [[1.0, 0.3, 0.0], [0.3, 0.8, 0.2], [0.0, 0.2, 0.5]]\n"
         "[model]\nkind = \"linear_attention\"\n"
         "A = [[1.0, 0.3, 0.0], [-0.2, 0.8, 0.1], [0.0, 0.1, 1.2]]\n"
         "V = [[-1.0, 0.2, 0.0], [0.2, -0.7, 0.0], [0.0, 0.0, -0.5]]\n"
         "[integrator]\nkind = \"rk4\"\ndt = " + std::to_string(dt) + "\nt_end = " +
         std::to_string(t_end) + "\n[observe]\nquantities = [\"energy\", \"moment_residual\"]\n";
}

}  // namespace

// ---- Kuramoto on the Ott-Antonsen manifold ------------------------------------------------------

TEST_CASE("wrapped-Cauchy initial phases have the order parameter r0 e^{i psi0} within sampling error") {
  const Index n = 40000;
  for (double r0 : {0.0, 0.2, 0.7}) {
    CAPTURE(r0);
    const Scenario sc = test::scenario(oa_kuramoto(n, r0, 1.1));
    Simulation sim(sc);
    const std::complex<double> z = order(sim.state());
    // each component of e^{i theta} has variance <= 1/2: 5 standard errors of the mean
    CHECK(std::abs(z - std::polar(r0, 1.1)) < 5 / std::sqrt(2.0 * double(n)));
    CHECK(sim.model().observable("r_ott_antonsen", 0.0, sim.state().view()) ==
          doctest::Approx(r0).epsilon(1e-15));
  }
  // drawn from the stream model.phases of the run seed: another seed, other phases
  const Scenario sa = test::scenario(oa_kuramoto(100, 0.5, 0.0)),
                 sb = test::scenario(oa_kuramoto(100, 0.5, 0.0), {"run.seed=5"});
  CHECK(Simulation(sa).state().u == Simulation(sa).state().u);
  CHECK(Simulation(sa).state().u != Simulation(sb).state().u);
}

TEST_CASE("wrapped-Cauchy phases require r0, with 0 <= r0 < 1") {
  CHECK_THROWS_WITH_AS(test::scenario(oa_kuramoto(10, 1.0, 0.0)), doctest::Contains("r0"), ConfigError);
  CHECK_THROWS_WITH_AS(test::scenario(oa_kuramoto(10, -0.1, 0.0)), doctest::Contains("[0, 1)"), ConfigError);
  CHECK_THROWS_WITH_AS(
      test::scenario("[tokens]\nn = 10\nd = 1\n[model]\nkind = \"kuramoto\"\n"
                     "initial_phases = \"wrapped_cauchy\"\n[integrator]\nt_end = 1.0\n"),
      doctest::Contains("r0"), ConfigError);
}

TEST_CASE("r_ott_antonsen is refused (exit 2, with the reason) off the OA manifold or without Lorentzian frequencies") {
  const std::string obs = "[observe]\nquantities = [\"r_ott_antonsen\"]\n";
  const std::string head = "[tokens]\nn = 10\nd = 1\n[model]\nkind = \"kuramoto\"\n";
  const std::string tail = "[integrator]\nt_end = 1.0\n" + obs;
  for (const std::string& model :
       {std::string("frequencies = \"quantiles\"\ninitial_phases = \"uniform\"\n"),
        std::string("frequencies = \"gaussian\"\ninitial_phases = \"wrapped_cauchy\"\nr0 = 0.2\n"),
        std::string("frequencies = \"quantiles\"\ndistribution = \"uniform\"\n"
                    "initial_phases = \"wrapped_cauchy\"\nr0 = 0.2\n"),
        std::string("coupling_rule = \"ssa\"\ninitial_phases = \"wrapped_cauchy\"\nr0 = 0.2\n")}) {
    CAPTURE(model);
    try {
      test::scenario(head + model + tail);
      FAIL("r_ott_antonsen was accepted");
    } catch (const ConfigError& e) {
      CHECK(e.exit_code() == 2);
      CHECK(std::string(e.what()).find("not available in this configuration") != std::string::npos);
      CHECK(std::string(e.what()).find("wrapped_cauchy") != std::string::npos);
    }
  }
  // random (not quantile) Lorentzian frequencies are fine
  CHECK_NOTHROW(test::scenario(head + "frequencies = \"lorentzian\"\ninitial_phases = "
                                      "\"wrapped_cauchy\"\nr0 = 0.2\n" + tail));
}

TEST_CASE("Kuramoto particles on the OA manifold follow r_ott_antonsen within 5/sqrt(N), and from uniform phases they leave it") {
  const Index n = 20000;
  // the sampling noise of z(0), ~0.7/sqrt(N), amplified up to ~3 times by the transient
  // (scenarios/kuramoto_oa_particles.toml: 0.9/sqrt(N) to 4.6/sqrt(N) over 26 seeds at N = 10^5)
  const double bound = 5 / std::sqrt(double(n));
  const Scenario on = test::scenario(oa_kuramoto(n, 0.2, 0.0));
  Simulation sim(on);
  RunOptions opt;
  sim.run(opt);
  const auto& v = sim.series().values;
  double worst = 0;
  for (std::size_t k = 0; k < sim.series().t.size(); ++k) {
    const double t = sim.series().t[k];
    CHECK(v.at("r_ott_antonsen")[k] == mean_field::oa_r_exact(0.2, t, 2.0, 0.5));
    worst = std::max(worst, std::abs(v.at("order_parameter")[k] - v.at("r_ott_antonsen")[k]));
  }
  MESSAGE("N = " << n << ": max |r - r_OA| = " << worst << " (5/sqrt(N) = " << bound << ")");
  CHECK(worst < bound);
  // r0 = 0 is the incoherent state: OA stays at r = 0, the particles synchronise from their
  // N^{-1/2} fluctuations (K = 2 > K_c = 1)
  const Scenario incoherent = test::scenario(oa_kuramoto(n, 0.0, 0.0), {"integrator.t_end=20.0"});
  Simulation off(incoherent);
  off.run(opt);
  CHECK(off.series().values.at("r_ott_antonsen").back() == 0.0);
  CHECK(off.series().values.at("order_parameter").back() > 0.5);
}

// ---- the ott_antonsen model -----------------------------------------------------------------------

TEST_CASE("the ott_antonsen model follows the closed-form r(t) from t0, with psi = psi0 + omega0 (t - t0)") {
  for (double K : {0.8, 2.0, 3.0}) {
    CAPTURE(K);
    auto sc = test::scenario(
        "[run]\nframes = 51\n[tokens]\nn = 1\nd = 2\n[model]\nkind = \"ott_antonsen\"\n"
        "coupling = " + std::to_string(K) + "\ngamma = 0.5\ncenter = 0.3\nr0 = 0.2\npsi0 = -0.4\n"
        "[integrator]\nkind = \"rk4\"\ndt = 0.01\nt0 = 1.5\nt_end = 11.5\n[observe]\n"
        "quantities = [\"order_parameter\", \"psi\", \"r_exact\", \"r_theory\"]\n");
    Simulation sim(sc);
    CHECK(sim.state().x()(0, 0) == doctest::Approx(0.2 * std::cos(-0.4)).epsilon(1e-15));
    CHECK(sim.state().x()(0, 1) == doctest::Approx(0.2 * std::sin(-0.4)).epsilon(1e-15));
    RunOptions opt;
    sim.run(opt);
    const auto& v = sim.series().values;
    const auto& t = sim.series().t;
    double worst = 0, psi_err = 0;
    for (std::size_t k = 0; k < t.size(); ++k) {
      CHECK(v.at("r_exact")[k] == mean_field::oa_r_exact(0.2, t[k] - 1.5, K, 0.5));
      worst = std::max(worst, std::abs(v.at("order_parameter")[k] - v.at("r_exact")[k]));
      psi_err = std::max(psi_err, std::abs(std::remainder(v.at("psi")[k] + 0.4 - 0.3 * (t[k] - 1.5), 2 * M_PI)));
    }
    CHECK(v.at("r_exact").front() == doctest::Approx(0.2).epsilon(1e-15));
    CHECK(worst < 1e-10);
    CHECK(psi_err < 1e-10);
    CHECK(v.at("r_theory").back() == mean_field::oa_r_inf(K, 0.5));
  }
}

TEST_CASE("ott_antonsen needs tokens.n = 1, tokens.d = 2 on R^2 (located errors)") {
  const std::string m = "[model]\nkind = \"ott_antonsen\"\nr0 = 0.2\n[integrator]\nt_end = 1.0\n";
  CHECK_THROWS_WITH_AS(test::scenario("[tokens]\nn = 2\nd = 2\n" + m),
                       doctest::Contains("test.toml:5:"), ConfigError);
  CHECK_THROWS_WITH_AS(test::scenario("[tokens]\nn = 1\nd = 3\n" + m),
                       doctest::Contains("tokens.n = 1 and tokens.d = 2"), ConfigError);
  CHECK_THROWS_WITH_AS(test::scenario("[tokens]\nn = 1\nd = 2\nspace = \"sphere\"\n" + m),
                       doctest::Contains("euclidean"), ConfigError);
  CHECK_NOTHROW(test::scenario("[tokens]\nn = 1\nd = 2\n" + m));
}

// ---- linear attention: moment_residual and the moment model -------------------------------------

TEST_CASE("moment_residual of linear attention on R^d stays at round-off, and on the sphere the closure fails") {
  const Scenario flat = test::scenario(linear_particles("euclidean", 2000, 0.0025, 2.0, 21));
  Simulation sim(flat);
  RunOptions opt;
  sim.run(opt);
  const auto& r = sim.series().values.at("moment_residual");
  CHECK(r.front() == 0.0);  // the ODE starts from the particles' moments
  const double worst = *std::max_element(r.begin(), r.end());
  MESSAGE("R^3, N = 2000, dt = 0.0025: max moment_residual = " << worst);
  CHECK(worst < 1e-10);
  // the tokens moved: the residual is not trivially small
  const auto& e = sim.series().values.at("energy");
  CHECK(std::abs(e.back() - e.front()) > 0.1);

  const Scenario curved = test::scenario(linear_particles("sphere", 2000, 0.0025, 2.0, 21));
  Simulation sphere(curved);
  sphere.run(opt);
  const auto& rs = sphere.series().values.at("moment_residual");
  CHECK(*std::max_element(rs.begin(), rs.end()) > 1e-2);
}

TEST_CASE("moment_residual lands on every frame: the same values for coarse and fine frame spacing") {
  // The ODE takes equal steps <= 1e-3 between frames, so frames 2 apart (0.2 in time) or 0.1 apart
  // give the same residual up to the ODE's own error (~1e-15 here).
  const Scenario coarse = test::scenario(linear_particles("euclidean", 500, 0.01, 2.0, 11));
  const Scenario fine = test::scenario(linear_particles("euclidean", 500, 0.01, 2.0, 21));
  Simulation a(coarse), b(fine);
  RunOptions opt;
  a.run(opt);
  b.run(opt);
  const auto& ra = a.series().values.at("moment_residual");
  const auto& rb = b.series().values.at("moment_residual");
  REQUIRE(ra.size() == 11);
  for (std::size_t k = 0; k < ra.size(); ++k) CHECK(std::abs(ra[k] - rb[2 * k]) < 1e-13);
}

TEST_CASE("moment_residual survives resume: the ODE restarts from frame 0, the series is bit-identical") {
  const Scenario sc = test::scenario(linear_particles("euclidean", 300, 0.01, 1.0, 11));
  const std::string full = test::tmp_h5("mf_full"), part = test::tmp_h5("mf_part");
  test::run_full_and_resumed(sc, full, part, 4);
  {
    H5mdReader a(full), b(part);
    const auto ra = a.observable("moment_residual"), rb = b.observable("moment_residual");
    REQUIRE(ra.value.size() == 11);
    CHECK(ra.value == rb.value);
    CHECK(ra.value.back() > 0.0);  // not trivially zero, as it would be from a restarted ODE
  }
  test::remove_run(full);
  test::remove_run(part);
}

TEST_CASE("the linear_attention_moments model equals the particles' moments and energy") {
  const Index n = 60, d = 3;
  Rng rng(8);
  const RowMat A = random_matrix(d, rng, 0.4);
  const RowMat V = random_matrix(d, rng, 0.4) - 0.5 * RowMat::Identity(d, d);
  const std::string mats = "A = " + toml_matrix(A) + "\nV = " + toml_matrix(V) + "\n";
  auto particles = test::scenario(
      "[run]\nseed = 2\nframes = 11\n[tokens]\nn = " + std::to_string(n) +
      "\nd = 3\nmean = [0.5, -0.2, 0.1]\n[model]\nkind = \"linear_attention\"\n" + mats +
      "[integrator]\nkind = \"rk4\"\ndt = 0.002\nt_end = 1.0\n[observe]\nquantities = [\"energy\"]\n");
  Simulation ps(particles);
  const mean_field::Moments m0 = mean_field::empirical_moments(RowMat(ps.state().x()));
  auto moments = test::scenario(
      "[run]\nframes = 11\n[tokens]\nn = 4\nd = 3\n[model]\nkind = \"linear_attention_moments\"\n" +
      mats + "mean = " + toml_vector(m0.mean) + "\ncovariance = " +
      toml_matrix(0.5 * (m0.cov + m0.cov.transpose())) +
      "\n[integrator]\nkind = \"rk4\"\ndt = 0.002\nt_end = 1.0\n[observe]\n"
      "quantities = [\"energy\", \"cov_trace\"]\n");
  Simulation ms(moments);
  CHECK((ms.state().x().row(0).transpose() - m0.mean).cwiseAbs().maxCoeff() < 1e-15);
  RunOptions opt;
  ps.run(opt);
  ms.run(opt);
  const mean_field::Moments mp = mean_field::empirical_moments(RowMat(ps.state().x()));
  const auto x = ms.state().x();
  const double scale = std::max(1.0, mp.cov.cwiseAbs().maxCoeff());
  CHECK((x.row(0).transpose() - mp.mean).cwiseAbs().maxCoeff() < 1e-10 * scale);
  CHECK((RowMat(x.bottomRows(d)) - mp.cov).cwiseAbs().maxCoeff() < 1e-10 * scale);
  CHECK((mp.cov - m0.cov).cwiseAbs().maxCoeff() > 1e-2);  // the moments moved
  const auto& ep = ps.series().values.at("energy");
  const auto& em = ms.series().values.at("energy");
  for (std::size_t k = 0; k < ep.size(); ++k) CHECK(std::abs(ep[k] - em[k]) < 1e-10 * scale);
  CHECK(ms.series().values.at("cov_trace").back() == doctest::Approx(mp.cov.trace()).epsilon(1e-10));
}

TEST_CASE("linear_attention_moments: C' = -2 C^2 for A = I, V = -I (closed form)") {
  // C0 = S0 + m0 m0^T = diag(2, 0.5, 0.25): c_k(t) = c_k / (1 + 2 c_k t), m_1 = (1 + 4t)^{-1/2}.
  auto sc = test::scenario(
      "[run]\nframes = 11\n[tokens]\nn = 4\nd = 3\n[model]\nkind = \"linear_attention_moments\"\n"
      "A = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]\n"
      "V = [[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]]\nmean = [1.0, 0.0, 0.0]\n"
      "covariance = [[1.0, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.25]]\n"
      "[integrator]\nkind = \"rk4\"\ndt = 0.005\nt_end = 10.0\n[observe]\n"
      "quantities = [\"energy\", \"cov_trace\"]\n");
  Simulation sim(sc);
  RunOptions opt;
  sim.run(opt);
  const double t = 10;
  const double e = 0.5 * (2 / (1 + 4 * t) + 0.5 / (1 + t) + 0.25 / (1 + 0.5 * t));
  const double tr = 1 / (1 + 4 * t) + 0.5 / (1 + t) + 0.25 / (1 + 0.5 * t);
  CHECK(sim.series().values.at("energy").back() == doctest::Approx(e).epsilon(1e-9));
  CHECK(sim.series().values.at("cov_trace").back() == doctest::Approx(tr).epsilon(1e-9));
  CHECK(sim.state().x()(0, 0) == doctest::Approx(1 / std::sqrt(1 + 4 * t)).epsilon(1e-9));
}

TEST_CASE("linear_attention_moments validates its shape, mean and covariance with located errors") {
  const std::string m = "[model]\nkind = \"linear_attention_moments\"\n";
  const std::string it = "[integrator]\nt_end = 1.0\n";
  CHECK_THROWS_WITH_AS(test::scenario("[tokens]\nn = 3\nd = 3\n" + m + it),
                       doctest::Contains("tokens.n = tokens.d + 1 = 4"), ConfigError);
  CHECK_THROWS_WITH_AS(test::scenario("[tokens]\nn = 4\nd = 3\n" + m + "mean = [1.0, 2.0]\n" + it),
                       doctest::Contains("test.toml:6:"), ConfigError);
  CHECK_THROWS_WITH_AS(
      test::scenario("[tokens]\nn = 3\nd = 2\n" + m + "covariance = [[1.0, 0.5], [0.0, 1.0]]\n" + it),
      doctest::Contains("symmetric"), ConfigError);
  CHECK_THROWS_WITH_AS(
      test::scenario("[tokens]\nn = 3\nd = 2\n" + m + "covariance = [[1.0, 2.0], [2.0, 1.0]]\n" + it),
      doctest::Contains("positive semidefinite"), ConfigError);
  CHECK_NOTHROW(test::scenario("[tokens]\nn = 3\nd = 2\n" + m + "covariance = [[1.0, 1.0], [1.0, 1.0]]\n" + it));
}

TEST_SUITE_END();
