#pragma once
// Natural-frequency laws of Kuramoto oscillators and their mean-field theory (Kuramoto 1975;
// Strogatz 2000; research/ssa.md 3):
//
//   Lorentzian  g(w) = gamma / (pi (w^2 + gamma^2))        scale = gamma (half-width)
//   Gaussian    g(w) = exp(-w^2 / (2 sigma^2)) / (sigma sqrt(2 pi))   scale = sigma
//   Uniform     g(w) = 1/width on [-width/2, width/2]        scale = width
//
// mean_field_r: the stationary order parameter r_inf of the all-to-all model
// theta_i' = omega_i + (K/N) sum_j sin(theta_j - theta_i) for N -> infinity, the largest root of
// 1 = K int_{-pi/2}^{pi/2} cos^2 phi g(K r sin phi) dphi (0 below K_c = 2 / (pi g(0)));
// Lorentzian in closed form: sqrt(1 - 2 gamma / K).
namespace attnflow {

enum class FrequencyLaw { Lorentzian, Gaussian, Uniform, None };

// Inverse standard normal CDF (|error| ~ 1e-15 on (0, 1)).
double inv_norm_cdf(double p);
// The density g of `law` with scale s at w (centred at 0).
double frequency_density(FrequencyLaw law, double s, double w);
// r_inf for coupling K (0 below the onset); None gives 0.
double mean_field_r(FrequencyLaw law, double s, double K);

}  // namespace attnflow
