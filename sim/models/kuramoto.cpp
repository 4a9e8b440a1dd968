// Kuramoto phase oscillators (Kuramoto 1975; mean-field theory as in Strogatz 2000; research/ssa.md
// section 3, the ODE counterpart of Hays, "Selective Synchronization Attention", arXiv 2602.14445):
//
//   theta_i' = omega_i + (K/N) sum_j J_ij sin(theta_j - theta_i),     i = 1..N
//
// State: x = theta, N x 1 (tokens.d = 1, phases never wrapped). omega: N natural frequencies.
//
//   coupling_rule = "uniform"  J_ij = 1. O(N) per RHS through the order parameter:
//                              r e^{i psi} = (1/N) sum_j e^{i theta_j} = C + i S,
//                              theta_i' = omega_i + K (S cos theta_i - C sin theta_i)
//   coupling_rule = "ssa"      J_ij = exp(-alpha (omega_i - omega_j)^2) (SSA's coupling), streamed
//                              in O(N^2) per RHS with no N x N storage:
//                              theta_i' = omega_i + (K/N)(cos th_i sum_j J_ij sin th_j
//                                                        - sin th_i sum_j J_ij cos th_j)
//   coupling_rule = "matrix"   J read from coupling_matrix (CSV, N rows x N columns), stored.
//   pairs = true               tokens (2k, 2k+1) form independent two-oscillator systems
//                              theta_a' = omega_a + (K/2) J_ab sin(theta_b - theta_a), so
//                              phi = theta_b - theta_a obeys Adler's equation
//                              phi' = Delta - kappa sin phi, kappa = K J_ab (research 3.2).
//
// Natural frequencies (stream "model.frequencies" of [run] seed; all shifted by `center`):
//   lorentzian  gamma tan(pi (u - 1/2))       gaussian  sigma * N(0,1)
//   uniform     width (u - 1/2)               quantiles F^{-1}((i + 1/2)/N) of `distribution`
//   values      omega = [...]                 file      CSV, one value per row (N rows)
//   projection  omega_i = <W, x_i>: token vectors x_i (N x token_dim) from token_path (CSV) or
//               N(0, I) (stream "model.tokens"), W = [...] (token_dim) or "random" N(0, 1/token_dim)
//               (stream "model.W") -- SSA's omega = W x for one head
// Initial phases (initial_phases): uniform in [0, 2 pi) (stream "model.phases") | zero |
// from_tokens (keep [tokens] init) | wrapped_cauchy: i.i.d. from the wrapped Cauchy (Poisson
// kernel) law with first moment r0 e^{i psi0}, psi0 + 2 atan((1 - r0)/(1 + r0) tan(pi (u - 1/2)))
// (mean_field::wrapped_cauchy_angle, stream "model.phases"), independent of the frequencies: the
// Ott-Antonsen manifold's initial condition alpha(omega, 0) = r0 e^{i psi0} (docs/mean_field.md 5).
//
// Observables:
//   order_parameter  r = |(1/N) sum_j e^{i theta_j}|          psi  arg of the same
//   locked_fraction  fraction of i with |omega_i - Omega| <= K r_i, Omega = mean(omega), r_i the
//                    modulus of the local field (1/N) sum_j J_ij e^{i theta_j} (= r for uniform);
//                    pairs: fraction of pairs with |Delta| <= kappa
//   energy           V = -(K/2N) sum_ij J_ij cos(theta_i - theta_j) - sum_i omega_i theta_i
//                    (pairs: -(K/2) sum_pairs J_ab cos(phi_ab) - sum omega theta); theta' = -grad V
//                    for symmetric J, so V decreases. O(N) for uniform coupling.
//   r_theory         mean-field r_inf of the frequency law (uniform coupling): the largest root of
//                    1 = K int_{-pi/2}^{pi/2} cos^2 phi g(K r sin phi) dphi (0 below K_c = 2/(pi g(0)));
//                    Lorentzian: sqrt(1 - 2 gamma/K)
//   r_ott_antonsen   the Ott-Antonsen r(t) = mean_field::oa_r_exact(r0, t - t0, K, gamma), the
//                    closed-form solution of r' = (K/2 - gamma) r - (K/2) r^3 (t0 = integrator.t0):
//                    exact for N -> infinity when the frequencies are Lorentzian (drawn or
//                    quantiles), the coupling uniform and the phases wrapped Cauchy (the particles
//                    start on the OA manifold); unavailable otherwise
//   order_parameter_avg   mean of r over frames with t >= average_from
//   pair_residual_locked / pair_residual_drifting  (pairs = true) max over locked / drifting pairs of
//                    | J_ab <cos phi_ab>_frames - S_ssa(Delta_ab) |, S_ssa the SSA pair weight of
//                    sim/ssa_operator.hpp with K r = K, alpha (alpha = 0 for uniform coupling)
//   pair_weight_mean (pairs) mean over pairs of J_ab <cos phi_ab>_frames
//   pair_beat_frequency  (pairs) mean over pairs of the time-averaged phase-difference velocity
//                    <phi'> = (phi(t) - phi(t_a)) / (t - t_a), t_a the first frame >= average_from
//   pair_beat_residual   (pairs) max over pairs of | <phi'> - Omega_Adler |, Adler's closed form
//                    Omega_Adler = sgn(Delta) sqrt(Delta^2 - kappa^2) if |Delta| > kappa, else 0
//   coherence_theory_deviation   max_{i != j} |C_ij - Re(z_i conj z_j)|, C_ij = <cos(theta_i -
//                    theta_j)>_frames, z(u) = sqrt(1-u^2) + i u (|u| <= 1), i(u - sgn u sqrt(u^2-1)),
//                    u_i = (omega_i - Omega)/(K <r>)   (N-body steady state, research 3.4)
//   coherence_ssa_deviation(_mean)  max (mean) over i != j of |C_ij - S_ssa(|omega_i - omega_j|)|
//                    with K r = K <r>  (SSA's pair law vs the N-body steady state)
//   coherence_sparsity / coherence_row_entropy / coherence_cv / coherence_row_max_min:
//                    analysis/attention_stats of max(C, 0)
// The coherence observables keep an N x N running average (on request only, N <= 8192).
#include <algorithm>
#include "sim/models/kuramoto.hpp"

#include <cmath>
#include <limits>

#include "sim/config/csv.hpp"
#include "sim/config/section.hpp"
#include "sim/core/registry.hpp"
#include "sim/core/rng.hpp"
#include "sim/kernels/attention_stats.hpp"
#include "sim/kernels/fast_exp.hpp"
#include "sim/kernels/mean_field_odes.hpp"
#include "sim/kernels/pair_stream.hpp"
#include "sim/kernels/ssa_operator.hpp"
#include "sim/core/parallel.hpp"

namespace attnflow {
namespace {

using Rule = KuramotoRule;
using Law = FrequencyLaw;

class KuramotoModel : public Flow {
 public:
  KuramotoModel(Shape shape, KuramotoParams p, std::uint64_t seed, bool coherence)
      : Flow(shape, Space::Euclidean), p_(std::move(p)), seed_(seed), want_coherence_(coherence) {
    const Index n = shape.n;
    sin_.resize(n);
    cos_.resize(n);
    omega_mean_ = fixed_sum(p_.omega.data(), n) / static_cast<double>(n);
    if (want_coherence_) coh_ = RowMat::Zero(n, n);
    prepare();
  }
  std::string kind() const override { return "kuramoto"; }
  int oracle_calls_per_rhs() const override { return 0; }
  bool phase_state() const override { return true; }
  std::vector<std::pair<std::string, Vec>> per_token_constants() const override {
    return {{"frequency", p_.omega}};
  }

  void initialize(State& s, std::uint64_t seed) override {
    auto x = s.x();
    if (p_.initial == "zero") {
      x.setZero();
    } else if (p_.initial == "uniform") {
      Rng rng = Rng::stream(seed, "model.phases");
      for (Index i = 0; i < x.rows(); ++i) x(i, 0) = 2 * M_PI * rng.uniform();
    } else if (p_.initial == "wrapped_cauchy") {
      Rng rng = Rng::stream(seed, "model.phases");
      for (Index i = 0; i < x.rows(); ++i)
        x(i, 0) = mean_field::wrapped_cauchy_angle(rng.uniform(), p_.r0, p_.psi0);
    }
  }

  double coupling_J(Index i, Index j) const {
    if (p_.rule == Rule::Uniform) return 1.0;
    if (p_.rule == Rule::Matrix) return p_.J(i, j);
    const double d = p_.omega[i] - p_.omega[j];
    return std::exp(-p_.alpha * d * d);
  }

  void rhs(double, ConstStateView s, StateView ds) override {
    const Index n = s.shape.n;
    const double* th = s.p;
    double* dth = ds.p;
    const double* om = p_.omega.data();
    const double K = p_.K;
    if (p_.pairs) {
      parallel_for(n, n >= kParallelMin, [&](Index i) {
        const Index q = i ^ 1;
        dth[i] = om[i] + 0.5 * K * jpair_[i / 2] * std::sin(th[q] - th[i]);
      });
      return;
    }
    double C, S;
    if (p_.rule == Rule::Uniform) {
      // Two sweeps over theta; sin and cos are recomputed in the second one (into an L1 block)
      // rather than stored: at N = 10^6 this moves half the bytes and runs ~1.3x faster.
      phase_sums(th, n, nullptr, nullptr, C, S);
      if (comm_) {  // distributed: the order parameter of all ranks (one Allgather of 2 numbers)
        double cs[2] = {C, S};
        comm_->sum(cs, 2);
        C = cs[0], S = cs[1];
      }
      const double nt = static_cast<double>(n_total());
      const double kc = K * C / nt, ks = K * S / nt;
      const Index blocks = (n + kSumBlock - 1) / kSumBlock;
      parallel_for(blocks, n >= kParallelMin, [&](Index b) {
        const Index lo = b * kSumBlock, len = std::min(kSumBlock, n - lo);
        alignas(64) double sb[kSumBlock], cb[kSumBlock];
        sincos_range(th + lo, len, sb, cb);
#pragma omp simd
        for (Index i = 0; i < len; ++i) dth[lo + i] = om[lo + i] + (ks * cb[i] - kc * sb[i]);
      });
      return;
    }
    phase_sums(th, n, sin_.data(), cos_.data(), C, S);
    coupled_sums();
    const double kn = K / static_cast<double>(n);
    for (Index i = 0; i < n; ++i) dth[i] = om[i] + kn * (cos_[i] * rs_[i] - sin_[i] * rc_[i]);
  }

  void observe_frame(double t, ConstStateView s) override { accumulate(t, s); }
  bool keeps_time_averages() const override { return true; }

  double observable(const std::string& name, double t, ConstStateView s) override {
    const Index n = s.shape.n;
    const double nn = static_cast<double>(n);
    const double* th = s.p;
    double C, S;
    phase_sums(th, n, sin_.data(), cos_.data(), C, S);
    const double r = std::hypot(C, S) / nn;
    if (name == "order_parameter") return r;
    if (name == "psi") return std::atan2(S, C);
    if (name == "order_parameter_avg") return frames_ ? r_sum_ / frames_ : r;
    if (name == "r_theory") {
      if (std::isnan(r_theory_)) r_theory_ = mean_field_r(p_.law, p_.scale, p_.K);
      return r_theory_;
    }
    if (name == "r_ott_antonsen") return mean_field::oa_r_exact(p_.r0, t - p_.t0, p_.K, p_.scale);
    if (name == "locked_fraction") return locked_fraction(s, r);
    if (name == "energy") return energy(s, C, S);
    if (name == "pair_residual_locked" || name == "pair_residual_drifting") {
      const bool want_locked = name == "pair_residual_locked";
      double worst = 0;
      const double alpha = p_.rule == Rule::Ssa ? p_.alpha : 0.0;
      for (Index k = 0; k < n / 2; ++k) {
        const double dl = std::abs(p_.omega[2 * k + 1] - p_.omega[2 * k]);
        const double kappa = p_.K * jpair_[k];
        const bool locked = dl <= kappa;
        if (locked != want_locked) continue;
        const double avg = frames_ ? pair_sum_[k] / frames_ : std::cos(th[2 * k + 1] - th[2 * k]);
        const double ssa_w = ssa::pair_weight(dl * dl, false, p_.K, alpha);
        worst = std::max(worst, std::abs(jpair_[k] * avg - ssa_w));
      }
      return worst;
    }
    if (p_.pairs && (name == "pair_weight_mean" || name == "pair_beat_frequency" ||
                     name == "pair_beat_residual")) {
      const Index pairs = n / 2;
      double sum = 0, worst = 0;
      for (Index k = 0; k < pairs; ++k) {
        const double phi = th[2 * k + 1] - th[2 * k];
        if (name == "pair_weight_mean") {
          sum += jpair_[k] * (frames_ ? pair_sum_[k] / frames_ : std::cos(phi));
          continue;
        }
        const double beat = frames_ > 1 && t > beat_t0_ ? (phi - phi0_[k]) / (t - beat_t0_) : 0.0;
        const double delta = p_.omega[2 * k + 1] - p_.omega[2 * k], kappa = p_.K * jpair_[k];
        const double adler = std::abs(delta) > kappa
                                 ? std::copysign(std::sqrt(delta * delta - kappa * kappa), delta)
                                 : 0.0;
        sum += beat;
        worst = std::max(worst, std::abs(beat - adler));
      }
      return name == "pair_beat_residual" ? worst : sum / static_cast<double>(pairs);
    }
    if (name.rfind("coherence_", 0) == 0) return coherence(name);
    return Model::observable(name, t, s);
  }

 private:
  // Precomputed pair couplings (pairs mode).
  void prepare() {
    if (!p_.pairs) return;
    jpair_.resize(shape_.n / 2);
    for (Index k = 0; k < shape_.n / 2; ++k) jpair_[k] = coupling_J(2 * k, 2 * k + 1);
  }

  // rs_i = sum_j J_ij sin theta_j, rc_i = sum_j J_ij cos theta_j (SSA or matrix rule) from sin_,
  // cos_, streamed by the pair loop: J_ij = exp(-alpha (omega_i - omega_j)^2) computed on the fly
  // for the SSA rule (no N x N storage) or read from the matrix; each row summed in a fixed
  // 8-lane order by one thread.
  struct CoupledSums {
    static constexpr Index kRows = 16, kCols = kWholeRow;
    struct Tile {};
    const KuramotoParams& p;
    const double *sn, *cs;
    double *rs, *rc;
    Index n;
    Tile make_tile() const { return {}; }
    void begin(Tile&, Index, Index) const {}
    void end(Tile&, Index, Index) const {}
    void accumulate(Tile&, Index i0, Index i1, Index j0, Index j1) const {
      const double* om = p.omega.data();
      const double alpha = p.alpha;
      for (Index i = i0; i < i1; ++i) {
        double sumS = 0, sumC = 0;
        if (p.rule == Rule::Ssa) {
          const double oi = om[i];
#pragma omp simd reduction(+ : sumS, sumC)
          for (Index j = j0; j < j1; ++j) {
            const double d = oi - om[j];
            const double w = fast_exp_nonpos(-alpha * d * d);
            sumS += w * sn[j];
            sumC += w * cs[j];
          }
        } else {
          const double* jr = p.J.data() + i * n;
#pragma omp simd reduction(+ : sumS, sumC)
          for (Index j = j0; j < j1; ++j) {
            sumS += jr[j] * sn[j];
            sumC += jr[j] * cs[j];
          }
        }
        rs[i] = sumS;
        rc[i] = sumC;
      }
    }
  };
  void coupled_sums() {
    const Index n = shape_.n;
    rs_.resize(n);
    rc_.resize(n);
    CoupledSums e{p_, sin_.data(), cos_.data(), rs_.data(), rc_.data(), n};
    stream_rows(e, n, n, double(n) * double(n) >= 65536);
  }

  // Frame averages since average_from (once per frame).
  void accumulate(double t, ConstStateView s) {
    if (t == last_t_ || t < p_.average_from - 1e-12) return;
    last_t_ = t;
    const Index n = s.shape.n;
    const double* th = s.p;
    double C, S;
    phase_sums(th, n, sin_.data(), cos_.data(), C, S);
    r_sum_ += std::hypot(C, S) / static_cast<double>(n);
    if (p_.pairs) {
      pair_sum_.resize(n / 2, 0.0);
      for (Index k = 0; k < n / 2; ++k) pair_sum_[k] += std::cos(th[2 * k + 1] - th[2 * k]);
      if (frames_ == 0) {  // start of the beat-frequency average
        beat_t0_ = t;
        phi0_.resize(n / 2);
        for (Index k = 0; k < n / 2; ++k) phi0_[k] = th[2 * k + 1] - th[2 * k];
      }
    }
    if (want_coherence_) {
      const double* sn = sin_.data();
      const double* cs = cos_.data();
      parallel_for(n, n >= 2048, [&](Index i) {
        double* row = coh_.data() + i * n;
        for (Index j = 0; j < n; ++j) row[j] += cs[i] * cs[j] + sn[i] * sn[j];
      });
      coh_frames_ += 1;
    }
    frames_ += 1;
  }

  double locked_fraction(ConstStateView s, double r) {
    const Index n = s.shape.n;
    Index count = 0;
    if (p_.pairs) {
      for (Index k = 0; k < n / 2; ++k)
        if (std::abs(p_.omega[2 * k + 1] - p_.omega[2 * k]) <= p_.K * jpair_[k]) ++count;
      return static_cast<double>(count) / static_cast<double>(n / 2);
    }
    if (p_.rule == Rule::Uniform) {
      for (Index i = 0; i < n; ++i)
        if (std::abs(p_.omega[i] - omega_mean_) <= p_.K * r) ++count;
      return static_cast<double>(count) / static_cast<double>(n);
    }
    coupled_sums();  // the local field r_i = |(1/N) sum_j J_ij e^{i theta_j}|
    for (Index i = 0; i < n; ++i)
      count += std::abs(p_.omega[i] - omega_mean_) <= p_.K * std::hypot(rc_[i], rs_[i]) / static_cast<double>(n);
    return static_cast<double>(count) / static_cast<double>(n);
  }

  double energy(ConstStateView s, double C, double S) {
    const Index n = s.shape.n;
    const double* th = s.p;
    double lin = 0;
    for (Index i = 0; i < n; ++i) lin += p_.omega[i] * th[i];
    if (p_.pairs) {
      double e = 0;
      for (Index k = 0; k < n / 2; ++k) e += jpair_[k] * std::cos(th[2 * k + 1] - th[2 * k]);
      return -0.5 * p_.K * e - lin;
    }
    const double nn = static_cast<double>(n);
    if (p_.rule == Rule::Uniform) return -0.5 * p_.K * (C * C + S * S) / nn - lin;
    // sum_j J_ij cos(theta_i - theta_j) = cos theta_i (J cos)_i + sin theta_i (J sin)_i
    coupled_sums();
    double e = 0;
    for (Index i = 0; i < n; ++i) e += cos_[i] * rc_[i] + sin_[i] * rs_[i];
    return -0.5 * p_.K * e / nn - lin;
  }

  // All coherence metrics of the current frame, computed once per frame time.
  double coherence(const std::string& name) {
    const Index n = shape_.n;
    if (coh_frames_ == 0) return 0.0;
    if (!(coh_cache_t_ == last_t_)) {
      coh_cache_t_ = last_t_;
      const double inv = 1.0 / coh_frames_;
      const double kr = p_.K * r_sum_ / frames_;
      std::vector<double> zr(n), zi(n);
      for (Index i = 0; i < n; ++i) {
        const double u = kr > 0 ? (p_.omega[i] - omega_mean_) / kr : 1e300;
        if (std::abs(u) <= 1) {
          zr[i] = std::sqrt(1 - u * u);
          zi[i] = u;
        } else {
          zr[i] = 0;
          zi[i] = u - (u > 0 ? 1 : -1) * std::sqrt(u * u - 1);
        }
      }
      std::vector<double> wt(n), ws(n), ss(n);
      RowMat& m = coh_pos_;
      m.resize(n, n);
      parallel_for(n, n >= 2048, [&](Index i) {
        double a = 0, b = 0, c2 = 0;
        for (Index j = 0; j < n; ++j) {
          const double c = coh_(i, j) * inv;
          m(i, j) = std::max(c, 0.0);
          if (i == j) continue;
          a = std::max(a, std::abs(c - (zr[i] * zr[j] + zi[i] * zi[j])));
          const double dw = p_.omega[i] - p_.omega[j];
          const double dev = std::abs(c - ssa::pair_weight(dw * dw, false, kr, 0.0));
          b = std::max(b, dev);
          c2 += dev;
        }
        wt[i] = a;
        ws[i] = b;
        ss[i] = c2;
      });
      coh_theory_ = *std::max_element(wt.begin(), wt.end());
      coh_ssa_ = *std::max_element(ws.begin(), ws.end());
      double sum = 0;
      for (double v : ss) sum += v;
      coh_ssa_mean_ = n > 1 ? sum / (static_cast<double>(n) * static_cast<double>(n - 1)) : 0.0;
      coh_stats_ = attention_stats({m});
    }
    if (name == "coherence_theory_deviation") return coh_theory_;
    if (name == "coherence_ssa_deviation") return coh_ssa_;
    if (name == "coherence_ssa_deviation_mean") return coh_ssa_mean_;
    return coh_stats_.get(name.substr(std::string("coherence_").size()));
  }

  KuramotoParams p_;
  std::uint64_t seed_;
  Vec sin_, cos_, rs_, rc_;
  double omega_mean_ = 0;
  std::vector<double> jpair_;
  // frame averages
  double last_t_ = std::numeric_limits<double>::quiet_NaN();
  double frames_ = 0, r_sum_ = 0, coh_frames_ = 0;
  std::vector<double> pair_sum_, phi0_;
  double beat_t0_ = 0;
  bool want_coherence_;
  RowMat coh_;
  double coh_cache_t_ = std::numeric_limits<double>::quiet_NaN();
  double coh_theory_ = 0, coh_ssa_ = 0, coh_ssa_mean_ = 0;
  AttentionStats coh_stats_;
  RowMat coh_pos_;
  double r_theory_ = std::numeric_limits<double>::quiet_NaN();
};

}  // namespace

std::unique_ptr<Flow> make_kuramoto(Shape shape, KuramotoParams p, std::uint64_t seed,
                                    bool coherence) {
  return std::make_unique<KuramotoModel>(shape, std::move(p), seed, coherence);
}

void kuramoto_observables(const KuramotoParams& p, Index n, std::vector<std::string>& offered,
                          std::vector<std::pair<std::string, std::string>>& unavailable) {
  offered = {"order_parameter", "psi", "locked_fraction", "order_parameter_avg"};
  const bool symmetric = p.rule != Rule::Matrix || (p.J - p.J.transpose()).cwiseAbs().maxCoeff() == 0;
  if (symmetric)
    offered.push_back("energy");
  else
    unavailable.push_back({"energy", "needs a symmetric coupling (this coupling_matrix is not)"});
  if (p.rule == Rule::Uniform && !p.pairs && p.law != Law::None)
    offered.push_back("r_theory");
  else
    unavailable.push_back({"r_theory", "needs coupling_rule = \"uniform\", pairs = false and "
                                       "frequencies drawn from a law (lorentzian, gaussian, "
                                       "uniform or quantiles)"});
  if (p.rule == Rule::Uniform && !p.pairs && p.law == Law::Lorentzian && p.initial == "wrapped_cauchy")
    offered.push_back("r_ott_antonsen");
  else
    unavailable.push_back({"r_ott_antonsen",
                           "the Ott-Antonsen curve describes Lorentzian frequencies (frequencies = "
                           "\"lorentzian\", or \"quantiles\" with distribution = \"lorentzian\"), "
                           "coupling_rule = \"uniform\", pairs = false and initial_phases = "
                           "\"wrapped_cauchy\" (phases on the OA manifold)"});
  for (const char* q : {"pair_residual_locked", "pair_residual_drifting", "pair_weight_mean",
                        "pair_beat_frequency", "pair_beat_residual"}) {
    if (p.pairs) offered.push_back(q);
    else unavailable.push_back({q, "needs pairs = true"});
  }
  for (const char* q : {"coherence_theory_deviation", "coherence_ssa_deviation",
                        "coherence_ssa_deviation_mean", "coherence_sparsity",
                        "coherence_row_entropy", "coherence_cv", "coherence_row_max_min"}) {
    if (p.pairs || p.rule != Rule::Uniform)
      unavailable.push_back({q, "needs coupling_rule = \"uniform\" and pairs = false"});
    else if (n > kMaxStatTokens)
      unavailable.push_back({q, "keeps an N x N time average: needs tokens.n <= " +
                                    std::to_string(kMaxStatTokens) + " (got " + std::to_string(n) + ")"});
    else
      offered.push_back(q);
  }
}

namespace {

// How the natural frequencies are obtained (drawn per seed when the model is built).
struct FrequencySpec {
  std::string source = "lorentzian";  // a law | quantiles | values | file | projection
  double center = 0.0;
  Vec given;            // values | file
  Index token_dim = 0;  // projection: omega = X W
  RowMat proj_tokens;   // N x token_dim, empty: drawn from the seed
  Vec proj_W;           // token_dim, empty: drawn from the seed
};

Vec draw_frequencies(const FrequencySpec& f, const KuramotoParams& p, Index n, std::uint64_t seed) {
  Vec omega(n);
  if (f.source == "values" || f.source == "file") return f.given;
  if (f.source == "projection") {
    RowMat x = f.proj_tokens;
    if (x.size() == 0) {
      Rng rt = Rng::stream(seed, "model.tokens");
      x.resize(n, f.token_dim);
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < f.token_dim; ++j) x(i, j) = rt.normal();
    }
    Vec w = f.proj_W;
    if (w.size() == 0) {
      Rng rw = Rng::stream(seed, "model.W");
      w.resize(f.token_dim);
      for (Index j = 0; j < f.token_dim; ++j) w[j] = rw.normal() / std::sqrt(double(f.token_dim));
    }
    omega = x * w;
  } else if (f.source == "quantiles") {
    for (Index i = 0; i < n; ++i) {
      const double u = (static_cast<double>(i) + 0.5) / static_cast<double>(n);
      double w = 0;
      if (p.law == Law::Lorentzian) w = p.scale * std::tan(M_PI * (u - 0.5));
      if (p.law == Law::Gaussian) w = p.scale * inv_norm_cdf(u);
      if (p.law == Law::Uniform) w = p.scale * (u - 0.5);
      omega[i] = w;
    }
    // exact symmetry about the centre
    for (Index i = 0; i < n / 2; ++i) {
      const double a = 0.5 * (omega[n - 1 - i] - omega[i]);
      omega[i] = -a;
      omega[n - 1 - i] = a;
    }
    if (n % 2) omega[n / 2] = 0;
  } else {
    Rng rng = Rng::stream(seed, "model.frequencies");
    for (Index i = 0; i < n; ++i) {
      if (p.law == Law::Lorentzian) omega[i] = p.scale * std::tan(M_PI * (rng.uniform_open() - 0.5));
      if (p.law == Law::Gaussian) omega[i] = p.scale * rng.normal();
      if (p.law == Law::Uniform) omega[i] = p.scale * (rng.uniform() - 0.5);
    }
  }
  omega.array() += f.center;
  return omega;
}

ModelRecipe read_kuramoto(Section& m, const TokensSpec& tokens) {
  if (tokens.d != 1)
    m.fail("kind", "\"kuramoto\" has scalar phases: set tokens.d = 1 (got " +
                       std::to_string(tokens.d) + ")");
  if (tokens.space != Space::Euclidean)
    m.fail("kind", "\"kuramoto\" phases live on the real line: tokens.space must be \"euclidean\"");
  const Index n = tokens.n;
  KuramotoParams p;
  p.K = m.non_negative("coupling", 1.0);
  const std::string rule = m.choice("coupling_rule", {"uniform", "ssa", "matrix"}, "uniform");
  p.rule = rule == "ssa" ? Rule::Ssa : rule == "matrix" ? Rule::Matrix : Rule::Uniform;
  if (p.rule == Rule::Ssa) p.alpha = m.non_negative("alpha", 1.0);
  auto csv = [&](const std::string& key, Index rows, Index cols, const std::string& cols_what) {
    const std::string path = m.file(key);
    return read_csv(path, m.where(key).str() + ": model." + key, rows, cols,
                    "tokens.n = " + std::to_string(n), cols_what);
  };
  if (p.rule == Rule::Matrix)
    p.J = csv("coupling_matrix", n, n, "tokens.n = " + std::to_string(n)).matrix();
  p.pairs = m.boolean("pairs", false);
  if (p.pairs && n % 2) m.fail("pairs", "needs an even tokens.n (got " + std::to_string(n) + ")");
  FrequencySpec f;
  f.center = m.real("center", 0.0);
  f.source = m.choice("frequencies",
                      {"lorentzian", "gaussian", "uniform", "quantiles", "values", "file",
                       "projection"},
                      "lorentzian");
  std::string law = f.source == "projection" || f.source == "values" || f.source == "file"
                        ? "none" : f.source;
  if (f.source == "quantiles")
    law = m.choice("distribution", {"lorentzian", "gaussian", "uniform"}, "lorentzian");
  if (law == "lorentzian") p.law = Law::Lorentzian, p.scale = m.positive("gamma", 0.5);
  if (law == "gaussian") p.law = Law::Gaussian, p.scale = m.positive("sigma", 1.0);
  if (law == "uniform") p.law = Law::Uniform, p.scale = m.positive("width", 1.0);
  if (f.source == "values") {
    auto v = m.reals("omega");
    if (static_cast<Index>(v.size()) != n)
      m.fail("omega", "must have tokens.n = " + std::to_string(n) + " entries (got " +
                          std::to_string(v.size()) + ")");
    f.given = Eigen::Map<Vec>(v.data(), n);
  } else if (f.source == "file") {
    f.given = Eigen::Map<const Vec>(csv("path", n, 1, "1 (one frequency a row)").values.data(), n);
  } else if (f.source == "projection") {
    if (m.has("token_path")) {
      f.proj_tokens = csv("token_path", n, -1, "").matrix();
      f.token_dim = f.proj_tokens.cols();
    } else {
      f.token_dim = m.positive_int("token_dim", 16);
    }
    if (m.is_array("W")) {
      auto w = m.reals("W");
      if (static_cast<Index>(w.size()) != f.token_dim)
        m.fail("W", "must have token_dim = " + std::to_string(f.token_dim) + " entries (got " +
                        std::to_string(w.size()) + ")");
      f.proj_W = Eigen::Map<Vec>(w.data(), f.token_dim);
    } else {
      m.choice("W", {"random"}, "random");
    }
  }
  p.initial = m.choice("initial_phases", {"uniform", "zero", "from_tokens", "wrapped_cauchy"},
                       "uniform");
  if (p.initial == "wrapped_cauchy") {
    p.r0 = m.real("r0");
    m.check(p.r0 >= 0 && p.r0 < 1, "r0", "must be in [0, 1) (the modulus of the initial order "
                                          "parameter; got " + std::to_string(p.r0) + ")");
    p.psi0 = m.real("psi0", 0.0);
  }
  p.average_from = m.real("average_from", 0.0);

  ModelRecipe r;
  kuramoto_observables(p, n, r.observables, r.unavailable);
  r.pairs_per_rhs = p.rule == Rule::Uniform || p.pairs ? double(n) : double(n) * double(n);
  // Distributed: uniform coupling through the order parameter summed over the ranks.
  r.not_distributed = p.rule != Rule::Uniform
                          ? "with coupling_rule = \"" + std::string(p.rule == Rule::Ssa ? "ssa" : "matrix") +
                                "\" has no distributed path (coupling_rule = \"uniform\" has)"
                      : p.pairs ? "with pairs = true has no distributed path" : "";
  r.build = [p, f](const BuildContext& c) {
    KuramotoParams q = p;
    q.t0 = c.t0;
    // A rank's oscillators have their frequencies of the whole system's draw.
    q.omega = draw_frequencies(f, q, c.comm ? c.rows.total : c.shape.n, c.seed);
    if (c.comm) q.omega = Vec(q.omega.segment(c.rows.offset, c.rows.count));
    bool coherence = false;
    for (const auto& o : c.observables) coherence = coherence || (!c.comm && o.rfind("coherence_", 0) == 0);
    return make_kuramoto(c.shape, std::move(q), c.seed, coherence);
  };
  return r;
}

ModelDoc kuramoto_doc() {
  ModelDoc d;
  d.description =
      "theta_i' = omega_i + (K/N) sum_j J_ij sin(theta_j - theta_i) (phases never wrapped; "
      "tokens.d = 1). uniform J = 1 in O(N) through the order parameter; ssa J_ij = exp(-alpha "
      "(omega_i - omega_j)^2) streamed in O(N^2); matrix J from a CSV; pairs = true: independent "
      "two-oscillator systems (2k, 2k+1), whose phase difference obeys Adler's equation.";
  d.source = "Kuramoto 1975; Strogatz, Physica D 143 (2000); SSA: Hays, arXiv 2602.14445";
  const std::string src = d.source;
  const std::string law = "frequencies is a law (lorentzian, gaussian, uniform) or quantiles";
  const std::string oa = "Ott & Antonsen, Chaos 18, 037113 (2008); docs/mean_field.md 5";
  d.keys = {
      {"coupling", "number", "1.0", ">= 0", "K", src},
      {"coupling_rule", "choice", "\"uniform\"", "\"uniform\" | \"ssa\" | \"matrix\"", "J", src},
      {"alpha", "number", "1.0", ">= 0", "selectivity of J_ij = exp(-alpha (omega_i - omega_j)^2)",
       "SSA: Hays, arXiv 2602.14445", "coupling_rule = \"ssa\""},
      {"coupling_matrix", "file", "", "CSV, N rows x N columns", "J (relative to the scenario file)",
       src, "coupling_rule = \"matrix\"", "\"J.csv\""},
      {"pairs", "bool", "false", "true | false (needs an even tokens.n)",
       "tokens (2k, 2k+1) form independent pairs: Adler's equation phi' = Delta - K J sin phi", src},
      {"center", "number", "0.0", "any", "added to every natural frequency", src},
      {"frequencies", "choice", "\"lorentzian\"",
       "\"lorentzian\" | \"gaussian\" | \"uniform\" | \"quantiles\" | \"values\" | \"file\" | "
       "\"projection\"",
       "natural frequencies omega_i: drawn from a law (stream model.frequencies of "
       "run.model_seed), its deterministic quantiles F^-1((i + 1/2)/N), given values, a CSV, or "
       "SSA's projection omega_i = <W, x_i> of token vectors", src},
      {"distribution", "choice", "\"lorentzian\"", "\"lorentzian\" | \"gaussian\" | \"uniform\"",
       "the law whose quantiles are taken", src, "frequencies = \"quantiles\""},
      {"gamma", "number", "0.5", "> 0", "Lorentzian half-width: gamma tan(pi (u - 1/2))", src,
       "the law is lorentzian (" + law + ")"},
      {"sigma", "number", "1.0", "> 0", "Gaussian std", src, "the law is gaussian (" + law + ")"},
      {"width", "number", "1.0", "> 0", "uniform on [-width/2, width/2]", src,
       "the law is uniform (" + law + ")"},
      {"omega", "array", "", "tokens.n numbers", "the natural frequencies", src,
       "frequencies = \"values\"", "[0.0]"},
      {"path", "file", "", "CSV, N rows x 1 column", "the natural frequencies", src,
       "frequencies = \"file\"", "\"omega.csv\""},
      {"token_path", "file", "(none: N(0, I) token vectors, stream model.tokens)",
       "CSV, N rows x token_dim columns", "token vectors x_i of the projection", src,
       "frequencies = \"projection\""},
      {"token_dim", "integer", "16", ">= 1", "dimension of drawn token vectors", src,
       "frequencies = \"projection\" without token_path"},
      {"W", "array or string", "\"random\"", "\"random\" (N(0, 1/token_dim), stream model.W) | token_dim numbers",
       "projection vector", src, "frequencies = \"projection\""},
      {"initial_phases", "choice", "\"uniform\"",
       "\"uniform\" | \"zero\" | \"from_tokens\" | \"wrapped_cauchy\"",
       "uniform in [0, 2 pi) (stream model.phases), all zero, [tokens] init as is, or i.i.d. "
       "wrapped Cauchy with first moment r0 e^{i psi0} (stream model.phases; the Ott-Antonsen "
       "manifold, docs/mean_field.md 5)", src},
      {"r0", "number", "", "[0, 1)",
       "modulus of the initial order parameter: phases psi0 + 2 atan((1 - r0)/(1 + r0) "
       "tan(pi (u - 1/2))), u uniform (r0 = 0: uniform phases)", oa,
       "initial_phases = \"wrapped_cauchy\"", "0.2"},
      {"psi0", "number", "0.0", "any", "argument of the initial order parameter", oa,
       "initial_phases = \"wrapped_cauchy\""},
      {"average_from", "number", "0.0", "any",
       "time averages (order_parameter_avg, pair and coherence observables) use frames t >= it", src},
  };
  const std::string uni = "coupling_rule = \"uniform\" and pairs = false";
  d.observables = {
      {"order_parameter", "r = |(1/N) sum_j e^{i theta_j}|", ""},
      {"psi", "arg of (1/N) sum_j e^{i theta_j}", ""},
      {"locked_fraction", "fraction of i with |omega_i - Omega| <= K r_i (pairs: |Delta| <= kappa)", ""},
      {"order_parameter_avg", "mean of r over frames with t >= average_from", ""},
      {"energy", "V = -(K/2N) sum_ij J_ij cos(theta_i - theta_j) - sum_i omega_i theta_i "
                 "(theta' = -grad V, non-increasing)", "a symmetric coupling"},
      {"r_theory", "mean-field r_inf of the frequency law (Lorentzian: sqrt(1 - 2 gamma / K))",
       uni + ", frequencies from a law (lorentzian, gaussian, uniform or quantiles)"},
      {"r_ott_antonsen",
       "the Ott-Antonsen r(t): 1/r^2 = e^{-2 a (t - t0)} / r0^2 + (K/2)(1 - e^{-2 a (t - t0)}) / a, "
       "a = K/2 - gamma, t0 = integrator.t0 (the N -> infinity limit of order_parameter)",
       uni + ", Lorentzian frequencies (lorentzian, or quantiles of it), initial_phases = "
             "\"wrapped_cauchy\""},
      {"pair_residual_locked", "max over locked pairs of |J <cos phi> - S_ssa(Delta)|", "pairs = true"},
      {"pair_residual_drifting", "max over drifting pairs of |J <cos phi> - S_ssa(Delta)|", "pairs = true"},
      {"pair_weight_mean", "mean over pairs of J <cos phi>", "pairs = true"},
      {"pair_beat_frequency", "mean over pairs of the time-averaged <phi'>", "pairs = true"},
      {"pair_beat_residual", "max over pairs of |<phi'> - Omega_Adler| (Adler's closed form)",
       "pairs = true"},
  };
  for (const char* q : {"coherence_theory_deviation", "coherence_ssa_deviation",
                        "coherence_ssa_deviation_mean", "coherence_sparsity",
                        "coherence_row_entropy", "coherence_cv", "coherence_row_max_min"})
    d.observables.push_back({q, "statistics of the time-averaged coherence C_ij = <cos(theta_i - "
                                "theta_j)> (an N x N running average) against the N-body steady "
                                "state and SSA's pair law",
                             uni + ", tokens.n <= " + std::to_string(kMaxStatTokens)});
  d.context = {"tokens.d = 1"};
  d.notes = {"tokens.d must be 1 and tokens.space \"euclidean\": a phase per token."};
  return d;
}

const bool registered = ModelRegistry::add(
    {"kuramoto",
     "Kuramoto phase oscillators: all-to-all in O(N), SSA or matrix couplings, Adler pairs",
     &read_kuramoto, kuramoto_doc()});

}  // namespace
}  // namespace attnflow
