#!/usr/bin/python3
"""`attnflow render` of a sweep file: the phase diagram and --curves (run by ctest).

usage: render_sweep_test.py ATTNFLOW SOURCE_DIR

Runs a small GLPR phase-diagram sweep (6 values of beta, 32 systems, t <= 10, 21 frames),
renders it and checks:
  - the heat map PNG exists, has the requested size and is not uniform; along the top row
    (late t) the colours of the 6 beta columns are ordered as the ensemble means stored in
    the file are (viridis: brighter = larger mean), the small-beta end is yellow-green and the
    large-beta end blue; the bottom row (t = 0, mean ~ 0) is dark;
  - the default output path (SWEEP_render/phase_STAT.png);
  - --curves writes a PNG with the legend/line colours of the first and last curve;
  - a wrong --statistic, or frame options on a sweep file, give exit 2.
Exit 77 (skipped) without a display and without xvfb-run.
PNGs are decoded in pure Python (zlib), so PIL is not needed.
"""
import os
import shutil
import subprocess
import sys
import tempfile

os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")

ATTNFLOW, SRC = sys.argv[1], sys.argv[2]
if not os.environ.get("DISPLAY") and shutil.which("xvfb-run") is None:
    print("SKIP: no DISPLAY and no xvfb-run")
    sys.exit(77)
TMP = tempfile.mkdtemp(prefix="attnflow-render-sweep-")
failures = []


def fail(msg):
    print("FAIL:", msg)
    failures.append(msg)


def run(args):
    p = subprocess.run([ATTNFLOW] + args, capture_output=True, text=True, timeout=600)
    return p.returncode, p.stdout, p.stderr


from png import coloured, lum, read_png  # noqa: E402  (tests/cli/png.py)


def median_colour(rows, x0, x1, y0, y1):
    px = [rows[y][x] for y in range(y0, y1) for x in range(x0, x1) if coloured(rows[y][x])]
    if not px:
        return None
    return tuple(sorted(p[k] for p in px)[len(px) // 2] for k in range(3))


# --- the sweep --------------------------------------------------------------------------------
sweep = os.path.join(TMP, "s.h5")
rc, so, se = run(["run", os.path.join(SRC, "scenarios/glpr_phase_diagram.toml"), "-o", sweep,
                  "-q", "--set", "sweep.model.beta.count=6", "--set", "ensemble.size=32",
                  "--set", "integrator.t_end=10", "--set", "run.frames=21"])
if rc != 0:
    print(se)
    sys.exit(f"FAIL: cannot run the sweep (exit {rc})")

import h5py  # noqa: E402  (Debian's python3-h5py, as the other CLI tests)

with h5py.File(sweep, "r") as f:
    means = f["statistics/close_pair_fraction/mean"][:]  # [G][F]
    betas = f["sweep/axis0"][:]
G, F = means.shape
late = means[:, -1]
print("beta:", list(betas), "\nmean at the last frame:", [round(float(v), 3) for v in late])

# --- phase diagram ----------------------------------------------------------------------------
png = os.path.join(TMP, "phase.png")
rc, so, se = run(["render", sweep, "-o", png, "--size", "800x600"])
if rc != 0 or not os.path.isfile(png):
    fail(f"render SWEEP -o phase.png: exit {rc}, file {os.path.isfile(png)}\n{se}")
else:
    w, h, rows = read_png(png)
    if (w, h) != (800, 600):
        fail(f"phase.png is {w}x{h}, not 800x600")
    # The heat map's horizontal extent: coloured pixels in a row 15% from the top, left of the
    # colour bar (which sits at the right edge).
    y_top = int(0.15 * h)
    xs = [x for x in range(int(0.85 * w)) if coloured(rows[y_top][x])]
    if len(xs) < 0.5 * w:
        fail(f"phase.png: only {len(xs)} coloured pixels in row {y_top}: no heat map?")
    else:
        x0, x1 = xs[0], xs[-1]
        colw = (x1 - x0 + 1) / G
        cols = []
        for i in range(G):
            cx = int(x0 + (i + 0.5) * colw)
            cols.append(median_colour(rows, cx - 3, cx + 4, y_top - 3, y_top + 4))
        print("top-row column colours:", cols)
        if any(c is None for c in cols):
            fail("phase.png: a column of the top row has no heat-map colour")
        else:
            # Viridis is monotone in luminance: the colours are ordered as the data are.
            for i in range(G):
                for j in range(G):
                    if late[i] > late[j] + 0.08 and not lum(cols[i]) > lum(cols[j]) + 5:
                        fail(f"phase.png: column {i} (mean {late[i]:.3f}) is not brighter than "
                             f"column {j} (mean {late[j]:.3f}): {cols[i]} vs {cols[j]}")
            left, right = cols[0], cols[-1]
            if not (late[0] > 0.8 and left[1] > 150 and left[2] < 130):
                fail(f"phase.png: small beta (mean {late[0]:.3f}) should be yellow-green, "
                     f"got {left}")
            if not (right[2] > right[0] and lum(right) < lum(left) - 40):
                fail(f"phase.png: large beta (mean {late[-1]:.3f}) should be blue, got {right}")
            # The bottom row (t = 0, mean ~ 0.01 everywhere) is dark purple.
            y_bot = max(y for y in range(h) if coloured(rows[y][(x0 + x1) // 2]) and y < 0.97 * h)
            bottom = median_colour(rows, x0 + 5, x1 - 5, y_bot - 6, y_bot - 1)
            if bottom is None or lum(bottom) > 80:
                fail(f"phase.png: the bottom row (t = 0) should be dark, got {bottom}")
    # The contour is white: some white pixels inside the heat map.
    if "x0" in dir():
        white = sum(1 for y in range(int(0.1 * h), int(0.8 * h)) for x in range(x0 + 3, x1 - 3)
                    if min(rows[y][x]) > 235)
        crosses = means.min() < 0.5 < means.max()
        if crosses and white < 50:
            fail(f"phase.png: the data cross 0.5 but the contour has only {white} white pixels")

# Default output path.
rc, so, se = run(["render", sweep, "-q"])
default = os.path.join(TMP, "s_render", "phase_close_pair_fraction.png")
if rc != 0 or not os.path.isfile(default):
    fail(f"render SWEEP (default output): exit {rc}, {default} exists: "
         f"{os.path.isfile(default)}\n{se}")

# --- curves -----------------------------------------------------------------------------------
cpng = os.path.join(TMP, "curves.png")
rc, so, se = run(["render", sweep, "--curves", "-o", cpng])
if rc != 0 or not os.path.isfile(cpng):
    fail(f"render SWEEP --curves: exit {rc}, file {os.path.isfile(cpng)}\n{se}")
else:
    w, h, rows = read_png(cpng)
    if (w, h) != (900, 700):
        fail(f"curves.png is {w}x{h}, not the default 900x700")
    flat = [p for r in rows for p in r]
    for name, c in (("first (blue)", (31, 119, 180)), ("sixth (brown)", (140, 86, 75))):
        n = sum(1 for p in flat if all(abs(p[k] - c[k]) <= 12 for k in range(3)))
        if n < 100:
            fail(f"curves.png: only {n} pixels of the {name} curve colour {c}")
    if len(set(flat)) < 50:
        fail("curves.png: nearly uniform")

# --- errors -----------------------------------------------------------------------------------
rc, so, se = run(["render", sweep, "--statistic", "nope", "-o", os.path.join(TMP, "x.png")])
if rc != 2 or "close_pair_fraction" not in se:
    fail(f"--statistic nope: exit {rc} (want 2, naming the available statistics): {se}")
rc, so, se = run(["render", sweep, "--frames", "0"])
if rc != 2:
    fail(f"--frames on a sweep file: exit {rc}, want 2: {se}")

if failures:
    print(f"{len(failures)} failure(s); files kept in {TMP}")
    sys.exit(1)
shutil.rmtree(TMP, ignore_errors=True)
print("ok")
