"""Ctrl-C: a real SIGINT to a real /usr/bin/python3 process (and Jupyter's "interrupt kernel")
stops run(), Simulator.step() and a long kernel call within 1 s with KeyboardInterrupt; output
files are closed and readable; the interpreter keeps working."""
import os
import signal
import subprocess
import textwrap
import time

import h5py
import numpy as np
import pytest

import attnflow

PYTHON = "/usr/bin/python3"
LATENCY = 1.0  # seconds from the signal to KeyboardInterrupt in Python

# Long runs: N = 2048 (a step is milliseconds: tests "within one step"), and N = 65536, where one
# right-hand side takes seconds (tests "within one block of a long step").
LONG = """
[run]
name = "long"
seed = 1
frames = 2001
[tokens]
n = {n}
d = 3
space = "sphere"
[model]
kind = "attention"
[integrator]
kind = "rk4"
dt = 0.01
t_end = 100.0
[observe]
quantities = ["mean_cosine"]
"""

CHILD = textwrap.dedent("""
    import sys, time, attnflow, numpy as np
    what, n, out, first = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    sc = attnflow.load(sys.stdin.read())
    def started(t, frame):
        if frame.index == first:
            print("started", flush=True)
    try:
        if what == "run":
            attnflow.run(sc, output=out, on_frame=started)
        elif what == "ensemble":
            print("started", flush=True)
            attnflow.run_ensemble(sc, output=out)
        elif what == "memory":
            attnflow.run(sc, on_frame=started)
        elif what == "step":
            sim = attnflow.Simulator(sc)
            sim.step(3)
            x0 = sim.positions.copy()
            print("started", flush=True)
            try:
                sim.step(10**6)
            except KeyboardInterrupt:
                stamp = time.monotonic()
                assert sim.t == 3 * sc.dt and sim.steps == 3, (sim.t, sim.steps)
                assert np.array_equal(sim.positions, x0)
                sim.step(1)                    # still usable
                print("KeyboardInterrupt", stamp, "state kept", flush=True)
                sys.exit(0)
        elif what == "kernel":
            X = np.random.default_rng(0).normal(size=(n, 3))
            print("started", flush=True)
            for _ in range(100):
                attnflow.attention_rhs(X)
    except KeyboardInterrupt as e:
        stamp = time.monotonic()
        r = getattr(e, "result", None)
        if isinstance(r, attnflow.EnsembleResult):
            info = [r.summary.points_done, int(r.done.sum()), r.output]
        elif r is not None:
            info = [r.summary.frames, r.summary.kept, r.output, len(r.positions)]
        else:
            info = []
        print("KeyboardInterrupt", stamp, *info, flush=True)
        # the interpreter is fine: run something small afterwards
        attnflow.attention_rhs(np.eye(3))
        sys.exit(0)
    print("finished without interruption", flush=True)
    sys.exit(1)
""")


def interrupt_child(tmp_path, what, n, delay, first=0, text=None, wait_for_file=False):
    out = tmp_path / f"{what}.h5"
    p = subprocess.Popen([PYTHON, "-c", CHILD, what, str(n), str(out), str(first)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    p.stdin.write(text or LONG.format(n=n))
    p.stdin.close()
    try:
        line = p.stdout.readline()
        assert line.strip() == "started", line + p.stderr.read()
        if wait_for_file:                      # a sweep file appears with its first grid point
            deadline = time.monotonic() + 120
            while not out.exists() and time.monotonic() < deadline and p.poll() is None:
                time.sleep(0.01)
        time.sleep(delay)
        sent = time.monotonic()
        p.send_signal(signal.SIGINT)
        line = p.stdout.readline().split()
        assert p.wait(timeout=30) == 0, p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
    assert line and line[0] == "KeyboardInterrupt", line
    latency = float(line[1]) - sent
    return latency, line[2:], out


def test_sigint_stops_run_within_a_second_and_the_file_is_readable(tmp_path):
    # N = 2048, a step takes milliseconds: "within one step". Interrupted after frame 2, so the
    # file has been committed (sim/io/output_claim.hpp): closed, readable, every frame complete.
    latency, rest, out = interrupt_child(tmp_path, "run", 2048, 0.5, first=2)
    print(f"run(), N = 2048: KeyboardInterrupt {latency * 1000:.0f} ms after SIGINT")
    assert latency < LATENCY
    frames, kept, output, held = int(rest[0]), rest[1], rest[2], int(rest[3])
    assert kept == "False" and output == str(out) and frames >= 3
    with h5py.File(out, "r") as f:
        pos = f["/particles/tokens/position/value"]
        assert pos.shape[0] == frames == held
        assert np.isfinite(pos[:]).all()
        assert f["/parameters"].attrs["complete"] == 0
    assert not (tmp_path / "run.h5.part").exists()


def test_sigint_in_the_first_long_step_writes_nothing_and_keeps_an_earlier_file(tmp_path):
    # N = 65536: one right-hand side takes seconds ("within one block of a long step"). Stopped
    # before its first computed frame, the run writes no file and an earlier file at the output
    # path stays as it was (the command line's output policy).
    (tmp_path / "run.h5").write_bytes(b"an earlier result")
    latency, rest, out = interrupt_child(tmp_path, "run", 65536, 0.7, first=0)
    print(f"run(), N = 65536: KeyboardInterrupt {latency * 1000:.0f} ms after SIGINT")
    assert latency < LATENCY
    frames, kept, output, held = int(rest[0]), rest[1], rest[2], int(rest[3])
    assert kept == "True" and output == "None" and frames == held == 1   # frame 0, in memory
    assert out.read_bytes() == b"an earlier result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.h5"]   # no .part, no backup


ENSEMBLE = """
[run]
seed = 2
frames = 11
[tokens]
n = 64
d = 3
space = "sphere"
[model]
kind = "attention"
[integrator]
kind = "rk4"
dt = 0.01
t_end = 20.0
[ensemble]
size = 64
statistics = ["clusters"]
[[sweep]]
key = "model.beta"
values = [1.0, 2.0, 4.0, 8.0]
"""


def test_sigint_stops_an_ensemble_and_keeps_the_finished_grid_points(tmp_path):
    # 64 systems of 2000 steps per grid point (seconds a point). Interrupted during the second
    # point: every system stops within a step, the finished point is in the result and in the
    # sweep file, which is closed and readable.
    latency, rest, out = interrupt_child(tmp_path, "ensemble", 0, 0.2, text=ENSEMBLE,
                                         wait_for_file=True)
    print(f"run_ensemble(): KeyboardInterrupt {latency * 1000:.0f} ms after SIGINT, {rest}")
    assert latency < LATENCY
    points, done, output = int(rest[0]), int(rest[1]), rest[2]
    assert 1 <= points == done < 4 and output == str(out)
    back = attnflow.read_sweep(out)
    assert back.done.tolist() == [True] * points + [False] * (4 - points)
    assert np.isfinite(back["clusters"].values[:points]).all()
    assert ((back["clusters"].values[:points] >= 1) & (back["clusters"].values[:points] <= 64)).all()


def test_sigint_stops_an_in_memory_run(tmp_path):
    latency, _, out = interrupt_child(tmp_path, "memory", 2048, 0.3)
    assert latency < LATENCY and not out.exists()


def test_sigint_stops_simulator_step_and_keeps_its_state(tmp_path):
    latency, rest, _ = interrupt_child(tmp_path, "step", 2048, 0.3)
    assert latency < LATENCY and rest == ["state", "kept"]


def test_sigint_stops_a_long_kernel_call(tmp_path):
    latency, _, _ = interrupt_child(tmp_path, "kernel", 65536, 0.7)
    assert latency < LATENCY


def test_python_sigint_handling_is_restored_after_a_run():
    code = textwrap.dedent("""
        import os, signal, time, attnflow
        attnflow.run(attnflow.load(open(os.environ["QS"]).read(), name=os.environ["QS"]))
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt:
            print("python handler ok")
    """)
    qs = os.path.join(os.environ.get("ATTNFLOW_SOURCE_DIR", "."), "scenarios", "quickstart.toml")
    r = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "QS": qs})
    assert r.returncode == 0 and "python handler ok" in r.stdout, r.stderr


def test_jupyter_interrupt_kernel(tmp_path):
    jc = pytest.importorskip("jupyter_client", reason="python3-jupyter-client not installed")
    pytest.importorskip("ipykernel", reason="python3-ipykernel not installed")
    km = jc.KernelManager(kernel_name="python3")
    km.start_kernel(env={**os.environ}, cwd=str(tmp_path))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        out = tmp_path / "nb.h5"
        # 'started' once the file is committed (frame 2; sim/io/output_claim.hpp)
        code = (f"import attnflow\nsc = attnflow.load({LONG.format(n=2048)!r})\n"
                "def started(t, frame):\n"
                "    if frame.index == 2:\n"
                "        print('started', flush=True)\n"
                f"res = attnflow.run(sc, output={str(out)!r}, on_frame=started)\n")
        msg_id = kc.execute(code)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:               # wait until the run is going
            msg = kc.get_iopub_msg(timeout=60)
            if msg["msg_type"] == "stream" and "started" in msg["content"]["text"]:
                break
        time.sleep(0.5)
        sent = time.monotonic()
        km.interrupt_kernel()
        while True:                                      # skip replies to earlier requests
            reply = kc.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        latency = time.monotonic() - sent
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        print(f"Jupyter interrupt: reply {latency * 1000:.0f} ms after interrupt_kernel()")
        assert latency < LATENCY
        with h5py.File(out, "r") as f:
            assert f["/particles/tokens/position/value"].shape[0] >= 3
        # The kernel survives. (ipykernel aborts requests queued just after an error, so retry.)
        for _ in range(5):
            time.sleep(0.5)
            again = kc.execute("x = attnflow.attention_rhs([[1.0, 0.0], [0.0, 1.0]])")
            while True:
                reply = kc.get_shell_msg(timeout=30)
                if reply["parent_header"].get("msg_id") == again:
                    break
            if reply["content"]["status"] != "aborted":
                break
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
