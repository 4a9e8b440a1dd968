// Mean-field numerics (issue 17; docs/mean_field.md): the finite-volume density solver for SA / USA
// tokens on the circle against brute-force quadrature and the closed-form linear growth rates,
// conservation, positivity and energy monotonicity; the exact Wasserstein-1 distance on the circle
// against closed forms; the Ott-Antonsen ODE; the linear-attention moment ODEs against brute-force
// particle RK4.
#include <algorithm>
#include <cmath>
#include <complex>
#include <functional>
#include <vector>

#include <doctest/doctest.h>

#include "sim/kernels/circle_density.hpp"
#include "sim/kernels/mean_field_odes.hpp"
#include "sim/core/rng.hpp"

using namespace attnflow;

TEST_SUITE_BEGIN("mean_field");

namespace {

constexpr double kTwoPi = 2 * M_PI;

CircleNormalization norm_of(bool softmax) {
  return softmax ? CircleNormalization::Softmax : CircleNormalization::Mean;
}

// Random positive cell values with some structure (a few Fourier modes plus noise).
Vec random_density(Index M, std::uint64_t seed) {
  Rng rng(seed);
  const double a1 = rng.uniform(0.2, 0.6), a2 = rng.uniform(0.0, 0.4), p1 = rng.uniform(0, kTwoPi),
               p2 = rng.uniform(0, kTwoPi);
  Vec rho(M);
  for (Index i = 0; i < M; ++i) {
    const double th = (i + 0.5) * kTwoPi / static_cast<double>(M);
    rho[i] = (1 + a1 * std::cos(th - p1) + a2 * std::cos(2 * th - p2) + 0.1 * rng.uniform()) / kTwoPi;
  }
  return rho;
}

// Composite 5-point Gauss-Legendre (nodes and weights in closed form) of f over [a, b].
double gauss5(const std::function<double(double)>& f, double a, double b, int panels) {
  const double r = std::sqrt(10.0 / 7.0);
  const double x[5] = {-std::sqrt(5 + 2 * r) / 3, -std::sqrt(5 - 2 * r) / 3, 0,
                       std::sqrt(5 - 2 * r) / 3, std::sqrt(5 + 2 * r) / 3};
  const double s70 = std::sqrt(70.0);
  const double w[5] = {(322 - 13 * s70) / 900, (322 + 13 * s70) / 900, 128.0 / 225,
                       (322 + 13 * s70) / 900, (322 - 13 * s70) / 900};
  const double len = (b - a) / panels;
  double sum = 0;
  for (int p = 0; p < panels; ++p) {
    const double c = a + (p + 0.5) * len;
    for (int q = 0; q < 5; ++q) sum += w[q] * f(c + 0.5 * len * x[q]);
  }
  return 0.5 * len * sum;
}

// Classical RK4 on the density (the tests' own loop).
void rk4(CircleDensity& cd, Vec& rho, double dt) {
  Vec k1, k2, k3, k4;
  cd.rhs(rho, k1);
  cd.rhs(Vec(rho + 0.5 * dt * k1), k2);
  cd.rhs(Vec(rho + 0.5 * dt * k2), k3);
  cd.rhs(Vec(rho + dt * k3), k4);
  rho += dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
}

// Least-squares slope of y against t.
double slope(const std::vector<double>& t, const std::vector<double>& y) {
  const double n = static_cast<double>(t.size());
  double st = 0, sy = 0;
  for (std::size_t i = 0; i < t.size(); ++i) st += t[i], sy += y[i];
  st /= n;
  sy /= n;
  double num = 0, den = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    num += (t[i] - st) * (y[i] - sy);
    den += (t[i] - st) * (t[i] - st);
  }
  return num / den;
}

}  // namespace

// ---- velocity field ------------------------------------------------------------------------------

TEST_CASE("FFT face velocity equals brute-force quadrature of the piecewise-constant density (1e-12)") {
  // v_USA(theta_f) = sum_j rho_j int_{cell j} e^{beta cos(t - theta_f)} sin(t - theta_f) dt and
  // Z(theta_f) = sum_j rho_j int_{cell j} e^{beta cos(t - theta_f)} dt, every cell integral by
  // composite Gauss-Legendre: O(M^2) work, no FFT, no closed-form cell integral.
  for (Index M : {64, 255}) {
    for (double beta : {0.0, 0.5, 4.0, 20.0}) {
      for (bool softmax : {false, true}) {
        CAPTURE(M);
        CAPTURE(beta);
        CAPTURE(softmax);
        CircleDensity cd(M, beta, norm_of(softmax));
        const Vec rho = random_density(M, 11 + M);
        Vec v(M);
        cd.face_velocity(rho.data(), v.data());
        const double h = cd.h();
        Vec ref(M);
        for (Index f = 0; f < M; ++f) {
          const double tf = cd.face(f);
          double num = 0, den = 0;
          for (Index j = 0; j < M; ++j) {
            const double a = j * h, b = (j + 1) * h;
            num += rho[j] * gauss5([&](double t) {
                     return std::exp(beta * (std::cos(t - tf) - 1)) * std::sin(t - tf);
                   }, a, b, 4);
            den += rho[j] * gauss5([&](double t) { return std::exp(beta * (std::cos(t - tf) - 1)); },
                                   a, b, 4);
          }
          ref[f] = softmax ? num / den : std::exp(beta) * num;
        }
        CHECK((v - ref).cwiseAbs().maxCoeff() <= 1e-12 * ref.cwiseAbs().maxCoeff());
        if (softmax) {
          Vec z(M);
          cd.face_normaliser(rho.data(), z.data());
          // z against the same quadrature (den carries e^{-beta})
          double worst = 0;
          for (Index f = 0; f < M; f += 17) {
            const double tf = cd.face(f);
            double den = 0;
            for (Index j = 0; j < M; ++j)
              den += rho[j] * gauss5([&](double t) { return std::exp(beta * std::cos(t - tf)); },
                                     j * h, (j + 1) * h, 4);
            worst = std::max(worst, std::abs(z[f] - den) / den);
          }
          CHECK(worst < 1e-12);
        }
      }
    }
  }
}

TEST_CASE("USA face velocity of a cosine mode equals its Bessel closed form") {
  // Cell values rho_i = (1 + a cos(k theta_i)) / (2 pi) (a discrete Fourier mode): the exact face
  // velocity is -(a/2) (I_{k-1}(beta) - I_{k+1}(beta)) sinc(k h / 2) sin(k theta_f)
  // (docs/mean_field.md 4.3), up to aliasing terms I_{M-k}(beta).
  const Index M = 128;
  const double a = 0.3;
  for (double beta : {0.0, 1.0, 4.0})
    for (int k : {1, 2, 5}) {
      CAPTURE(beta);
      CAPTURE(k);
      CircleDensity cd(M, beta, CircleNormalization::Mean);
      Vec rho(M), v(M);
      for (Index i = 0; i < M; ++i) rho[i] = (1 + a * std::cos(k * cd.center(i))) / kTwoPi;
      cd.face_velocity(rho.data(), v.data());
      const double x = 0.5 * k * cd.h(), sinc = std::sin(x) / x;
      const double di = std::cyl_bessel_i(k - 1.0, beta) - std::cyl_bessel_i(k + 1.0, beta);
      double worst = 0;
      for (Index f = 0; f < M; ++f)
        worst = std::max(worst, std::abs(v[f] + 0.5 * a * di * sinc * std::sin(k * cd.face(f))));
      CHECK(worst < 1e-13 * std::max(1.0, a * di));
    }
}

TEST_CASE("the RHS is bit-reproducible across instances and for unaligned input") {
  // Plans are made with FFTW_ESTIMATE (no timing); an input not aligned like the planned buffer is
  // copied into it, so the same codelets run either way.
  for (bool softmax : {false, true}) {
    const Index M = 1000;
    const Vec rho = random_density(M, 3);
    CircleDensity a(M, 2.0, norm_of(softmax)), b(M, 2.0, norm_of(softmax));
    Vec da, db;
    a.rhs(rho, da);
    b.rhs(rho, db);
    std::vector<double> shifted(M + 1), out(M);
    std::copy(rho.data(), rho.data() + M, shifted.begin() + 1);  // 8-byte offset
    b.rhs(shifted.data() + 1, out.data());
    CHECK((da - db).cwiseAbs().maxCoeff() == 0);
    CHECK((da - Eigen::Map<const Vec>(out.data(), M)).cwiseAbs().maxCoeff() == 0);
  }
}

// ---- conservation, positivity, energy -------------------------------------------------------------

TEST_CASE("mass is conserved to round-off over many RK4 steps") {
  for (bool softmax : {false, true}) {
    CAPTURE(softmax);
    const Index M = 512;
    const double beta = softmax ? 4.0 : 1.0;
    CircleDensity cd(M, beta, norm_of(softmax), FluxLimiter::MC);
    Vec rho = random_density(M, 5);
    const double m0 = circle_mass(rho), dt = 0.5 * cd.positive_dt(m0);
    double worst = 0;
    for (int s = 0; s < 2000; ++s) {
      rk4(cd, rho, dt);
      worst = std::max(worst, std::abs(circle_mass(rho) - m0));
    }
    CHECK(worst < 1e-13 * m0);
    // the run went somewhere: clustering concentrated the density
    CHECK(rho.maxCoeff() > 5 * random_density(M, 5).maxCoeff());
  }
}

TEST_CASE("SSP-RK3 keeps a nearly empty density non-negative at the positivity step") {
  // Mass only in cells 10..13 and 200 (others exactly 0), every limiter, SA and USA: the scheme's
  // face values lie between neighbouring cell values, so each Euler stage is positive for
  // dt <= h / (2 max |v|) (docs/mean_field.md 3.3); SSP-RK3 is a convex combination of such stages.
  for (FluxLimiter lim : {FluxLimiter::Upwind, FluxLimiter::Minmod, FluxLimiter::VanLeer, FluxLimiter::MC})
    for (bool softmax : {false, true})
      for (double beta : {0.0, 3.0}) {
        CAPTURE(static_cast<int>(lim));
        CAPTURE(softmax);
        CAPTURE(beta);
        const Index M = 256;
        CircleDensity cd(M, beta, norm_of(softmax), lim);
        Vec rho = Vec::Zero(M);
        rho.segment(10, 4) << 1e-3, 5.0, 2.0, 1e-12;
        rho[200] = 3.0;
        const double m0 = circle_mass(rho), dt = cd.positive_dt(m0);
        double lowest = 0;
        for (int s = 0; s < 1500; ++s) {
          cd.ssp_rk3_step(rho, dt);
          lowest = std::min(lowest, rho.minCoeff());
        }
        CHECK(lowest >= 0);
        CHECK(std::abs(circle_mass(rho) - m0) < 1e-13 * m0);
      }
}

TEST_CASE("the velocity bound behind the positivity step holds") {
  // |v_SA| <= 1; |v_USA| <= mass * max_phi e^{beta cos phi} |sin phi|, the maximum at
  // cos phi = (sqrt(1 + 4 beta^2) - 1) / (2 beta).
  for (double beta : {0.0, 1.0, 4.0, 10.0}) {
    const double c = beta == 0 ? 0.0 : (std::sqrt(1 + 4 * beta * beta) - 1) / (2 * beta);
    const double gmax = std::exp(beta * c) * std::sqrt(1 - c * c);
    for (bool softmax : {false, true}) {
      CircleDensity cd(300, beta, norm_of(softmax));
      const double bound = softmax ? 1.0 : gmax;
      CHECK(cd.velocity_bound(1.0) <= bound * (1 + 1e-12));
      Vec rho = Vec::Zero(300);
      rho[0] = 300 / kTwoPi;  // a single full cell: the largest speeds
      Vec v(300);
      cd.face_velocity(rho.data(), v.data());
      CHECK(v.cwiseAbs().maxCoeff() <= cd.velocity_bound(1.0) * (1 + 1e-12));
    }
  }
}

TEST_CASE("energy E_h: Bessel closed form, non-decreasing along the flow, semi-discrete rate") {
  // Closed form for rho_i = (1 + a cos(k theta_i)) / (2 pi):
  //   E_h = (I_0(beta) + a^2 I_k(beta) / 2) / (2 beta);  beta = 0: a^2 / 8 for k = 1, 0 otherwise.
  const Index M = 64;
  for (double beta : {0.0, 0.7, 4.0})
    for (int k : {1, 3}) {
      CircleDensity cd(M, beta, CircleNormalization::Mean);
      Vec rho(M);
      const double a = 0.4;
      for (Index i = 0; i < M; ++i) rho[i] = (1 + a * std::cos(k * cd.center(i))) / kTwoPi;
      const double ref = beta == 0 ? (k == 1 ? a * a / 8 : 0.0)
                                   : (std::cyl_bessel_i(0.0, beta) + a * a * std::cyl_bessel_i(double(k), beta) / 2) /
                                         (2 * beta);
      CHECK(std::abs(cd.energy(rho) - ref) < 1e-13 * std::max(1.0, ref));
      if (beta > 0)
        CHECK(std::abs(cd.energy_excess(rho) - (ref - 1 / (2 * beta))) < 1e-13 * std::max(1.0, ref));
    }

  for (bool softmax : {false, true})
    for (double beta : {0.0, 1.0, 4.0})
      for (FluxLimiter lim : {FluxLimiter::Upwind, FluxLimiter::VanLeer}) {
        CAPTURE(softmax);
        CAPTURE(beta);
        CAPTURE(static_cast<int>(lim));
        const Index N = 400;
        CircleDensity cd(N, beta, norm_of(softmax), lim);
        Vec rho = random_density(N, 17);
        const double dt = 0.25 * cd.positive_dt(circle_mass(rho));
        double e = cd.energy(rho), worst_drop = 0, worst_rate = 0, worst_fd = 0;
        for (int s = 0; s < 600; ++s) {
          const double rate = cd.energy_rate(rho);
          worst_rate = std::min(worst_rate, rate);
          Vec back = rho;
          rk4(cd, back, -dt);  // central difference of E_h along the semi-discrete flow
          Vec fwd = rho;
          rk4(cd, fwd, dt);
          const double fd = (cd.energy(fwd) - cd.energy(back)) / (2 * dt);
          worst_fd = std::max(worst_fd, std::abs(fd - rate) / std::max(1e-12, std::abs(rate)));
          rho = fwd;
          const double e1 = cd.energy(rho);
          worst_drop = std::max(worst_drop, (e - e1) / std::abs(e1));
          e = e1;
        }
        CHECK(worst_rate >= 0);
        CHECK(worst_drop <= 1e-14);
        CHECK(worst_fd < 1e-4);
      }
}

// ---- linear stability of the uniform density ------------------------------------------------------

TEST_CASE("the two closed forms of lambda_k agree: (k/2)(I_{k-1} - I_{k+1}) = k^2 I_k / beta") {
  for (double beta : {0.1, 1.0, 4.0, 30.0})
    for (int k : {1, 2, 3, 7}) {
      const double a = mean_field::circle_linear_rate(k, beta, false);
      const double b = k * k * std::cyl_bessel_i(double(k), beta) / beta;
      CHECK(std::abs(a - b) < 1e-13 * b);
      CHECK(std::abs(mean_field::circle_linear_rate(k, beta, true) - b / std::cyl_bessel_i(0.0, beta)) <
            1e-13 * b);
    }
  CHECK(mean_field::circle_linear_rate(1, 0.0, false) == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(mean_field::circle_linear_rate(2, 0.0, true) == 0.0);
}

TEST_CASE("density solver reproduces the linear growth rate of mode k to 1e-6 relative") {
  // Protocol. rho_i = (1 + eps cos(k theta_i)) / (2 pi) with eps = 1e-6 is a single discrete Fourier
  // mode, an exact eigenvector of the scheme's linearisation (the linear operator is circulant), so
  // log |rho_hat_k(t)| is a straight line with no transient; the limiter does not enter at linear
  // order (flux = rho0 v_f + O(eps^2)); nonlinear corrections are O(eps^2 e^{2 lambda T}) < 1e-8.
  // The rate is the least-squares slope of log |rho_hat_k| over the whole window [0, T],
  // lambda T = 4, sampled every 5 steps. Errors: space lambda (1 - sinc^2(k h / 2)) ~ (k h)^2 / 12
  // (M = 16384: 1.1e-7 at k = 3); time, RK4 with lambda dt = 0.04: (lambda dt)^4 / 120 = 2.1e-8.
  // So the measured rate also matches the scheme's own rate lambda_k sinc^2(k h / 2) to ~2e-8.
  const Index M = 16384;
  for (bool softmax : {false, true})
    for (double beta : {0.0, 1.0, 4.0})
      for (int k : {1, 2, 3}) {
        CAPTURE(softmax);
        CAPTURE(beta);
        CAPTURE(k);
        // closed form, written out here: USA (k/2)(I_{k-1} - I_{k+1}), SA divided by I_0
        double lam = 0.5 * k * (std::cyl_bessel_i(k - 1.0, beta) - std::cyl_bessel_i(k + 1.0, beta));
        if (softmax) lam /= std::cyl_bessel_i(0.0, beta);
        CircleDensity cd(M, beta, norm_of(softmax));
        Vec rho(M);
        for (Index i = 0; i < M; ++i) rho[i] = (1 + 1e-6 * std::cos(k * cd.center(i))) / kTwoPi;
        const bool neutral = lam == 0;  // beta = 0, k >= 2
        const int steps = neutral ? 20 : 100;
        const double T = neutral ? 1.0 : 4 / lam, dt = T / steps;
        std::vector<double> ts, ys;
        for (int s = 0; s <= steps; ++s) {
          if (s > 0) rk4(cd, rho, dt);
          if (s % 5) continue;
          ts.push_back(s * dt);
          ys.push_back(std::log(std::abs(fourier_coefficient(rho, k))));
        }
        const double measured = slope(ts, ys);
        if (neutral) {
          CHECK(std::abs(measured) < 1e-12);
        } else {
          const double x = 0.5 * k * cd.h(), fv = lam * std::pow(std::sin(x) / x, 2);
          CHECK(std::abs(measured - lam) < 1e-6 * lam);
          CHECK(std::abs(measured - fv) < 5e-8 * lam);
        }
      }
}

// ---- Fourier modes, sampling ----------------------------------------------------------------------

TEST_CASE("Fourier coefficients of the piecewise-constant density and of angle sets") {
  // rho = indicator of [0, pi/2) / (pi/2): rho_hat_k = (1 - e^{-i k pi/2}) / (i k pi^2).
  const Index M = 400;
  Vec rho = Vec::Zero(M);
  rho.head(100).setConstant(2 / M_PI);
  for (int k : {0, 1, 2, 3, 7}) {
    const std::complex<double> I(0, 1);
    const std::complex<double> ref =
        k == 0 ? 1 / kTwoPi : (1.0 - std::exp(-I * (k * M_PI / 2))) / (I * double(k) * M_PI * M_PI);
    CHECK(std::abs(fourier_coefficient(rho, k) - ref) < 1e-14);
  }
  Vec angles(3);
  angles << 0.3, 2.0, -1.0;
  std::complex<double> ref = 0;
  for (double a : {0.3, 2.0, -1.0}) ref += std::exp(std::complex<double>(0, -2 * a));
  CHECK(std::abs(empirical_fourier_coefficient(angles, 2) - ref / (3 * kTwoPi)) < 1e-15);
}

TEST_CASE("sampling by inverse CDF: deterministic, stays in the support, right moments") {
  const Index M = 64;
  Vec rho = Vec::Zero(M);
  rho[3] = 1.0;
  rho[40] = 3.0;  // masses 1/4 and 3/4
  Rng a(9), b(9);
  const Vec s1 = sample_angles(rho, 20000, a), s2 = sample_angles(rho, 20000, b);
  CHECK((s1 - s2).cwiseAbs().maxCoeff() == 0);
  const double h = kTwoPi / M;
  Index in40 = 0;
  for (Index j = 0; j < s1.size(); ++j) {
    const bool c3 = s1[j] >= 3 * h && s1[j] < 4 * h, c40 = s1[j] >= 40 * h && s1[j] < 41 * h;
    CHECK((c3 || c40));
    in40 += c40;
  }
  const double frac = in40 / 20000.0;  // binomial, sd = sqrt(3/16 / 20000) = 0.003
  CHECK(std::abs(frac - 0.75) < 0.015);
  const Vec smooth = cell_averages([](double t) { return 1 + 0.8 * std::cos(t - 1.0); }, 256);
  Rng c(4);
  const Vec s3 = sample_angles(smooth, 100000, c);
  const auto e1 = empirical_fourier_coefficient(s3, 1);
  const auto r1 = fourier_coefficient(smooth, 1) / (circle_mass(smooth));
  CHECK(std::abs(e1 - r1) < 5 / (kTwoPi * std::sqrt(100000.0)));  // 5 standard deviations
}

// ---- Wasserstein-1 on the circle ------------------------------------------------------------------

TEST_CASE("W1 on the circle against closed forms") {
  auto one = [](double a) { Vec v(1); v << a; return v; };
  SUBCASE("two Diracs: the geodesic distance, wrapping around") {
    for (auto [a, b] : std::vector<std::pair<double, double>>{
             {0.1, 0.5}, {0.1, kTwoPi - 0.1}, {1.0, 1.0 + M_PI}, {5.0, 0.2}, {-0.3, 0.4}, {0.0, 3.0}}) {
      const double ref = std::min(std::abs(a - b), kTwoPi - std::abs(a - b));
      CHECK(std::abs(w1_circle_particles(one(a), one(b)) - std::min(ref, kTwoPi - ref)) < 1e-14);
      CHECK(std::abs(circle_distance(a, b) - std::min(ref, kTwoPi - ref)) < 1e-14);
    }
  }
  SUBCASE("uniform arcs: a shift s with s + L <= pi costs s; opposite half circles cost pi/2") {
    const Index M = 720;
    const double h = kTwoPi / M;
    auto arc = [&](Index start, Index len) {
      Vec r = Vec::Zero(M);
      for (Index i = 0; i < len; ++i) r[(start + i) % M] = 1.0;
      return r;
    };
    CHECK(std::abs(w1_circle_grids(arc(0, 100), arc(60, 100)) - 60 * h) < 1e-13);
    CHECK(std::abs(w1_circle_grids(arc(700, 40), arc(20, 40)) - 40 * h) < 1e-13);  // across 0
    CHECK(std::abs(w1_circle_grids(arc(0, 360), arc(360, 360)) - M_PI / 2) < 1e-13);
    CHECK(w1_circle_grids(arc(0, M), arc(0, M)) < 1e-15);
    // the same arcs at another resolution (grids of different M)
    Vec fine = Vec::Zero(2 * M);
    fine.segment(120, 200).setConstant(1.0);
    CHECK(std::abs(w1_circle_grids(arc(0, 100), fine) - 60 * h) < 1e-13);
  }
  SUBCASE("a Dirac against the uniform density: mean geodesic distance pi/2") {
    const Vec uni = Vec::Constant(333, 1.0);
    for (double a : {0.0, 1.234, 6.0}) CHECK(std::abs(w1_circle_particles_grid(one(a), uni) - M_PI / 2) < 1e-13);
  }
  SUBCASE("N quantile particles against the uniform density: pi / (2 N)") {
    for (Index N : {1, 10, 1000}) {
      Vec q(N);
      for (Index j = 0; j < N; ++j) q[j] = (j + 0.5) * kTwoPi / N;
      CHECK(std::abs(w1_circle_particles_grid(q, Vec::Constant(97, 1.0)) - M_PI / (2 * N)) < 1e-13);
    }
  }
  SUBCASE("equally spaced particles rotated by delta: min(delta, 2 pi / N - delta)") {
    const Index N = 50;
    const double sp = kTwoPi / N;
    for (double delta : {0.01, 0.3 * sp, 0.7 * sp}) {
      Vec a(N), b(N);
      for (Index j = 0; j < N; ++j) a[j] = j * sp + 0.05, b[j] = j * sp + 0.05 + delta;
      CHECK(std::abs(w1_circle_particles(a, b) - std::min(delta, sp - delta)) < 1e-13);
      CHECK(std::abs(w1_circle_particles(b, a) - std::min(delta, sp - delta)) < 1e-13);
    }
  }
  SUBCASE("smooth densities: (1 + a cos) / 2pi against uniform is 2a / pi (grid error O(h^2))") {
    const Index M = 4096;
    const double a = 0.5;
    const Vec r1 = cell_averages([&](double t) { return 1 + a * std::cos(t - 0.7); }, M);
    CHECK(std::abs(w1_circle_grids(r1, Vec::Constant(M, 3.0)) - 2 * a / M_PI) < 1e-6);
  }
}

// ---- Ott-Antonsen ----------------------------------------------------------------------------------

TEST_CASE("Ott-Antonsen ODE: r_inf = sqrt(1 - 2 gamma / K), closed-form r(t), psi' = omega0") {
  const double gamma = 0.5, omega0 = 0.7;
  for (double K : {1.5, 2.0, 3.0, 6.0}) {
    CAPTURE(K);
    const double rinf = K > 2 * gamma ? std::sqrt(1 - 2 * gamma / K) : 0.0;
    CHECK(mean_field::oa_r_inf(K, gamma) == doctest::Approx(rinf).epsilon(1e-15));
    CHECK(std::abs(mean_field::oa_r_rhs(rinf, K, gamma)) < 1e-15);
    // RK4 on the complex z ODE against the Bernoulli closed form
    std::complex<double> z = std::polar(0.05, 0.3);
    const double dt = 1e-3;
    double worst = 0, t = 0;
    auto f = [&](std::complex<double> w) { return mean_field::oa_rhs(w, K, omega0, gamma); };
    for (int s = 0; s < 80000; ++s) {
      const auto k1 = f(z), k2 = f(z + 0.5 * dt * k1), k3 = f(z + 0.5 * dt * k2), k4 = f(z + dt * k3);
      z += dt / 6 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
      t += dt;
      worst = std::max(worst, std::abs(std::abs(z) - mean_field::oa_r_exact(0.05, t, K, gamma)));
    }
    CHECK(worst < 1e-10);
    CHECK(std::abs(std::abs(z) - rinf) < (K > 2 * gamma ? 1e-10 : 1e-3));
    const double dpsi = std::remainder(std::arg(z) - 0.3 - omega0 * t, kTwoPi);
    if (K > 2 * gamma) CHECK(std::abs(dpsi) < 1e-9);
  }
  // the wrapped Cauchy sampler has first moment r e^{i psi}
  Rng rng(3);
  const int n = 200000;
  std::complex<double> m = 0;
  for (int j = 0; j < n; ++j)
    m += std::exp(std::complex<double>(0, mean_field::wrapped_cauchy_angle(rng.uniform(), 0.4, 1.1)));
  m /= double(n);
  CHECK(std::abs(m - std::polar(0.4, 1.1)) < 5 / std::sqrt(double(n)));
}

// ---- linear attention moments ----------------------------------------------------------------------

namespace {

RowMat random_matrix(Index d, Rng& rng, double scale) {
  RowMat a(d, d);
  for (Index i = 0; i < d; ++i)
    for (Index j = 0; j < d; ++j) a(i, j) = scale * rng.normal();
  return a;
}

// Brute-force linear attention: x_i' = (1/N) sum_j (x_i^T A x_j) V x_j, pair loop.
RowMat linear_attention_pairs(const RowMat& x, const RowMat& A, const RowMat& V) {
  const Index n = x.rows(), d = x.cols();
  RowMat out = RowMat::Zero(n, d);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) {
      const double s = x.row(i).dot(A * x.row(j).transpose());
      out.row(i) += s * (V * x.row(j).transpose()).transpose() / static_cast<double>(n);
    }
  return out;
}

struct XY {  // particle positions and momenta as a vector space for rk4_generic
  RowMat x, y;
  XY operator+(const XY& o) const { return {x + o.x, y + o.y}; }
  XY& operator+=(const XY& o) { x += o.x; y += o.y; return *this; }
  friend XY operator*(double a, const XY& s) { return {a * s.x, a * s.y}; }
};

struct Mom {  // accelerated moments as a vector space for rk4_generic
  mean_field::AcceleratedMoments m;
  Mom operator+(const Mom& o) const {
    return {{m.mx + o.m.mx, m.my + o.m.my, m.Sxx + o.m.Sxx, m.Syx + o.m.Syx, m.Syy + o.m.Syy}};
  }
  Mom& operator+=(const Mom& o) { *this = *this + o; return *this; }
  friend Mom operator*(double a, const Mom& s) {
    return {{a * s.m.mx, a * s.m.my, a * s.m.Sxx, a * s.m.Syx, a * s.m.Syy}};
  }
};

template <class F, class S>
void rk4_generic(S& s, double t, double h, F f) {
  const S k1 = f(t, s), k2 = f(t + h / 2, S(s + h / 2 * k1)), k3 = f(t + h / 2, S(s + h / 2 * k2)),
          k4 = f(t + h, S(s + h * k3));
  s += h / 6 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
}

}  // namespace

TEST_CASE("linear attention: the moment ODE follows brute-force particle RK4 to 1e-10") {
  const Index n = 40, d = 3;
  Rng rng(21);
  const RowMat A = random_matrix(d, rng, 0.4), V = random_matrix(d, rng, 0.4);  // non-symmetric
  RowMat x(n, d);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < d; ++j) x(i, j) = 0.8 * rng.normal() + (j == 0 ? 0.5 : -0.2);
  const double h = 2e-3;
  const int steps = 500;
  // moment ODE from the empirical mean and 1/N covariance, state [m; S]
  const mean_field::Moments m0 = mean_field::empirical_moments(x);
  Vec u(d + d * d);
  u.head(d) = m0.mean;
  MatMap(u.data() + d, d, d) = m0.cov;
  const RowMat C0 = x.transpose() * x / static_cast<double>(n);
  RowMat phi = RowMat::Identity(d, d);
  RowMat xp = x;
  for (int s = 0; s < steps; ++s) {
    rk4_generic(xp, 0.0, h, [&](double, const RowMat& y) { return linear_attention_pairs(y, A, V); });
    rk4_generic(u, 0.0, h, [&](double, const Vec& w) {
      Vec dw(w.size());
      mean_field::linear_attention_moments_rhs(A, V, w.data(), dw.data());
      return dw;
    });
    rk4_generic(phi, 0.0, h, [&](double, const RowMat& p) {
      RowMat dp;
      mean_field::linear_attention_flow_map_rhs(A, V, C0, p, dp);
      return dp;
    });
  }
  const mean_field::Moments mp = mean_field::empirical_moments(xp);
  const double scale = std::max(1.0, mp.cov.cwiseAbs().maxCoeff());
  CHECK((u.head(d) - mp.mean).cwiseAbs().maxCoeff() < 1e-10 * scale);
  CHECK((CMatMap(u.data() + d, d, d) - mp.cov).cwiseAbs().maxCoeff() < 1e-10 * scale);
  // the flow map reproduces every particle (RK stages are linear images): round-off
  CHECK((x * phi.transpose() - xp).cwiseAbs().maxCoeff() < 1e-13 * xp.cwiseAbs().maxCoeff());
  // and the flow actually moved the moments
  CHECK((mp.cov - m0.cov).cwiseAbs().maxCoeff() > 1e-2);
}

TEST_CASE("accelerated linear attention: the moment ODE follows brute-force particle RK4 to 1e-10") {
  // x_i' = (1/N) sum_j (x_i^T A x_j) y_j, y_i' = -alpha y_i - (1/N) sum_j (y_i^T y_j) A x_j + V x_i
  // (A, V symmetric as the model requires), Nesterov damping alpha = 3 / t from t = 1.
  const Index n = 30, d = 3;
  Rng rng(8);
  RowMat A = random_matrix(d, rng, 0.3), V = random_matrix(d, rng, 0.3);
  A = (A + A.transpose()).eval();
  V = (V + V.transpose()).eval();
  RowMat x(n, d), y(n, d);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < d; ++j) x(i, j) = rng.normal() + 0.3 * j, y(i, j) = 0.5 * rng.normal() - 0.1;
  auto alpha = [](double t) { return 3 / t; };
  auto pairs = [&](double t, const XY& s) {
    XY ds{RowMat::Zero(n, d), RowMat::Zero(n, d)};
    for (Index i = 0; i < n; ++i) {
      for (Index j = 0; j < n; ++j) {
        ds.x.row(i) += s.x.row(i).dot(A * s.x.row(j).transpose()) * s.y.row(j) / double(n);
        ds.y.row(i) -= s.y.row(i).dot(s.y.row(j)) * (A * s.x.row(j).transpose()).transpose() / double(n);
      }
      ds.y.row(i) += (V * s.x.row(i).transpose()).transpose() - alpha(t) * s.y.row(i);
    }
    return ds;
  };
  XY p{x, y};
  Mom mo{mean_field::empirical_accelerated_moments(x, y)};
  RowMat xy0(n, 2 * d);
  xy0 << x, y;
  const RowMat C0 = xy0.transpose() * xy0 / double(n);
  RowMat phi = RowMat::Identity(2 * d, 2 * d);
  const double h = 2e-3;
  double t = 1.0;
  for (int s = 0; s < 500; ++s, t += h) {
    rk4_generic(p, t, h, pairs);
    rk4_generic(mo, t, h, [&](double tt, const Mom& w) {
      Mom dw;
      mean_field::accelerated_linear_attention_moments_rhs(A, V, alpha(tt), w.m, dw.m);
      return dw;
    });
    rk4_generic(phi, t, h, [&](double tt, const RowMat& f) {
      RowMat df;
      mean_field::accelerated_linear_attention_flow_map_rhs(A, V, alpha(tt), C0, f, df);
      return df;
    });
  }
  const auto e = mean_field::empirical_accelerated_moments(p.x, p.y);
  auto diff = [](const auto& a, const auto& b) { return (a - b).cwiseAbs().maxCoeff(); };
  const double tol = 1e-10 * std::max(1.0, e.Syy.cwiseAbs().maxCoeff());
  CHECK(diff(mo.m.mx, e.mx) < tol);
  CHECK(diff(mo.m.my, e.my) < tol);
  CHECK(diff(mo.m.Sxx, e.Sxx) < tol);
  CHECK(diff(mo.m.Syx, e.Syx) < tol);
  CHECK(diff(mo.m.Syy, e.Syy) < tol);
  RowMat xy(n, 2 * d);
  xy << p.x, p.y;
  CHECK(diff(RowMat(xy0 * phi.transpose()), xy) < 1e-13 * xy.cwiseAbs().maxCoeff());
  CHECK(diff(e.Syx, mean_field::empirical_accelerated_moments(x, y).Syx) > 1e-2);
}

TEST_SUITE_END();
