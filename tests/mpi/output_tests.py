#!/usr/bin/python3
"""The run file of a distributed single run (attnflow-mpi, issue 16 item 4: parallel output).

usage: output_tests.py ATTNFLOW ATTNFLOW_MPI MPIEXEC SOURCE_DIR TEST

TEST is one of:
  layout    `mpirun -n P attnflow-mpi run` (P = 2, 3) writes one file with the layout of the
            serial `attnflow run` of the same scenario: the same links (hard links included),
            datasets (shapes, types, chunks, max shapes), groups and attributes; the same
            values (floats to 1e-12 relative, everything else exactly; wall_seconds aside), the
            same ParaView sidecar; /parameters mpi_ranks = P (1 serially). Scenarios: softmax
            attention (observables), d = 80 and N = 1700 (the PCA view; a frame of positions
            spans two chunks, split across the ranks' rows), Kuramoto (phases, the per-token
            frequencies, time averages), accelerated attention with ab2 (momenta; an
            integrator checkpoint with per-token blocks), N not divisible by P; a second run
            on the same output keeps the first as #NAME.h5.1# (--overwrite replaces it)
  sigkill   SIGKILL of the whole job (mpirun and every rank) mid-run, three times (after 3, 8
            and 15 frames, a random moment later): the file opens in h5py, its complete frames (those every
            per-frame series holds) are finite and on the sphere, and `run --resume` on 3
            ranks finishes it without changing those frames
  resume    SIGINT to one rank of a 2-rank run: every rank stops at the same step, exit 130,
            the file is closed and readable; `--resume` on 3 ranks (and, from a copy, serial
            attnflow) finishes it equal to the uninterrupted serial run to 1e-12 relative;
            SIGINT to mpirun (what Ctrl-C reaches: Open MPI then sends SIGTERM to the ranks)
            also leaves a file that resumes to the same result
  resume_cut  a 2-rank run cut to 17 of 41 frames plus a partial frame (as a SIGKILL between
            two series of a frame leaves it), resumed on 3 ranks, is the serial run (layout
            and values, as in layout): Kuramoto (time averages replayed from the stored
            frames) and accelerated attention with ab2 (a checkpoint with per-token blocks)
  errors    exit 2 and the message, with no rank left waiting (every command has a timeout):
            an output another run is writing, `--resume` of it, an invalid scenario, a
            missing resume file, an output that is a directory; exit 4 for an output that
            cannot be created (rank 0's error, thrown on every rank)
"""
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

# Reading a file that a live run is writing needs HDF5 file locking off (the writer holds it).
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")
# Open MPI refuses to run as root without these (containers, CI).
os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
import h5py
import numpy as np

ATTNFLOW, ATTNFLOW_MPI, MPIEXEC, SRC, TEST = sys.argv[1:6]
TMP = tempfile.mkdtemp(prefix="attnflow-mpi-output-")
QUICK = os.path.join(SRC, "scenarios/quickstart.toml")
TIMEOUT = 300  # a rank waiting for another that has failed would hang: never wait for ever
REL = 1e-12


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def process_tree(pid):
    """pid's descendants (mpirun's ranks run in process groups of their own)."""
    out = []
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            kids = [int(k) for k in fh.read().split()]
    except OSError:
        kids = []
    for k in kids:
        out += [k] + process_tree(k)
    return out


def kill_tree(p):
    for pid in process_tree(p.pid) + [p.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def mpi_cmd(ranks, args):
    # --oversubscribe: 3 ranks on a 2-core machine.
    return [MPIEXEC, "-n", str(ranks), "--oversubscribe", ATTNFLOW_MPI] + args


def run(cmd, timeout=TIMEOUT):
    """Runs cmd; fails the test (after killing every process of it) if it does not end."""
    print("$", " ".join(cmd))
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        so, se = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_tree(p)
        p.communicate()
        fail(f"no exit after {timeout} s (a rank waiting for one that failed?): {' '.join(cmd)}")
    print("  ->", p.returncode)
    for line in (so + se).strip().splitlines():
        print("  |", line)
    return p.returncode, so, se


def serial(args, **kw):
    return run([ATTNFLOW] + args, **kw)


def mpi(ranks, args, **kw):
    return run(mpi_cmd(ranks, args), **kw)


def must(rc_so_se, what):
    if rc_so_se[0] != 0:
        fail(f"{what} exited {rc_so_se[0]}")
    return rc_so_se


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as fh:
        fh.write(text)
    return path


KURAMOTO = """[run]
name = "kuramoto"
seed = 11
frames = 41
[tokens]
n = 101
d = 1
[model]
kind = "kuramoto"
coupling = 2.5
frequencies = "quantiles"
distribution = "gaussian"
sigma = 1.0
initial_phases = "uniform"
average_from = 2.0
[integrator]
kind = "rk4"
dt = 0.02
t_end = 4.0
[observe]
quantities = ["order_parameter", "order_parameter_avg", "r_theory", "locked_fraction"]
"""

ACCELERATED = """[run]
name = "accelerated"
seed = 31001
frames = 41
[tokens]
n = 17
d = 2
init = "gaussian"
cov = [[0.25, 0.0], [0.0, 0.0025]]
momentum = "zero"
[model]
kind = "accelerated_attention"
convention = "density"
potential = "quadratic"
potential_matrix = [[0.01, 0.0], [0.0, 1.0]]
A = [[0.2, 0.0], [0.0, 0.2]]
B = "identity"
damping = "constant"
alpha = 0.2
[integrator]
kind = "ab2"
dt = 0.05
t0 = 1.0
t_end = 5.0
[observe]
quantities = ["energy", "hamiltonian"]
"""

# No observables: the run's time goes into steps and frames only (sigkill).
SPHERE = """[run]
name = "sphere"
seed = 5
frames = 121
[tokens]
n = 2000
d = 3
space = "sphere"
init = "uniform_sphere"
[model]
kind = "attention"
normalization = "softmax"
beta = 1.0
[integrator]
kind = "rk4"
dt = 0.1
t_end = 12.0
"""


# --- reading files -------------------------------------------------------------------------

def links(f):
    """Every link path -> the address of its object (hard links share one)."""
    out = {}

    def walk(g, prefix):
        for k in g.keys():
            p = prefix + "/" + k
            o = g[k]
            out[p] = h5py.h5o.get_info(o.id).addr
            if isinstance(o, h5py.Group):
                walk(o, p)
    walk(f, "")
    return out


def shared(f):
    """The sets of link paths naming one object (the hard links), as a comparable set."""
    by_addr = {}
    for p, a in links(f).items():
        by_addr.setdefault(a, []).append(p)
    return {tuple(sorted(v)) for v in by_addr.values()}


def attrs_of(o):
    out = {}
    for k in o.attrs:
        v = o.attrs[k]
        a = o.attrs.get_id(k)
        out[k] = (v, a.dtype.str, a.shape)
    return out


def describe(f):
    """path -> (kind, shape, dtype, chunks, maxshape, attribute names, types and shapes)."""
    out = {}
    for p in links(f):
        o = f[p]
        at = {k: (d, s) for k, (_, d, s) in attrs_of(o).items()}
        if isinstance(o, h5py.Dataset):
            out[p] = ("dataset", o.shape, o.dtype.str, o.chunks, o.maxshape, at)
        else:
            out[p] = ("group", at)
    out["/"] = ("group", {k: (d, s) for k, (_, d, s) in attrs_of(f).items()})
    return out


def same_value(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False, "shape or type"
    if a.dtype.kind == "f":
        if not (np.isfinite(a).all() and np.isfinite(b).all()):
            return np.array_equal(a, b, equal_nan=True), "non-finite values differ"
        scale = max(np.abs(a).max() if a.size else 0.0, 1e-300)
        d = np.abs(a - b).max() if a.size else 0.0
        return d <= REL * scale, f"differs by {d:.3e} (scale {scale:.3e})"
    return np.array_equal(a, b), "differs"


def compare_files(ser, par, ranks):
    """The distributed run's file is the serial one's: layout exactly, values to REL."""
    with h5py.File(ser, "r") as f, h5py.File(par, "r") as g:
        ds, dp = describe(f), describe(g)
        if ds != dp:
            for k in sorted(set(ds) | set(dp)):
                if ds.get(k) != dp.get(k):
                    print("  serial     ", k, ds.get(k))
                    print("  distributed", k, dp.get(k))
            fail(f"{par}: the layout is not the serial run's")
        if shared(f) != shared(g):
            fail(f"{par}: hard links differ: {shared(f) ^ shared(g)}")
        for p, d in ds.items():
            for k, (v, _, _) in attrs_of(f[p] if p != "/" else f).items():
                w = attrs_of(g[p] if p != "/" else g)[k][0]
                if p == "/parameters" and k == "wall_seconds":
                    continue
                if p == "/parameters" and k == "mpi_ranks":
                    if int(v) != 1 or int(w) != ranks:
                        fail(f"mpi_ranks: serial {v}, distributed {w} (expected 1 and {ranks})")
                    continue
                ok, why = same_value(v, w)
                if not ok:
                    fail(f"{par}: attribute {p}@{k} {why}: {v!r} vs {w!r}")
            if d[0] == "dataset":
                ok, why = same_value(f[p][()], g[p][()])
                if not ok:
                    fail(f"{par}: {p} {why}")
        if "mpi_ranks" not in f["parameters"].attrs:
            fail("no mpi_ranks in /parameters")
        T = f["particles/tokens/position/value"].shape[0]
    # The sidecar names the file by its base name (the same in both directories).
    side = lambda h5: h5[:-3] + ".xdmf2"
    if open(side(ser)).read() != open(side(par)).read():
        fail(f"{side(par)} is not the serial run's sidecar")
    return T


def per_frame_lengths(f):
    lens = {}

    def visit(name, o):
        if isinstance(o, h5py.Dataset) and o.maxshape and o.maxshape[0] is None:
            lens[name] = o.shape[0]
    f.visititems(visit)
    return lens


def complete_frames(path):
    """Opens with h5py; the complete frames (every per-frame series holds them), checked."""
    with h5py.File(path, "r") as f:
        lens = per_frame_lengths(f)
        T = min(lens.values())
        x = f["particles/tokens/position/value"][:T]
        if not np.isfinite(x).all():
            fail(f"{path}: non-finite positions in the {T} complete frames")
        if f["parameters"].attrs["space"] == b"sphere":
            err = np.abs(np.linalg.norm(x, axis=2) - 1).max() if T else 0
            if err > 1e-12:
                fail(f"{path}: complete frames off the sphere by {err:.3e} (a frame not written?)")
        steps = f["particles/tokens/position/step"][:T]
        if T and (steps[0] != 0 or np.any(np.diff(steps) <= 0)):
            fail(f"{path}: steps {steps}")
        return T, x, lens


# --- tests ---------------------------------------------------------------------------------

def test_layout():
    kur = write("kuramoto.toml", KURAMOTO)
    acc = write("accelerated.toml", ACCELERATED)
    cases = [
        ("attention", [QUICK, "--set", "run.frames=31", "--set", "integrator.t_end=3.0",
                       "--set", "tokens.n=65"]),
        # 1700 x 80 doubles are more than the 1 MiB a chunk holds (h5md_writer create_series):
        # a frame is two chunks of 1638 and 62 rows, and the ranks' rows cut across them.
        ("wide", [QUICK, "--set", "run.frames=3", "--set", "integrator.t_end=0.2",
                  "--set", "tokens.n=1700", "--set", "tokens.d=80"]),
        ("kuramoto", [kur]),
        ("accelerated", [acc]),
    ]
    for name, args in cases:
        ser = os.path.join(TMP, "serial", name + ".h5")
        must(serial(["run"] + args + ["-o", ser, "-q"]), f"serial {name}")
        for ranks in (2, 3):
            par = os.path.join(TMP, f"mpi{ranks}", name + ".h5")
            t0 = time.time()
            must(mpi(ranks, ["run"] + args + ["-o", par, "-q"]), f"{ranks} ranks {name}")
            T = compare_files(ser, par, ranks)
            print(f"{name}, {ranks} ranks: {T} frames, the serial layout and values "
                  f"({time.time() - t0:.1f} s)")
            if os.path.exists(par + ".part"):
                fail(f"{par}.part left behind")
    with h5py.File(os.path.join(TMP, "mpi2", "wide.h5"), "r") as f:
        if f["particles/tokens/position/value"].chunks != (1, 1638, 80):
            fail(f"wide: chunks {f['particles/tokens/position/value'].chunks}, not two per frame")
    # Run again on the same output: rank 0 keeps the first file and sidecar as #NAME.h5.1#,
    # #NAME.xdmf2.1# (bit for bit), as a serial run does; --overwrite replaces them.
    name, args = cases[0]
    par = os.path.join(TMP, "mpi2", name + ".h5")
    first = {f: open(f, "rb").read() for f in (par, par[:-3] + ".xdmf2")}
    must(mpi(2, ["run"] + args + ["-o", par, "-q"]), "a second run on the same output")
    for f, data in first.items():
        d, b = os.path.split(f)
        backup = os.path.join(d, f"#{b}.1#")
        if not os.path.exists(backup) or open(backup, "rb").read() != data:
            fail(f"{f}: the earlier file is not kept as {backup}")
    compare_files(os.path.join(TMP, "serial", name + ".h5"), par, 2)
    must(mpi(2, ["run"] + args + ["-o", par, "-q", "--overwrite"]), "--overwrite")
    if os.path.exists(os.path.join(TMP, "mpi2", f"#{name}.h5.2#")):
        fail("--overwrite made a backup")
    compare_files(os.path.join(TMP, "serial", name + ".h5"), par, 2)
    with h5py.File(os.path.join(TMP, "mpi3", "accelerated.h5"), "r") as f:
        ck = f["checkpoint/integrator/value"]
        # ab2: [have, h_prev, t_next, F_prev (17 x 2), G_prev (17 x 2)].
        if ck.shape[1] != 3 + 2 * 17 * 2:
            fail(f"ab2 checkpoint of {ck.shape[1]} values")
        if not np.all(ck[1:, 0] == 1) or np.all(ck[-1, 3:] == 0):
            fail("the ab2 checkpoint holds no previous step")


def test_sigkill():
    scen = write("sphere.toml", SPHERE)
    out = os.path.join(TMP, "killed.h5")
    kept = None
    # Killed once at least 3, 8, 15 frames are complete, a random moment later (a frame takes
    # about 0.1 s here: the kill lands anywhere in a step or a frame's writes).
    for target in (3, 8, 15):
        for f in (out, out[:-3] + ".xdmf2"):
            if os.path.exists(f):
                os.remove(f)
        cmd = mpi_cmd(2, ["run", scen, "-o", out, "-q"])
        print("$", " ".join(cmd))
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_committed(p, out, target)
        time.sleep(random.uniform(0, 0.3))
        procs = process_tree(p.pid)
        if len([q for q in procs if "attnflow-mpi" in open(f"/proc/{q}/cmdline").read()]) != 2:
            fail(f"expected 2 ranks under mpirun, found {procs}")
        kill_tree(p)
        p.communicate()
        t0 = time.time()
        while any(os.path.exists(f"/proc/{q}") and open(f"/proc/{q}/stat").read().split()[2] != "Z"
                  for q in procs if os.path.exists(f"/proc/{q}")):
            if time.time() - t0 > 30:
                fail("ranks survived SIGKILL")
            time.sleep(0.05)
        T, x, lens = complete_frames(out)
        print(f"SIGKILL after {target}+ frames: {T} complete frames, series lengths {sorted(set(lens.values()))}")
        if T < target:
            fail(f"only {T} complete frames after SIGKILL (at least {target} were written)")
        if T >= 121:
            fail("the run had finished before SIGKILL: nothing tested")
        kept = (T, x)
    T, x = kept
    must(mpi(3, ["run", "--resume", out, "-q"]), "resume after SIGKILL")
    with h5py.File(out, "r") as f:
        y = f["particles/tokens/position/value"][:]
        if y.shape[0] != 121 or f["parameters"].attrs["complete"] != 1:
            fail(f"resumed file: {y.shape[0]} frames, complete {f['parameters'].attrs['complete']}")
        if f["parameters"].attrs["mpi_ranks"] != 3:
            fail("a resumed run records its own rank count")
    if not np.array_equal(y[:T], x):
        fail("resuming changed the frames the killed run had completed")
    complete_frames(out)


def wait_committed(p, out, frames, timeout=120):
    """Waits until the run's file is in place and holds `frames` frames."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        if p.poll() is not None:
            fail(f"the run ended early (exit {p.returncode})")
        if os.path.exists(out):
            try:
                with h5py.File(out, "r") as f:
                    if min(per_frame_lengths(f).values()) >= frames:
                        return
            except Exception:  # (caught between two writes: try again)
                pass
        time.sleep(0.1)
    kill_tree(p)
    fail("the run wrote no frames in time")


def finish(p, what):
    try:
        so, se = p.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        kill_tree(p)
        fail(f"{what}: no exit after {TIMEOUT} s (ranks waiting for each other?)")
    print(f"{what}: exit {p.returncode}")
    for line in se.strip().splitlines():
        print("  |", line)
    return p.returncode, se


def test_resume():
    args = [QUICK, "--set", "tokens.n=600", "--set", "run.frames=301",
            "--set", "integrator.t_end=30.0"]
    ref = os.path.join(TMP, "serial", "full.h5")
    must(serial(["run"] + args + ["-o", ref, "-q"]), "the uninterrupted serial run")
    with h5py.File(ref, "r") as f:
        want = f["particles/tokens/position/value"][:]
        want_obs = {k: f["observables/" + k + "/value"][:] for k in f["observables"]}

    def check(path, ranks):
        with h5py.File(path, "r") as f:
            got = f["particles/tokens/position/value"][:]
            if got.shape != want.shape:
                fail(f"{path}: {got.shape[0]} frames, expected {want.shape[0]}")
            for k, v in want_obs.items():
                ok, why = same_value(v, f["observables/" + k + "/value"][:])
                if not ok:
                    fail(f"{path}: observable {k} {why}")
            if f["parameters"].attrs["complete"] != 1 or f["parameters"].attrs["mpi_ranks"] != ranks:
                fail(f"{path}: complete {f['parameters'].attrs['complete']}, mpi_ranks "
                     f"{f['parameters'].attrs['mpi_ranks']}")
        ok, why = same_value(want[-1], got[-1])
        if not ok:
            fail(f"{path}: final frame {why}")
        ok, why = same_value(want, got)
        if not ok:
            fail(f"{path}: frames {why}")

    # SIGINT to rank 1 alone: the ranks agree on it before the next step.
    out = os.path.join(TMP, "int.h5")
    cmd = mpi_cmd(2, ["run"] + args + ["-o", out])
    print("$", " ".join(cmd))
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_committed(p, out, 5)
    ranks = [q for q in process_tree(p.pid) if "attnflow-mpi" in open(f"/proc/{q}/cmdline").read()]
    if len(ranks) != 2:
        fail(f"expected 2 ranks, found {ranks}")
    os.kill(max(ranks), signal.SIGINT)
    rc, se = finish(p, "SIGINT to one rank")
    if rc != 130:
        fail(f"expected exit 130, got {rc}")
    m = re.search(r"stopped by signal 2 at t = \S+ after (\d+) frames", se)
    if not m:
        fail("no 'stopped by signal 2 ... after N frames' line")
    T, _, lens = complete_frames(out)
    if len(set(lens.values())) != 1 or T != int(m.group(1)):
        fail(f"a closed file holds {lens}, the summary says {m.group(1)} frames")
    with h5py.File(out, "r") as f:
        if f["parameters"].attrs["complete"] != 0:
            fail("an interrupted run is marked complete")
    if T >= 301:
        fail("the run had finished before SIGINT: nothing tested")
    print(f"interrupted after {T} of 301 frames")
    copy = os.path.join(TMP, "copy", "int.h5")
    os.makedirs(os.path.dirname(copy))
    shutil.copy(out, copy)
    must(mpi(3, ["run", "--resume", out]), "--resume on 3 ranks")
    check(out, 3)
    must(serial(["run", "--resume", copy]), "serial --resume of the distributed file")
    check(copy, 1)

    # SIGINT to mpirun: it sends SIGTERM to the ranks (then SIGKILL 1 s later, Open MPI's
    # odls_base_sigkill_timeout): whatever it ends with, the file resumes to the same result.
    out = os.path.join(TMP, "term.h5")
    cmd = mpi_cmd(2, ["run"] + args + ["-o", out])
    print("$", " ".join(cmd))
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_committed(p, out, 5)
    p.send_signal(signal.SIGINT)
    rc, se = finish(p, "SIGINT to mpirun")
    if rc == 0:
        fail("mpirun interrupted by SIGINT exited 0")
    T, _, _ = complete_frames(out)
    if T >= 301:
        fail("the run had finished before SIGINT: nothing tested")
    must(mpi(2, ["run", "--resume", out]), "--resume on 2 ranks")
    check(out, 2)


def cut(path, T):
    """Makes `path` look like a run killed while writing frame T (frames 0..T-1 complete): every
    per-frame series is cut to T frames, except the positions and steps, which keep a partial
    frame T (what a SIGKILL between two series of a frame leaves)."""
    with h5py.File(path, "r+") as f:
        lens = per_frame_lengths(f)
        partial = {"particles/tokens/position/value", "particles/tokens/position/step"}
        done = set()
        for name in lens:
            ds = f[name]
            key = h5py.h5o.get_info(ds.id).addr  # (a hard-linked series once)
            if key in done:
                continue
            done.add(key)
            ds.resize(T + 1 if name in partial else T, axis=0)
        f["parameters"].attrs["complete"] = 0


def test_resume_cut():
    """A 2-rank run cut to 17 of 41 frames, plus a partial frame, resumed on 3 ranks: Kuramoto
    replays its time averages from the stored frames (read while the ranks have the file open
    for writing), ab2 continues from a checkpoint whose per-token blocks are split by rows; both
    equal the serial run, and the partial frame is gone."""
    for name, text in (("kuramoto", KURAMOTO), ("accelerated", ACCELERATED)):
        scen = write(name + ".toml", text)
        ref = os.path.join(TMP, "serial", name + ".h5")
        must(serial(["run", scen, "-o", ref, "-q"]), f"serial {name}")
        out = os.path.join(TMP, "cut", name + ".h5")
        must(mpi(2, ["run", scen, "-o", out, "-q"]), f"2 ranks {name}")
        cut(out, 17)
        with h5py.File(out, "r") as f:
            kept = f["particles/tokens/position/value"][:17]
        must(mpi(3, ["run", "--resume", out]), f"--resume of the cut {name} on 3 ranks")
        T = compare_files(ref, out, 3)
        with h5py.File(out, "r") as f:
            if not np.array_equal(f["particles/tokens/position/value"][:17], kept):
                fail(f"{name}: resuming changed the complete frames")
        print(f"{name}: cut to 17 frames on 2 ranks, resumed on 3: {T} frames, the serial run's")


def test_errors():
    out = os.path.join(TMP, "busy.h5")
    # A serial run writes busy.h5 (it holds the file's lock) for the first part of this test.
    holder = subprocess.Popen(
        [ATTNFLOW, "run", QUICK, "-o", out, "-q", "--set", "tokens.n=1000",
         "--set", "integrator.t_end=1000", "--set", "run.frames=10001"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_committed(holder, out, 2)

        def refused(args, expect_rc, message):
            for ranks in (2, 3):
                rc, so, se = mpi(ranks, args, timeout=120)
                if rc != expect_rc:
                    fail(f"{' '.join(args)} on {ranks} ranks: exit {rc}, expected {expect_rc}")
                if message not in se:
                    fail(f"the message lacks '{message}'")
                # Rank 0 speaks for all: the message once.
                if se.count("attnflow: error:") != 1:
                    fail(f"{se.count('attnflow: error:')} error lines, expected 1")

        refused(["run", QUICK, "-o", out, "-q"], 2, "is being written by another attnflow run")
        refused(["run", "--resume", out], 2, "is being written by another attnflow run")
        if holder.poll() is not None:
            fail("the run holding busy.h5 ended before the test did")
    finally:
        holder.send_signal(signal.SIGINT)
        holder.communicate(timeout=120)
    bad = write("bad.toml", "[run]\nframes = 3\n[tokens]\nn = 10\nd = 3\n[model]\nkind = \"attention\"\n"
                            "[integrator]\nkind = \"rk4\"\ndt = -0.1\nt_end = 1.0\n")
    refused_plain = [
        (["run", bad, "-o", os.path.join(TMP, "bad.h5")], 2, "bad.toml:"),
        (["run", "--resume", os.path.join(TMP, "missing.h5")], 2, "no such run file"),
        (["run", QUICK, "-o", TMP, "-q"], 2, "is not a file"),
        # Rank 0 cannot create the output (a file where its folder should be): exit 4 on all.
        (["run", QUICK, "-o", os.path.join(bad, "x.h5"), "-q"], 4, "bad.toml"),
    ]
    for args, code, message in refused_plain:
        for ranks in (2, 3):
            rc, so, se = mpi(ranks, args, timeout=120)
            if rc != code or message not in se:
                fail(f"{' '.join(args)} on {ranks} ranks: exit {rc} (expected {code}), "
                     f"message with '{message}'?")
    if os.path.exists(os.path.join(TMP, "bad.h5")):
        fail("an invalid scenario wrote an output")


TESTS = {"layout": test_layout, "sigkill": test_sigkill, "resume": test_resume,
         "resume_cut": test_resume_cut, "errors": test_errors}
if TEST not in TESTS:
    fail(f"unknown test {TEST}")
t0 = time.time()
TESTS[TEST]()
shutil.rmtree(TMP, ignore_errors=True)
print(f"PASS {TEST} ({time.time() - t0:.1f} s)")
