#!/usr/bin/python3
"""Recompute the theory values that the scenarios' [[expect]] claims compare with.

usage: /usr/bin/python3 scripts/claim_theory.py [--quick]

Every number printed here appears in a scenario file (and in docs/claims.md); the scenario
comments say where it comes from. Needs numpy only. The two Monte Carlo estimates (AKOrN locked
state, SSA surrogate) take about a minute; --quick uses fewer samples.
"""
import math
import sys

import numpy as np

QUICK = "--quick" in sys.argv


def section(title):
    print()
    print(title)
    print("-" * len(title))


# --- GLPR (research/sympformer.md 9) -------------------------------------------------------------
section("GLPR attention flows")
beta = 2.0
print(f"glpr_usa_energy_ascent: Dirac value e^beta/(2 beta) = {math.exp(beta) / (2 * beta):.16g}")
print(f"glpr_usa_energy_ascent: USA near-consensus rate e^beta = {math.exp(beta):.15g}")
print(f"glpr_consensus_rate_usa: e^1 = {math.e:.10g}; SA rate (all SA scenarios) = 1")
b = 1.0
mf = math.sinh(b) / (2 * b * b)
print(f"scale_sa_sphere_100k: sinh(beta)/(2 beta^2) = {mf:.7f}; diagonal term at N = 1e5: "
      f"{(math.exp(b) - math.sinh(b) / b) / (2 * b * 1e5):.2e}, at N = 5000: "
      f"{(math.exp(b) - math.sinh(b) / b) / (2 * b * 5000):.2e}")

# --- Kuramoto (research/ssa.md 3) ----------------------------------------------------------------
section("Kuramoto mean field")
K, g = 2.0, 0.5
lam = K / 2 - g
for t in (1.0, 2.0):
    r = math.sqrt(lam / (K / 2 - g * math.exp(-2 * lam * t)))
    print(f"kuramoto_lorentzian_rinf: Ott-Antonsen r({t:g}) from r(0) = 1 = {r:.5f}")
rinf = math.sqrt(1 - 2 * g / K)
print(f"r_inf = sqrt(1 - 2 gamma/K) = {rinf:.5f}; locked fraction (2/pi) arctan(K r/gamma) = "
      f"{2 / math.pi * math.atan(K * rinf / g):.4f}")


def gaussian_rinf(K, sigma=1.0):
    """Largest root of 1 = K int cos^2 phi g(K r sin phi) dphi, g = N(0, sigma^2)."""
    ph, w = np.polynomial.legendre.leggauss(400)
    ph = ph * math.pi / 2
    w = w * math.pi / 2

    def f(r):
        gg = np.exp(-(K * r * np.sin(ph)) ** 2 / (2 * sigma ** 2)) / (sigma * math.sqrt(2 * math.pi))
        return K * np.sum(w * np.cos(ph) ** 2 * gg) - 1

    if f(1e-9) <= 0:
        return 0.0
    lo, hi = 1e-9, 1.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
    return (lo + hi) / 2


Kc = math.sqrt(8 / math.pi)
print(f"Gaussian K_c = sigma sqrt(8/pi) = {Kc:.4f}; r_inf(1.1 K_c = 1.7554) = "
      f"{gaussian_rinf(1.7554):.5f}; r_inf(2.5) = {gaussian_rinf(2.5):.5f}")

# --- Ott-Antonsen and linear-attention moments (docs/mean_field.md 5, 7, 10) ------------------------
section("Ott-Antonsen closed form (ott_antonsen_relaxation, kuramoto_oa_particles)")


def oa_r(t, r0, K, g):
    """1/r^2 = e^(-2 a t)/r0^2 + (K/2)(1 - e^(-2 a t))/a, a = K/2 - gamma (docs/mean_field.md 5)."""
    a, b = K / 2 - g, K / 2
    return 1 / math.sqrt(math.exp(-2 * a * t) / r0 ** 2 - b * math.expm1(-2 * a * t) / a)


for K in (2.0, 1.8):
    print(f"K = {K:g}, gamma = 0.5, r0 = 0.2: r(2) = {oa_r(2, 0.2, K, 0.5):.10f}, "
          f"r(30) = {oa_r(30, 0.2, K, 0.5):.10f}, r_inf = {math.sqrt(1 - 1 / K):.10f}")
print(f"psi(30) = 0.3 * 30 - 2 pi = {0.3 * 30 - 2 * math.pi:.10f}")
print(f"std of r(0) of 10^5 wrapped-Cauchy phases, r0 = 0.2: sqrt((1 - r0^2)/(2N)) = "
      f"{math.sqrt((1 - 0.04) / 2e5):.5f}; 3/sqrt(N) = {3 / math.sqrt(1e5):.4f}, "
      f"5/sqrt(N) = {5 / math.sqrt(1e5):.4f}")

section("Linear-attention moments, A = I, V = -I (linear_attention_moments_ode)")
for t in (1.0, 10.0):
    c = [2 / (1 + 4 * t), 0.5 / (1 + t), 0.25 / (1 + 0.5 * t)]  # c_k / (1 + 2 c_k t)
    print(f"t = {t:g}: energy = tr C / 2 = {sum(c) / 2:.10f}, cov_trace = tr C - m_1^2 = "
          f"{sum(c) - 1 / (1 + 4 * t):.10f}")

# --- Adler pairs (research/ssa.md 3.2) -----------------------------------------------------------
section("Adler pairs (kuramoto_ssa_adler_pairs)")
D = np.array([0, .3, .5, .7, .8, .85, .9, 1.0, 1.2, 1.5])
for Kp in (1.0, 1.2):
    J = np.exp(-0.1 * D ** 2)
    kap = Kp * J
    beat = np.where(D > kap, np.sqrt(np.maximum(D ** 2 - kap ** 2, 0)), 0.0)
    weight = np.where(D <= kap, J * np.sqrt(np.maximum(1 - (D / kap) ** 2, 0)), 0.0)
    print(f"K = {Kp:g}: mean weight J<cos phi> = {weight.mean():.5f}, mean beat frequency = "
          f"{beat.mean():.5f}")

# --- SVGD, bilinear kernel (svgd_bilinear_gaussian) ----------------------------------------------
section("SVGD moment ODE (svgd_bilinear_gaussian)")
mu = np.array([1.0, -0.5])
S = np.array([[2.0, 0.6], [0.6, 0.5]])
Q = np.linalg.inv(S)


def moment_rhs(z, A, c):
    m, C = z[:2], z[2:].reshape(2, 2)
    L = (np.eye(2) - Q @ (C - np.outer(mu, m))) @ A
    bb = -c * Q @ (m - mu)
    return np.concatenate([L @ m + bb, (L @ C + C @ L.T + np.outer(bb, m) + np.outer(m, bb)).ravel()])


for s in (1.0, 0.5):
    A = s * np.eye(2)
    z0 = np.concatenate([mu, (S + np.outer(mu, mu)).ravel()])
    Jm = np.zeros((6, 6))
    for k in range(6):
        e = np.zeros(6)
        e[k] = 1e-6
        Jm[:, k] = (moment_rhs(z0 + e, A, 1.0) - moment_rhs(z0 - e, A, 1.0)) / 2e-6
    ev = sorted(np.linalg.eigvals(Jm).real)
    # one zero eigenvalue: the antisymmetric part of C, which the symmetric dynamics never excite
    slow = min(-v for v in ev if v < -1e-9)
    print(f"A = {s:g} I: eigenvalues {np.round(ev, 5)}; slowest decay rate {slow:.5f}")

# --- E021 (research/sympformer.md 7.3) -----------------------------------------------------------
section("E021 A = 0 solutions")
t = 1 + 0.5 * np.arange(1001)
m = t >= 300
tau = t[m] - 1
u = np.log((1 + 0.1 * tau) ** 2 * np.exp(-0.2 * tau))
print(f"accelerated: least-squares rate of (1 + 0.1 tau)^2 e^(-0.2 tau) on [300, 501] = "
      f"{-np.polyfit(t[m], u, 1)[0]:.6f}")
tt = np.linspace(0, 500, 50001)
ratio = 0.5 * (1 + 0.1 * tt) ** 2 * np.exp(-0.2 * tt)  # slow mode only
print(f"accelerated: slow-mode estimate of the hitting time of U/U0 < 1e-3 (equal initial mode "
      f"energies) = {tt[np.where(ratio >= 1e-3)[0][-1]]:.1f}; gradient flow: rate 2 mu = 0.02, "
      f"hitting time {math.log(2e-3) / -0.02:.0f}")

# --- AKOrN (research/ssa.md 9) -------------------------------------------------------------------
section("AKOrN")
n, a = 6, 0.5
xg, wg = np.polynomial.legendre.leggauss(400)
wt = wg * (1 - xg * xg) ** ((n - 3) / 2)
wt /= wt.sum()


def akorn_F(r, K):
    return np.sum(wt * (K * r + a * xg) / np.sqrt(K * K * r * r + 2 * K * r * a * xg + a * a)) - r


for K in (1.0, 0.8):
    lo, hi = 1e-3, 1.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if akorn_F(mid, K) > 0 else (lo, mid)
    print(f"akorn_energy: mean-field equilibrium r at K = {K:g} = {(lo + hi) / 2:.4f}")

rng = np.random.default_rng(0)
sig = 0.2
M = 8000 if QUICK else 40000


def locked_mean_cos(K, r, frac):
    w1, w2 = rng.normal(0, sig, M), rng.normal(0, sig, M)
    mm = np.array([math.sqrt(frac), 0, math.sqrt(1 - frac), 0])
    x = np.tile(mm, (M, 1))
    h = K * r * mm
    for _ in range(600):
        om = np.stack([-w1 * x[:, 1], w1 * x[:, 0], -w2 * x[:, 3], w2 * x[:, 2]], 1)
        x = x + 0.2 * (om + h - (x @ h)[:, None] * x)
        x /= np.linalg.norm(x, axis=1)[:, None]
    return (x @ mm).mean()


for K in (2.0, 1.6):
    r2 = 1.0
    for _ in range(30):
        r2 = 1 - sig ** 2 / (2 * K * K * r2 * r2)
    vals = []
    for frac in (0.5, 1.0):
        r = 1.0
        for _ in range(4):
            r = locked_mean_cos(K, r, frac)
        vals.append(r)
    print(f"akorn_sync: K = {K:g}: second order 1 - sigma^2/(2 K^2 r^2) = {r2:.5f}; fixed points "
          f"(Monte Carlo, m in one plane / split evenly) {vals[1]:.5f} / {vals[0]:.5f}")

# --- SSA (research/ssa.md 2, 5) ------------------------------------------------------------------
section("SSA / OSN")
print(f"order parameter at default-style init: exp(-1/6) = {math.exp(-1 / 6):.4f}")


def softplus(z):
    return math.log1p(math.exp(z))


def osn_surrogate(K, alpha, r, trials, N=128, d=16, k=16, var=1 / 3):
    om, mw = [], []
    for _ in range(trials):
        w = rng.normal(0, math.sqrt(var), (N, d))
        D2 = ((w[:, None, :] - w[None, :, :]) ** 2).sum(-1)
        Dl = np.sqrt(D2)
        np.fill_diagonal(Dl, 0)
        J = np.exp(-alpha * D2)
        T = K * r * J + 1e-8
        Sm = np.where(Dl <= T, J * np.sqrt(np.maximum(0, 1 - (Dl / T) ** 2)), 0.0)
        np.fill_diagonal(Sm, 1.0)
        idx = np.argsort(-Sm, axis=1)[:, :k]
        mask = np.zeros_like(Sm)
        np.put_along_axis(mask, idx, 1, axis=1)
        Sm = Sm * mask
        om.append((Sm.sum() - np.trace(Sm)) / (N * (N - 1)))
        Am = Sm / Sm.sum(1, keepdims=True)
        mw.append(Am.max(1).mean())
    return np.mean(om), np.mean(mw)


trials = 40 if QUICK else 200
for Kh in (100, 5):
    o, w = osn_surrogate(softplus(Kh), softplus(-5), 0.843, trials)
    print(f"ssa_osn_layers surrogate (K_hat = {Kh}): off-diagonal mean of kept S = {o:.5f}, "
          f"mean max row weight = {w:.5f}")

# --- poly-attention (research/polyattention.md 4) ------------------------------------------------
section("Poly-attention tasks")
print(f"FC_r and integer Match3 margin bound 0.5 - 1/(2e) = {0.5 - 1 / (2 * math.e):.4f}")
c7 = math.cos(2 * math.pi / 7)
print(f"mod-7 Match3: no-match margin >= (1 - cos(2 pi/7))/2 = {(1 - c7) / 2:.3f}")
