#!/usr/bin/python3
"""Peer baseline for attnflow's attention right-hand side (numpy or torch, float64).

What a researcher's notebook does: build the full N x N score matrix.
    out_i = sum_j softmax_j(beta <Q x_i, K x_j>) V x_j      (GLPR arXiv 2312.10794 eq. 2.3)
With X (N x d): QX = X Q^T, KX = X K^T, VX = X V^T, P = row-softmax(QX KX^T), out = P VX.

Timing:
    attention_rhs.py --backend numpy|torch --n 1024 4096 --d 3 64 [--threads T]
                     [--min-time 1.0] --out FILE.json
Agreement with attnflow's dump (bench_kernels --dump DIR ...), exit 1 if rel. error > 1e-10:
    attention_rhs.py --backend numpy|torch --check DIR

Run with Debian's /usr/bin/python3 (numpy + python3-torch). Sizes whose N x N temporaries would
not fit in ~70% of MemAvailable are recorded as skipped instead of being attempted.
"""
import argparse
import json
import os
import sys
import time

CHECK_TOL = 1e-10
MEM_FRACTION = 0.70
# N x N float64 matrices alive at once at the peak of each implementation below:
#   numpy: s, s - max (temporary), exp(...)  -> 3;  then s, e, e / sum -> 3
#   torch: s, softmax(s)                     -> 2
NN_MATRICES = {"numpy": 3, "torch": 2}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backend", choices=["numpy", "torch"], required=True)
    p.add_argument("--n", type=int, nargs="+", default=[1024, 4096, 16384, 65536])
    p.add_argument("--d", type=int, nargs="+", default=[2, 3, 16, 64])
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--min-time", type=float, default=1.0, help="seconds of timed reps per size")
    p.add_argument("--out", help="JSON output file (timing mode)")
    p.add_argument("--check", metavar="DIR", help="compare with attnflow's dump in DIR")
    a = p.parse_args()
    if not a.check and not a.out:
        p.error("give --out FILE.json (timing) or --check DIR")
    if a.threads < 1:
        p.error("--threads must be >= 1")
    return a


args = parse_args()
# OpenBLAS (numpy, and torch's generic BLAS here) reads its thread count when it is loaded,
# so this has to happen before numpy / torch are imported.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)
if args.backend == "torch":
    # Debian's torch runs its own OpenMP pool next to OpenBLAS's pthreads; with libgomp's default
    # spin-waiting the two pools fight over the cores (2.7x slower at N = 1024 on 2 cores).
    # Passive waiting is the fair setting for the peer; an explicit user setting wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

if args.backend == "torch":
    import torch  # noqa: E402

    torch.set_num_threads(args.threads)


# ---------------------------------------------------------------------------------------------
# The right-hand side, idiomatic for each library.

def rhs_numpy(x, q, k, v, beta=1.0):
    qx, kx, vx = x @ q.T, x @ k.T, x @ v.T
    s = qx @ kx.T
    if beta != 1.0:
        s *= beta
    e = np.exp(s - s.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    return p @ vx


def rhs_torch(x, q, k, v, beta=1.0):
    with torch.no_grad():
        qx, kx, vx = x @ q.T, x @ k.T, x @ v.T
        s = qx @ kx.T
        if beta != 1.0:
            s *= beta
        return torch.softmax(s, dim=1) @ vx


def to_backend(a):
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64)) if args.backend == "torch" else a


def rhs(x, q, k, v, beta=1.0):
    out = (rhs_torch if args.backend == "torch" else rhs_numpy)(x, q, k, v, beta)
    return out.numpy() if args.backend == "torch" else out


# ---------------------------------------------------------------------------------------------
# Environment information.

def mem_available_bytes():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def memory_skip_reason(n):
    """None if N fits, else the 'skipped' message."""
    avail = mem_available_bytes()
    if avail is None:
        return None
    need = NN_MATRICES[args.backend] * n * n * 8
    limit = MEM_FRACTION * avail
    if need <= limit:
        return None
    return (f"{NN_MATRICES[args.backend]} N x N float64 matrices need {need / 1e9:.1f} GB "
            f"> {limit / 1e9:.1f} GB available (70% of MemAvailable)")


def mapped_blas_libraries():
    """Shared libraries with blas/lapack in their name mapped into this process."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                name = os.path.basename(path).lower()
                if path.startswith("/") and ("blas" in name or "lapack" in name or "mkl" in name):
                    libs.add(path)
    except OSError:
        pass
    return sorted(libs)


def blas_info():
    """Best effort: which BLAS the matmuls really go through (after a matmul has run)."""
    a = to_backend(np.ones((64, 64)))
    _ = a @ a
    libs = mapped_blas_libraries()
    parts = []
    if any("openblas" in p.lower() for p in libs):
        variant = "openblas"
        for p in libs:
            if "openblas" in p.lower():
                variant = f"openblas ({os.path.basename(os.path.dirname(p))})"
                break
        alt = " via libblas.so.3 alternative" if any(os.path.basename(p) == "libblas.so.3" for p in libs) else ""
        parts.append(variant + alt)
    elif any("mkl" in p.lower() for p in libs):
        parts.append("mkl")
    if args.backend == "numpy":
        try:
            cfg = np.__config__.blas_opt_info
            parts.append(f"numpy build config: libraries={cfg.get('libraries')}")
        except Exception:
            pass
    else:
        try:
            for tok in torch.__config__.show().replace(",", " ").split():
                if tok.startswith("BLAS_INFO="):
                    parts.append(f"torch build {tok}")
        except Exception:
            pass
    if libs:
        parts.append("mapped: " + ", ".join(os.path.basename(p) for p in libs))
    return "; ".join(parts) if parts else "unknown"


def library_version():
    return torch.__version__ if args.backend == "torch" else np.__version__


# ---------------------------------------------------------------------------------------------

def random_inputs(n, d, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    q, k, v = (rng.standard_normal((d, d)) / np.sqrt(d) for _ in range(3))
    return tuple(to_backend(a) for a in (x, q, k, v))


def time_one(n, d, min_time):
    x, q, k, v = random_inputs(n, d)
    t0 = time.perf_counter()
    rhs(x, q, k, v)                      # warm-up
    warm = time.perf_counter() - t0
    min_reps = 3 if warm < min_time else 1   # "cheap": at least 3 timed reps
    times = []
    while len(times) < min_reps or sum(times) < min_time:
        t0 = time.perf_counter()
        rhs(x, q, k, v)
        times.append(time.perf_counter() - t0)
    med = float(np.median(times))
    return {"N": n, "d": d, "seconds": med, "pairs_per_s": n * n / med, "reps": len(times)}


def run_timing():
    results = []
    for n in args.n:
        for d in args.d:
            reason = memory_skip_reason(n)
            if reason:
                r = {"N": n, "d": d, "skipped": reason}
                print(f"{args.backend:6s} N={n:6d} d={d:3d}  skipped: {reason}", flush=True)
            else:
                r = time_one(n, d, args.min_time)
                print(f"{args.backend:6s} N={n:6d} d={d:3d}  {r['seconds']:.4e} s  "
                      f"{r['pairs_per_s']:.3e} pairs/s  ({r['reps']} reps)", flush=True)
            results.append(r)
    doc = {"backend": args.backend, "version": library_version(), "threads": args.threads,
           "blas": blas_info(), "min_time": args.min_time,
           "env": {k: os.environ[k] for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "OMP_WAIT_POLICY")
                   if k in os.environ},
           "results": results}
    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print(f"wrote {args.out}")


def load_matrix(path, rows, cols):
    a = np.fromfile(path, dtype="<f8")
    if a.size != rows * cols:
        sys.exit(f"check: {path} has {a.size} float64 values, expected {rows} x {cols}")
    return a.reshape(rows, cols)


def run_check(dump_dir):
    with open(os.path.join(dump_dir, "meta.json")) as f:
        meta = json.load(f)
    n, d, beta = int(meta["n"]), int(meta["d"]), float(meta.get("beta", 1.0))
    reason = memory_skip_reason(n)
    if reason:
        sys.exit(f"check: cannot run N={n}: {reason}")
    x = load_matrix(os.path.join(dump_dir, "X.bin"), n, d)
    q, k, v = (load_matrix(os.path.join(dump_dir, f"{m}.bin"), d, d) for m in "QKV")
    ref = load_matrix(os.path.join(dump_dir, "out.bin"), n, d)
    out = rhs(*(to_backend(a) for a in (x, q, k, v)), beta=beta)
    scale = np.max(np.abs(ref))
    if not np.all(np.isfinite(ref)) or not np.all(np.isfinite(out)):
        sys.exit(f"check FAILED ({args.backend}, N={n}, d={d}): non-finite values")
    if scale == 0.0:
        sys.exit(f"check FAILED ({args.backend}, N={n}, d={d}): attnflow output is all zero")
    err = float(np.max(np.abs(out - ref)) / scale)
    msg = f"check {args.backend} N={n} d={d} beta={beta}: max relative error {err:.3e} (tol {CHECK_TOL:.0e})"
    if err <= CHECK_TOL:
        print(msg + "  OK")
        return 0
    print(msg + "  FAILED", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(run_check(args.check) if args.check else run_timing())
