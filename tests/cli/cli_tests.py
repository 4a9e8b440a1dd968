#!/usr/bin/python3
"""End-to-end tests of the attnflow command line (run by ctest).

usage: cli_tests.py ATTNFLOW SOURCE_DIR TEST [ARG]

TEST is one of:
  scenario FILE     `attnflow check FILE` passes (or `run` when FILE has no claims); a line
                    '# ci: max_rss_mb = X' also bounds the run's peak resident memory
  wrong_claim       a GLPR claim with a deliberately wrong threshold fails with exit 1
  h5md              the output has the H5MD layout of SPEC section 4 and the frames asked for
  sigint            SIGINT mid-run: exit 130, file closed and readable with every frame written
  sigkill           SIGKILL mid-run: the file is still readable up to the last flushed frame
  broken FILE       a broken scenario gives exit 2 and the message in its '# expect:' lines
  exit_codes        --help/--version exit 0, bad options exit 2, a blow-up exits 3
  resume            a run interrupted (SIGINT, SIGKILL) and resumed equals an uninterrupted one
  determinism       same scenario and seed: bit-identical files across runs and thread counts
  ssa_oneshot       `analyze --ssa` on a run's token cloud: table, matrices, errors
  bad_h5            malformed, truncated or foreign HDF5 inputs give exit 2 or 4, never a crash
  concurrent_runs   two runs on one output path: the second is refused (exit 2) before it
                    touches anything, in the first one's start-up and after its first frames;
                    the first completes and its file reads back; --resume of a live file too
  backups           re-running keeps the old RUN.h5 / RUN.xdmf2 as #RUN.h5.1# / #RUN.xdmf2.1#
                    bit for bit, then .2#; --overwrite replaces without a backup; with 99
                    backups a run is refused (exit 2); `check` re-runs without flags
  interrupted_keeps_old  a run stopped before its first computed frame (SIGINT during set-up,
                    NaN at step 1), with or without --overwrite, leaves an existing file
                    byte-identical and no RUN.h5.part; a stale .part of a SIGKILLed run is
                    removed by the next run
  output_is_input   -o naming the scenario, the init CSV, a compare_runs scenario, or a path
                    whose sidecar is an input: exit 2 naming the file, which is unchanged
  sidecar_xml       -o 'a&b<c>.h5' (and quotes): the .xdmf2 sidecar parses as XML and names
                    the file exactly
  resume_stored     --resume refuses a stored scenario edited after the run (hash), and
                    resumes from the file alone after the init CSV is deleted (d = 5: the
                    PCA view comes from the stored frame 0), bit-identical to a full run
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

# Reading a file that a live run is writing needs HDF5 file locking off (the writer holds it).
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")
import h5py
import numpy as np

ATTNFLOW, SRC, TEST = sys.argv[1], sys.argv[2], sys.argv[3]
ARG = sys.argv[4] if len(sys.argv) > 4 else None
TMP = tempfile.mkdtemp(prefix="attnflow-test-")


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def run(args, **kw):
    p = subprocess.run([ATTNFLOW] + args, capture_output=True, text=True, **kw)
    return p.returncode, p.stdout, p.stderr


def test_scenario(path):
    text = open(path).read()
    out = os.path.join(TMP, "run.h5")
    if "[[expect]]" in text:
        rc, so, se = run(["check", path, "--set", f"run.output={out}"])
    else:
        rc, so, se = run(["run", path, "-o", out, "--quiet"])
    print(so, se)
    if rc != 0:
        fail(f"{path}: exit {rc}")
    if "FAIL" in so:
        fail("a claim failed")
    with h5py.File(out, "r") as f:
        if "particles/tokens/position/value" not in f:
            fail("no positions written")
    # '# ci: max_rss_mb = X': the run's peak resident memory (the only child so far) must stay
    # below X MB (ru_maxrss is in kB on Linux).
    m = re.search(r"^# ci: max_rss_mb = (\d+)", text, re.M)
    if m:
        import resource
        rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak RSS of the run: {rss_mb:.1f} MB (limit {m.group(1)} MB)")
        if rss_mb > float(m.group(1)):
            fail(f"peak RSS {rss_mb:.1f} MB > {m.group(1)} MB")


def test_wrong_claim():
    # The near-consensus rate of SA is 1; claiming 1.5 must fail, and only that claim.
    src = open(os.path.join(SRC, "scenarios/glpr_consensus_rate_sa.toml")).read()
    assert "equals = 1.0" in src
    bad = os.path.join(TMP, "wrong.toml")
    open(bad, "w").write(src.replace("equals = 1.0", "equals = 1.5"))
    rc, so, se = run(["check", bad, "--set", f"run.output={TMP}/w.h5"])
    print(so, se)
    if rc != 1:
        fail(f"expected exit 1, got {rc}")
    if so.count("FAIL") != 1 or so.count("PASS") != 1:
        fail("expected exactly one FAIL and one PASS line")
    # Same for the equiangular residual with an impossible tolerance.
    src = open(os.path.join(SRC, "scenarios/glpr_equiangular_sa.toml")).read()
    open(bad, "w").write(src.replace("at_most = 1e-8", "at_most = 1e-15"))
    rc, so, se = run(["check", bad, "--set", f"run.output={TMP}/w.h5"])
    print(so, se)
    if rc != 1:
        fail(f"expected exit 1 for the equiangular claim, got {rc}")


def test_h5md():
    out = os.path.join(TMP, "q.h5")
    rc, so, se = run(["run", os.path.join(SRC, "scenarios/quickstart.toml"), "-o", out,
                      "--set", "run.frames=31", "--set", "integrator.t_end=3.0", "--quiet"])
    if rc != 0:
        fail(f"run exit {rc}: {se}")
    with h5py.File(out, "r") as f:
        assert list(f["h5md"].attrs["version"]) == [1, 1]
        assert f["h5md/creator"].attrs["name"] == b"attnflow"
        assert "name" in f["h5md/author"].attrs
        box = f["particles/tokens/box"]
        assert int(box.attrs["dimension"]) == 3
        assert [b.decode() if isinstance(b, bytes) else b for b in box.attrs["boundary"]] == ["none"] * 3
        pos = f["particles/tokens/position"]
        T = 31
        if pos["value"].shape != (T, 64, 3):
            fail(f"position shape {pos['value'].shape}")
        if pos["value"].maxshape[0] is not None:
            fail("first axis is not unlimited")
        t = pos["time"][:]
        if not np.allclose(t, np.linspace(0, 3, T), atol=1e-12):
            fail(f"frame times {t}")
        if list(pos["step"][:]) != list(range(0, 31)):
            fail(f"steps {pos['step'][:]}")
        view = f["particles/tokens_view/position"]
        assert view["value"].shape == (T, 64, 3)
        assert np.array_equal(view["value"][:], pos["value"][:])
        # step/time are hard links to the position's datasets.
        assert f["particles/tokens_view/position/time"].id == f["particles/tokens/position/time"].id
        for name in ["energy", "diameter", "mean_cosine"]:
            ob = f["observables/" + name]
            assert ob["value"].shape == (T,)
            assert ob["time"].id == pos["time"].id
        norms = np.linalg.norm(pos["value"][:], axis=2)
        assert np.allclose(norms, 1.0, atol=1e-13), "tokens left the sphere"
        scen = f["parameters/scenario"][()].decode()
        assert "[integrator]" in scen and "t_end = 3.0" in scen, scen
        assert f["parameters"].attrs["seed"] == 7
        par = f["parameters"].attrs
        assert par["steps"] == 30 and par["rhs_evals"] == 120 and par["oracle_calls"] == 120, dict(par)
        assert par["complete"] == 1
    side = out[:-3] + ".xdmf2"
    x = open(side).read()
    assert x.count("<Grid Name=\"frame_") == 31
    assert "q.h5:/particles/tokens_view/position/value" in x
    # A d > 3 run views the tokens through a fixed 3-D PCA basis.
    rc, so, se = run(["run", os.path.join(SRC, "scenarios/quickstart.toml"), "-o", out,
                      "--set", "tokens.d=6", "--set", "run.frames=3", "--set", "integrator.t_end=0.2", "--quiet"])
    if rc != 0:
        fail(f"d = 6 run exit {rc}: {se}")
    with h5py.File(out, "r") as f:
        assert f["particles/tokens/position/value"].shape == (3, 64, 6)
        assert f["particles/tokens_view/position/value"].shape == (3, 64, 3)


QUICK = os.path.join(SRC, "scenarios/quickstart.toml")
SMALL = ["--quiet", "--set", "run.frames=5", "--set", "integrator.t_end=0.4"]


def long_run(out, *extra):
    return subprocess.Popen(
        [ATTNFLOW, "run", os.path.join(SRC, "scenarios/quickstart.toml"), "-o", out,
         "--set", "tokens.n=3000", "--set", "integrator.t_end=10000", "--set", "run.frames=100001",
         "--quiet"] + list(extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def slow_start(out, *extra):
    """A run whose first frame takes seconds (the observables of 2 x 10^4 tokens on one
    thread): it stays in its start-up, before its first computed frame, for a while."""
    return subprocess.Popen(
        [ATTNFLOW, "run", QUICK, "-o", out, "--quiet", "--set", "tokens.n=20000"] + list(extra),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, OMP_NUM_THREADS="1"))


def wait_for_path(path, timeout=60):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if os.path.exists(path):
            return
        time.sleep(0.02)
    fail(f"{path} did not appear in {timeout} s")


def read_bytes(path):
    with open(path, "rb") as fh:
        return fh.read()


def backups_of(path):
    d, b = os.path.split(path)
    stem = os.path.splitext(b)[0]
    return sorted(f for f in os.listdir(d or ".")
                  if f.startswith("#" + b + ".") or f.startswith("#" + stem + ".xdmf2."))


def read_back(path):
    """Every dataset of the file reads, and the trajectory is consistent."""
    with h5py.File(path, "r") as f:
        for n in datasets(f):
            f[n][()]
    return check_consistent(path)


def wait_for_frames(out, n, timeout=60):
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            with h5py.File(out, "r") as f:
                if f["particles/tokens/position/value"].shape[0] >= n:
                    return
        except Exception:
            pass
        time.sleep(0.2)
    fail("the run wrote no frames in time")


def check_consistent(out):
    with h5py.File(out, "r") as f:
        T = f["particles/tokens/position/value"].shape[0]
        assert f["particles/tokens/position/time"].shape[0] == T
        assert f["particles/tokens/position/step"].shape[0] == T
        for name in f["observables"]:
            assert f["observables/" + name + "/value"].shape[0] == T
        v = f["particles/tokens/position/value"][:]
        assert np.isfinite(v).all()
        return T


def test_sigint():
    out = os.path.join(TMP, "long.h5")
    p = long_run(out)
    wait_for_frames(out, 3)
    p.send_signal(signal.SIGINT)
    so, se = p.communicate(timeout=60)
    print(se)
    if p.returncode != 130:
        fail(f"expected exit 130, got {p.returncode}")
    if "interrupted" not in se:
        fail("the summary does not say the run was interrupted")
    T = check_consistent(out)
    m = re.search(r"after (\d+) frames", se)
    if not m or int(m.group(1)) != T:
        fail(f"summary frame count does not match the file ({T})")
    print("frames kept:", T)
    # SIGTERM gives 143.
    os.remove(out)
    p = long_run(out)
    wait_for_frames(out, 2)
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=60)
    if p.returncode != 143:
        fail(f"expected exit 143, got {p.returncode}")
    check_consistent(out)


def test_sigkill():
    out = os.path.join(TMP, "killed.h5")
    p = long_run(out)
    wait_for_frames(out, 3)
    p.send_signal(signal.SIGKILL)
    p.communicate(timeout=60)
    T = check_consistent(out)
    if T < 3:
        fail(f"only {T} frames readable after SIGKILL")
    print("frames readable after SIGKILL:", T)


def test_broken(path):
    text = open(path).read()
    expects = [l[len("# expect: "):].strip() for l in text.splitlines() if l.startswith("# expect: ")]
    if not expects:
        fail("no '# expect:' line")
    os.makedirs(os.path.join(TMP, "out"), exist_ok=True)
    work = os.path.join(TMP, os.path.basename(path))
    shutil.copy(path, work)
    for extra in os.listdir(os.path.dirname(path)):
        if extra.endswith(".csv"):
            shutil.copy(os.path.join(os.path.dirname(path), extra), TMP)
    # `validate` finds every input error that `run` finds, before any file exists.
    cmds = [["run", os.path.basename(work), "-o", "out/x.h5"], ["validate", os.path.basename(work)]]
    for cmd in cmds:
        rc, so, se = run(cmd, cwd=TMP)
        print(" ".join(cmd), "->", rc, se.strip())
        if rc != 2:
            fail(f"{cmd[0]}: expected exit 2, got {rc}")
        for e in expects:
            if e not in se:
                fail(f"{cmd[0]}: message lacks '{e}'")
        if os.path.exists(os.path.join(TMP, "out/x.h5")):
            fail("an output file was written for invalid input")


def blowup_scenario(out, x0, dt, frames):
    """x' = x^3 from x(0) = x0 (one token, d = 1, rk4 to t = 1): blows up at t = 1/(2 x0^2)."""
    csv = os.path.join(TMP, f"x0_{x0}.csv")
    open(csv, "w").write(x0 + "\n")
    scen = os.path.join(TMP, f"blowup_{x0}.toml")
    open(scen, "w").write(f"""[run]
output = "{out}"
frames = {frames}
[tokens]
n = 1
d = 1
init = "file"
path = "{csv}"
[model]
kind = "linear_attention"
A = [[1.0]]
V = [[1.0]]
[integrator]
kind = "rk4"
dt = {dt}
t_end = 1.0
""")
    return scen


def test_exit_codes():
    rc, so, se = run(["--help"])
    assert rc == 0 and "run" in so, (rc, so)
    rc, so, se = run(["--version"])
    assert rc == 0 and "attnflow" in so, (rc, so)
    rc, so, se = run(["run"])
    assert rc == 2, rc
    rc, so, se = run(["frobnicate"])
    assert rc == 2, rc
    rc, so, se = run(["run", "/no/such/file.toml"])
    assert rc == 2 and "cannot open" in se, (rc, se)
    # x' = x^3 from x0 = 1 blows up at t = 1/2: exit 3 naming step and time; frames kept.
    scen = blowup_scenario(f"{TMP}/blowup.h5", x0="1.0", dt=0.001, frames=101)
    rc, so, se = run(["run", scen, "--quiet"])
    print(se)
    assert rc == 3, rc
    assert re.search(r"non-finite state at step \d+, t = 0\.[45]\d*: token 0 position", se), se
    with h5py.File(f"{TMP}/blowup.h5", "r") as f:
        T = f["particles/tokens/position/value"].shape[0]
        assert 40 <= T <= 51, T


def datasets(f, prefix=""):
    out = []
    for k in f:
        o = f[k]
        if isinstance(o, h5py.Dataset):
            out.append(prefix + "/" + k)
        else:
            out += datasets(o, prefix + "/" + k)
    return out


def same_trajectory(a_path, b_path, skip=("/parameters", "/checkpoint")):
    with h5py.File(a_path, "r") as a, h5py.File(b_path, "r") as b:
        names = [n for n in datasets(a) if not n.startswith(skip)]
        assert names == [n for n in datasets(b) if not n.startswith(skip)]
        for n in names:
            x, y = a[n][()], b[n][()]
            if isinstance(x, np.ndarray) and not np.array_equal(x, y):
                fail(f"{n} differs between {a_path} and {b_path}")
        return a["particles/tokens/position/value"].shape[0]


def test_resume():
    scen = os.path.join(SRC, "scenarios/quickstart.toml")
    sets = ["--set", "tokens.n=2000", "--set", "integrator.t_end=6", "--set", "run.frames=61"]
    for kind, sig in [("rk4", signal.SIGINT), ("dopri5", signal.SIGINT), ("rk4", signal.SIGKILL)]:
        full, part = os.path.join(TMP, "full.h5"), os.path.join(TMP, "part.h5")
        for old in (full, part):
            if os.path.exists(old):
                os.remove(old)
        rc, so, se = run(["run", scen, "-o", full, "--quiet", "--set", "integrator.kind=" + kind] + sets)
        assert rc == 0, se
        p = subprocess.Popen([ATTNFLOW, "run", scen, "-o", part, "--quiet", "--set",
                              "integrator.kind=" + kind] + sets, stderr=subprocess.PIPE, text=True)
        wait_for_frames(part, 2)
        p.send_signal(sig)
        p.communicate(timeout=60)
        with h5py.File(part, "r") as f:
            done = f["particles/tokens/position/value"].shape[0]
        if done >= 61:
            fail("the run finished before it could be interrupted")
        rc, so, se = run(["run", "--resume", part])
        print(kind, sig, "interrupted after", done, "frames;", se.strip())
        if rc != 0:
            fail(f"resume exit {rc}")
        T = same_trajectory(full, part)
        assert T == 61, T
        with h5py.File(part, "r") as f:
            assert f["parameters"].attrs["complete"] == 1
    rc, so, se = run(["run", "--resume", part])
    assert rc == 0 and "already complete" in se, (rc, se)
    # Kuramoto's time averages (order_parameter_avg, the N x N coherence average) continue
    # across the interruption: the resumed run replays the stored frames through the model.
    kur = os.path.join(SRC, "scenarios/kuramoto_ssa_vs_nbody.toml")
    ksets = ["--quiet", "--set", "expect=[]", "--set", "tokens.n=1500", "--set", "model.average_from=0.0",
             "--set", "integrator.dt=0.002", "--set", "integrator.t_end=60", "--set", "run.frames=121",
             "--set", "observe.quantities=['order_parameter', 'order_parameter_avg', "
                      "'coherence_theory_deviation', 'coherence_sparsity']"]
    for sig in (signal.SIGINT, signal.SIGKILL):
        full, part = os.path.join(TMP, "kfull.h5"), os.path.join(TMP, "kpart.h5")
        for old in (full, part):
            if os.path.exists(old):
                os.remove(old)
        rc, so, se = run(["run", kur, "-o", full] + ksets)
        assert rc == 0, se
        done = interrupt_after(["run", kur, "-o", part] + ksets, part, 3, 121, sig)
        resume_equals(full, part, f"kuramoto averages, signal {sig} after {done} frames")


def test_concurrent_runs():
    out = os.path.join(TMP, "shared.h5")
    part = out + ".part"
    # 1. The first run has written frames: a second one on the same path is refused with
    #    exit 2 before it touches anything (with or without --overwrite), and so is --resume.
    a = long_run(out)
    wait_for_frames(out, 2)
    for extra in ([], ["--overwrite"]):
        rc, so, se = run(["run", QUICK, "-o", out] + SMALL + extra)
        print("second run", extra, "->", rc, se.strip())
        if rc != 2:
            fail(f"a second run on a live output: exit {rc}, expected 2")
        if out not in se or "being written" not in se:
            fail("the refusal does not name the file and the reason")
        if backups_of(out) or os.path.exists(part):
            fail(f"the refused run left files: {backups_of(out)}")
    rc, so, se = run(["run", "--resume", out])
    print("resume of a live file ->", rc, se.strip())
    if rc != 2 or out not in se:
        fail(f"--resume of a file a run is writing: exit {rc}, expected 2 naming it")
    a.send_signal(signal.SIGINT)
    so, se = a.communicate(timeout=60)
    if a.returncode != 130:
        fail(f"the first run: exit {a.returncode}, expected 130 ({se})")
    T = read_back(out)
    print("the first run's file reads back with", T, "frames")
    if T < 2:
        fail("the first run's file lost frames")
    # 2. The first run is still in its start-up (RUN.h5.part, no frame computed): the second is
    #    refused too, and the first one's file appears intact once it has frames.
    for f in [out, out[:-3] + ".xdmf2"]:
        os.remove(f)
    a = slow_start(out)
    wait_for_path(part)
    rc, so, se = run(["run", QUICK, "-o", out] + SMALL)
    print("second run during the first one's start-up ->", rc, se.strip())
    if rc != 2 or out not in se:
        fail(f"a second run during the first one's start-up: exit {rc}, expected 2")
    if os.path.exists(out):
        fail("the refused run created the output")
    a.send_signal(signal.SIGINT)
    so, se = a.communicate(timeout=120)
    print("first run:", a.returncode, se.strip())
    if a.returncode != 130:
        fail(f"the first run: exit {a.returncode}, expected 130")
    if os.path.exists(part) or os.path.exists(out):
        fail("a run stopped before its first computed frame left a file behind")
    # 3. Started a second apart, both complete runs: the first completes and reads back.
    a = subprocess.Popen([ATTNFLOW, "run", QUICK, "-o", out, "--quiet", "--set", "tokens.n=2000",
                          "--set", "run.frames=21", "--set", "integrator.t_end=2"],
                         stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    rc, so, se = run(["run", QUICK, "-o", out] + SMALL)
    print("second run a second later ->", rc, se.strip())
    a.communicate(timeout=300)
    if a.returncode != 0:
        fail(f"the first run: exit {a.returncode}")
    if rc != 2:
        fail(f"the second run: exit {rc}, expected 2")
    if read_back(out) != 21:
        fail("the first run's file is not complete")


def test_backups():
    out = os.path.join(TMP, "x.h5")
    side = os.path.join(TMP, "x.xdmf2")
    b1, s1 = os.path.join(TMP, "#x.h5.1#"), os.path.join(TMP, "#x.xdmf2.1#")
    rc, so, se = run(["run", QUICK, "-o", out] + SMALL)
    assert rc == 0, se
    old, old_side = read_bytes(out), read_bytes(side)
    rc, so, se = run(["run", QUICK, "-o", out, "--set", "model.beta=2.0"] + SMALL)
    print("second run:", rc, se.strip())
    assert rc == 0, se
    if not os.path.exists(b1) or read_bytes(b1) != old:
        fail(f"the earlier run is not kept bit for bit as {b1}: {os.listdir(TMP)}")
    if not os.path.exists(s1) or read_bytes(s1) != old_side:
        fail(f"the earlier sidecar is not kept as {s1}")
    if "#x.h5.1#" not in se:
        fail("the run does not say where the earlier file went")
    with h5py.File(out, "r") as f:
        assert "beta = 2.0" in f["parameters/scenario"][()].decode()
    assert "x.h5:/particles" in open(side).read()
    second = read_bytes(out)
    rc, so, se = run(["run", QUICK, "-o", out, "--set", "model.beta=3.0"] + SMALL)
    assert rc == 0, se
    b2 = os.path.join(TMP, "#x.h5.2#")
    if not os.path.exists(b2) or read_bytes(b2) != second or read_bytes(b1) != old:
        fail("the second re-run did not keep the second file as #x.h5.2#")
    # --overwrite replaces without a backup.
    rc, so, se = run(["run", QUICK, "-o", out, "--overwrite", "--set", "model.beta=4.0"] + SMALL)
    assert rc == 0, se
    if backups_of(out) != sorted(["#x.h5.1#", "#x.h5.2#", "#x.xdmf2.1#", "#x.xdmf2.2#"]):
        fail(f"--overwrite made a backup: {backups_of(out)}")
    with h5py.File(out, "r") as f:
        assert "beta = 4.0" in f["parameters/scenario"][()].decode()
    # Backups 1..99 taken: refused with exit 2 naming the file and the flag; nothing changes.
    for k in range(3, 100):
        open(os.path.join(TMP, f"#x.h5.{k}#"), "w").close()
    now = read_bytes(out)
    rc, so, se = run(["run", QUICK, "-o", out] + SMALL)
    print("with 99 backups:", rc, se.strip())
    if rc != 2 or out not in se or "--overwrite" not in se:
        fail(f"99 backups: exit {rc}, expected 2 naming {out} and --overwrite")
    if read_bytes(out) != now or os.path.exists(out + ".part"):
        fail("the refused run changed the output")
    rc, so, se = run(["run", QUICK, "-o", out, "--overwrite"] + SMALL)
    assert rc == 0, se
    # `check` re-runs without extra flags (the earlier result becomes a backup).
    c = os.path.join(TMP, "c.h5")
    for i in range(2):
        rc, so, se = run(["check", QUICK, "--quiet", "--set", f"run.output={c}"])
        if rc != 0:
            fail(f"check run {i + 1}: exit {rc}: {se}")
    assert os.path.exists(os.path.join(TMP, "#c.h5.1#"))
    rc, so, se = run(["run", "--help"])
    if "--overwrite" not in so or "#RUN.h5.1#" not in so:
        fail("run --help does not document the backups and --overwrite")


def test_interrupted_keeps_old():
    out = os.path.join(TMP, "k.h5")
    side = os.path.join(TMP, "k.xdmf2")
    part = out + ".part"
    rc, so, se = run(["run", QUICK, "-o", out] + SMALL)
    assert rc == 0, se
    old, old_side = read_bytes(out), read_bytes(side)

    def unchanged(what):
        if read_bytes(out) != old or read_bytes(side) != old_side:
            fail(f"{what}: the existing output changed")
        if os.path.exists(part):
            fail(f"{what}: {part} left behind")
        if backups_of(out):
            fail(f"{what}: backups made: {backups_of(out)}")

    for extra in ([], ["--overwrite"]):
        p = slow_start(out, *extra)
        wait_for_path(part)
        p.send_signal(signal.SIGINT)
        so, se = p.communicate(timeout=120)
        print("SIGINT in the start-up", extra, "->", p.returncode, se.strip())
        if p.returncode != 130:
            fail(f"SIGINT in the start-up: exit {p.returncode}, expected 130")
        if "left as it was" not in se:
            fail("the message does not say the earlier file was left as it was")
        unchanged(f"SIGINT in the start-up {extra}")
        # x(0) = 1e100: finite at t = 0, overflows in step 1.
        rc, so, se = run(["run", blowup_scenario(out, x0="1e100", dt=0.5, frames=3), "--quiet"] + extra)
        print("NaN at step 1", extra, "->", rc, se.strip())
        if rc != 3 or "step 1" not in se:
            fail(f"NaN at step 1: exit {rc}, expected 3 naming step 1")
        unchanged(f"NaN at step 1 {extra}")
    # SIGKILL in the start-up leaves a stale .part (nothing holds its lock any more): the next
    # run removes it and proceeds, keeping the earlier file as a backup.
    p = slow_start(out)
    wait_for_path(part)
    time.sleep(0.3)
    p.kill()
    p.communicate(timeout=60)
    if not os.path.exists(part):
        fail("expected a stale .part after SIGKILL")
    unchanged_out = read_bytes(out) == old
    rc, so, se = run(["run", QUICK, "-o", out] + SMALL)
    print("run after a stale .part ->", rc, se.strip())
    if rc != 0 or os.path.exists(part):
        fail(f"a stale .part blocks the next run (exit {rc})")
    if not unchanged_out or read_bytes(os.path.join(TMP, "#k.h5.1#")) != old:
        fail("the earlier file was not kept as #k.h5.1#")


def test_output_is_input():
    work = os.path.join(TMP, "in")
    os.makedirs(work)
    for f in ["e021_accelerated_eps02.toml", "e021_gradient_flow_eps02.toml"]:
        shutil.copy(os.path.join(SRC, "scenarios", f), work)
    rng = np.random.default_rng(1)
    csv = os.path.join(work, "x0.csv")
    np.savetxt(csv, rng.normal(size=(8, 2)), delimiter=",")
    side_csv = os.path.join(work, "init.xdmf2")
    shutil.copy(csv, side_csv)
    scen = os.path.join(work, "s.toml")
    open(scen, "w").write("""[run]
frames = 3
[tokens]
n = 8
d = 2
init = "file"
path = "x0.csv"
[model]
kind = "attention"
[integrator]
kind = "rk4"
dt = 0.1
t_end = 0.2
""")
    scen2 = os.path.join(work, "s2.toml")
    open(scen2, "w").write(open(scen).read().replace("x0.csv", "init.xdmf2"))
    acc = os.path.join(work, "e021_accelerated_eps02.toml")
    grad = os.path.join(work, "e021_gradient_flow_eps02.toml")
    cases = [(scen, scen, "the scenario"), (scen, csv, "the init CSV"),
             (scen2, os.path.join(work, "init.h5"), "the sidecar is the init file"),
             (acc, acc, "the scenario with a compare_runs claim"),
             (acc, grad, "the compare_runs scenario")]
    for scenario, target, what in cases:
        victim = side_csv if target.endswith("init.h5") else target
        before = read_bytes(victim)
        rc, so, se = run(["run", scenario, "-o", target, "--quiet"])
        print(what, "->", rc, se.strip())
        if rc != 2:
            fail(f"-o {what}: exit {rc}, expected 2")
        if victim not in se and os.path.basename(victim) not in se:
            fail(f"-o {what}: the message does not name {victim}")
        if read_bytes(victim) != before:
            fail(f"-o {what}: {victim} was changed")
        if backups_of(victim) or os.path.exists(target + ".part"):
            fail(f"-o {what}: files were moved or created")
        # --overwrite does not make an input writable either.
        rc, so, se = run(["run", scenario, "-o", target, "--quiet", "--overwrite"])
        if rc != 2 or read_bytes(victim) != before:
            fail(f"-o {what} --overwrite: exit {rc}, expected 2 with the file unchanged")


def test_sidecar_xml():
    import xml.etree.ElementTree as ET
    for name in ["a&b<c>.h5", "q\"u'o te.h5"]:
        out = os.path.join(TMP, name)
        rc, so, se = run(["run", QUICK, "-o", out] + SMALL)
        assert rc == 0, se
        side = out[:-3] + ".xdmf2"
        try:
            tree = ET.parse(side)
        except ET.ParseError as e:
            fail(f"the sidecar of {name} is not XML: {e}")
            return
        hdf = [e.text.strip() for e in tree.iter("DataItem") if e.get("Format") == "HDF"]
        assert hdf, "no HDF data items"
        bad = [t for t in hdf if not t.startswith(name + ":/")]
        if bad:
            fail(f"the sidecar names another file: {bad[:2]}")
        grids = [g for g in tree.iter("Grid") if g.get("GridType") == "Uniform"]
        assert len(grids) == 5, len(grids)
        print(name, ": sidecar parses,", len(hdf), "HDF items")


def resume_equals(full, part, what):
    """`run --resume part` succeeds and part then equals the uninterrupted run `full`."""
    rc, so, se = run(["run", "--resume", part])
    print(what, ":", se.strip())
    if rc != 0:
        fail(f"{what}: resume exit {rc}")
        return
    T = same_trajectory(full, part)
    with h5py.File(part, "r") as f:
        assert f["parameters"].attrs["complete"] == 1
    print(what, ": resumed run equals the full run,", T, "frames")
    return T


def interrupt_after(args, out, frames, total, sig=signal.SIGINT):
    p = subprocess.Popen([ATTNFLOW] + args, stderr=subprocess.PIPE, text=True)
    wait_for_frames(out, frames)
    p.send_signal(sig)
    p.communicate(timeout=60)
    with h5py.File(out, "r") as f:
        done = f["particles/tokens/position/value"].shape[0]
    if done >= total:
        fail("the run finished before it could be interrupted")
    return done


def test_resume_stored():
    # 1. A stored scenario edited after the run (integrator, beta) is refused, the file untouched.
    part = os.path.join(TMP, "edited.h5")
    args = ["run", QUICK, "-o", part, "--quiet", "--set", "tokens.n=2000",
            "--set", "integrator.t_end=6", "--set", "run.frames=61"]
    interrupt_after(args, part, 2, 61)
    for old, new in [("kind = 'rk4'", "kind = 'euler'"), ("beta = 1.0", "beta = 2.0")]:
        shutil.copy(part, part + ".orig")
        with h5py.File(part, "r+") as f:
            text = f["parameters/scenario"][()].decode()
            assert old in text, (old, text)
            del f["parameters/scenario"]
            f["parameters/scenario"] = np.bytes_(text.replace(old, new))
        before = read_bytes(part)
        rc, so, se = run(["run", "--resume", part])
        print("resume after editing", old, "->", new, ":", rc, se.strip())
        if rc != 2 or "edited" not in se or part not in se:
            fail(f"resume of an edited stored scenario: exit {rc}, expected 2 naming the edit")
        if read_bytes(part) != before:
            fail("the refused resume changed the file")
        shutil.move(part + ".orig", part)
    rc, so, se = run(["run", "--resume", part])
    if rc != 0:
        fail(f"the unedited file does not resume: exit {rc}: {se}")
    # 2. Tokens from a CSV in d = 5 (the view is the PCA basis of frame 0): interrupted, CSV
    #    deleted, resumed from the file alone, bit-identical to an uninterrupted run.
    rng = np.random.default_rng(3)
    csv = os.path.join(TMP, "x0.csv")
    np.savetxt(csv, rng.normal(size=(1000, 5)) * [3, 2, 1, 0.5, 0.25], delimiter=",", fmt="%.17g")
    scen = os.path.join(TMP, "csv5.toml")
    open(scen, "w").write("""[run]
seed = 1
frames = 61
[tokens]
n = 1000
d = 5
space = "sphere"
init = "file"
path = "x0.csv"
[model]
kind = "attention"
beta = 1.0
Q = "random"
[integrator]
kind = "rk4"
dt = 0.05
t_end = 6.0
[observe]
quantities = ["energy", "diameter"]
""")
    full, part = os.path.join(TMP, "csv_full.h5"), os.path.join(TMP, "csv_part.h5")
    rc, so, se = run(["run", scen, "-o", full, "--quiet"])
    assert rc == 0, se
    done = interrupt_after(["run", scen, "-o", part, "--quiet"], part, 2, 61)
    os.remove(csv)
    resume_equals(full, part, f"CSV deleted after {done} frames, d = 5")


def test_determinism():
    # Three fixed scenarios, each through a different parallel path: the GEMM-tile attention
    # kernel (d = 20), the fused small-d kernel over several key chunks (d = 3, N = 5000), and the
    # O(N) all-to-all Kuramoto sums with parallel rk4 stage updates (N = 3 x 10^5).
    quick = os.path.join(SRC, "scenarios/quickstart.toml")
    cases = [
        (quick, ["--set", "tokens.n=700", "--set", "tokens.d=20", "--set", "model.Q=random",
                 "--set", "model.V=random", "--set", "integrator.t_end=2", "--set", "run.frames=11",
                 "--set", "observe.quantities=['energy', 'diameter', 'inner_spread']"]),
        (quick, ["--set", "tokens.n=5000", "--set", "model.Q=random", "--set", "model.V=random",
                 "--set", "integrator.t_end=0.3", "--set", "run.frames=4",
                 "--set", "observe.quantities=['energy', 'mean_cosine']"]),
        (os.path.join(SRC, "scenarios/kuramoto_million.toml"),
         ["--set", "tokens.n=300000", "--set", "integrator.t_end=1", "--set", "run.frames=3"]),
    ]
    for c, (scen, sets) in enumerate(cases):
        outs = []
        for i, threads in enumerate(["1", "2", "2"]):
            out = os.path.join(TMP, f"det{c}_{i}.h5")
            env = dict(os.environ, OMP_NUM_THREADS=threads)
            p = subprocess.run([ATTNFLOW, "run", scen, "-o", out, "--quiet", "--set", "expect=[]"]
                               + sets, env=env, capture_output=True, text=True)
            assert p.returncode == 0, p.stderr
            outs.append(out)
        same_trajectory(outs[0], outs[1])
        same_trajectory(outs[1], outs[2])
        print(f"case {c}: identical for 1 and 2 threads")


def test_bad_h5():
    cases = {}
    notes = os.path.join(TMP, "notes.h5")
    open(notes, "w").write("this is not HDF5\n")
    cases["text file"] = (notes, (2, 4))
    good = os.path.join(TMP, "good.h5")
    rc, so, se = run(["run", os.path.join(SRC, "scenarios/quickstart.toml"), "-o", good, "--quiet",
                      "--set", "run.frames=5", "--set", "integrator.t_end=0.4"])
    assert rc == 0, se
    data = open(good, "rb").read()
    for frac in (0.1, 0.5, 0.9):
        cut = os.path.join(TMP, f"cut{frac}.h5")
        open(cut, "wb").write(data[: int(len(data) * frac)])
        cases[f"truncated to {frac:.0%}"] = (cut, (2, 4))
    foreign = os.path.join(TMP, "foreign.h5")
    with h5py.File(foreign, "w") as f:
        f["x"] = np.arange(3)
    cases["foreign HDF5"] = (foreign, (2,))
    cases["missing"] = (os.path.join(TMP, "nope.h5"), (2,))
    for what, (path, codes) in cases.items():
        rc, so, se = run(["run", "--resume", path])
        print(what, "->", rc, se.strip())
        if rc not in codes:
            fail(f"{what}: exit {rc}, expected one of {codes}")
        if "error" not in se:
            fail(f"{what}: no error message")


def test_ssa_oneshot():
    out = os.path.join(TMP, "q8.h5")
    rc, so, se = run(["run", os.path.join(SRC, "scenarios/quickstart.toml"), "-o", out, "--quiet",
                      "--set", "tokens.d=8", "--set", "run.frames=3", "--set", "integrator.t_end=0.2"])
    assert rc == 0, se
    rc, so, se = run(["analyze", out, "--ssa", "--heads", "2", "--write-matrices"])
    print(so, se)
    assert rc == 0, se
    for stat in ["sparsity", "row_entropy", "cv", "head_corr", "order_parameter"]:
        assert re.search(r"^" + stat + r"\s+-?[0-9.e+-]+", so, re.M), stat
    with h5py.File(out, "r") as f:
        S = f["analysis/matrices/ssa"][()]
        A = f["analysis/matrices/transformer"][()]
    assert S.shape == (2, 64, 64) and A.shape == (2, 64, 64)
    # SSA: a token is perfectly synchronised with itself; weights in [0, 1].
    assert np.allclose(np.diagonal(S, axis1=1, axis2=2), 1.0)
    assert S.min() >= 0 and S.max() <= 1 + 1e-12
    # Softmax attention rows sum to 1.
    assert np.allclose(A.sum(axis=2), 1.0, atol=1e-12)
    rc, so, se = run(["analyze", out, "--ssa", "--heads", "3"])
    assert rc == 2 and "must divide" in se, (rc, se)
    rc, so, se = run(["analyze", out, "--ssa", "--frame", "7"])
    assert rc == 2 and "out of range" in se, (rc, se)


try:
    {"scenario": lambda: test_scenario(ARG), "wrong_claim": test_wrong_claim, "h5md": test_h5md,
     "sigint": test_sigint, "sigkill": test_sigkill, "broken": lambda: test_broken(ARG),
     "exit_codes": test_exit_codes, "resume": test_resume, "determinism": test_determinism,
     "bad_h5": test_bad_h5, "ssa_oneshot": test_ssa_oneshot,
     "concurrent_runs": test_concurrent_runs, "backups": test_backups,
     "interrupted_keeps_old": test_interrupted_keeps_old, "output_is_input": test_output_is_input,
     "sidecar_xml": test_sidecar_xml, "resume_stored": test_resume_stored}[TEST]()
except AssertionError as e:
    fail(f"assertion: {e}")
finally:
    shutil.rmtree(TMP, ignore_errors=True)
print("ok")
