#!/usr/bin/python3
"""Ensembles and sweeps from the command line (run by ctest; same conventions as cli_tests.py).

usage: ensemble_tests.py ATTNFLOW SOURCE_DIR TEST

TEST is one of:
  system_rerun    system I of grid point G, re-run alone with `run --system G:I`, gives the
                  trajectory stored in the sweep file bit for bit (and its statistics)
  threads         the per-system statistics of a sweep are bit-identical for 1 and 2 threads
  resume          a sweep stopped by SIGINT after some grid points leaves a readable file with
                  those points done; `run --resume` finishes it, bit-identical to an
                  uninterrupted sweep
  errors          an ensemble claim naming an unswept key, a value off the grid or a time that
                  is not a frame fails with exit 2 and file:line:col before any file exists;
                  an existing sweep file is kept as #NAME.h5.1#
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")
import h5py
import numpy as np

ATTNFLOW, SRC, TEST = sys.argv[1], sys.argv[2], sys.argv[3]
TMP = tempfile.mkdtemp(prefix="attnflow-ensemble-")
PHASE = os.path.join(SRC, "scenarios/glpr_phase_diagram.toml")
SMALL = ["--set", "sweep.model.beta.count=3", "--set", "sweep.model.beta.to=4.1",
         "--set", "ensemble.size=24", "--set", "ensemble.trajectories=4",
         "--set", "integrator.t_end=3.0", "--set", "run.frames=31"]


def fail(msg):
    print("FAIL:", msg)
    shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(1)


def run(args, env=None, **kw):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([ATTNFLOW] + args, capture_output=True, text=True, env=e, **kw)
    print("$ attnflow", " ".join(args), "->", p.returncode)
    if p.stdout.strip():
        print(p.stdout.strip())
    if p.stderr.strip():
        print(p.stderr.strip())
    return p.returncode, p.stdout, p.stderr


def sweep(out, extra=(), env=None):
    rc, so, se = run(["run", PHASE, "-o", out, "-q"] + SMALL + list(extra), env=env)
    if rc != 0:
        fail(f"the sweep exited {rc}")


def test_system_rerun():
    out = os.path.join(TMP, "sweep.h5")
    sweep(out)
    with h5py.File(out, "r") as f:
        traj = f["trajectories/position"][:]          # [G][K][F][N][d]
        frac = f["statistics/close_pair_fraction/value"][:]  # [G][F][S]
    for g, i in [(0, 0), (1, 3), (2, 2)]:
        one = os.path.join(TMP, f"system_{g}_{i}.h5")
        rc, _, _ = run(["run", PHASE, "--system", f"{g}:{i}", "-o", one, "-q"] + SMALL)
        if rc != 0:
            fail(f"--system {g}:{i} exited {rc}")
        with h5py.File(one, "r") as f:
            x = f["particles/tokens/position/value"][:]
        if x.shape != traj[g, i].shape:
            fail(f"--system {g}:{i}: shape {x.shape} vs stored {traj[g, i].shape}")
        if not np.array_equal(x, traj[g, i]):
            fail(f"--system {g}:{i}: max difference {np.abs(x - traj[g, i]).max():.3e} (expected 0)")
        # The statistic recomputed from the trajectory: the fraction of pairs i<j with
        # <x_i, x_j> > 1 - delta.
        gram = np.einsum("fnd,fmd->fnm", x, x)
        n = x.shape[1]
        iu = np.triu_indices(n, 1)
        ref = (gram[:, iu[0], iu[1]] > 1 - 1e-3).mean(axis=1)
        if np.abs(ref - frac[g, :, i]).max() > 1e-12:
            fail(f"close_pair_fraction of system {g}:{i} differs from NumPy's on its trajectory")
    print("system_rerun: 3 systems bit-identical; statistics equal NumPy's")


def test_threads():
    a, b = os.path.join(TMP, "t1.h5"), os.path.join(TMP, "t2.h5")
    sweep(a, env={"OMP_NUM_THREADS": "1"})
    sweep(b, env={"OMP_NUM_THREADS": "2"})
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        for k in ["statistics/close_pair_fraction/value", "statistics/close_pair_fraction/mean",
                  "trajectories/position", "ensemble/seeds"]:
            if not np.array_equal(fa[k][:], fb[k][:]):
                fail(f"{k} differs between 1 and 2 threads")
    print("threads: identical for 1 and 2 threads")


def test_resume():
    ref = os.path.join(TMP, "ref.h5")
    args = ["--set", "sweep.model.beta.count=12", "--set", "ensemble.size=256",
            "--set", "integrator.t_end=10.0"]
    t0 = time.time()
    rc, _, _ = run(["run", PHASE, "-o", ref, "-q"] + SMALL + args)
    if rc != 0:
        fail("the reference sweep failed")
    T = time.time() - t0
    part = os.path.join(TMP, "part.h5")
    for delay in [0.3 * T, 0.5 * T, 0.7 * T, 0.2 * T, 0.85 * T]:
        if os.path.exists(part):
            os.remove(part)
        p = subprocess.Popen([ATTNFLOW, "run", PHASE, "-o", part, "-q"] + SMALL + args,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        p.send_signal(signal.SIGINT)
        t_sig = time.time()
        so, se = p.communicate(timeout=30)
        took = time.time() - t_sig
        print(f"SIGINT after {delay:.2f} s: exit {p.returncode} within {took:.2f} s; {se.strip()}")
        if p.returncode == 0:
            continue  # finished before the signal (a loaded machine): try another delay
        if p.returncode != 130:
            fail(f"exit {p.returncode} after SIGINT (expected 130)")
        if took > 1.0:
            fail(f"the sweep took {took:.2f} s to stop after SIGINT (limit 1 s)")
        if not os.path.exists(part):
            continue  # stopped before the first grid point: nothing written (as documented)
        with h5py.File(part, "r") as f:
            done = f["sweep/done"][:]
        if 0 < done.sum() < len(done):
            break
    else:
        fail("could not stop the sweep between grid points (machine too fast or too slow)")
    print(f"stopped with {int(done.sum())} of {len(done)} grid points done")
    rc, _, _ = run(["run", "--resume", part, "-q"])
    if rc != 0:
        fail(f"--resume exited {rc}")
    with h5py.File(ref, "r") as fr, h5py.File(part, "r") as fp:
        if not fp["sweep/done"][:].all():
            fail("the resumed sweep is not complete")
        for k in ["statistics/close_pair_fraction/value", "statistics/close_pair_fraction/mean",
                  "statistics/close_pair_fraction/quantiles", "trajectories/position"]:
            if not np.array_equal(fr[k][:], fp[k][:], equal_nan=True):
                fail(f"{k}: the resumed sweep differs from the uninterrupted one")
    print("resume: bit-identical to the uninterrupted sweep")


def test_errors():
    src = open(PHASE).read()
    cases = {
        "unswept": ('point = { "model.beta" = 0.1 }', 'point = { "tokens.d" = 2 }', "is not swept"),
        "off_grid": ('point = { "model.beta" = 0.1 }', 'point = { "model.beta" = 0.15 }',
                     "is not a value of the sweep"),
        "time": ('point = { "model.beta" = 0.1 }', 'point = { "model.beta" = 0.1 }\ntime = 0.05',
                 "is not a frame time"),
    }
    for name, (old, new, msg) in cases.items():
        bad = os.path.join(TMP, f"{name}.toml")
        open(bad, "w").write(src.replace(old, new, 1))
        out = os.path.join(TMP, f"{name}.h5")
        rc, so, se = run(["check", bad, "--set", f"run.output={out}"])
        if rc != 2 or msg not in se or f"{bad}:" not in se:
            fail(f"{name}: expected exit 2 with '{msg}' at {bad}:line:col, got {rc}: {se}")
        if os.path.exists(out) or os.path.exists(out + ".part"):
            fail(f"{name}: a file was created before the error")
    out = os.path.join(TMP, "keep.h5")
    sweep(out)
    first = open(out, "rb").read()
    sweep(out)
    backup = os.path.join(TMP, "#keep.h5.1#")
    if not os.path.exists(backup) or open(backup, "rb").read() != first:
        fail("the earlier sweep file was not kept as #keep.h5.1#")
    print("errors: located, before any file; an earlier sweep file is kept")


{"system_rerun": test_system_rerun, "threads": test_threads, "resume": test_resume,
 "errors": test_errors}[TEST]()
shutil.rmtree(TMP, ignore_errors=True)
print("PASS", TEST)
