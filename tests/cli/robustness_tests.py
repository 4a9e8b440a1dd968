#!/usr/bin/python3
"""Robustness of `attnflow analyze` on bad inputs and of `attnflow render` under signals
(run by ctest; same conventions as cli_tests.py).

usage: robustness_tests.py ATTNFLOW SOURCE_DIR TEST

TEST is one of:
  analyze_bad_inputs  a truncated, damaged, foreign, empty or 0-frame file, a run without
                      observables and a --window outside the data give exit 4 (unreadable or
                      damaged file) or 2 (not an attnflow run, no frames, empty window) with a
                      message naming the file and the reason, never exit 0 with a table of
                      '-'; the same for `analyze --ssa` and for each file of a comparison
  render_signals      `render` without a display (it re-runs itself under xvfb-run):
                      SIGTERM or SIGINT to it, or SIGTERM to the real renderer, gives exit
                      143/130 within 2 s; afterwards no process of its tree (found by pid
                      and process group, not by name) is alive, its private TMPDIR is empty,
                      the number of output files no longer grows and every file is a complete
                      PNG under its final name (exit 77: xvfb-run is not installed)
"""
import os
import re
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
TMP = tempfile.mkdtemp(prefix="attnflow-robust-")
QUICK = os.path.join(SRC, "scenarios/quickstart.toml")
failures = []


def fail(msg):
    print("FAIL:", msg)
    failures.append(msg)


def run(args, **kw):
    p = subprocess.run([ATTNFLOW] + args, capture_output=True, text=True, **kw)
    return p.returncode, p.stdout, p.stderr


def make_run(path, *sets):
    args = ["run", QUICK, "-o", path, "--quiet", "--set", "run.frames=21",
            "--set", "integrator.t_end=2.0"]
    for s in sets:
        args += ["--set", s]
    rc, so, se = run(args)
    if rc != 0:
        print(se)
        sys.exit(f"FAIL: cannot make the input run {path} (exit {rc})")


# ------------------------------------------------------------------------------------------
# analyze


def object_header(path, name):
    with h5py.File(path, "r") as f:
        return h5py.h5o.get_info(f[name].id).addr


def damage(src, dst, offset, n=32):
    data = bytearray(open(src, "rb").read())
    data[offset:offset + n] = b"\xab" * n
    open(dst, "wb").write(bytes(data))


def zero_frames(src, dst):
    """A copy of a run with every time series cut to 0 frames (the layout a run leaves when
    it is killed before its first frame)."""
    shutil.copy(src, dst)
    seen = set()
    with h5py.File(dst, "r+") as f:
        def cut(name, obj):
            if isinstance(obj, h5py.Dataset) and obj.maxshape and obj.maxshape[0] is None:
                key = h5py.h5o.get_info(obj.id).addr
                if key not in seen:
                    seen.add(key)
                    obj.resize(0, axis=0)
        f.visititems(cut)
        assert f["particles/tokens/position/value"].shape[0] == 0


def killed_before_first_frame(dst):
    """A real run SIGKILLed in its start-up, before its first computed frame (the observables
    of 20 000 tokens take seconds). The run writes RUN.h5.part until its first computed frame,
    so RUN.h5 must not exist; returns the .part it leaves (a run file with no frames), or None
    if the timing did not work out."""
    part = dst + ".part"
    p = subprocess.Popen([ATTNFLOW, "run", QUICK, "-o", dst, "--quiet", "--set", "tokens.n=20000"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, OMP_NUM_THREADS="1"))
    try:
        t0 = time.time()
        while time.time() - t0 < 60:
            try:
                with h5py.File(part, "r") as f:
                    if "particles/tokens/position/value" in f and "parameters" in f:
                        break
            except Exception:
                pass
            time.sleep(0.05)
    finally:
        p.kill()
        p.wait()
    if os.path.exists(dst):
        fail(f"{dst} exists although the run was killed before its first computed frame")
    try:
        with h5py.File(part, "r") as f:
            return part if f["particles/tokens/position/value"].shape[0] == 0 else None
    except Exception:
        return None


def expect(args, code, *needles, what=None):
    rc, so, se = run(args)
    label = what or " ".join(args)
    print(f"analyze {' '.join(args)}\n  -> exit {rc}: {se.strip()[:300]}")
    if rc != code:
        fail(f"{label}: exit {rc}, expected {code}")
    for n in needles:
        if n not in se:
            fail(f"{label}: the message lacks '{n}'")
    if code != 0 and "exp rate" in so:
        fail(f"{label}: a table was printed although the input is bad")
    return so, se


def test_analyze_bad_inputs():
    good = os.path.join(TMP, "good.h5")
    make_run(good)
    good2 = os.path.join(TMP, "good2.h5")
    make_run(good2, "model.beta=2.0")
    so, se = expect(["analyze", good], 0)
    if not re.search(r"energy: exp rate\s+-?[0-9]", so):
        fail("no exponential rate of the energy for a good run")

    data = open(good, "rb").read()
    cuts = {}
    for frac in (0.1, 0.5, 0.9, 0.99):
        cuts[frac] = os.path.join(TMP, f"cut{int(frac * 100)}.h5")
        open(cuts[frac], "wb").write(data[: int(len(data) * frac)])
    text = os.path.join(TMP, "notes.h5")
    open(text, "w").write("this is not HDF5\n")
    empty = os.path.join(TMP, "empty.h5")
    open(empty, "w").close()
    missing = os.path.join(TMP, "nope.h5")
    foreign = os.path.join(TMP, "foreign.h5")
    with h5py.File(foreign, "w") as f:
        f["x"] = np.arange(3.0)
    bad_obs = os.path.join(TMP, "bad_observable.h5")
    damage(good, bad_obs, object_header(good, "observables/energy/value"))
    bad_par = os.path.join(TMP, "bad_parameters.h5")
    damage(good, bad_par, object_header(good, "parameters"))
    zero = os.path.join(TMP, "zero.h5")
    zero_frames(good, zero)
    no_obs = os.path.join(TMP, "no_observables.h5")
    make_run(no_obs, "observe.quantities=[]", "expect=[]")

    # Exit 4: the file cannot be read as a run (missing, not HDF5, truncated, damaged).
    for frac, path in cuts.items():
        expect(["analyze", path], 4, path, "truncated", what=f"truncated to {frac:.0%}")
    expect(["analyze", text], 4, text, "not an HDF5 file")
    expect(["analyze", empty], 4, empty, "empty file")
    expect(["analyze", missing], 4, missing, "no such file")
    expect(["analyze", bad_obs], 4, bad_obs, "/observables/energy/value", "damaged")
    expect(["analyze", bad_par], 4, bad_par, "/parameters", "damaged")
    # Exit 2: readable, but not something analyze can fit.
    expect(["analyze", foreign], 2, foreign, "not an attnflow run")
    expect(["analyze", zero], 2, zero, "no frames")
    expect(["analyze", no_obs], 2, no_obs, "no observables")
    expect(["analyze", no_obs, "--ellipticity"], 0)
    real_zero = killed_before_first_frame(os.path.join(TMP, "killed.h5"))
    if real_zero:
        expect(["analyze", real_zero], 2, real_zero, "no frames")
    else:
        print("note: the run was not caught before its first frame; the h5py 0-frame case stands")
    # --window: outside the data (after, before: negative times are times, not "unset"),
    # or holding a single frame.
    expect(["analyze", good, "--window", "5", "8"], 2, good, "--window [5, 8]", "no frame",
           "t = 0 .. 2")
    expect(["analyze", good, "--window", "-3", "-1"], 2, good, "--window [-3, -1]", "no frame")
    expect(["analyze", good, "--window", "1.95", "2.5"], 2, good, "only one frame")
    so, se = expect(["analyze", good, "--window", "-1", "1"], 0)
    if "[-1, 1]" not in so:
        fail("the window is not shown in the table")
    # A comparison fails on its bad member, naming it.
    expect(["analyze", good, good2], 0)
    expect(["analyze", good, zero], 2, zero, "no frames")
    expect(["analyze", good, foreign], 2, foreign, "not an attnflow run")
    expect(["analyze", good, cuts[0.5]], 4, cuts[0.5], "truncated")
    expect(["analyze", good, good2, "--window", "3", "4"], 2, good, "no frame")
    # --ssa reads the same files.
    expect(["analyze", good, "--ssa"], 0)
    expect(["analyze", zero, "--ssa"], 2, zero, "no frames")
    expect(["analyze", foreign, "--ssa"], 2, foreign, "not an attnflow run")
    expect(["analyze", cuts[0.5], "--ssa", "--heads", "1"], 4, cuts[0.5], "truncated")
    expect(["analyze", "--ssa", text], 4, text, "not an HDF5 file")
    expect(["analyze", "--frame", "-1", missing, "--ssa"], 4, missing, "no such file")
    expect(["analyze", good, "--ssa", "--frame", "99"], 2, "out of range")


# ------------------------------------------------------------------------------------------
# render


def proc_stat(pid):
    """(ppid, pgid, state, starttime) of a live process, or None."""
    try:
        s = open(f"/proc/{pid}/stat").read()
    except OSError:
        return None
    rest = s[s.rindex(")") + 2:].split()
    return int(rest[1]), int(rest[2]), rest[0], int(rest[19])


def all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def descendants(root):
    """{pid: (pgid, starttime, exe)} of the live processes below root (by parent links)."""
    stats = {}
    for pid in all_pids():
        st = proc_stat(pid)
        if st:
            stats[pid] = st
    out, frontier = {}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, pgid, state, start) in stats.items():
            if ppid == parent and pid not in out:
                try:
                    exe = os.readlink(f"/proc/{pid}/exe")
                except OSError:
                    exe = ""
                out[pid] = (pgid, start, exe)
                frontier.append(pid)
    return out


def alive(pid, start):
    st = proc_stat(pid)
    return st is not None and st[3] == start and st[2] != "Z"


def survivors(seen, groups):
    """Processes recorded in `seen` still alive, plus any live process in one of `groups`."""
    left = {pid for pid, (pgid, start, exe) in seen.items() if alive(pid, start)}
    for pid in all_pids():
        st = proc_stat(pid)
        if st and st[1] in groups and st[2] != "Z":
            left.add(pid)
    return left


def kill_leftovers(pids):
    """SIGTERM first (Xvfb then removes its /tmp/.X<n>-lock), SIGKILL after 2 s."""
    pids = set(pids)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        t0 = time.time()
        while time.time() - t0 < 2 and any(proc_stat(pid) and proc_stat(pid)[2] != "Z" for pid in pids):
            time.sleep(0.05)


def is_complete_png(path):
    data = open(path, "rb").read()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and data[-12:-4] == b"\x00\x00\x00\x00IEND"


def render_case(run_file, name, how, sig, want_rc):
    """Starts a render of every frame without a display, waits for a few frames, delivers
    `sig` to the render process (how = "parent"), to the real renderer (how = "renderer"), or
    to the render process as soon as it has a child (how = "early"), then checks what it
    leaves."""
    out = os.path.join(TMP, name)
    private_tmp = os.path.join(TMP, name + "-tmp")
    os.makedirs(private_tmp)
    env = dict(os.environ, TMPDIR=private_tmp)
    env.pop("DISPLAY", None)
    env.pop("ATTNFLOW_RENDER_UNDER_XVFB", None)
    me = os.path.realpath(ATTNFLOW)
    p = subprocess.Popen([ATTNFLOW, "render", run_file, "--frames", "all", "--size", "200x200",
                          "-o", out], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    seen, groups = {}, set()

    def look():
        d = descendants(p.pid)
        seen.update(d)
        groups.update(pgid for pgid, start, exe in d.values() if pgid != os.getpgid(0))

    try:
        t0 = time.time()
        if how == "early":  # as soon as xvfb-run runs: Xvfb starting, no renderer yet
            while time.time() - t0 < 60 and not seen and p.poll() is None:
                look()
                time.sleep(0.01)
        else:
            while time.time() - t0 < 120:
                look()
                n = len(os.listdir(out)) if os.path.isdir(out) else 0
                if n >= 5 or p.poll() is not None:
                    break
                time.sleep(0.05)
            look()
            if p.poll() is not None:
                fail(f"{name}: render ended (exit {p.returncode}) before it could be signalled: "
                     f"{p.stderr.read()}")
                return
            if n < 5:
                fail(f"{name}: no frames after 120 s")
            exes = [exe for pgid, start, exe in seen.values()]
            if not any(os.path.basename(e) == "Xvfb" for e in exes):
                print(f"note: {name}: no Xvfb seen below the render process: {exes}")
        target = p.pid
        if how == "renderer":
            renderers = [pid for pid, (pgid, start, exe) in seen.items()
                         if os.path.realpath(exe.replace(" (deleted)", "")) == me and alive(pid, start)]
            if len(renderers) != 1:
                fail(f"{name}: expected one renderer process below {p.pid}, found {renderers}")
                return
            target = renderers[0]
        t_sig = time.time()
        os.kill(target, sig)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            fail(f"{name}: render still running 20 s after the signal")
            look()
            kill_leftovers([p.pid])
            p.wait()
        took = time.time() - t_sig
        err = p.stderr.read()
        n_exit = len(os.listdir(out)) if os.path.isdir(out) else 0
        print(f"{name}: signal {sig} to the {how} after {n_exit} files -> exit {p.returncode} "
              f"in {took:.2f} s\n  stderr: {err.strip()[-400:]}")
        if p.returncode != want_rc:
            fail(f"{name}: exit {p.returncode}, expected {want_rc}")
        if took > 2:  # the target is 1 s; slack for a loaded machine
            fail(f"{name}: took {took:.1f} s to stop (a 200x200 frame renders in ~0.1 s)")
        left = survivors(seen, groups)
        if left:
            fail(f"{name}: processes left after exit: " +
                 ", ".join(f"{pid} ({seen.get(pid, ('', '', '?'))[2]})" for pid in sorted(left)))
            kill_leftovers(left)
        tmp_left = os.listdir(private_tmp)
        if tmp_left:
            fail(f"{name}: temporary files left in TMPDIR: {tmp_left}")
        time.sleep(2.0)
        n_later = len(os.listdir(out)) if os.path.isdir(out) else 0
        if n_later != n_exit:
            fail(f"{name}: {n_later - n_exit} more files written after the exit")
        if os.path.isdir(out):
            for f in sorted(os.listdir(out)):
                full = os.path.join(out, f)
                if not re.fullmatch(r"frame_\d{4}\.png", f):
                    fail(f"{name}: unexpected file {f} (a partial or temporary file?)")
                elif not is_complete_png(full):
                    fail(f"{name}: {f} is not a complete PNG")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        kill_leftovers(survivors(seen, groups))


def test_render_signals():
    if not shutil.which("xvfb-run") or not shutil.which("Xvfb"):
        print("xvfb-run / Xvfb not installed: skipped")
        shutil.rmtree(TMP, ignore_errors=True)
        sys.exit(77)
    run_file = os.path.join(TMP, "long.h5")
    rc, so, se = run(["run", QUICK, "-o", run_file, "--quiet", "--set", "run.frames=601", "--set", "integrator.dt=0.025",
                      "--set", "integrator.t_end=15"])
    if rc != 0:
        sys.exit(f"FAIL: cannot make the input run (exit {rc}): {se}")
    render_case(run_file, "term_parent", "parent", signal.SIGTERM, 143)
    render_case(run_file, "int_parent", "parent", signal.SIGINT, 130)
    render_case(run_file, "term_renderer", "renderer", signal.SIGTERM, 143)
    render_case(run_file, "term_early", "early", signal.SIGTERM, 143)


try:
    {"analyze_bad_inputs": test_analyze_bad_inputs, "render_signals": test_render_signals}[TEST]()
except AssertionError as e:
    fail(f"assertion: {e}")
finally:
    shutil.rmtree(TMP, ignore_errors=True)
if failures:
    print(f"{len(failures)} failure(s)")
    sys.exit(1)
print("ok")
