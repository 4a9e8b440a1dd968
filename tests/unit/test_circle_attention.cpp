// Attention tokens on the circle against their mean field (issue 17): the Fourier evaluator
// against the materialised pair sum, the mode observables against their definition, the
// companion density against a standalone solver run, and the density model's conservation laws.
#include <omp.h>

#include <cmath>
#include <complex>

#include <doctest/doctest.h>

#include "helpers.hpp"
#include "sim/core/rng.hpp"
#include "sim/kernels/circle_density.hpp"
#include "sim/kernels/mean_field_odes.hpp"

using namespace attnflow;

namespace {

std::string circle_toml(const std::string& norm, double beta, Index n, const std::string& extra = "") {
  return "[tokens]\nn = " + std::to_string(n) + "\nd = 2\nspace = \"sphere\"\ninit = \"uniform_sphere\"\n"
         "[model]\nkind = \"attention\"\nnormalization = \"" + norm + "\"\nbeta = " +
         std::to_string(beta) + "\n" + extra + "[integrator]\nkind = \"rk4\"\ndt = 0.01\nt_end = 0.1\n";
}

RowMat random_circle(Index n, std::uint64_t seed) {
  Rng rng(seed);
  RowMat x(n, 2);
  for (Index i = 0; i < n; ++i) {
    const double th = 2 * M_PI * rng.uniform();
    x(i, 0) = std::cos(th);
    x(i, 1) = std::sin(th);
  }
  return x;
}

double max_abs(const RowMat& a) { return a.cwiseAbs().maxCoeff(); }

}  // namespace

TEST_CASE("the Fourier evaluator equals the materialised pair sum on the circle to rounding") {
  const RowMat x = random_circle(301, 5);
  for (const char* norm : {"softmax", "mean"}) {
    for (double beta : {0.0, 0.5, 4.0, 25.0}) {
      auto fourier = test::build_flow(test::scenario(circle_toml(norm, beta, 301, "evaluator = \"fourier\"\n")));
      State s(Shape{301, 2, false});
      s.x() = x;
      State ds(s.shape);
      fourier->rhs(0, s.view(), ds.view());
      RowMat ref = test::attention_reference(x, RowMat::Identity(2, 2), RowMat::Identity(2, 2),
                                             RowMat::Identity(2, 2), beta, std::string(norm) == "softmax");
      for (Index i = 0; i < ref.rows(); ++i) ref.row(i) -= ref.row(i).dot(x.row(i)) * x.row(i);
      const RowMat got = ds.x();
      const double err = max_abs(got - ref) / max_abs(ref);
      INFO(norm << " beta = " << beta << ": relative error " << err);
      CHECK(err < 1e-13);
      // The energy through the moments equals the pair model's energy.
      auto pairs = test::build_flow(test::scenario(circle_toml(norm, beta, 301)));
      const double e_f = fourier->observable("energy", 0, s.view());
      const double e_p = pairs->observable("energy", 0, s.view());
      CHECK(std::abs(e_f - e_p) <= 1e-13 * std::abs(e_p));
    }
  }
}

TEST_CASE("the Fourier evaluator gives the same bits with 1 and 2 threads") {
  const RowMat x = random_circle(40000, 9);
  auto m = test::build_flow(test::scenario(circle_toml("softmax", 4.0, 40000, "evaluator = \"fourier\"\n")));
  State s(Shape{40000, 2, false});
  s.x() = x;
  State a(s.shape), b(s.shape);
  omp_set_num_threads(1);
  m->rhs(0, s.view(), a.view());
  omp_set_num_threads(2);
  m->rhs(0, s.view(), b.view());
  CHECK(a.u == b.u);
}

TEST_CASE("mode_k is |(1/N) sum_j e^{i k theta_j}| and growth_k is its log-rate since the first frame") {
  const RowMat x = random_circle(500, 3);
  auto m = test::build_flow(test::scenario(circle_toml("softmax", 1.0, 500)));
  State s(Shape{500, 2, false});
  s.x() = x;
  m->observe_frame(0.0, s.view());
  for (int k = 1; k <= 4; ++k) {
    std::complex<double> z = 0;
    for (Index i = 0; i < 500; ++i) z += std::polar(1.0, k * std::atan2(x(i, 1), x(i, 0)));
    CHECK(m->observable("mode_" + std::to_string(k), 0.0, s.view()) ==
          doctest::Approx(std::abs(z) / 500).epsilon(1e-12));
    CHECK(m->observable("growth_" + std::to_string(k), 0.0, s.view()) == 0.0);
  }
  // Rotating every token leaves |mode_k| unchanged: growth 0 at any later time.
  RowMat r(500, 2);
  r.col(0) = std::cos(0.3) * x.col(0) - std::sin(0.3) * x.col(1);
  r.col(1) = std::sin(0.3) * x.col(0) + std::cos(0.3) * x.col(1);
  State s2(s.shape);
  s2.x() = r;
  CHECK(std::abs(m->observable("growth_2", 2.0, s2.view())) < 1e-12);
}

TEST_CASE("the companion density is the circle_density solver from the same initial law") {
  const std::string extra = "density_cos = [0.5]\ndensity_sin = [0.0, 0.3]\ndensity_cells = 256\n";
  auto m = test::build_flow(test::scenario(circle_toml("softmax", 4.0, 2000, extra)));
  State s(Shape{2000, 2, false});
  m->initialize(s, 17);
  m->observe_frame(0.0, s.view());
  // The sampled tokens follow rho_0: their first mode is 0.5 / 2 = 0.25 within sampling error.
  CHECK(std::abs(m->observable("mode_1", 0.0, s.view()) - 0.25) < 4 / std::sqrt(2000.0));
  // r_density at t = 0.5 from the model (steps of h/2 on a fixed grid) against the solver stepped
  // by hand with the same dt.
  CircleDensity solver(256, 4.0, CircleNormalization::Softmax);
  Vec rho = cell_averages([](double t) { return (1 + 0.5 * std::cos(t) + 0.3 * std::sin(2 * t)) / (2 * M_PI); }, 256);
  const double dt = std::min(solver.positive_dt(1.0), 0.01);  // the model's companion step
  double t = 0;
  const int whole = static_cast<int>(std::floor(0.5 / dt));
  for (int k = 0; k < whole; ++k, t += dt) solver.ssp_rk3_step(rho, dt);
  if (0.5 - whole * dt > 1e-14) solver.ssp_rk3_step(rho, 0.5 - whole * dt);
  const double r_ref = 2 * M_PI * std::abs(fourier_coefficient(rho, 1));
  CHECK(m->observable("r_density", 0.5, s.view()) == doctest::Approx(r_ref).epsilon(1e-12));
  // W1 of the initial tokens to the initial density is O(N^{-1/2}) (about 1.3 / sqrt(N)).
  CHECK(m->observable("w1_density", 0.0, s.view()) < 4 / std::sqrt(2000.0));
}

TEST_CASE("the circle_density model conserves mass, ascends the energy and keeps rho >= 0 under ssp_rk3") {
  const std::string toml =
      "[run]\nframes = 11\n[tokens]\nn = 512\nd = 1\n[model]\nkind = \"circle_density\"\n"
      "normalization = \"softmax\"\nbeta = 4.0\ndensity_cos = [0.9]\n"
      "[integrator]\nkind = \"ssp_rk3\"\ndt = 0.006\nt_end = 3.0\n"
      "[observe]\nquantities = [\"mass\", \"energy\", \"min_density\", \"mode_1\"]\n";
  Scenario sc = test::scenario(toml);
  Simulation sim(sc);
  RunOptions opt;
  sim.run(opt);
  const Series& se = sim.series();
  const auto& mass = se.values.at("mass");
  const auto& energy = se.values.at("energy");
  const auto& mn = se.values.at("min_density");
  for (std::size_t k = 0; k < mass.size(); ++k) {
    CHECK(std::abs(mass[k] - 1) < 1e-13);
    CHECK(mn[k] >= 0);
    if (k > 0) CHECK(energy[k] >= energy[k - 1]);
  }
  CHECK(se.values.at("mode_1").back() > 0.45);  // the bump at 0 concentrates (0.45 at t = 0)
}
