"""The Python module's overheads (docs/python.md, "Overhead"); not a test.

    PYTHONPATH=build/python /usr/bin/python3 python/bench/overhead.py build/attnflow [--quick]

1. attention_rhs on N = 32, d = 3 from Python versus the same C++ code path timed inside the
   extension (attnflow._core._time_attention_rhs: model built and RHS evaluated per call, no
   Python in the loop). Best of 7 repeats of 20000 calls each.
2. run() of scenarios/quickstart.toml versus `attnflow run`, excluding start-up: both report the
   wall time of the simulation loop (RunSummary.wall_seconds; the CLI stores it in the output
   file, /parameters attribute wall_seconds). Interleaved repeats, medians; also with N = 512
   tokens, where a run takes about a second.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit

import h5py
import numpy as np

import attnflow
from attnflow import _core

cli = os.path.abspath(sys.argv[1])
quick = "--quick" in sys.argv
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
quickstart = os.path.join(root, "scenarios", "quickstart.toml")

print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()}")
print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset)')} "
      f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}")

# --- 1. attention_rhs ----------------------------------------------------------------------------
rng = np.random.default_rng(1)
N, d = 32, 3
X = rng.normal(size=(N, d))
X /= np.linalg.norm(X, axis=1, keepdims=True)
Q, K, V = (rng.normal(size=(d, d)) / np.sqrt(d) for _ in range(3))
calls = 2000 if quick else 20000
for sphere in (False, True):
    py = min(timeit.repeat(lambda: attnflow.attention_rhs(X, Q, K, V, beta=1.0, sphere=sphere),
                           number=calls, repeat=7)) / calls
    cpp = min(_core._time_attention_rhs(X, Q, K, V, 1.0, "softmax", sphere, calls) for _ in range(7))
    out = np.empty((N, d))
    py_out = min(timeit.repeat(lambda: attnflow.attention_rhs(X, Q, K, V, beta=1.0, sphere=sphere, out=out),
                               number=calls, repeat=7)) / calls
    print(f"attention_rhs N = {N}, d = {d}, sphere = {sphere}: Python {py * 1e6:.2f} us "
          f"(out=: {py_out * 1e6:.2f} us), C++ {cpp * 1e6:.2f} us, "
          f"overhead {(py - cpp) * 1e6:.2f} us")


def numpy_rhs():
    S = (X @ Q.T) @ (X @ K.T).T
    W = np.exp(S - S.max(axis=1, keepdims=True))
    W /= W.sum(axis=1, keepdims=True)
    return W @ (X @ V.T)


npy = min(timeit.repeat(numpy_rhs, number=calls, repeat=7)) / calls
print(f"(for scale: the NumPy one-liner with an N x N matrix takes {npy * 1e6:.2f} us)")

# --- 2. run() versus attnflow run ---------------------------------------------------------------
tmp = tempfile.mkdtemp()


def cli_run(sets):
    out = os.path.join(tmp, f"cli{time.monotonic_ns()}.h5")
    t0 = time.perf_counter()
    subprocess.run([cli, "run", quickstart, "-o", out, "--quiet"] + [a for s in sets for a in ("--set", s)],
                   check=True, stderr=subprocess.DEVNULL)
    total = time.perf_counter() - t0
    with h5py.File(out, "r") as f:
        w = f["/parameters"].attrs["wall_seconds"]
    os.remove(out)
    os.remove(out[:-3] + ".xdmf2")
    return w, total


for label, sets, reps in [("quickstart (N = 64)", [], 10 if quick else 40),
                          ("quickstart with N = 512", ["tokens.n=512"], 3 if quick else 10)]:
    over = {k.replace("=", " ").split()[0]: int(k.split("=")[1]) for k in sets}
    sc = attnflow.load(quickstart, **({"tokens.n": over["tokens.n"]} if over else {}))
    c_loop, c_total, p_file, p_mem, p_call = [], [], [], [], []
    for i in range(reps):
        w, total = cli_run(sets)
        c_loop.append(w)
        c_total.append(total)
        path = os.path.join(tmp, f"py{i}.h5")
        p_file.append(attnflow.run(sc, output=path).summary.wall_seconds)
        os.remove(path)
        os.remove(path[:-3] + ".xdmf2")
        t0 = time.perf_counter()
        p_mem.append(attnflow.run(sc).summary.wall_seconds)
        p_call.append(time.perf_counter() - t0)
    m = statistics.median
    print(f"{label}, {reps} interleaved repeats (median | min, ms):")
    print(f"  attnflow run (file):   loop {m(c_loop) * 1e3:8.2f} | {min(c_loop) * 1e3:8.2f}"
          f"   (whole process: median {m(c_total) * 1e3:.1f})")
    print(f"  run(output=file):      loop {m(p_file) * 1e3:8.2f} | {min(p_file) * 1e3:8.2f}"
          f"   ({(m(p_file) / m(c_loop) - 1) * 100:+.1f}% | {(min(p_file) / min(c_loop) - 1) * 100:+.1f}% vs CLI)")
    print(f"  run() in memory:       loop {m(p_mem) * 1e3:8.2f} | {min(p_mem) * 1e3:8.2f}"
          f"   ({(m(p_mem) / m(c_loop) - 1) * 100:+.1f}% | {(min(p_mem) / min(c_loop) - 1) * 100:+.1f}% vs CLI;"
          f" the whole call incl. building the model: median {m(p_call) * 1e3:.2f})")
print(f"load average after: {os.getloadavg()}")
