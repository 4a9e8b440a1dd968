#pragma once
// Closed mean-field ODEs as small pure functions (issue 17, parts 1-3); header-only, no dependence
// on the Model classes. Derivations: docs/mean_field.md.
//
// 1. Linear stability of the uniform density of SA / USA tokens on the circle (Q = K = V = I):
//      USA  lambda_k = (k/2) (I_{k-1}(beta) - I_{k+1}(beta))  (= k^2 I_k(beta) / beta for beta > 0)
//      SA   lambda_k = lambda_k^USA / I_0(beta)
//    The finite-volume scheme of circle_density.hpp has lambda_k sinc^2(k h / 2), h = 2 pi / M.
//
// 2. Ott-Antonsen reduction of theta_i' = omega_i + (K/N) sum_j sin(theta_j - theta_i) with
//    Lorentzian frequencies (centre omega0, half-width gamma), z = r e^{i psi} = <e^{i theta}>:
//      z' = (K/2 - gamma + i omega0) z - (K/2) |z|^2 z,    r' = (K/2 - gamma) r - (K/2) r^3,
//      psi' = omega0,  K_c = 2 gamma,  r_inf = sqrt(1 - 2 gamma / K)  (K > K_c).
//
// 3. Linear attention x_i' = V C A^T x_i, C = (1/N) sum_j x_j x_j^T (sim/models/linear_attention.cpp,
//    j over all tokens including i): with m = (1/N) sum x_i, S = C - m m^T (1/N covariance)
//      L = V (S + m m^T) A^T,   m' = L m,   S' = L S + S L^T            (exact at finite N)
//    Flow-map form: x_i(t) = Phi(t) x_i(0), Phi' = V (Phi C0 Phi^T) A^T Phi, C0 = C(0).
//
// 4. Accelerated linear attention (sim/models/accelerated_linear_attention.cpp):
//      x_i' = P A x_i,  y_i' = -A^T P^T y_i + V^T x_i - alpha y_i,  P = (1/N) sum_j y_j x_j^T
//    with L = P A, B = -A^T P^T - alpha I and centred 1/N moments mx, my, Sxx, Syx, Syy
//    (P = Syx + my mx^T):
//      mx' = L mx,              my' = B my + V^T mx,
//      Sxx' = L Sxx + Sxx L^T,  Syx' = B Syx + V^T Sxx + Syx L^T,
//      Syy' = B Syy + Syy B^T + V^T Syx^T + Syx V                         (exact at finite N)
#include <algorithm>
#include <cmath>
#include <complex>

#include "sim/core/state.hpp"

namespace attnflow::mean_field {

// ---- 1. linear stability on the circle -----------------------------------------------------

// Growth rate of mode k >= 1 of a small perturbation of rho0 = 1/(2 pi) (continuum).
inline double circle_linear_rate(int k, double beta, bool softmax) {
  const double kk = k;
  const double usa = 0.5 * kk * (std::cyl_bessel_i(kk - 1, beta) - std::cyl_bessel_i(kk + 1, beta));
  return softmax ? usa / std::cyl_bessel_i(0.0, beta) : usa;
}
// The finite-volume scheme's rate on M cells (exact up to aliasing terms I_{M +- k}(beta)).
inline double circle_linear_rate_fv(int k, double beta, bool softmax, Index cells) {
  const double x = 0.5 * k * 2 * M_PI / static_cast<double>(cells);
  const double s = std::sin(x) / x;
  return circle_linear_rate(k, beta, softmax) * s * s;
}

// ---- 2. Ott-Antonsen ------------------------------------------------------------------------

inline std::complex<double> oa_rhs(std::complex<double> z, double K, double omega0, double gamma) {
  return std::complex<double>(0.5 * K - gamma, omega0) * z - 0.5 * K * std::norm(z) * z;
}
inline double oa_r_rhs(double r, double K, double gamma) {
  return (0.5 * K - gamma) * r - 0.5 * K * r * r * r;
}
inline double oa_r_inf(double K, double gamma) {
  return K > 2 * gamma ? std::sqrt(1 - 2 * gamma / K) : 0.0;
}
// Closed-form r(t) of r' = a r - b r^3 (a = K/2 - gamma, b = K/2), r(0) = r0 >= 0:
//   1/r^2 = e^{-2 a t} / r0^2 + b (1 - e^{-2 a t}) / a     (a = 0: 1/r0^2 + 2 b t).
inline double oa_r_exact(double r0, double t, double K, double gamma) {
  if (r0 == 0) return 0.0;
  const double a = 0.5 * K - gamma, b = 0.5 * K;
  const double tail = a == 0 ? 2 * b * t : -b * std::expm1(-2 * a * t) / a;
  return 1 / std::sqrt(std::exp(-2 * a * t) / (r0 * r0) + tail);
}
// Inverse CDF of the wrapped Cauchy law (density (1/2pi)(1 - r^2)/(1 + r^2 - 2 r cos(theta - psi)),
// first moment r e^{i psi}): the OA-manifold initial condition for every omega. u in [0, 1).
inline double wrapped_cauchy_angle(double u, double r, double psi) {
  return psi + 2 * std::atan((1 - r) / (1 + r) * std::tan(M_PI * (u - 0.5)));
}

// ---- 3. linear attention moments ------------------------------------------------------------

struct Moments {
  Vec mean;    // d
  RowMat cov;  // d x d, normalised by 1/N
};

inline Moments empirical_moments(const RowMat& x) {
  const double n = static_cast<double>(x.rows());
  Moments s;
  s.mean = x.colwise().sum().transpose() / n;
  const RowMat c = x.rowwise() - s.mean.transpose();
  s.cov = c.transpose() * c / n;
  return s;
}

// L = V (S + m m^T) A^T: every token moves by x_i' = L x_i.
inline RowMat linear_attention_generator(const RowMat& A, const RowMat& V, const Vec& m,
                                         const RowMat& S) {
  const RowMat C = S + m * m.transpose();
  return V * C * A.transpose();
}

inline void linear_attention_moments_rhs(const RowMat& A, const RowMat& V, const Moments& s,
                                         Moments& ds) {
  const RowMat L = linear_attention_generator(A, V, s.mean, s.cov);
  ds.mean = L * s.mean;
  ds.cov = L * s.cov + s.cov * L.transpose();
}

// Flat state u = [m (d), S row-major (d * d)], d = A.rows(); for plain-vector integrators.
inline void linear_attention_moments_rhs(const RowMat& A, const RowMat& V, const double* u,
                                         double* du) {
  const Index d = A.rows();
  Moments s{Eigen::Map<const Vec>(u, d), CMatMap(u + d, d, d)}, ds;
  linear_attention_moments_rhs(A, V, s, ds);
  Eigen::Map<Vec>(du, d) = ds.mean;
  MatMap(du + d, d, d) = ds.cov;
}

// Flow map: Phi' = L(Phi) Phi with C = Phi C0 Phi^T, C0 the uncentred second moment at t0.
// RK stages of the particle system are Phi-stages applied to x_i(0), so any Runge-Kutta method
// gives the same numbers on this ODE as on the particles (up to round-off).
inline void linear_attention_flow_map_rhs(const RowMat& A, const RowMat& V, const RowMat& C0,
                                          const RowMat& Phi, RowMat& dPhi) {
  const RowMat C = Phi * C0 * Phi.transpose();
  dPhi = V * C * A.transpose() * Phi;
}

// ---- 4. accelerated linear attention moments ------------------------------------------------

struct AcceleratedMoments {
  Vec mx, my;             // d
  RowMat Sxx, Syx, Syy;   // d x d centred, 1/N; Syx = (1/N) sum (y - my)(x - mx)^T
};

inline AcceleratedMoments empirical_accelerated_moments(const RowMat& x, const RowMat& y) {
  const double n = static_cast<double>(x.rows());
  AcceleratedMoments s;
  s.mx = x.colwise().sum().transpose() / n;
  s.my = y.colwise().sum().transpose() / n;
  const RowMat cx = x.rowwise() - s.mx.transpose(), cy = y.rowwise() - s.my.transpose();
  s.Sxx = cx.transpose() * cx / n;
  s.Syx = cy.transpose() * cx / n;
  s.Syy = cy.transpose() * cy / n;
  return s;
}

// alpha = damping alpha(t) at the time of evaluation.
inline void accelerated_linear_attention_moments_rhs(const RowMat& A, const RowMat& V, double alpha,
                                                     const AcceleratedMoments& s,
                                                     AcceleratedMoments& ds) {
  const Index d = A.rows();
  const RowMat P = s.Syx + s.my * s.mx.transpose();  // uncentred (1/N) sum y_j x_j^T
  const RowMat L = P * A;
  const RowMat B = -(A.transpose() * P.transpose()) - alpha * RowMat::Identity(d, d);
  const RowMat Vt = V.transpose();
  ds.mx = L * s.mx;
  ds.my = B * s.my + Vt * s.mx;
  ds.Sxx = L * s.Sxx + s.Sxx * L.transpose();
  ds.Syx = B * s.Syx + Vt * s.Sxx + s.Syx * L.transpose();
  ds.Syy = B * s.Syy + s.Syy * B.transpose() + Vt * s.Syx.transpose() + s.Syx * V;
}

// Flow map on (x, y): [x_i; y_i](t) = Phi(t) [x_i; y_i](0), Phi (2d x 2d),
// Phi' = [[L, 0], [V^T, B]] Phi with P read from Phi C0 Phi^T (C0 the uncentred 2d x 2d second
// moment of [x; y] at t0).
inline void accelerated_linear_attention_flow_map_rhs(const RowMat& A, const RowMat& V, double alpha,
                                                      const RowMat& C0, const RowMat& Phi,
                                                      RowMat& dPhi) {
  const Index d = A.rows();
  const RowMat C = Phi * C0 * Phi.transpose();
  const RowMat P = C.block(d, 0, d, d);
  RowMat J = RowMat::Zero(2 * d, 2 * d);
  J.block(0, 0, d, d) = P * A;
  J.block(d, 0, d, d) = V.transpose();
  J.block(d, d, d, d) = -(A.transpose() * P.transpose()) - alpha * RowMat::Identity(d, d);
  dPhi = J * Phi;
}

}  // namespace attnflow::mean_field
