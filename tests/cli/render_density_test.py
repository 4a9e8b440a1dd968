#!/usr/bin/python3
"""`attnflow render` of a mean-field density run: the space-time heat map and --particles.

usage: render_density_test.py ATTNFLOW

Writes its inputs with h5py in the layout of /fields/density (sim/io/h5md_layout.hpp):
  density.h5   rho(t, theta) a von Mises bump (kappa 4) on M = 128 cells whose centre moves
               linearly, mu(t) = pi/2 + (pi/4) t, 41 frames t = 0..4; value [T][M][1]
               hard-linked to /particles/tokens/position/value, observable mass;
  density2.h5  the same with value [T][M];
  circle.h5    an attention-style run on the circle (d = 2): N = 2000 samples of the same
               density at 17 other frame times t = 0, 0.25, ..., 4;
  phases.h5    the same samples as an oscillator run (/particles/tokens/phase, not reduced
               mod 2 pi);
  sphere.h5    d = 3 positions (no angles).
and checks:
  - the default output DIR/density.png and its default size, -o and --size;
  - in the heat map, the brightest row of a column at early and at late t is at mu(t);
  - --particles draws white lines (a black rim) inside the heat map, near the bump (within the
    half width of the lowest level), and none are there without --particles; the same with
    the phase run and with --bins 32;
  - exit 2 naming the file: --particles on a file without /fields/density, a particle file
    without angles (d = 3; a density file), frame options on a density run, --bins alone.
Exit 77 (skipped) without a display and without xvfb-run. PNGs are decoded in pure Python.
"""
import math
import os
import shutil
import subprocess
import sys
import tempfile

os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")

ATTNFLOW = sys.argv[1]
if not os.environ.get("DISPLAY") and shutil.which("xvfb-run") is None:
    print("SKIP: no DISPLAY and no xvfb-run")
    sys.exit(77)

import h5py  # noqa: E402  (Debian's python3-h5py, as the other CLI tests)
import numpy as np  # noqa: E402

TMP = tempfile.mkdtemp(prefix="attnflow-render-density-")
failures = []
TWO_PI = 2 * math.pi
KAPPA = 4.0


def fail(msg):
    print("FAIL:", msg)
    failures.append(msg)


def run(args):
    p = subprocess.run([ATTNFLOW] + args, capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


from png import coloured, lum, read_png  # noqa: E402  (tests/cli/png.py)


def white(p):
    return min(p) > 235


def mu(t):
    return math.pi / 2 + math.pi / 4 * t


def circ_dist(a, b):
    d = abs(a - b) % TWO_PI
    return min(d, TWO_PI - d)


# --- inputs -----------------------------------------------------------------------------------
def header(f, name, space, d, n):
    g = f.create_group("h5md")
    g.attrs["version"] = np.array([1, 1], dtype=np.int32)
    g.create_group("author").attrs["name"] = "render density test"
    c = g.create_group("creator")
    c.attrs["name"] = "attnflow"
    c.attrs["version"] = "0.1.0"
    p = f.create_group("parameters")
    p.attrs["name"] = name
    p.attrs["space"] = space
    p.attrs["d"] = np.int64(d)
    p.attrs["n"] = np.int64(n)


def series(g, value, times):
    g.create_dataset("step", data=np.arange(len(times), dtype=np.int64))
    g.create_dataset("time", data=np.asarray(times, dtype=np.float64))
    g.create_dataset("value", data=value)


M, T = 128, 41
h = TWO_PI / M
grid = (np.arange(M) + 0.5) * h
dtimes = np.linspace(0.0, 4.0, T)
rho = np.exp(KAPPA * np.cos(grid[None, :] - np.array([mu(t) for t in dtimes])[:, None]))
rho /= h * rho.sum(axis=1, keepdims=True)  # unit mass: h sum_i rho_i = 1


def write_density(path, flat):
    with h5py.File(path, "w") as f:
        header(f, "vonmises_drift", "circle", 1, M)
        pos = f.create_group("particles/tokens/position")
        series(pos, rho if flat else rho[:, :, None], dtimes)
        d = f.create_group("fields/density")
        d.attrs["cells"] = np.int64(M)
        d.attrs["cell_width"] = h
        d.attrs["beta"] = 1.0
        d.attrs["normalization"] = "softmax"
        d.create_dataset("grid", data=grid)
        d["value"] = pos["value"]  # hard links, as the writer makes them
        d["time"] = pos["time"]
        series(f.create_group("observables/mass"), h * rho.sum(axis=1), dtimes)


density, density2 = os.path.join(TMP, "density.h5"), os.path.join(TMP, "density2.h5")
write_density(density, False)
write_density(density2, True)

N = 2000
ptimes = np.linspace(0.0, 4.0, 17)
rng = np.random.default_rng(17)
angles = np.array([rng.vonmises(mu(t), KAPPA, N) for t in ptimes])  # [F][N] in [-pi, pi)
circle, phases, sphere = (os.path.join(TMP, n) for n in ("circle.h5", "phases.h5", "sphere.h5"))
with h5py.File(circle, "w") as f:
    header(f, "circle_particles", "sphere", 2, N)
    series(f.create_group("particles/tokens/position"),
           np.stack([np.cos(angles), np.sin(angles)], axis=2), ptimes)
with h5py.File(phases, "w") as f:
    header(f, "oscillators", "circle", 1, N)
    series(f.create_group("particles/tokens/position"), angles[:, :, None], ptimes)
    ph = f.create_group("particles/tokens/phase")
    ph["step"] = f["particles/tokens/position/step"]
    ph["time"] = f["particles/tokens/position/time"]
    ph.create_dataset("value", data=angles + TWO_PI * rng.integers(-2, 3, size=angles.shape))
with h5py.File(sphere, "w") as f:
    header(f, "sphere", "sphere", 3, 50)
    x = rng.normal(size=(5, 50, 3))
    series(f.create_group("particles/tokens/position"),
           x / np.linalg.norm(x, axis=2, keepdims=True), np.arange(5.0))


# --- the heat map -----------------------------------------------------------------------------
def heat_box(rows, w, h):
    """(x0, x1, y0, y1): the heat map. Across: the longest run of coloured pixels in any row
    (the colour bar is a separate, narrower run; overlay lines cut some rows, not all); down:
    the first and last coloured pixel of its middle column."""
    def longest(flags):
        best, start = (0, -1), None
        for i, f in enumerate(flags + [False]):
            if f and start is None:
                start = i
            elif not f and start is not None:
                if i - start > best[1] - best[0] + 1:
                    best = (start, i - 1)
                start = None
        return best
    x0, x1 = max((longest([coloured(rows[y][x]) for x in range(w)]) for y in range(0, h, 4)),
                 key=lambda r: r[1] - r[0])
    ys = [y for y in range(h) if coloured(rows[y][(x0 + x1) // 2])]
    return x0, x1, ys[0], ys[-1]


t_lo, t_hi = dtimes[0] - 0.05, dtimes[-1] + 0.05  # the axis: half a frame beyond the times


def pixel_to(x, y, box):
    x0, x1, y0, y1 = box
    t = t_lo + (x + 0.5 - x0) / (x1 - x0 + 1) * (t_hi - t_lo)
    theta = (y1 + 0.5 - y) / (y1 - y0 + 1) * TWO_PI
    return t, theta


def column_of(t, box):
    x0, x1, _, _ = box
    return int(x0 + (t - t_lo) / (t_hi - t_lo) * (x1 - x0 + 1))


def line_pixels(rows, box):
    """White pixels inside the heat map (the overlay; viridis has none)."""
    x0, x1, y0, y1 = box
    return [(x, y) for y in range(y0 + 2, y1 - 1) for x in range(x0 + 2, x1 - 1) if white(rows[y][x])]


rc, so, se = run(["render", density])
png = os.path.join(TMP, "density_render", "density.png")
box = None
if rc != 0 or not os.path.isfile(png):
    fail(f"render density.h5: exit {rc}, {png} exists: {os.path.isfile(png)}\n{se}")
else:
    w, hh, rows = read_png(png)
    if (w, hh) != (900, 650):
        fail(f"density.png is {w}x{hh}, not the default 900x650")
    box = heat_box(rows, w, hh)
    x0, x1, y0, y1 = box
    print("heat map box:", box)
    if x1 - x0 < 0.6 * w or y1 - y0 < 0.6 * hh:
        fail(f"density.png: the heat map {box} is too small")
    for t in (0.3, 2.0, 3.7):
        x = column_of(t, box)
        y = max(range(y0, y1 + 1), key=lambda yy: lum(rows[yy][x]))
        theta = pixel_to(x, y, box)[1]
        print(f"t = {t}: brightest row at theta = {theta:.3f}, mu = {mu(t):.3f}")
        if circ_dist(theta, mu(t)) > 0.12:
            fail(f"density.png: at t = {t} the brightest row is at theta = {theta:.3f}, "
                 f"want mu = {mu(t):.3f}")
    if not (lum(rows[y1 - 2][column_of(0.3, box)]) < 90):  # theta ~ 0, far from mu(0) = pi/2
        fail(f"density.png: theta ~ 0 at t = 0.3 should be dark, got "
             f"{rows[y1 - 2][column_of(0.3, box)]}")
    bare = len(line_pixels(rows, box))
    if bare > 0:
        fail(f"density.png without --particles: {bare} white pixels inside the heat map")


def check_overlay(png, what):
    w, hh, rows = read_png(png)
    b = heat_box(rows, w, hh)
    lines = line_pixels(rows, b)
    black = sum(1 for y in range(b[2], b[3]) for x in range(b[0], b[1]) if max(rows[y][x]) < 30)
    print(f"{what}: {len(lines)} white and {black} black pixels inside the heat map")
    if len(lines) < 300 or black < 300:
        fail(f"{what}: only {len(lines)} white / {black} black overlay pixels")
        return
    # The lowest level drawn (0.2) is at |theta - mu| = 0.85: every line pixel is near the bump.
    far = [p for p in lines if circ_dist(pixel_to(*p, b)[1], mu(pixel_to(*p, b)[0])) > 1.15]
    if len(far) > 0.02 * len(lines):
        fail(f"{what}: {len(far)} of {len(lines)} line pixels are far from the bump, e.g. "
             f"(t, theta) = {pixel_to(*far[0], b)}")
    # Lines along the whole time range: pixels at early and late t.
    ts = [pixel_to(*p, b)[0] for p in lines]
    if min(ts) > 0.5 or max(ts) < 3.5:
        fail(f"{what}: the lines cover only t in [{min(ts):.2f}, {max(ts):.2f}]")


out = os.path.join(TMP, "overlay")
rc, so, se = run(["render", density, "--particles", circle, "-o", out])
png = os.path.join(out, "density.png")
if rc != 0 or not os.path.isfile(png):
    fail(f"render --particles circle.h5: exit {rc}\n{se}")
else:
    check_overlay(png, "--particles circle.h5")

out = os.path.join(TMP, "overlay_phase")
rc, so, se = run(["render", density2, "--particles", phases, "--bins", "32", "-o", out,
                  "--size", "700x500", "-q"])
png = os.path.join(out, "density.png")
if rc != 0 or not os.path.isfile(png) or so.strip():
    fail(f"render density2.h5 ([T][M]) --particles phases.h5 --bins 32 -q: exit {rc}, "
         f"stdout {so!r}\n{se}")
else:
    w, hh, _ = read_png(png)
    if (w, hh) != (700, 500):
        fail(f"--size 700x500: got {w}x{hh}")
    check_overlay(png, "--particles phases.h5 --bins 32")

# --- errors -----------------------------------------------------------------------------------
for args, name, what in (
        (["render", circle, "--particles", circle], circle, "a file without /fields/density"),
        (["render", density, "--particles", sphere], sphere, "a d = 3 particle file"),
        (["render", density, "--particles", density2], density2, "a density file as particles"),
        (["render", density, "--frames", "0"], density, "--frames on a density run"),
        (["render", density, "--bins", "16"], "--particles", "--bins without --particles"),
        (["render", density, "--particles", circle, "--bins", "1"], "--bins", "--bins 1")):
    rc, so, se = run(args + ["-o", os.path.join(TMP, "err")])
    if rc != 2 or name not in se:
        fail(f"{what}: exit {rc} (want 2, naming {name}): {se}")
if os.path.exists(os.path.join(TMP, "err", "density.png")):
    fail("an error case wrote density.png")

if failures:
    print(f"{len(failures)} failure(s); files kept in {TMP}")
    sys.exit(1)
shutil.rmtree(TMP, ignore_errors=True)
print("ok")
