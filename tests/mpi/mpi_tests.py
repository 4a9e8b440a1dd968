#!/usr/bin/python3
"""attnflow-mpi end to end, under a real mpirun (run by ctest, label mpi; docs/mpi.md).

usage: mpi_tests.py ATTNFLOW ATTNFLOW_MPI MPIEXEC SOURCE_DIR TEST

TEST is one of:
  sweep          a small sweep (GLPR's phase diagram, shortened) on 1, 2, 3 and 4 ranks writes
                 a sweep file whose every dataset equals the serial one bit for bit (the systems
                 are spread over the ranks with their own seeds)
  check_sweep    `attnflow-mpi check` of ensemble claims on 3 ranks: the serial PASS lines
  glpr_claims    the GLPR claim scenarios (single runs) pass under 4 ranks, and each one's
                 '# ci: broken' variant fails (exit 1): the claims still tell a wrong model
  refused        a model or integrator without a distributed path: exit 2 at validation with
                 file:line:col and the reason, before any file is created
  blowup         x' = x^3 spread over 3 ranks: exit 3 naming the step and time on every rank
  sigint         SIGINT to mpirun stops a long 2-rank run within 1 s of the signal (exit 130)
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")
import h5py
import numpy as np

ATTNFLOW, ATTNFLOW_MPI, MPIEXEC, SRC, TEST = sys.argv[1:6]
TMP = tempfile.mkdtemp(prefix="attnflow-mpi-test-")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMP_NUM_THREADS="1", OMPI_MCA_rmaps_base_oversubscribe="1")


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def mpirun(p, args, timeout=600, cwd=TMP):
    r = subprocess.run([MPIEXEC, "-n", str(p), ATTNFLOW_MPI] + args, cwd=cwd, env=ENV,
                       capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def serial(args, timeout=600, cwd=TMP):
    r = subprocess.run([ATTNFLOW] + args, cwd=cwd, env=ENV, capture_output=True, text=True,
                       timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def datasets(path):
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
    return out


def scenario(name):
    return os.path.join(SRC, "scenarios", name + ".toml")


SWEEP_SET = ["--set", "sweep.model.beta.count=3", "--set", "ensemble.size=40"]


def test_sweep():
    rc, so, se = serial(["run", scenario("glpr_phase_diagram"), "-o", "serial.h5", "-q"] + SWEEP_SET)
    if rc:
        fail(f"serial sweep: exit {rc}: {se}")
    ref = datasets(f"{TMP}/serial.h5")
    for p in (1, 2, 3, 4):
        rc, so, se = mpirun(p, ["run", scenario("glpr_phase_diagram"), "-o", f"mpi{p}.h5", "-q"] + SWEEP_SET)
        if rc:
            fail(f"{p} ranks: exit {rc}: {se}")
        got = datasets(f"{TMP}/mpi{p}.h5")
        if sorted(got) != sorted(ref):
            fail(f"{p} ranks: datasets {sorted(got)} != serial {sorted(ref)}")
        for name, v in ref.items():
            w = got[name]
            if v.dtype.kind in "fiu" and not np.array_equal(v, w):
                fail(f"{p} ranks: /{name} differs from the serial sweep")
        print(f"{p} ranks: {len(ref)} datasets bit-identical to the serial sweep")


def claim_lines(out):
    return sorted(l.split(":")[0] + ":" + l.split(":", 2)[2].split("=")[0]
                  for l in out.splitlines() if l.startswith(("PASS", "FAIL")))


def test_check_sweep():
    args = ["check", scenario("glpr_phase_diagram"), "--quiet"] + SWEEP_SET
    rc0, so0, se0 = serial(args)
    rc, so, se = mpirun(3, args)
    print(so)
    if rc0 != 0 or rc != 0:
        fail(f"serial exit {rc0}, 3 ranks exit {rc}: {se0} {se}")
    if so != so0:
        fail(f"the PASS/FAIL lines differ:\nserial:\n{so0}\n3 ranks:\n{so}")
    if so.count("PASS") < 1:
        fail("no claim was checked")


GLPR = ["glpr_consensus_rate_sa", "glpr_consensus_rate_usa", "glpr_equiangular_sa",
        "glpr_equiangular_usa", "glpr_cone_collapse", "glpr_usa_energy_ascent"]


def broken_set(path):
    for line in open(path):
        m = re.match(r"# ci: broken = (.*)", line.strip())
        if m:
            return m.group(1)
    return None


def test_glpr_claims():
    for name in GLPR:
        t0 = time.time()
        rc, so, se = mpirun(4, ["check", scenario(name), "--quiet"])
        print(f"{name}, 4 ranks: exit {rc} ({time.time() - t0:.1f} s)\n{so}")
        if rc != 0 or "FAIL" in so or "PASS" not in so:
            fail(f"{name} under 4 ranks: exit {rc}\n{so}\n{se}")
        broken = broken_set(scenario(name))
        if broken:
            rc, so, se = mpirun(4, ["check", scenario(name), "--quiet", "--overwrite", "--set", broken])
            print(f"  broken variant ({broken}): exit {rc}")
            if rc != 1 or "FAIL" not in so:
                fail(f"{name} with {broken} under 4 ranks: exit {rc}, expected a failed claim\n{so}\n{se}")


def test_refused():
    cases = [
        (["run", scenario("poly_fc1_tree")], r"poly_fc1_tree\.toml:\d+:\d+: .*no distributed path"),
        (["run", scenario("kuramoto_ssa_adler_pairs")], r"kuramoto_ssa_adler_pairs\.toml:\d+:\d+: .*no distributed path"),
        (["run", scenario("quickstart"), "--set", "integrator.kind=dopri5"],
         r"--set integrator\.kind=dopri5: .*dopri5.* is adaptive"),
    ]
    for args, pattern in cases:
        before = set(os.listdir(TMP))
        rc, so, se = mpirun(2, args + ["-o", "refused.h5"])
        print(args, "->", rc, se.strip())
        if rc != 2 or not re.search(pattern, se):
            fail(f"{args}: exit {rc}, expected 2 and /{pattern}/:\n{se}")
        if set(os.listdir(TMP)) != before:
            fail(f"{args}: files were created: {set(os.listdir(TMP)) - before}")


def test_blowup():
    # Linear attention on R^1: x_i' = m2 x_i with m2 = (1/N) sum_j x_j^2, which blows up in
    # finite time; 3 tokens, one per rank, so the ranks must agree on where it stops.
    path = f"{TMP}/blowup.toml"
    open(path, "w").write("""
[run]
name = "blowup"
output = "blowup.h5"
[tokens]
n = 3
d = 1
space = "euclidean"
init = "values"
values = [[1.0], [0.5], [0.25]]
[model]
kind = "linear_attention"
[integrator]
kind = "rk4"
dt = 0.001
t_end = 4.0
""")
    rc0, so0, se0 = serial(["run", path, "--quiet"])
    rc, so, se = mpirun(3, ["run", path, "--quiet", "-o", "blowup3.h5"])
    print("serial:", rc0, se0.strip(), "\n3 ranks:", rc, se.strip())
    if rc != 3 or not re.search(r"non-finite state at step \d+, t = \d\.\d+", se):
        fail(f"3 ranks: exit {rc}, expected 3 naming the step and time:\n{se}")
    step = lambda s: re.search(r"step (\d+)", s).group(1)
    if rc0 != 3 or step(se0) != step(se):
        fail(f"the serial run stops at step {step(se0)}, the distributed one at {step(se)}")


def test_sigint():
    # One frame per step (~0.1 s on 2 ranks): frames reach the file at once.
    path = f"{TMP}/long.toml"
    open(path, "w").write("""
[run]
name = "long"
output = "long.h5"
frames = 10001
[tokens]
n = 2000
d = 3
space = "sphere"
[model]
kind = "attention"
beta = 1.0
[integrator]
kind = "rk4"
dt = 0.01
t_end = 100.0
""")
    proc = subprocess.Popen([MPIEXEC, "-n", "2", ATTNFLOW_MPI, "run", path, "--quiet"], cwd=TMP,
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not os.path.exists(f"{TMP}/long.h5") and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    # SIGINT to one rank only (as a scheduler or `kill -INT` would): the ranks agree on it before
    # the next step and all stop there. (Ctrl-C on mpirun itself reaches the ranks as SIGTERM:
    # Open MPI 4.1 forwards SIGINT as SIGTERM, then SIGKILLs after 1 s; docs/mpi.md 4.)
    ranks = [int(p) for p in subprocess.run(["pgrep", "-f", f"attnflow-mpi run {path}"],
                                            capture_output=True, text=True).stdout.split()
             if int(p) != proc.pid]
    if len(ranks) != 2:
        fail(f"expected 2 rank processes, found {ranks}")
    def alive(pid):  # a rank that has exited is a zombie until mpirun reaps it
        try:
            return open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0] != "Z"
        except OSError:
            return False

    t0 = time.time()
    os.kill(max(ranks), signal.SIGINT)
    while any(alive(p) for p in ranks) and time.time() - t0 < 30:
        time.sleep(0.005)
    dt = time.time() - t0
    so, se = proc.communicate(timeout=60)
    print(f"every rank exited {dt:.3f} s after SIGINT to one rank; mpirun: exit {proc.returncode} "
          f"after {time.time() - t0:.2f} s\n{se}")
    if proc.returncode != 130 or "stopped by signal 2" not in se:
        fail(f"exit {proc.returncode}, expected 130 and 'stopped by signal 2'")
    if dt > 1.0:
        fail(f"the ranks stopped {dt:.2f} s after SIGINT (more than 1 s)")
    with h5py.File(f"{TMP}/long.h5", "r") as f:
        x = f["particles/tokens/position/value"][()]
        if x.shape[0] < 2 or not np.isfinite(x).all():
            fail(f"the file after SIGINT holds {x.shape[0]} frames")
        print(f"{x.shape[0]} frames, complete = {f['parameters'].attrs['complete']}")


TESTS = {k[5:]: v for k, v in globals().items() if k.startswith("test_")}
if TEST not in TESTS:
    fail(f"unknown test {TEST}; one of {sorted(TESTS)}")
TESTS[TEST]()
print("ok:", TEST)
