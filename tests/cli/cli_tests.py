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


def long_run(out):
    return subprocess.Popen(
        [ATTNFLOW, "run", os.path.join(SRC, "scenarios/quickstart.toml"), "-o", out,
         "--set", "tokens.n=3000", "--set", "integrator.t_end=10000", "--set", "run.frames=100001",
         "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


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
    csv = os.path.join(TMP, "x0.csv")
    open(csv, "w").write("1.0\n")
    scen = os.path.join(TMP, "blowup.toml")
    open(scen, "w").write(f"""[run]
output = "{TMP}/blowup.h5"
frames = 101
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
dt = 0.001
t_end = 1.0
""")
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
     "bad_h5": test_bad_h5, "ssa_oneshot": test_ssa_oneshot}[TEST]()
except AssertionError as e:
    fail(f"assertion: {e}")
finally:
    shutil.rmtree(TMP, ignore_errors=True)
print("ok")
