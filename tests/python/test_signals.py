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
t_end = 1000.0
[observe]
quantities = ["mean_cosine"]
"""

CHILD = textwrap.dedent("""
    import sys, time, attnflow, numpy as np
    what, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sc = attnflow.load(sys.stdin.read())
    def started(t, frame):
        if frame.index == 0:
            print("started", flush=True)
    try:
        if what == "run":
            attnflow.run(sc, output=out, on_frame=started)
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
        frames = e.result.summary.frames if hasattr(e, "result") else -1
        print("KeyboardInterrupt", stamp, frames, flush=True)
        # the interpreter is fine: run something small afterwards
        attnflow.attention_rhs(np.eye(3))
        sys.exit(0)
    print("finished without interruption", flush=True)
    sys.exit(1)
""")


def interrupt_child(tmp_path, what, n, delay):
    out = tmp_path / f"{what}.h5"
    p = subprocess.Popen([PYTHON, "-c", CHILD, what, str(n), str(out)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    p.stdin.write(LONG.format(n=n))
    p.stdin.close()
    try:
        line = p.stdout.readline()
        assert line.strip() == "started", line + p.stderr.read()
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


@pytest.mark.parametrize("n,delay", [(2048, 0.5), (65536, 0.7)], ids=["short_steps", "long_step"])
def test_sigint_stops_run_within_a_second_and_the_file_is_readable(tmp_path, n, delay):
    latency, rest, out = interrupt_child(tmp_path, "run", n, delay)
    print(f"run(), N = {n}: KeyboardInterrupt {latency * 1000:.0f} ms after SIGINT")
    assert latency < LATENCY
    frames = int(rest[0])
    with h5py.File(out, "r") as f:                 # closed, readable, every frame complete
        pos = f["/particles/tokens/position/value"]
        assert pos.shape[0] == frames >= 1
        assert np.isfinite(pos[:]).all()
        assert f["/parameters"].attrs["complete"] == 0


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
        code = (f"import attnflow\nsc = attnflow.load({LONG.format(n=2048)!r})\n"
                f"print('started', flush=True)\nres = attnflow.run(sc, output={str(out)!r})\n")
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
            assert f["/particles/tokens/position/value"].shape[0] >= 1
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
