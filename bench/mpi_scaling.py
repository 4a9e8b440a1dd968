#!/usr/bin/python3
"""Strong scaling of attnflow-mpi on this machine and the communication model for large runs.

usage: mpi_scaling.py BUILD_DIR [OUT.md]      (bench/README.md, "MPI"; ~3 minutes on 2 cores)

1. The ring-attention RHS (bench/mpi_ring) at P = 1 and 2 ranks of 1 thread, and 1 rank of 2
   threads, for d = 3 (N = 16384) and d = 64 (N = 4096): seconds per RHS, pairs/s, the kernel
   time and the time a rank waited for a block its kernel was ready for (communication not hidden).
2. A whole run (`attnflow-mpi run`, rk4, frames written by parallel HDF5) at P = 1 and 2.
3. The analytic model for N = 1e7, d = 3 and 64, P = 64 and 1024: bytes per RHS and rank, the
   time per rk4 step predicted from the per-core kernel rate measured in 1 and a 10 GB/s link, and
   the block size from which the transfer of a block is hidden behind the kernel on the previous one.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

BUILD = os.path.abspath(sys.argv[1])
OUT = sys.argv[2] if len(sys.argv) > 2 else None
MPIEXEC = "mpiexec"
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")
LINK = 10e9          # bytes/s, the link the issue asks about
LATENCY = 2e-6       # s per message (a typical InfiniBand/RoCE MPI latency; shared memory here: ~1e-6)
lines = []


def say(s=""):
    print(s)
    lines.append(s)


def ring(p, threads, n, d, reps):
    env = dict(ENV, OMP_NUM_THREADS=str(threads))
    bind = ["--bind-to", "core"] if threads == 1 else ["--bind-to", "none"]
    r = subprocess.run([MPIEXEC, "-n", str(p)] + bind + [f"{BUILD}/bench/mpi_ring", str(n), str(d), str(reps)],
                       env=env, capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


# How much of 2 cores this machine gives two busy processes right now (a shared VM may give less).
def solo(n):
    env = dict(ENV, OMP_NUM_THREADS="1")
    t0 = time.time()
    procs = [subprocess.Popen([f"{BUILD}/bench/mpi_ring", "8192", "3", "2"], env=env,
                              stdout=subprocess.DEVNULL) for _ in range(n)]
    for p in procs:
        p.wait()
    return time.time() - t0
one, two = solo(1), solo(2)
say(f"Machine: two independent single-thread processes take {two:.2f} s against {one:.2f} s for one: "
    f"the machine gives two busy processes {2 * one / two:.2f}x the throughput of one (2.0 on 2 free cores).")
say()
say("### Ring-attention RHS (SA on the sphere, random tokens; bench/mpi_ring, one run)")
say()
say("| d | N | ranks x threads | s per RHS | pairs/s | speed-up | CPU s per rank (max) | kernel s (max rank) | waited s (max rank) | bytes sent per rank |")
say("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
rate = {}
for d, n, reps in ((3, 16384, 4), (64, 4096, 4)):
    base = None
    for p, t in ((1, 1), (2, 1), (1, 2)):
        j = ring(p, t, n, d, reps)
        base = base or j["seconds_per_rhs"]
        if p == 1 and t == 1:
            rate[d] = j["pairs_per_s"]
        say(f"| {d} | {n} | {p} x {t} | {j['seconds_per_rhs']:.4g} | {j['pairs_per_s']:.3g} | "
            f"{base / j['seconds_per_rhs']:.2f} | {j['cpu_s_per_rhs_max']:.4g} | {j['kernel_s_per_rhs_max']:.4g} | "
            f"{j['wait_s_per_rhs_max']:.2g} | {j['bytes_sent_per_rank_per_rhs']:.3g} |")
say()

say("### A whole run (attnflow-mpi run: rk4, 4 steps, 3 frames written collectively)")
say()
tmp = tempfile.mkdtemp(prefix="attnflow-mpi-bench-")
scen = f"{tmp}/strong.toml"
open(scen, "w").write("""[run]
name = "strong"
frames = 3
[tokens]
n = 12288
d = 3
space = "sphere"
[model]
kind = "attention"
beta = 1.0
[integrator]
kind = "rk4"
dt = 0.05
t_end = 0.2
""")
say("| ranks x threads | wall s | speed-up |")
say("|---|---:|---:|")
base = None
for p, t in ((1, 1), (2, 1), (1, 2)):
    env = dict(ENV, OMP_NUM_THREADS=str(t))
    # mpirun binds each rank to one core by default: a rank with threads needs --bind-to none.
    bind = ["--bind-to", "core"] if t == 1 else ["--bind-to", "none"]
    t0 = time.time()
    subprocess.run([MPIEXEC, "-n", str(p)] + bind + [f"{BUILD}/attnflow-mpi", "run", scen, "-o",
                    f"{tmp}/s{p}{t}.h5", "-q"], env=env, check=True, cwd=tmp)
    wall = time.time() - t0
    base = base or wall
    say(f"| {p} x {t} | {wall:.2f} | {base / wall:.2f} |")
say()

say("### Communication model: N = 1e7 tokens (attnflow's ring, SA, 8-byte doubles)")
say()
say(f"Per RHS each rank sends and receives P - 1 blocks of N/P tokens x (d keys + d values) "
    f"doubles: (P-1)/P x 16 N d bytes, whatever P. The kernel costs N^2/P pairs per rank at the "
    f"per-core rate measured above (1 rank x 1 thread: {rate[3]:.3g} pairs/s at d = 3, "
    f"{rate[64]:.3g} at d = 64). The transfer of a block of b tokens (16 b d bytes at "
    f"{LINK / 1e9:.0f} GB/s, plus {LATENCY * 1e6:.0f} us latency) overlaps the kernel on the previous "
    f"block (b^2 pairs): it is hidden when b^2 / rate >= 16 b d / link + latency.")
say()
say("| d | P | block N/P | bytes per RHS and rank | transfer s per RHS | kernel s per RHS | rk4 step (4 RHS), predicted | hidden from block b >= |")
say("|---|---|---:|---:|---:|---:|---:|---:|")
N = 1e7
ratio = {}
for d in (3, 64):
    r = rate[d]
    # smallest b with b^2/r >= 16 b d / LINK + LATENCY
    a = 1 / r
    bq = 16 * d / LINK
    bmin = (bq + (bq * bq + 4 * a * LATENCY) ** 0.5) / (2 * a)
    for P in (64, 1024):
        b = N / P
        byt = (P - 1) / P * 16 * N * d
        comm = byt / LINK + (P - 1) * LATENCY
        kern = N * N / P / r
        step = 4 * max(kern, comm) if b >= bmin else 4 * (kern + comm)
        ratio[d] = max(ratio.get(d, 0), comm / kern)
        say(f"| {d} | {P} | {b:.0f} | {byt / 1e9:.3g} GB | {comm:.3g} | {kern:.4g} | {step:.4g} s "
            f"({step / 3600:.3g} h) | {bmin:.0f} tokens |")
say()
say(f"Every configuration's block is far above the hiding threshold: the ring's traffic is hidden, "
    f"and a step costs the kernel's time (the transfer is at most {100 * ratio[3]:.2g}% of the "
    f"kernel's time at d = 3 and {100 * ratio[64]:.2g}% at d = 64). The per-frame gather for "
    f"observables (N d doubles to every rank: {8 * N * 3 / 1e9:.2g} GB at d = 3, "
    f"{8 * N * 64 / 1e9:.2g} GB at d = 64) is not overlapped; keep run.frames modest.")
if OUT:
    open(OUT, "w").write("\n".join(lines) + "\n")
