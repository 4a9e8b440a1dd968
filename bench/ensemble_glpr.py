#!/usr/bin/python3
"""The GLPR phase-diagram workload: attnflow's ensemble runner against a batched PyTorch peer
(the authors' scheme: batch x n x n score tensors, softmax, bmm), and the batched n = 32 rate
against attnflow's large-N kernel, all measured in one run on this machine.

usage: ensemble_glpr.py ATTNFLOW BENCH_KERNELS [--betas B] [--size S] [--torch-betas K] [--out FILE]

Workload per grid point: S systems of n = 32 tokens on the circle, SA with Q = K = V = I,
300 Euler steps of 0.1, the close-pair fraction (<x_i, x_j> > 0.999) at 200 times. The full
workload is 90 betas x 2048 systems (--betas 90 --size 2048); the PyTorch peer is timed on
--torch-betas of them and scaled (its cost does not depend on beta). Both use 2 threads.
The peer's results are checked against attnflow's (mean fraction at t = 30 for each timed beta,
within 5 standard errors of the difference: different random starts, same law).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("attnflow")
p.add_argument("bench_kernels")
p.add_argument("--betas", type=int, default=90)
p.add_argument("--size", type=int, default=2048)
p.add_argument("--torch-betas", type=int, default=3)
p.add_argument("--out", default="")
a = p.parse_args()
SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCEN = os.path.join(SRC, "scenarios/glpr_phase_diagram.toml")
N, STEPS, FRAMES, DT, DELTA = 32, 300, 200, 0.1, 1e-3
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")
import h5py  # noqa: E402

tmp = tempfile.mkdtemp(prefix="attnflow-bench-ens-")
out = os.path.join(tmp, "sweep.h5")

# --- attnflow: the whole sweep, one process -------------------------------------------------
cmd = [a.attnflow, "run", SCEN, "-o", out, "-q", "--set", f"sweep.model.beta.count={a.betas}",
       "--set", f"ensemble.size={a.size}"]
t0 = time.perf_counter()
subprocess.run(cmd, check=True)
t_attn = time.perf_counter() - t0
with h5py.File(out, "r") as f:
    betas = f["sweep/axis0"][:]
    mean = f["statistics/close_pair_fraction/mean"][:]
    se = f["statistics/close_pair_fraction/stderr"][:]
    times = f["statistics/time"][0]
systems = a.betas * a.size
pairs = systems * STEPS * N * N
print(f"attnflow: {a.betas} betas x {a.size} systems, {t_attn:.1f} s wall, {pairs / t_attn:.3e} pairs/s")

# --- attnflow's large-N kernel on this machine, same run ----------------------------------------
kern = subprocess.run([a.bench_kernels, "--benchmark_filter=attention_softmax/N:4096/d:2/",
                       "--benchmark_min_time=1", "--benchmark_format=json"],
                      check=True, capture_output=True, text=True)
bj = json.loads(kern.stdout)["benchmarks"][0]
large = bj["pairs_per_s"]
print(f"attnflow large-N kernel (SA, N = 4096, d = 2): {large:.3e} pairs/s")

# --- the batched PyTorch peer ----------------------------------------------------------------
import torch  # noqa: E402

torch.set_num_threads(2)
torch.manual_seed(0)
frame_steps = np.unique(np.round(np.linspace(0, STEPS, FRAMES)).astype(int))


def torch_point(beta, S):
    x = torch.randn(S, N, 2, dtype=torch.float64)
    x = x / x.norm(dim=2, keepdim=True)
    iu = torch.triu_indices(N, N, 1)
    frac = []
    for k in range(STEPS + 1):
        if k in frame_steps:
            g = torch.bmm(x, x.transpose(1, 2))[:, iu[0], iu[1]]
            frac.append((g > 1 - DELTA).double().mean(dim=1))
        if k == STEPS:
            break
        w = torch.softmax(beta * torch.bmm(x, x.transpose(1, 2)), dim=2)
        v = torch.bmm(w, x)
        v = v - (v * x).sum(dim=2, keepdim=True) * x          # tangent projection
        x = x + DT * v
        x = x / x.norm(dim=2, keepdim=True)
    return torch.stack(frac, dim=1)  # S x frames


picks = np.linspace(0, a.betas - 1, a.torch_betas).round().astype(int)
t_torch = 0.0
agree = []
for gi in picks:
    t0 = time.perf_counter()
    fr = torch_point(float(betas[gi]), a.size)
    t_torch += time.perf_counter() - t0
    m_t, s_t = fr[:, -1].mean().item(), fr[:, -1].std().item() / np.sqrt(a.size)
    diff, spread = abs(m_t - mean[gi, -1]), np.hypot(s_t, se[gi, -1])
    z = 0.0 if diff == 0 else diff / spread if spread > 0 else np.inf
    agree.append((float(betas[gi]), m_t, float(mean[gi, -1]), float(z)))
    print(f"  beta = {betas[gi]:.3f}: torch {m_t:.4f}, attnflow {mean[gi, -1]:.4f}, |z| = {z:.2f}")
per_beta = t_torch / len(picks)
t_torch_full = per_beta * a.betas
torch_rate = len(picks) * a.size * STEPS * N * N / t_torch
print(f"PyTorch batched: {per_beta:.2f} s per beta, {t_torch_full:.1f} s for {a.betas} betas "
      f"(scaled), {torch_rate:.3e} pairs/s")
ok = all(z < 5 for *_, z in agree)
lines = [
    "# GLPR phase-diagram workload (bench/ensemble_glpr.py)",
    "",
    f"Machine: {os.cpu_count()} cores; one run, {time.strftime('%Y-%m-%d %H:%M')}.",
    f"Workload: {a.betas} betas x {a.size} systems of n = 32 on the circle, 300 Euler steps, "
    f"close-pair fraction at {len(frame_steps)} times.",
    "",
    "| | wall (s) | pairs/s | ratio |",
    "|---|---|---|---|",
    f"| attnflow ensemble (2 threads) | {t_attn:.1f} | {pairs / t_attn:.3e} | 1 |",
    f"| PyTorch batched peer (2 threads; {len(picks)} betas timed, scaled) | {t_torch_full:.1f} | "
    f"{torch_rate:.3e} | {t_torch_full / t_attn:.2f}x slower |",
    f"| attnflow large-N kernel (N = 4096, d = 2, one RHS) | – | {large:.3e} | batched / large-N = "
    f"{pairs / t_attn / large:.2f} |",
    "",
    "Agreement (mean close-pair fraction at t = 30; independent starts): " +
    "; ".join(f"beta {b:.2f}: torch {m1:.4f} vs attnflow {m2:.4f} (|z| {z:.1f})" for b, m1, m2, z in agree),
]
text = "\n".join(lines) + "\n"
print(text)
if a.out:
    open(a.out, "w").write(text)
sys.exit(0 if ok else 1)
