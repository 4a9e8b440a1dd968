#pragma once
// Mean-field density of self-attention tokens on the circle S^1 (issue 17, part 1).
// Derivations, the scheme and its properties: docs/mean_field.md sections 1-4 and 7.
//
// Tokens x = (cos theta, sin theta), Q = K = V = I (GLPR, research/sympformer.md 9.1). In the angle
//
//   USA  theta_i' = (1/N) sum_j G(theta_j - theta_i),          G(phi) = exp(beta cos phi) sin phi
//   SA   theta_i' = sum_j G(theta_j - theta_i) / sum_j exp(beta cos(theta_j - theta_i))
//
// and the density rho(theta, t) solves d_t rho + d_theta(rho v[rho]) = 0 with
//
//   v_USA[rho](theta) = int G(theta' - theta) rho(theta') dtheta' = (1/beta) d_theta Z,
//   Z[rho](theta)     = int exp(beta cos(theta' - theta)) rho(theta') dtheta',
//   v_SA = v_USA / Z.
//
// Discretisation (finite volume): M cells [i h, (i+1) h), h = 2 pi / M, unknowns the cell
// averages rho_i (a piecewise-constant density). Face f = i is the right face of cell i, at
// theta = (i+1) h, between cells i and i+1 (mod M).
//
//   * Face velocities are EXACT for the piecewise-constant density:
//       v_USA,f = sum_j D_{j-i} rho_j,  D_m = int_{(m-1)h}^{mh} G = (e^{beta cos((m-1)h)} - e^{beta cos(mh)})/beta
//       Z_f     = sum_j W_{j-i} rho_j,  W_m = int_{(m-1)h}^{mh} e^{beta cos}  (Gauss-Legendre, once)
//     (circular correlations, evaluated by FFTW in O(M log M); kernel spectra computed once).
//   * Flux F_f = v_f^+ rho_i^+ + v_f^- rho_{i+1}^-, MUSCL face values rho_i^+- = rho_i +- sigma_i/2
//     with a TVD-limited slope sigma (upwind: sigma = 0). d rho_i/dt = -(F_i - F_{i-1}) / h.
//   * Mass is conserved to round-off by any Runge-Kutta method (the fluxes telescope).
//   * Positivity: a forward-Euler step, hence every SSP Runge-Kutta step, keeps rho >= 0 when
//       dt <= h / (2 max_f |v_f|);  max |v_f| <= velocity_bound(mass) a priori (1 for SA).
//   * Energy: E_h = (h / (2 beta)) sum_i Zc_i rho_i, Zc_i = h sum_j e^{beta cos((j-i)h)} rho_j
//     (midpoint rule). Because v_USA,f = (Zc_{i+1} - Zc_i) / (beta h) exactly, the semi-discrete
//     scheme has dE_h/dt = h sum_f rho_f^up v_USA,f^2 / Z_f >= 0 (USA: Z_f := 1) for any limiter.
//   * Linear rate of mode k about the uniform density: lambda_k sinc^2(k h / 2) (docs 4.3).
//
// beta = 0 is allowed (G = sin, and the energy convention below). Deterministic: FFTW plans are
// made with FFTW_ESTIMATE (no timing-dependent plan choice), single-threaded; plan creation is
// serialised by a mutex (the FFTW planner is not thread-safe). A CircleDensity owns work buffers:
// use one instance per thread. Link with -lfftw3.
#include <complex>
#include <functional>
#include <memory>
#include <vector>

#include "sim/core/rng.hpp"
#include "sim/core/state.hpp"

namespace attnflow {

enum class CircleNormalization { Softmax, Mean };  // SA, USA
enum class FluxLimiter { Upwind, Minmod, VanLeer, MC };

class CircleDensity {
 public:
  // cells >= 4; beta in [0, 300] for SA, [0, 700] for USA (e^{+-beta} scalings; see the .cpp).
  CircleDensity(Index cells, double beta, CircleNormalization norm,
                FluxLimiter limiter = FluxLimiter::VanLeer);
  ~CircleDensity();
  CircleDensity(CircleDensity&&) noexcept;
  CircleDensity& operator=(CircleDensity&&) noexcept;
  CircleDensity(const CircleDensity&) = delete;
  CircleDensity& operator=(const CircleDensity&) = delete;

  Index cells() const;
  double h() const;
  double beta() const;
  CircleNormalization normalization() const;
  FluxLimiter limiter() const;
  double center(Index i) const { return (static_cast<double>(i) + 0.5) * h(); }
  double face(Index f) const { return static_cast<double>(f + 1) * h(); }  // right face of cell f

  // v[f] = attention velocity at face f of the piecewise-constant density rho (M values each).
  void face_velocity(const double* rho, double* v);
  // Z[f] = int exp(beta cos(theta' - theta_f)) rho(theta') dtheta' at face f (the SA normaliser).
  void face_normaliser(const double* rho, double* z);
  // drho = d rho / dt of the finite-volume scheme. O(M log M). rho and drho may not alias.
  void rhs(const double* rho, double* drho);
  void rhs(const Vec& rho, Vec& drho);

  // A priori bound on max_f |v_f| for rho >= 0 of the given mass: 1 for SA (|v_SA| is an average of
  // sin values), mass * max_m |D_m| / h (<= mass * max_phi e^{beta cos phi} |sin phi|) for USA.
  double velocity_bound(double mass) const;
  // h / (2 velocity_bound(mass)): forward Euler and SSP-RK3 keep rho >= 0 for dt <= this.
  double positive_dt(double mass) const;
  // One Shu-Osher SSP-RK3 step (3 RHS; order 3; positivity under positive_dt).
  void ssp_rk3_step(Vec& rho, double dt);

  // E_h = (h / (2 beta)) sum_i Zc_i rho_i for beta > 0. beta = 0: the beta -> 0 limit of
  // E_h - mass^2 / (2 beta), i.e. (1/2) |h sum_j rho_j e^{i theta_j}|^2 (as the attention model's
  // energy observable). O(M log M).
  double energy(const Vec& rho);
  // E_h - mass^2 / (2 beta) (beta > 0), = energy(rho) for beta = 0: continuous in beta, and free of
  // the large constant mass^2 / (2 beta) when beta is small.
  double energy_excess(const Vec& rho);
  // Semi-discrete dE_h/dt = h sum_f rho_f v_f v_USA,f (>= 0 for rho >= 0), with the scheme's own
  // upwind face values rho_f.
  double energy_rate(const Vec& rho);

 private:
  struct Impl;
  std::unique_ptr<Impl> p_;
};

// ---- grid densities (cell averages on M uniform cells of [0, 2 pi)) -------------------------
double circle_mass(const Vec& rho);  // h sum_i rho_i
// rho_hat_k = (1 / 2 pi) int rho(theta) e^{-i k theta} dtheta of the piecewise-constant density
// (= sinc(k h / 2) (1/M) sum_i rho_i e^{-i k theta_i}). 2 pi |rho_hat_k| is the k-th order parameter
// of a unit-mass density (k = 1: r).
std::complex<double> fourier_coefficient(const Vec& rho, int k);
std::vector<std::complex<double>> fourier_coefficients(const Vec& rho, int kmax);  // k = 0..kmax
// Same normalisation for N angles: (1 / (2 pi N)) sum_j e^{-i k theta_j}.
std::complex<double> empirical_fourier_coefficient(const Vec& angles, int k);
// Cell averages of f (periodic) by 8-point Gauss-Legendre per cell.
Vec cell_averages(const std::function<double(double)>& f, Index cells);
// N angles in [0, 2 pi) drawn from the (normalised) piecewise-constant density by inverse CDF,
// one rng.uniform() per angle, in order. Deterministic given the Rng state.
Vec sample_angles(const Vec& rho, Index n, Rng& rng);

// ---- Wasserstein-1 distance on the circle (geodesic cost), exact -----------------------------
//   W1(mu, nu) = min_c int_0^{2 pi} |F(theta) - G(theta) - c| dtheta,  F, G the CDFs from 0,
// minimised at c = a median of F - G (Lebesgue measure). Both measures are normalised to mass 1.
// Grid densities are piecewise constant (piecewise-linear CDF, any M each); angle sets are equal-
// weight Diracs (taken mod 2 pi). Cost O((M + N) log(M + N)).
double w1_circle_grids(const Vec& rho_a, const Vec& rho_b);
double w1_circle_particles_grid(const Vec& angles, const Vec& rho);
double w1_circle_particles(const Vec& angles_a, const Vec& angles_b);
// Geodesic distance on the circle: min(|a - b| mod 2 pi, 2 pi - |a - b| mod 2 pi).
double circle_distance(double a, double b);

}  // namespace attnflow
