#!/usr/bin/python3
"""Particles against the mean-field density from the command line (run by ctest).

usage: mean_field_tests.py ATTNFLOW SOURCE_DIR TEST

TEST is one of:
  density_file     a circle_density run file holds /fields/density (grid = cell centres,
                   value/time hard links to the position series, unit mass per frame) and
                   resumes bit-identically after SIGINT
  analyze_density  `attnflow analyze PARTICLES.h5 --density DENSITY.h5` at t = 0 prints the W1
                   and r_density that the particle run's own companion (same initial law, same
                   4096 cells) recorded, to 1e-12; a file without /fields/density, or runs with
                   no common frame time, give exit 2
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
TMP = tempfile.mkdtemp(prefix="attnflow-mean-field-")
DENSITY = os.path.join(SRC, "scenarios/mean_field_density_clusters.toml")
PARTICLES = os.path.join(SRC, "scenarios/mean_field_particles_vs_density.toml")


def fail(msg):
    print("FAIL:", msg)
    shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(1)


def run(args):
    p = subprocess.run([ATTNFLOW] + args, capture_output=True, text=True)
    print("$ attnflow", " ".join(args), "->", p.returncode)
    print(p.stdout.strip()[:2000], p.stderr.strip()[:2000])
    return p.returncode, p.stdout, p.stderr


def density_file():
    out = os.path.join(TMP, "d.h5")
    rc, _, _ = run(["run", DENSITY, "-o", out, "-q", "--set", "integrator.t_end=3.0",
                    "--set", "run.frames=31"])
    if rc != 0:
        fail(f"the density run exited {rc}")
    with h5py.File(out, "r") as f:
        g = f["fields/density"]
        m = int(g.attrs["cells"])
        h = float(g.attrs["cell_width"])
        if m != 1024 or abs(h - 2 * np.pi / m) > 1e-15:
            fail(f"cells {m}, cell_width {h}")
        if np.max(np.abs(g["grid"][:] - (np.arange(m) + 0.5) * h)) > 1e-14:
            fail("grid is not the cell centres")
        v = g["value"][:]
        if v.shape != (31, m, 1) or not np.array_equal(v, f["particles/tokens/position/value"][:]):
            fail(f"value {v.shape} is not the position series")
        if not np.array_equal(g["time"][:], f["particles/tokens/position/time"][:]):
            fail("time is not the position time")
        mass = h * v[:, :, 0].sum(axis=1)
        if np.max(np.abs(mass - 1)) > 1e-13:
            fail(f"mass per frame off by {np.max(np.abs(mass - 1))}")
        if v.min() < 0:
            fail("negative density under ssp_rk3 at the positivity step")
        ref = v.copy()
    # Resume: interrupt a slower copy, then finish it; the frames equal the uninterrupted run.
    part = os.path.join(TMP, "r.h5")
    slow = ["--set", "integrator.t_end=3.0", "--set", "run.frames=31", "--set", "tokens.n=4096"]
    p = subprocess.Popen([ATTNFLOW, "run", DENSITY, "-o", part, "-q", "--set", "integrator.dt=0.0001"] + slow,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    p.wait(timeout=10)
    if p.returncode == 0:
        print("note: the run finished before SIGINT")
    rc, _, _ = run(["run", "--resume", part, "-q"])
    if rc != 0:
        fail(f"resume exited {rc}")
    full = os.path.join(TMP, "full.h5")
    rc, _, _ = run(["run", DENSITY, "-o", full, "-q", "--set", "integrator.dt=0.0001"] + slow)
    with h5py.File(part, "r") as a, h5py.File(full, "r") as b:
        if not np.array_equal(a["fields/density/value"][:], b["fields/density/value"][:]):
            fail("the resumed density differs from the uninterrupted run")


def analyze_density():
    dens = os.path.join(TMP, "d.h5")
    parts = os.path.join(TMP, "p.h5")
    rc, _, _ = run(["run", DENSITY, "-o", dens, "-q", "--set", "tokens.n=4096",
                    "--set", "integrator.dt=0.0007", "--set", "integrator.t_end=1.4", "--set", "run.frames=3"])
    if rc != 0:
        fail(f"the density run exited {rc}")
    rc, _, _ = run(["run", PARTICLES, "-o", parts, "-q", "--set", "tokens.n=3000",
                    "--set", "integrator.t_end=1.4", "--set", "run.frames=3", "--set", "integrator.dt=0.007"])
    if rc != 0:
        fail(f"the particle run exited {rc}")
    rc, so, _ = run(["analyze", parts, "--density", dens])
    if rc != 0:
        fail(f"analyze --density exited {rc}")
    rows = [l.split() for l in so.splitlines() if l.strip() and l.split()[0][0].isdigit()]
    if len(rows) != 3:
        fail(f"expected 3 common frames, got {len(rows)}")
    with h5py.File(parts, "r") as f:
        w1 = f["observables/w1_density/value"][0]
        rd = f["observables/r_density/value"][0]
        r = f["observables/mode_1/value"][0]
    t0, w1_a, r_a, rd_a = (float(rows[0][i]) for i in (0, 1, 2, 3))
    if t0 != 0 or abs(w1_a - w1) > 1e-5 * w1 or abs(rd_a - rd) > 1e-5 or abs(r_a - r) > 1e-5:
        fail(f"t = 0: analyze W1 {w1_a}, r {r_a}, r_density {rd_a}; companion {w1}, {r}, {rd}")
    # Later frames: the density run and the companion are two solvers of the same law (RK4-free
    # ssp_rk3 at different steps): W1 within 2/sqrt(N) of each other.
    if float(rows[-1][1]) > 5 / np.sqrt(3000):
        fail(f"W1 at the last frame {rows[-1][1]} is not O(N^-1/2)")
    rc, _, se = run(["analyze", parts, "--density", parts])
    if rc != 2 or "fields/density" not in se:
        fail("a particle file given as the density must fail with exit 2")
    other = os.path.join(TMP, "o.h5")
    run(["run", DENSITY, "-o", other, "-q", "--set", "integrator.t_end=0.9", "--set", "run.frames=4",
         "--set", "integrator.dt=0.003", "--set", "integrator.t0=0.05"])
    rc, _, se = run(["analyze", parts, "--density", other])
    if rc != 2 or "no frame time" not in se:
        fail("runs without a common frame time must fail with exit 2")


{"density_file": density_file, "analyze_density": analyze_density}[TEST]()
shutil.rmtree(TMP, ignore_errors=True)
print("PASS", TEST)
