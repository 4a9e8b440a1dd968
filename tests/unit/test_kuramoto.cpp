#include <omp.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "sim/core/rng.hpp"
#include "sim/kernels/ssa_operator.hpp"
#include "helpers.hpp"

using namespace attnflow;

TEST_SUITE_BEGIN("oscillators");

namespace {

std::string kuramoto_text(Index n, const std::string& extra) {
  return "[tokens]\nn = " + std::to_string(n) +
         "\nd = 1\n[model]\nkind = \"kuramoto\"\ncoupling = 1.7\n" + extra +
         "\n[integrator]\nkind = \"rk4\"\ndt = 0.01\nt_end = 0.1\n";
}

Vec frequencies(Model& m) {
  for (auto& [name, v] : m.per_token_constants())
    if (name == "frequency") return v;
  return {};
}

// O(N^2) reference: omega_i + (K/N) sum_j J_ij sin(theta_j - theta_i).
Vec brute_rhs(const Vec& th, const Vec& om, double K, const std::function<double(Index, Index)>& J) {
  const Index n = th.size();
  Vec out(n);
  for (Index i = 0; i < n; ++i) {
    double s = 0;
    for (Index j = 0; j < n; ++j) s += J(i, j) * std::sin(th[j] - th[i]);
    out[i] = om[i] + K / static_cast<double>(n) * s;
  }
  return out;
}

double max_rel(const Vec& a, const Vec& b) {
  return (a - b).cwiseAbs().maxCoeff() / std::max(1e-300, b.cwiseAbs().maxCoeff());
}

}  // namespace

TEST_CASE("fast sincos agrees with std::sin and std::cos to 1e-15 for phases up to 1e6") {
  Rng rng(3);
  double worst = 0;
  for (int k = 0; k < 200000; ++k) {
    const double scale = std::pow(10.0, rng.uniform(-3, 6));
    const double x = (2 * rng.uniform() - 1) * scale;
    double s, c;
    fast_sincos(x, s, c);
    worst = std::max({worst, std::abs(s - std::sin(x)), std::abs(c - std::cos(x))});
  }
  CHECK(worst < 1e-15);
}

TEST_CASE("all-to-all Kuramoto RHS equals the O(N^2) pair sum to 1e-12") {
  for (Index n : {1, 2, 7, 100, 4097, 9000}) {
    CAPTURE(n);
    auto sc = test::scenario(kuramoto_text(n, "frequencies = \"gaussian\"\nsigma = 0.7"));
    Simulation sim(sc);
    Flow& m = sim.flow();
    State s = sim.state(), ds(s.shape);
    Rng rng(n);
    for (Index i = 0; i < n; ++i) s.x()(i, 0) = rng.uniform(-50, 50);
    m.rhs(0, s.view(), ds.view());
    const Vec ref = brute_rhs(s.x().col(0), frequencies(m), 1.7, [](Index, Index) { return 1.0; });
    CHECK(max_rel(ds.x().col(0), ref) < 1e-12);
  }
}

TEST_CASE("SSA-rule Kuramoto RHS equals the materialised J pair sum to 1e-12") {
  for (Index n : {3, 64, 301}) {
    CAPTURE(n);
    auto sc = test::scenario(
        kuramoto_text(n, "frequencies = \"lorentzian\"\ngamma = 0.4\ncoupling_rule = \"ssa\"\nalpha = 0.8"));
    Simulation sim(sc);
    Flow& m = sim.flow();
    State s = sim.state(), ds(s.shape);
    m.rhs(0, s.view(), ds.view());
    const Vec om = frequencies(m);
    const Vec ref = brute_rhs(s.x().col(0), om, 1.7, [&](Index i, Index j) {
      return std::exp(-0.8 * (om[i] - om[j]) * (om[i] - om[j]));
    });
    CHECK(max_rel(ds.x().col(0), ref) < 1e-12);
  }
}

TEST_CASE("matrix-rule Kuramoto reads the coupling file relative to the scenario") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "attnflow_test_kuramoto";
  fs::create_directories(dir);
  const Index n = 5;
  RowMat J(n, n);
  {
    std::ofstream f(dir / "J.csv");
    Rng rng(2);
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < n; ++j) {
        J(i, j) = rng.uniform();
        f << J(i, j) << (j + 1 < n ? "," : "\n");
      }
  }
  {
    std::ofstream f(dir / "w.csv");
    for (Index i = 0; i < n; ++i) f << 0.1 * static_cast<double>(i) << "\n";
  }
  auto sc = load_scenario_text(
      kuramoto_text(n, "frequencies = \"file\"\npath = \"w.csv\"\ncoupling_rule = \"matrix\"\n"
                       "coupling_matrix = \"J.csv\""),
      (dir / "s.toml").string());
  Simulation sim(sc);
  State s = sim.state(), ds(s.shape);
  sim.flow().rhs(0, s.view(), ds.view());
  // The CSV holds 6 significant digits: compare against the same rounded values.
  RowMat Jr(n, n);
  {
    std::ifstream f(dir / "J.csv");
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < n; ++j) {
        char comma;
        f >> Jr(i, j);
        if (j + 1 < n) f >> comma;
      }
  }
  const Vec om = frequencies(sim.model());
  CHECK(om[3] == doctest::Approx(0.3));
  const Vec ref = brute_rhs(s.x().col(0), om, 1.7, [&](Index i, Index j) { return Jr(i, j); });
  CHECK(max_rel(ds.x().col(0), ref) < 1e-12);
  // A frequency file with the wrong number of rows names the key and the file.
  {
    std::ofstream f(dir / "short.csv");
    f << "0.1\n0.2\n";
  }
  try {
    load_scenario_text(kuramoto_text(n, "frequencies = \"file\"\npath = \"short.csv\""),
                       (dir / "s.toml").string());
    FAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("model.path") != std::string::npos);
    CHECK(msg.find("short.csv") != std::string::npos);
  }
}

TEST_CASE("Kuramoto RHS is bit-identical for 1 and 2 threads") {
  for (const char* rule : {"uniform", "ssa"}) {
    CAPTURE(rule);
    const Index n = std::string(rule) == "uniform" ? 600000 : 3000;
    auto sc = test::scenario(kuramoto_text(
        n, std::string("frequencies = \"gaussian\"\ncoupling_rule = \"") + rule + "\""));
    Simulation sim(sc);
    State s = sim.state(), d1(s.shape), d2(s.shape);
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    sim.flow().rhs(0, s.view(), d1.view());
    const double r1 = sim.model().observable("order_parameter", 0, s.view());
    omp_set_num_threads(2);
    sim.flow().rhs(0, s.view(), d2.view());
    const double r2 = sim.model().observable("order_parameter", 0, s.view());
    omp_set_num_threads(saved);
    CHECK(d1.u == d2.u);
    CHECK(r1 == r2);
  }
}

TEST_CASE("quantile frequencies are the symmetric Lorentzian and Gaussian quantiles") {
  auto sc = test::scenario(kuramoto_text(
      1000, "frequencies = \"quantiles\"\ndistribution = \"gaussian\"\nsigma = 2.0"));
  Simulation sim(sc);
  const Vec om = frequencies(sim.model());
  // Phi^{-1}(0.9995) = 3.290526731491926
  CHECK(om[999] == doctest::Approx(2.0 * 3.290526731491926).epsilon(1e-12));
  CHECK(om[0] == -om[999]);
  auto sc2 = test::scenario(kuramoto_text(
      1000, "frequencies = \"quantiles\"\ndistribution = \"lorentzian\"\ngamma = 0.5"));
  Simulation sim2(sc2);
  const Vec om2 = frequencies(sim2.model());
  CHECK(om2[749] == doctest::Approx(0.5 * std::tan(M_PI * (749.5 / 1000 - 0.5))).epsilon(1e-12));
}

TEST_CASE("a two-oscillator Kuramoto run locks at the Adler fixed point sin phi = Delta / K") {
  // N = 2, all-to-all: phi' = Delta - K sin phi.
  auto sc = test::scenario(
      "[tokens]\nn = 2\nd = 1\n[model]\nkind = \"kuramoto\"\ncoupling = 1.0\n"
      "frequencies = \"values\"\nomega = [0.0, 0.6]\ninitial_phases = \"zero\"\n"
      "[integrator]\nkind = \"rk4\"\ndt = 0.01\nt_end = 100.0\n");
  const State s = test::run_final(sc);
  const double phi = s.x()(1, 0) - s.x()(0, 0);
  CHECK(std::sin(phi) == doctest::Approx(0.6).epsilon(1e-9));
  CHECK(std::cos(phi) == doctest::Approx(ssa::pair_weight(0.36, false, 1.0, 0.0)).epsilon(1e-7));
}

TEST_CASE("pair observables: time-averaged J cos phi and beat frequency follow Adler's closed form") {
  // Two independent pairs with K = 1, uniform coupling (J = 1): Delta = 0.5 locks
  // (<cos phi> = sqrt(1 - 0.25), <phi'> = 0), Delta = 1.5 drifts (<cos phi> = 0,
  // <phi'> = sqrt(1.5^2 - 1)).
  auto sc = test::scenario(
      "[run]\nframes = 4001\n[tokens]\nn = 4\nd = 1\n[model]\nkind = \"kuramoto\"\n"
      "coupling = 1.0\npairs = true\nfrequencies = \"values\"\nomega = [0.0, 0.5, 0.0, 1.5]\n"
      "initial_phases = \"zero\"\naverage_from = 100.0\n[integrator]\nkind = \"rk4\"\n"
      "dt = 0.02\nt_end = 500.0\n[observe]\nquantities = [\"pair_weight_mean\", "
      "\"pair_beat_frequency\", \"pair_beat_residual\", \"pair_residual_locked\"]\n");
  Simulation sim(sc);
  RunOptions opt;
  sim.run(opt);
  const auto& v = sim.series().values;
  CHECK(v.at("pair_weight_mean").back() == doctest::Approx(0.5 * std::sqrt(0.75)).epsilon(5e-3));
  CHECK(v.at("pair_beat_frequency").back() ==
        doctest::Approx(0.5 * std::sqrt(1.25)).epsilon(5e-3));
  CHECK(v.at("pair_beat_residual").back() < 5e-3);
  CHECK(v.at("pair_residual_locked").back() < 1e-6);
  // Before the averaging window opens the beat frequency is 0 (no frames averaged yet).
  CHECK(v.at("pair_beat_frequency").front() == 0.0);
}

TEST_CASE("the Kuramoto energy decreases along a run and r_theory is the Lorentzian formula") {
  auto sc = test::scenario(
      "[run]\nframes = 21\n[tokens]\nn = 500\nd = 1\n[model]\nkind = \"kuramoto\"\ncoupling = 3.0\n"
      "frequencies = \"quantiles\"\ngamma = 0.5\n[integrator]\nkind = \"rk4\"\ndt = 0.05\n"
      "t_end = 10.0\n[observe]\nquantities = [\"energy\", \"r_theory\"]\n");
  Simulation sim(sc);
  RunOptions opt;
  sim.run(opt);
  const auto& e = sim.series().values.at("energy");
  for (std::size_t k = 1; k < e.size(); ++k) CHECK(e[k] <= e[k - 1]);
  CHECK(sim.series().values.at("r_theory").back() == doctest::Approx(std::sqrt(1 - 1.0 / 3.0)));
}

TEST_SUITE_END();

TEST_CASE("projection frequencies are omega = W x of the token vectors (SSA's omega = W x)") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("attnflow-proj-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream f(dir / "tokens.csv");
    f << "1.0, 2.0, 3.0\n-1.0, 0.5, 0.0\n0.0, 0.0, 2.0\n0.25, -4.0, 1.0\n";
  }
  const std::string text = R"([tokens]
n = 4
d = 1
[model]
kind = "kuramoto"
coupling = 1.0
frequencies = "projection"
token_path = "tokens.csv"
W = [0.5, -1.0, 2.0]
[integrator]
t_end = 1.0
)";
  const Scenario sc = load_scenario_text(text, (dir / "s.toml").string());
  Simulation sim(sc);
  const auto consts = sim.model().per_token_constants();
  REQUIRE(!consts.empty());
  const Vec& omega = consts[0].second;
  const double expect[] = {0.5 - 2 + 6, -0.5 - 0.5 + 0, 4.0, 0.125 + 4 + 2};
  for (int i = 0; i < 4; ++i) CHECK(omega[i] == doctest::Approx(expect[i]).epsilon(1e-15));
  // A W of the wrong length is a located error.
  std::string bad = text;
  bad.replace(bad.find("W = [0.5, -1.0, 2.0]"), 20, "W = [0.5, -1.0]     ");
  try {
    load_scenario_text(bad, (dir / "s.toml").string());
    FAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).find("s.toml:9:5: model.W must have token_dim = 3 entries") !=
          std::string::npos);
  }
  // Random tokens and W come from the seed: same seed, same frequencies.
  const std::string rnd = R"([tokens]
n = 50
d = 1
[model]
kind = "kuramoto"
frequencies = "projection"
token_dim = 8
[integrator]
t_end = 1.0
)";
  const Scenario sa = test::scenario(rnd), sb = test::scenario(rnd);
  Simulation a(sa), b(sb);
  CHECK(a.model().per_token_constants()[0].second == b.model().per_token_constants()[0].second);
  fs::remove_all(dir);
}
