// Finite-volume mean-field solver for SA / USA tokens on the circle; Fourier modes, sampling and
// the exact Wasserstein-1 distance on the circle. Formulas: sim/kernels/circle_density.hpp and
// docs/mean_field.md.
#include "sim/kernels/circle_density.hpp"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <stdexcept>
#include <string>

namespace attnflow {
namespace {

constexpr double kTwoPi = 2 * M_PI;

std::mutex& planner_mutex() {  // the FFTW planner (plan creation / destruction) is not thread-safe
  static std::mutex m;
  return m;
}

// Gauss-Legendre nodes and weights on [-1, 1] by Newton's method on P_n.
void gauss_legendre(int n, std::vector<double>& x, std::vector<double>& w) {
  x.assign(n, 0.0);
  w.assign(n, 0.0);
  for (int i = 0; i < (n + 1) / 2; ++i) {
    double z = std::cos(M_PI * (i + 0.75) / (n + 0.5)), dp = 0;
    for (int it = 0; it < 100; ++it) {
      double p0 = 1, p1 = z;  // P_0, P_1; recurrence (k+1) P_{k+1} = (2k+1) z P_k - k P_{k-1}
      for (int k = 1; k < n; ++k) {
        const double p2 = ((2 * k + 1) * z * p1 - k * p0) / (k + 1);
        p0 = p1;
        p1 = p2;
      }
      dp = n * (z * p1 - p0) / (z * z - 1);  // P_n'(z)
      const double dz = p1 / dp;
      z -= dz;
      if (std::abs(dz) < 1e-16) break;
    }
    // recompute P_n' at the converged node
    double p0 = 1, p1 = z;
    for (int k = 1; k < n; ++k) {
      const double p2 = ((2 * k + 1) * z * p1 - k * p0) / (k + 1);
      p0 = p1;
      p1 = p2;
    }
    dp = n * (z * p1 - p0) / (z * z - 1);
    x[i] = -z;
    x[n - 1 - i] = z;
    w[i] = w[n - 1 - i] = 2 / ((1 - z * z) * dp * dp);
  }
}

inline double limited_slope(FluxLimiter lim, double a, double b) {
  switch (lim) {
    case FluxLimiter::Upwind: return 0.0;
    case FluxLimiter::Minmod:
      if (a * b <= 0) return 0.0;
      return a > 0 ? std::min(a, b) : std::max(a, b);
    case FluxLimiter::VanLeer: return a * b > 0 ? 2 * a * b / (a + b) : 0.0;
    case FluxLimiter::MC: {
      if (a * b <= 0) return 0.0;
      const double c = 0.5 * (a + b);
      return a > 0 ? std::min({c, 2 * a, 2 * b}) : std::max({c, 2 * a, 2 * b});
    }
  }
  return 0.0;
}

}  // namespace

struct CircleDensity::Impl {
  Index M = 0;
  double beta = 0, h = 0;
  CircleNormalization norm = CircleNormalization::Softmax;
  FluxLimiter lim = FluxLimiter::VanLeer;
  Index nc = 0;            // M / 2 + 1 complex coefficients
  double kernel_scale = 1;  // D and W carry a factor e^{-beta} for SA (cancels in v = v_USA / Z)
  double dmax_over_h = 0;  // max_m |D_m| / h (unscaled)

  double* rin = nullptr;            // M (input copy when the caller's array is not aligned as planned)
  double* rout = nullptr;           // M
  double* v = nullptr;              // M: face velocities
  double* z = nullptr;              // M: face normalisers (SA; scaled by kernel_scale)
  fftw_complex* spec = nullptr;     // nc: transform of the input
  fftw_complex* tmp = nullptr;      // nc: product (destroyed by c2r)
  fftw_plan fwd = nullptr, bwd = nullptr;

  std::vector<std::complex<double>> d_hat, w_hat;  // spectra of the correlation kernels
  std::vector<double> k_hat;                       // real spectrum of the energy kernel
  std::vector<double> sigma, flux, k1, k2, u1;     // work

  Impl(Index m, double b, CircleNormalization nrm, FluxLimiter l)
      : M(m), beta(b), h(kTwoPi / static_cast<double>(m)), norm(nrm), lim(l), nc(m / 2 + 1) {
    if (m < 4) throw std::invalid_argument("CircleDensity: need at least 4 cells");
    // USA velocities scale like e^beta (overflow past 709); SA divides two quantities scaled by
    // e^{-beta}, the smallest about h e^{-2 beta} (underflow past ~350).
    const double bmax = nrm == CircleNormalization::Softmax ? 300.0 : 700.0;
    if (!(b >= 0) || b > bmax)
      throw std::invalid_argument("CircleDensity: beta must be in [0, " + std::to_string(int(bmax)) +
                                  "] (got " + std::to_string(b) + ")");
    {
      std::lock_guard<std::mutex> lock(planner_mutex());
      rin = fftw_alloc_real(M);
      rout = fftw_alloc_real(M);
      spec = fftw_alloc_complex(nc);
      tmp = fftw_alloc_complex(nc);
      v = fftw_alloc_real(M);
      z = fftw_alloc_real(M);
      fwd = fftw_plan_dft_r2c_1d(static_cast<int>(M), rin, spec, FFTW_ESTIMATE);
      bwd = fftw_plan_dft_c2r_1d(static_cast<int>(M), tmp, rout, FFTW_ESTIMATE);
    }
    sigma.resize(M);
    flux.resize(M);
    kernel_scale = norm == CircleNormalization::Softmax ? std::exp(-beta) : 1.0;

    // D_m = int_{(m-1)h}^{mh} G = (e^{b cos((m-1)h)} - e^{b cos(mh)}) / b
    //     = e^{b cos(mh)} expm1(2 b sin((m - 1/2) h) sin(h/2)) / b   (no cancellation),
    // b = 0: 2 sin((m - 1/2) h) sin(h / 2). Correlation v_i = sum_j D_{j-i} rho_j is the
    // convolution with e_m = D_{-m}.
    std::vector<double> e(M);
    const double s2 = std::sin(h / 2);
    double dmax = 0;
    for (Index m = 0; m < M; ++m) {
      const double md = static_cast<double>(m);
      const double x = 2 * std::sin((md - 0.5) * h) * s2;
      const double dm = beta == 0 ? x : std::exp(beta * std::cos(md * h)) * std::expm1(beta * x) / beta;
      dmax = std::max(dmax, std::abs(dm));
      e[(M - m) % M] = dm * kernel_scale;
    }
    dmax_over_h = dmax / h;
    d_hat = spectrum(e);

    if (norm == CircleNormalization::Softmax) {
      // W_m = int_{(m-1)h}^{mh} e^{beta (cos phi - 1)} dphi, composite 16-point Gauss-Legendre
      // on pieces no longer than min(h, 1 / max(1, sqrt beta)).
      std::vector<double> gx, gw;
      gauss_legendre(16, gx, gw);
      const double piece_max = 1.0 / std::max(1.0, std::sqrt(beta));
      const int pieces = std::max(1, static_cast<int>(std::ceil(h / piece_max)));
      const double len = h / pieces;
      for (Index m = 0; m < M; ++m) {
        const double a0 = (static_cast<double>(m) - 1) * h;
        double sum = 0;
        for (int p = 0; p < pieces; ++p) {
          const double c = a0 + (p + 0.5) * len;
          for (int q = 0; q < 16; ++q)
            sum += gw[q] * std::exp(beta * (std::cos(c + 0.5 * len * gx[q]) - 1));
        }
        e[(M - m) % M] = 0.5 * len * sum;
      }
      w_hat = spectrum(e);
    }

    // Energy kernel (e^{beta cos phi} - 1) / beta (beta = 0: cos phi), symmetric: real spectrum.
    for (Index m = 0; m < M; ++m) {
      const double c = std::cos(static_cast<double>(m) * h);
      e[m] = beta == 0 ? c : std::expm1(beta * c) / beta;
    }
    const auto kh = spectrum(e);
    k_hat.resize(nc);
    for (Index k = 0; k < nc; ++k) k_hat[k] = kh[k].real();
  }

  ~Impl() {
    std::lock_guard<std::mutex> lock(planner_mutex());
    fftw_destroy_plan(fwd);
    fftw_destroy_plan(bwd);
    fftw_free(rin);
    fftw_free(rout);
    fftw_free(spec);
    fftw_free(tmp);
    fftw_free(v);
    fftw_free(z);
  }

  std::vector<std::complex<double>> spectrum(const std::vector<double>& e) {
    std::copy(e.begin(), e.end(), rin);
    fftw_execute(fwd);
    std::vector<std::complex<double>> out(nc);
    for (Index k = 0; k < nc; ++k) out[k] = {spec[k][0], spec[k][1]};
    return out;
  }

  // spec = DFT(rho). Out-of-place r2c preserves its input; an input aligned like the planned one
  // runs the same codelets as a copy into rin would, so the result does not depend on the path.
  void forward(const double* rho) {
    double* in = const_cast<double*>(rho);
    if (fftw_alignment_of(in) != fftw_alignment_of(rin)) {
      std::copy(rho, rho + M, rin);
      in = rin;
    }
    fftw_execute_dft_r2c(fwd, in, spec);
  }
  // out = (1/M) IDFT(spec * hat): the circular convolution of the last forward() input with e.
  void convolve(const std::vector<std::complex<double>>& hat, double* out) {
    const double inv = 1.0 / static_cast<double>(M);
    for (Index k = 0; k < nc; ++k) {  // written out: std::complex * goes through __muldc3
      const double a = spec[k][0], b = spec[k][1], c = hat[k].real(), d = hat[k].imag();
      tmp[k][0] = (a * c - b * d) * inv;
      tmp[k][1] = (a * d + b * c) * inv;
    }
    if (fftw_alignment_of(out) == fftw_alignment_of(rout)) {
      fftw_execute_dft_c2r(bwd, tmp, out);
    } else {
      fftw_execute(bwd);
      std::copy(rout, rout + M, out);
    }
  }

  // v (and z for SA) at the faces; v_USA scaled by kernel_scale is left in z when `keep_usa`.
  void velocities(const double* rho) {
    forward(rho);
    convolve(d_hat, v);
    if (norm == CircleNormalization::Softmax) {
      convolve(w_hat, z);
      for (Index f = 0; f < M; ++f) v[f] /= z[f];
    }
  }

  // flux[f] = v_f^+ rho_f^L + v_f^- rho_f^R with limited MUSCL face values (v already computed).
  // Limited slopes. |sigma_i| <= 2 min(|a|, |b|) already puts rho_i +- sigma_i / 2 between the
  // neighbours (>= 0 for rho >= 0); the clamp |sigma_i| <= 2 rho_i restates that in floating point,
  // so that rho_i +- sigma_i / 2 >= 0 and their sum is 2 rho_i to rounding.
  template <FluxLimiter L>
  void slopes(const double* rho) {
    auto one = [&](Index i, double left, double right) {
      const double s = limited_slope(L, rho[i] - left, right - rho[i]), cap = 2 * std::abs(rho[i]);
      sigma[i] = std::clamp(s, -cap, cap);
    };
    one(0, rho[M - 1], rho[1]);
    for (Index i = 1; i + 1 < M; ++i) one(i, rho[i - 1], rho[i + 1]);
    one(M - 1, rho[M - 2], rho[0]);
  }
  void fluxes(const double* rho) {
    switch (lim) {
      case FluxLimiter::Upwind: std::fill(sigma.begin(), sigma.end(), 0.0); break;
      case FluxLimiter::Minmod: slopes<FluxLimiter::Minmod>(rho); break;
      case FluxLimiter::VanLeer: slopes<FluxLimiter::VanLeer>(rho); break;
      case FluxLimiter::MC: slopes<FluxLimiter::MC>(rho); break;
    }
    for (Index f = 0; f < M; ++f) {
      const Index ip = f + 1 == M ? 0 : f + 1;
      const double vf = v[f];
      flux[f] = std::max(vf, 0.0) * (rho[f] + 0.5 * sigma[f]) +
                std::min(vf, 0.0) * (rho[ip] - 0.5 * sigma[ip]);
    }
  }

  void rhs(const double* rho, double* drho) {
    velocities(rho);
    fluxes(rho);
    const double inv_h = 1.0 / h;
    drho[0] = (flux[M - 1] - flux[0]) * inv_h;
    for (Index i = 1; i < M; ++i) drho[i] = (flux[i - 1] - flux[i]) * inv_h;
  }
};

CircleDensity::CircleDensity(Index cells, double beta, CircleNormalization norm, FluxLimiter limiter)
    : p_(std::make_unique<Impl>(cells, beta, norm, limiter)) {}
CircleDensity::~CircleDensity() = default;
CircleDensity::CircleDensity(CircleDensity&&) noexcept = default;
CircleDensity& CircleDensity::operator=(CircleDensity&&) noexcept = default;

Index CircleDensity::cells() const { return p_->M; }
double CircleDensity::h() const { return p_->h; }
double CircleDensity::beta() const { return p_->beta; }
CircleNormalization CircleDensity::normalization() const { return p_->norm; }
FluxLimiter CircleDensity::limiter() const { return p_->lim; }

void CircleDensity::face_velocity(const double* rho, double* v) {
  p_->velocities(rho);
  std::copy(p_->v, p_->v + p_->M, v);
}

void CircleDensity::face_normaliser(const double* rho, double* z) {
  if (p_->norm == CircleNormalization::Softmax) {
    p_->forward(rho);
    p_->convolve(p_->w_hat, z);
    const double s = std::exp(p_->beta);
    for (Index f = 0; f < p_->M; ++f) z[f] *= s;
    return;
  }
  // USA does not need Z; computed here by the same quadrature for completeness.
  CircleDensity sa(p_->M, p_->beta, CircleNormalization::Softmax, p_->lim);
  sa.face_normaliser(rho, z);
}

void CircleDensity::rhs(const double* rho, double* drho) { p_->rhs(rho, drho); }

void CircleDensity::rhs(const Vec& rho, Vec& drho) {
  if (rho.size() != p_->M) throw std::invalid_argument("CircleDensity::rhs: size mismatch");
  drho.resize(p_->M);
  p_->rhs(rho.data(), drho.data());
}

double CircleDensity::velocity_bound(double mass) const {
  return p_->norm == CircleNormalization::Softmax ? 1.0 : mass * p_->dmax_over_h;
}

double CircleDensity::positive_dt(double mass) const {
  const double vb = velocity_bound(mass);
  return vb > 0 ? p_->h / (2 * vb) : INFINITY;
}

void CircleDensity::ssp_rk3_step(Vec& rho, double dt) {
  auto& k1 = p_->k1;
  auto& k2 = p_->k2;
  auto& u1 = p_->u1;
  const Index M = p_->M;
  if (rho.size() != M) throw std::invalid_argument("CircleDensity::ssp_rk3_step: size mismatch");
  k1.resize(M);
  k2.resize(M);
  u1.resize(M);
  p_->rhs(rho.data(), k1.data());
  for (Index i = 0; i < M; ++i) u1[i] = rho[i] + dt * k1[i];
  p_->rhs(u1.data(), k2.data());
  for (Index i = 0; i < M; ++i) u1[i] = 0.75 * rho[i] + 0.25 * (u1[i] + dt * k2[i]);
  p_->rhs(u1.data(), k1.data());
  for (Index i = 0; i < M; ++i) rho[i] = rho[i] / 3 + (2.0 / 3) * (u1[i] + dt * k1[i]);
}

double CircleDensity::energy_excess(const Vec& rho) {
  auto& q = *p_;
  q.forward(rho.data());
  // sum_ij rho_i k_{j-i} rho_j = (1/M) sum_k khat_k |rhohat_k|^2 over all k (Parseval).
  double s = 0;
  for (Index k = 0; k < q.nc; ++k) {
    const double a2 = q.spec[k][0] * q.spec[k][0] + q.spec[k][1] * q.spec[k][1];
    const bool paired = k != 0 && !(q.M % 2 == 0 && k == q.M / 2);
    s += (paired ? 2.0 : 1.0) * q.k_hat[k] * a2;
  }
  return 0.5 * q.h * q.h * s / static_cast<double>(q.M);
}

double CircleDensity::energy(const Vec& rho) {
  const double e = energy_excess(rho);
  if (p_->beta == 0) return e;
  const double m = circle_mass(rho);
  return e + m * m / (2 * p_->beta);
}

double CircleDensity::energy_rate(const Vec& rho) {
  auto& q = *p_;
  q.velocities(rho.data());
  q.fluxes(rho.data());
  // flux_f = rho_f v_f; v_USA,f = v_f Z_f (SA; both in the scaled kernels: times e^beta) or v_f.
  double s = 0;
  if (q.norm == CircleNormalization::Softmax) {
    const double sc = std::exp(q.beta);
    for (Index f = 0; f < q.M; ++f) s += q.flux[f] * q.v[f] * q.z[f] * sc;
  } else {
    for (Index f = 0; f < q.M; ++f) s += q.flux[f] * q.v[f];
  }
  return q.h * s;
}

// ---- grid helpers ------------------------------------------------------------------------------

double circle_mass(const Vec& rho) { return kTwoPi / static_cast<double>(rho.size()) * rho.sum(); }

std::complex<double> fourier_coefficient(const Vec& rho, int k) {
  const Index M = rho.size();
  const double h = kTwoPi / static_cast<double>(M);
  double re = 0, im = 0;
  for (Index i = 0; i < M; ++i) {
    const double a = k * (static_cast<double>(i) + 0.5) * h;
    re += rho[i] * std::cos(a);
    im -= rho[i] * std::sin(a);
  }
  const double x = 0.5 * k * h, sinc = k == 0 ? 1.0 : std::sin(x) / x;
  return std::complex<double>(re, im) * (sinc / static_cast<double>(M));
}

std::vector<std::complex<double>> fourier_coefficients(const Vec& rho, int kmax) {
  std::vector<std::complex<double>> out(kmax + 1);
  for (int k = 0; k <= kmax; ++k) out[k] = fourier_coefficient(rho, k);
  return out;
}

std::complex<double> empirical_fourier_coefficient(const Vec& angles, int k) {
  double re = 0, im = 0;
  for (Index j = 0; j < angles.size(); ++j) {
    re += std::cos(k * angles[j]);
    im -= std::sin(k * angles[j]);
  }
  return {re / (kTwoPi * angles.size()), im / (kTwoPi * angles.size())};
}

Vec cell_averages(const std::function<double(double)>& f, Index cells) {
  std::vector<double> gx, gw;
  gauss_legendre(8, gx, gw);
  const double h = kTwoPi / static_cast<double>(cells);
  Vec out(cells);
  for (Index i = 0; i < cells; ++i) {
    const double c = (static_cast<double>(i) + 0.5) * h;
    double s = 0;
    for (int q = 0; q < 8; ++q) s += gw[q] * f(c + 0.5 * h * gx[q]);
    out[i] = 0.5 * s;
  }
  return out;
}

Vec sample_angles(const Vec& rho, Index n, Rng& rng) {
  const Index M = rho.size();
  const double h = kTwoPi / static_cast<double>(M);
  std::vector<double> cum(M + 1, 0.0);
  for (Index i = 0; i < M; ++i) cum[i + 1] = cum[i] + std::max(0.0, rho[i]);
  const double total = cum[M];
  if (!(total > 0)) throw std::invalid_argument("sample_angles: density has no mass");
  for (auto& c : cum) c /= total;
  cum[M] = 1.0;
  Vec out(n);
  for (Index j = 0; j < n; ++j) {
    const double u = rng.uniform();
    Index i = static_cast<Index>(std::upper_bound(cum.begin(), cum.end(), u) - cum.begin()) - 1;
    i = std::clamp<Index>(i, 0, M - 1);
    const double w = cum[i + 1] - cum[i];
    const double frac = w > 0 ? (u - cum[i]) / w : 0.5;
    out[j] = std::min((static_cast<double>(i) + frac) * h, std::nextafter(kTwoPi, 0.0));
  }
  return out;
}

// ---- Wasserstein-1 on the circle -------------------------------------------------------------
namespace {

// One side of the comparison: a grid density or a set of angles (normalised to mass 1).
struct Side {
  const Vec* grid = nullptr;
  std::vector<double> angles;  // sorted, in [0, 2 pi)
  double grid_mass = 1;
};

Side grid_side(const Vec& rho) {
  Side s;
  s.grid = &rho;
  s.grid_mass = circle_mass(rho);
  if (!(s.grid_mass > 0)) throw std::invalid_argument("w1_circle: grid density has no mass");
  return s;
}

Side particle_side(const Vec& a) {
  if (a.size() == 0) throw std::invalid_argument("w1_circle: empty angle set");
  Side s;
  s.angles.resize(a.size());
  for (Index j = 0; j < a.size(); ++j) {
    double x = std::fmod(a[j], kTwoPi);
    if (x < 0) x += kTwoPi;
    if (x >= kTwoPi) x = 0;
    s.angles[j] = x;
  }
  std::sort(s.angles.begin(), s.angles.end());
  return s;
}

struct Segment {
  double len, p, q;  // D goes linearly from p to q over len
};

// Length of {x in segment : D(x) < c}.
double below(const Segment& s, double c) {
  if (s.p == s.q) return s.p < c ? s.len : 0.0;
  double t = (c - s.p) / (s.q - s.p);  // fraction where D = c
  t = std::clamp(t, 0.0, 1.0);
  return s.q > s.p ? s.len * t : s.len * (1 - t);
}

// int over the segment of |D - c|.
double abs_integral(const Segment& s, double c) {
  const double a = s.p - c, b = s.q - c;
  if (a * b >= 0) return s.len * std::abs(a + b) / 2;
  return s.len * (a * a + b * b) / (2 * std::abs(a - b));
}

double w1_sides(const Side& A, const Side& B) {
  // Events along [0, 2 pi): grid faces (slope changes) and Diracs (jumps). D = F_A - F_B.
  struct Event {
    double x;
    int kind;  // 0: face of A's grid, 1: face of B's grid, 2: Dirac of A, 3: Dirac of B
    Index idx;
  };
  std::vector<Event> ev;
  auto add_grid = [&](const Side& s, int kind) {
    if (!s.grid) return;
    const Index M = s.grid->size();
    const double h = kTwoPi / static_cast<double>(M);
    for (Index k = 1; k < M; ++k) ev.push_back({static_cast<double>(k) * h, kind, k});
  };
  add_grid(A, 0);
  add_grid(B, 1);
  for (double x : A.angles) ev.push_back({x, 2, 0});
  for (double x : B.angles) ev.push_back({x, 3, 0});
  std::stable_sort(ev.begin(), ev.end(), [](const Event& a, const Event& b) { return a.x < b.x; });

  const double wa = A.angles.empty() ? 0 : 1.0 / static_cast<double>(A.angles.size());
  const double wb = B.angles.empty() ? 0 : 1.0 / static_cast<double>(B.angles.size());
  auto density = [](const Side& s, Index cell) { return s.grid ? (*s.grid)[cell] / s.grid_mass : 0.0; };
  Index ca = 0, cb = 0;
  double slope = density(A, 0) - density(B, 0), d = 0, x0 = 0;
  std::vector<Segment> seg;
  seg.reserve(ev.size() + 1);
  auto advance = [&](double x) {
    const double len = x - x0;
    if (len > 0) {
      const double q = d + slope * len;
      seg.push_back({len, d, q});
      d = q;
      x0 = x;
    }
  };
  for (const Event& e : ev) {
    advance(e.x);
    switch (e.kind) {
      case 0: ca = e.idx; break;
      case 1: cb = e.idx; break;
      case 2: d += wa; break;
      case 3: d -= wb; break;
    }
    slope = density(A, ca) - density(B, cb);
  }
  advance(kTwoPi);

  // c = a median of D: measure{D < c} <= pi <= measure{D <= c}. Bisection on c.
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& s : seg) {
    lo = std::min({lo, s.p, s.q});
    hi = std::max({hi, s.p, s.q});
  }
  lo -= 1;
  hi += 1;
  auto measure_below = [&](double c) {
    double m = 0;
    for (const auto& s : seg) m += below(s, c);
    return m;
  };
  for (int it = 0; it < 200; ++it) {
    const double mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi || hi - lo < 1e-17) break;
    (measure_below(mid) < M_PI ? lo : hi) = mid;
  }
  const double c = 0.5 * (lo + hi);
  double w = 0;
  for (const auto& s : seg) w += abs_integral(s, c);
  return w;
}

}  // namespace

double w1_circle_grids(const Vec& rho_a, const Vec& rho_b) {
  return w1_sides(grid_side(rho_a), grid_side(rho_b));
}
double w1_circle_particles_grid(const Vec& angles, const Vec& rho) {
  return w1_sides(particle_side(angles), grid_side(rho));
}
double w1_circle_particles(const Vec& angles_a, const Vec& angles_b) {
  return w1_sides(particle_side(angles_a), particle_side(angles_b));
}

double circle_distance(double a, double b) {
  double d = std::fmod(std::abs(a - b), kTwoPi);
  return std::min(d, kTwoPi - d);
}

}  // namespace attnflow
