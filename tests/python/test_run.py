"""Scenarios, runs, the Simulator, errors: attnflow.load / run / Simulator from Python."""
import subprocess

import h5py
import numpy as np
import pytest

import attnflow
from conftest import sphere_tokens

SECOND_ORDER = """
[run]
seed = 3
frames = 11
[tokens]
n = 24
d = 3
momentum = "gaussian"
[model]
kind = "accelerated_attention"
A = [[0.5, 0.1, 0.0], [0.1, 0.4, 0.0], [0.0, 0.0, 0.3]]
damping = "constant"
[integrator]
kind = "rk4"
dt = 0.05
t_end = 1.0
[observe]
quantities = ["hamiltonian", "energy"]
"""

KURAMOTO = """
[run]
seed = 5
frames = 21
[tokens]
n = 100
d = 1
[model]
kind = "kuramoto"
coupling = 2.0
frequencies = "lorentzian"
gamma = 0.5
[integrator]
kind = "rk4"
dt = 0.05
t_end = 2.0
[observe]
quantities = ["order_parameter"]
"""


def read_h5(path, momenta=False, phases=False):
    with h5py.File(path, "r") as f:
        out = {"positions": f["/particles/tokens/position/value"][:],
               "times": f["/particles/tokens/position/time"][:],
               "steps": f["/particles/tokens/position/step"][:],
               "observables": {k: f[f"/observables/{k}/value"][:] for k in f["/observables"]}}
        if momenta:
            out["momenta"] = f["/particles/tokens/momentum/value"][:]
        if phases:
            out["phases"] = f["/particles/tokens/phase/value"][:]
        return out


def assert_same_frames(res, ref):
    assert np.array_equal(res.positions, ref["positions"])    # bit for bit
    assert np.array_equal(res.times, ref["times"])
    assert np.array_equal(res.steps, ref["steps"])
    assert res.observables.keys() == ref["observables"].keys()
    for k, v in ref["observables"].items():
        assert np.array_equal(res.observables[k], v), k


# --- run() in memory equals the HDF5 file -------------------------------------------------------

def test_run_in_memory_equals_the_cli_file_bit_for_bit(quickstart, cli, tmp_path):
    res = attnflow.run(quickstart)
    assert res.output is None and res.positions.shape == (151, 64, 3)
    assert not list(tmp_path.iterdir())
    out = tmp_path / "cli.h5"
    subprocess.run([cli, "run", str(quickstart), "-o", str(out), "--quiet"], check=True)
    assert_same_frames(res, read_h5(out))


def test_run_in_memory_equals_its_own_file(quickstart, tmp_path):
    mem = attnflow.run(quickstart)
    out = tmp_path / "py.h5"
    filed = attnflow.run(quickstart, output=out)
    assert filed.output == str(out) and (tmp_path / "py.xdmf2").exists()
    assert_same_frames(mem, read_h5(out))
    assert np.array_equal(filed.positions, mem.positions)     # read back from the file
    assert filed.summary.frames == 151 and not filed.summary.stopped


@pytest.mark.parametrize("text,momenta,phases", [(SECOND_ORDER, True, False), (KURAMOTO, False, True)],
                         ids=["momenta", "phases"])
def test_momenta_and_phases_equal_the_file(text, momenta, phases, tmp_path):
    sc = attnflow.load(text)
    mem = attnflow.run(sc)
    out = tmp_path / "run.h5"
    attnflow.run(sc, output=out)
    ref = read_h5(out, momenta, phases)
    assert_same_frames(mem, ref)
    if momenta:
        assert mem.momenta.shape == mem.positions.shape
        assert np.array_equal(mem.momenta, ref["momenta"])
        assert mem.phases is None
    if phases:
        assert mem.phases.shape == (21, 100) and mem.momenta is None
        assert np.array_equal(mem.phases, ref["phases"])


def test_simulator_through_the_frame_times_reproduces_run(quickstart):
    sc = attnflow.load(quickstart)
    res = attnflow.run(sc)
    sim = attnflow.Simulator(sc)
    for k, t in enumerate(sc.frame_times):
        sim.advance_to(t)
        assert np.array_equal(sim.positions, res.positions[k])
        assert sim.steps == res.steps[k]
        obs = sim.observables()
        for name in sc.observables:
            assert obs[name] == res.observables[name][k]
    assert sim.rhs_evals == res.summary.rhs_evals and sim.oracle_calls == res.summary.oracle_calls


def test_simulator_step_and_counters(quickstart):
    sim = attnflow.Simulator(quickstart, integrator__dt=0.05)
    assert sim.t == 0 and sim.steps == 0 and sim.dt == 0.05
    sim.step()
    sim.step(9)
    assert sim.steps == 10 and sim.t == pytest.approx(0.5, abs=1e-14)
    assert sim.counters == {"steps": 10, "rejected": 0, "rhs_evals": 40, "oracle_calls": 40}
    with pytest.raises(ValueError, match="before the current time"):
        sim.advance_to(0.1)
    sim.set_state(positions=2 * sim.positions)              # normalised back onto the sphere
    assert np.allclose(np.linalg.norm(sim.positions, axis=1), 1.0)
    with pytest.raises(ValueError, match="has no momenta"):
        sim.set_state(momenta=np.zeros((64, 3)))


def test_second_order_simulator_views():
    sim = attnflow.Simulator(SECOND_ORDER)
    assert sim.momenta.shape == (24, 3) and not sim.momenta.flags.writeable
    dx, dy = sim.rhs()
    assert dx.shape == dy.shape == (24, 3)
    sim.step(3)
    assert sim.steps == 3


# --- on_frame and progress -------------------------------------------------------------------

def test_on_frame_sees_every_frame_and_can_stop(quickstart, tmp_path):
    seen = []

    def on_frame(t, frame):
        seen.append((t, frame.index, frame.step, frame.positions, dict(frame.observables)))
        return frame.observables["diameter"] < 1.0      # stop once the cloud has shrunk

    out = tmp_path / "stopped.h5"
    res = attnflow.run(quickstart, output=out, on_frame=on_frame)
    assert res.summary.stopped and 1 < len(res) < 151
    assert len(seen) == len(res) == res.summary.frames
    assert seen[-1][4]["diameter"] < 1.0 and all(s[4]["diameter"] >= 1.0 for s in seen[:-1])
    ref = read_h5(out)                                  # the file holds the same frames, closed
    assert ref["positions"].shape[0] == len(res)
    assert np.array_equal(np.stack([s[3] for s in seen]), ref["positions"])
    with h5py.File(out, "r") as f:
        assert f["/parameters"].attrs["complete"] == 0
    mem = attnflow.run(quickstart, on_frame=lambda t, fr: fr.index == 4)
    assert len(mem) == 5 and mem.positions.shape == (5, 64, 3)


def test_on_frame_stop_iteration_and_exceptions(quickstart, tmp_path):
    def stop(t, frame):
        if frame.index == 2:
            raise StopIteration
    assert len(attnflow.run(quickstart, on_frame=stop)) == 3

    def boom(t, frame):
        if frame.index == 3:
            raise RuntimeError("user code failed")
    out = tmp_path / "boom.h5"
    with pytest.raises(RuntimeError, match="user code failed"):
        attnflow.run(quickstart, output=out, on_frame=boom)
    assert read_h5(out)["positions"].shape[0] == 4      # closed and readable


def test_progress_bar_only_when_asked(quickstart, capsys):
    attnflow.run(quickstart)
    assert capsys.readouterr().err == ""
    attnflow.run(quickstart, progress=True)
    err = capsys.readouterr().err
    assert "100%" in err and "\r[" in err and err.endswith("\n")


# --- scenarios from arrays, matrices from files ---------------------------------------------------

def test_from_arrays_arrive_bit_for_bit(rng):
    # Awkward doubles: tiny, huge, negative zero, many digits.
    X = rng.normal(size=(16, 4)) * np.exp(rng.uniform(-30, 30, size=(16, 4)))
    X[0, 0] = -0.0
    X[1, 1] = 5e-324                                   # the smallest subnormal
    X[2, 2] = 1.7976931348623157e308
    Q = rng.normal(size=(4, 4)) / 3
    sim = attnflow.Simulator.from_arrays(X, Q=Q, beta=0.0, dt=0.1)
    assert np.array_equal(sim.positions, X) and np.signbit(sim.positions[0, 0])
    # The matrix: identical right-hand side to the function given the same array.
    sim2 = attnflow.Simulator.from_arrays(sphere_tokens(rng, 16, 4), sphere=True, Q=Q, K=Q.T, beta=1.0)
    x = sim2.positions.copy()
    assert np.array_equal(sim2.rhs(), attnflow.attention_rhs(x, Q, Q.T, None, beta=1.0, sphere=True))
    # float32 arrays arrive as the same float32 values
    X32 = rng.normal(size=(8, 3)).astype(np.float32)
    assert np.array_equal(attnflow.Simulator.from_arrays(X32).positions, X32.astype(np.float64))


def test_from_arrays_scenario_is_a_full_scenario(rng, tmp_path):
    X = sphere_tokens(rng, 20, 3)
    sc = attnflow.from_arrays(X, sphere=True, V=0.5 * np.eye(3), t_end=1.0, frames=11,
                              observe=["mean_cosine"], name="collapse")
    assert sc.n == 20 and sc.d == 3 and sc.space == "sphere" and sc.model == "attention"
    assert "init = \"values\"" in sc.source and len(sc.frame_times) == 11
    res = attnflow.run(sc, output=tmp_path / "collapse.h5")
    assert res.observables["mean_cosine"][-1] > res.observables["mean_cosine"][0]  # clustering
    with h5py.File(tmp_path / "collapse.h5", "r") as f:                      # reproducible
        stored = f["/parameters/scenario"][()].decode()
    again = attnflow.run(attnflow.load(stored))
    assert np.array_equal(again.positions, res.positions)


def test_load_x0_and_overrides(quickstart, rng):
    X = sphere_tokens(rng, 10, 3)
    sc = attnflow.load(quickstart, x0=X, model={"beta": 2.0, "V": np.eye(3) * 0.5},
                       **{"integrator.dt": 0.05})
    assert sc.n == 10 and sc.dt == 0.05 and sc.values["model.beta"] == "2.0"
    assert np.allclose(attnflow.Simulator(sc).positions, X, atol=1e-15)
    sc2 = sc.replace(integrator__t_end=1.0, run__frames=11)
    assert sc2.t_end == 1.0 and sc2.dt == 0.05 and sc.t_end == 15.0
    assert attnflow.load(sc) is sc


def test_matrices_from_npy_and_hdf5_files(rng, tmp_path):
    Q = rng.normal(size=(3, 3))
    np.save(tmp_path / "q.npy", Q)
    np.save(tmp_path / "qf.npy", np.asfortranarray(Q))
    np.save(tmp_path / "q32.npy", Q.astype(np.float32))
    with h5py.File(tmp_path / "w.h5", "w") as f:
        f["/l0/Wq"] = Q
    X = sphere_tokens(rng, 12, 3)
    ref = attnflow.Simulator.from_arrays(X, sphere=True, Q=Q).rhs()
    for q in ({"file": str(tmp_path / "q.npy")}, {"file": str(tmp_path / "qf.npy")},
              {"file": str(tmp_path / "w.h5"), "dataset": "/l0/Wq"}):
        sc = attnflow.from_arrays(X, sphere=True, Q=q)
        assert np.array_equal(attnflow.Simulator(sc).rhs(), ref), q
        assert q["file"] in sc.inputs
    # relative paths resolve against the scenario file's folder
    (tmp_path / "s.toml").write_text(
        '[tokens]\nn = 12\nd = 3\nspace = "sphere"\n[model]\nkind = "attention"\n'
        'Q = { file = "q.npy" }\n[integrator]\nt_end = 1.0\n')
    assert attnflow.load(tmp_path / "s.toml").inputs == [str(tmp_path / "q.npy")]
    # located errors for shape and dtype
    np.save(tmp_path / "q4.npy", np.eye(4))
    np.save(tmp_path / "qi.npy", np.eye(3, dtype=np.int64))
    for name, words in [("q4.npy", "must be a 3 x 3 matrix"), ("qi.npy", "dtype '<i8' is not supported")]:
        with pytest.raises(attnflow.ConfigError) as e:
            attnflow.from_arrays(X, Q={"file": str(tmp_path / name)})
        assert e.value.file == "arrays.toml" and e.value.line > 0 and words in e.value.message


# --- errors ---------------------------------------------------------------------------------------

def test_config_error_carries_the_location(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text('[tokens]\nn = 8\nd = 3\n[model]\nkind = "attention"\n'
                      '[integrator]\nkind = "rk4"\ndt = -0.1\nt_end = 1.0\n')
    with pytest.raises(attnflow.ConfigError) as e:
        attnflow.load(broken)
    err = e.value
    assert isinstance(err, ValueError) and isinstance(err, attnflow.Error) and err.exit_code == 2
    assert (err.file, err.line, err.column) == (str(broken), 8, 6)
    assert err.message == "integrator.dt must be > 0 (got -0.1)"
    assert str(err) == f"{broken}:8:6: integrator.dt must be > 0 (got -0.1)"
    # syntax errors, unknown keys, text scenarios, overrides
    with pytest.raises(attnflow.ConfigError) as e:
        attnflow.load("[tokens]\nn = 8\nd = = 3\n")
    assert (e.value.file, e.value.line) == ("text.toml", 3) and "syntax error" in e.value.message
    with pytest.raises(attnflow.ConfigError) as e:
        attnflow.load(broken.read_text().replace("dt = -0.1", "dtt = 0.1"), name="mine.toml")
    assert e.value.file == "mine.toml" and "did you mean 'dt'?" in e.value.message
    with pytest.raises(attnflow.ConfigError) as e:
        attnflow.load(broken, integrator__dt=0.1, model__beta=-1.0)
    assert e.value.override == "model.beta=-1.0" and e.value.file is None
    assert "model.beta must be >= 0" in e.value.message
    with pytest.raises(attnflow.ConfigError) as e:
        attnflow.load(tmp_path / "missing.toml")
    assert "no such file" in str(e.value)
    with pytest.raises(TypeError, match="section.key"):
        attnflow.load(broken, dt=0.1)


def test_numerical_errors_and_the_interpreter_survives(quickstart):
    blowup = attnflow.load(quickstart, model={"normalization": "mean", "beta": 700.0},
                           tokens={"space": "euclidean", "init": "gaussian"})
    with pytest.raises(attnflow.NumericalError) as e:
        attnflow.run(blowup)
    assert isinstance(e.value, ArithmeticError) and e.value.exit_code == 3
    assert "non-finite" in str(e.value) or "is inf" in str(e.value) or "nan" in str(e.value).lower()
    # A Simulator that fails is left as it was.
    sim = attnflow.Simulator(blowup)
    x0 = sim.positions.copy()
    with pytest.raises(attnflow.NumericalError):
        sim.step(50)
    assert sim.t == 0 and sim.steps == 0 and np.array_equal(sim.positions, x0)


def test_output_error_in_a_missing_place(quickstart, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises((attnflow.OutputError, attnflow.ConfigError)) as e:
        attnflow.run(quickstart, output=tmp_path / "file" / "x.h5")
    assert e.value.exit_code in (2, 4) and "x.h5" in str(e.value)
    if isinstance(e.value, attnflow.OutputError):
        assert isinstance(e.value, OSError)
    assert attnflow.run(quickstart, integrator__t_end=1.0, run__frames=11).summary.frames == 11


def test_an_existing_output_is_kept_as_a_backup_or_overwritten(quickstart, tmp_path):
    out = tmp_path / "run.h5"
    first = attnflow.run(quickstart, output=out, integrator__t_end=1.0, run__frames=11)
    assert first.summary.backup is None and not first.summary.kept
    mem = attnflow.run(quickstart, integrator__t_end=1.0, run__frames=11)
    second = attnflow.run(quickstart, output=out, integrator__t_end=2.0, run__frames=11)
    assert second.summary.backup == str(tmp_path / "#run.h5.1#")
    with h5py.File(second.summary.backup, "r") as f:          # the first run, intact
        assert np.array_equal(f["/particles/tokens/position/value"][()], mem.positions)
    with pytest.raises(attnflow.OutputError, match="moved or replaced"):
        first.positions                                      # never read from the second run
    assert read_h5(out)["times"][-1] == 2.0
    third = attnflow.run(quickstart, output=out, overwrite=True, integrator__t_end=3.0, run__frames=11)
    assert third.summary.backup is None and read_h5(out)["times"][-1] == 3.0
    assert not (tmp_path / "#run.h5.2#").exists()
    # the scenario's own input is never written over
    x0 = tmp_path / "x0.npy"
    np.save(x0, sphere_tokens(np.random.default_rng(1), 8, 3))
    sc = attnflow.load(quickstart, tokens={"init": "file", "path": str(x0), "n": 8})
    with pytest.raises(attnflow.ConfigError, match="input of this run"):
        attnflow.run(sc, output=x0)


def test_registries_and_docstrings():
    assert "attention" in attnflow.models() and "rk4" in attnflow.integrators()
    for f in (attnflow.run, attnflow.load, attnflow.from_arrays, attnflow.attention_rhs,
              attnflow.Simulator, attnflow.Simulator.step, attnflow.kuramoto_rhs,
              attnflow.run_ensemble, attnflow.read_sweep, attnflow.EnsembleResult):
        assert f.__doc__ and len(f.__doc__) > 80, f
    assert "on_frame" in attnflow.run.__doc__ and "KeyboardInterrupt" in attnflow.run.__doc__


def test_the_readme_python_example_runs(source_dir, monkeypatch, capsys):
    text = (source_dir / "README.md").read_text()
    section = text[text.index("## Python"):]
    code = section[section.index("```python") + len("```python"):]
    code = code[:code.index("```")]
    monkeypatch.chdir(source_dir)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "(151, 64, 3)" in out and "integrator.dt must be > 0" in out
    assert "[1. 4. 9.]" in out                                # the ensemble over three betas


def test_every_shipped_scenario_loads_and_steps_from_python(source_dir):
    """Every model kind and integrator of scenarios/ works through the Simulator (N <= 4096)."""
    kinds = set()
    for path in sorted((source_dir / "scenarios").glob("*.toml")):
        sc = attnflow.load(path)
        if sc.n > 4096:
            continue
        sim = attnflow.Simulator(sc)
        sim.advance_to(sc.frame_times[min(2, len(sc.frame_times) - 1)])
        assert np.isfinite(sim.positions).all(), path
        assert set(sim.observables()) == set(sc.observables), path
        assert (sim.momenta is not None) == sc.second_order
        kinds.add(sc.model)
    assert {"attention", "accelerated_attention", "kuramoto", "ssa", "transformer", "svgd",
            "poly_attention", "akorn"} <= kinds
