"""Ensembles and sweeps from Python: attnflow.run_ensemble / run / read_sweep return the
statistics as arrays [grid point][frame][system], equal to the sweep file of `attnflow run` bit for
bit, with every system the single run `attnflow run --system G:I` and the statistics, aggregates
and quantiles equal to NumPy's."""
import subprocess

import h5py
import numpy as np
import pytest

import attnflow

ENSEMBLE = """
[run]
name = "ens"
seed = 11
frames = 9

[tokens]
n = 12
d = 3
space = "sphere"
init = "uniform_sphere"

[model]
kind = "attention"
normalization = "softmax"
beta = 1.0
Q = "random"          # drawn once from the model seed: shared by every system and grid point
K = "identity"
V = "identity"

[integrator]
kind = "rk4"
dt = 0.1
t_end = 4.0

[ensemble]
size = 10
statistics = ["close_pair_fraction", "clusters", "diameter", "mean_inner"]
delta = 0.01
trajectories = 3
quantiles = [0.1, 0.5, 0.9]

[[sweep]]
key = "model.beta"
values = [0.5, 2.0, 8.0]

[[sweep]]
key = "integrator.dt"
values = [0.1, 0.05]
"""


def scenario_text():
    return ENSEMBLE


@pytest.fixture
def ens_file(tmp_path):
    p = tmp_path / "ens.toml"
    p.write_text(scenario_text())
    return p


@pytest.fixture
def ens(ens_file):
    return attnflow.run_ensemble(attnflow.load(ens_file))


def read_cli_sweep(path):
    with h5py.File(path, "r") as f:
        out = {"time": f["/statistics/time"][()], "grid": f["/sweep/grid"][()],
               "seeds": f["/ensemble/seeds"][()], "done": f["/sweep/done"][()],
               "traj": f["/trajectories/position"][()], "stats": {}}
        for name in f["/statistics"]:
            if name == "time":
                continue
            g = f[f"/statistics/{name}"]
            out["stats"][name] = {k: g[k][()] for k in ("value", "mean", "stderr", "quantiles")}
        return out


def test_scenario_describes_its_grid(ens_file):
    sc = attnflow.load(ens_file)
    assert sc.is_ensemble and sc.ensemble["size"] == 10
    assert attnflow.load(ens_file, **{"ensemble.size": 3}).ensemble["size"] == 3
    assert not attnflow.load(scenario_text().split("[ensemble]")[0], name="one.toml").is_ensemble
    assert [a["key"] for a in sc.sweep] == ["model.beta", "integrator.dt"]
    assert np.array_equal(sc.grid, [[0.5, 0.1], [0.5, 0.05], [2.0, 0.1], [2.0, 0.05], [8.0, 0.1], [8.0, 0.05]])
    assert sc.ensemble["statistics"] == ["close_pair_fraction", "clusters", "diameter", "mean_inner"]


def test_in_memory_ensemble_equals_the_cli_sweep_file_bit_for_bit(ens, ens_file, cli, tmp_path):
    out = tmp_path / "cli.h5"
    subprocess.run([cli, "run", str(ens_file), "-o", str(out), "--quiet"], check=True)
    ref = read_cli_sweep(out)
    G, F, S = 6, 9, 10
    assert ens.keys == ["model.beta", "integrator.dt"] and ens.shape == (3, 2)
    assert np.array_equal(ens.grid, ref["grid"]) and ens.grid.shape == (G, 2)
    assert np.array_equal(ens.times, ref["time"]) and ens.times.shape == (G, F)
    assert np.array_equal(ens.seeds, ref["seeds"]) and ens.seeds.dtype == np.uint64
    assert ens.done.all() and ref["done"].all()
    assert set(ref["stats"]) == set(ens.statistics)
    for name, r in ref["stats"].items():
        s = ens[name]
        assert s.values.shape == (G, F, S) and s.mean.shape == (G, F) and s.quantiles.shape == (G, F, 3)
        assert np.array_equal(s.values, r["value"]), name     # bit for bit
        assert np.array_equal(s.mean, r["mean"]), name
        assert np.array_equal(s.stderr, r["stderr"]), name
        assert np.array_equal(s.quantiles, r["quantiles"]), name
    assert ens.trajectory_positions.shape == (G, 3, F, 12, 3)
    assert np.array_equal(ens.trajectory_positions, ref["traj"])
    # read_sweep gives the same object from the CLI's file
    back = attnflow.read_sweep(out)
    for name in ens.statistics:
        for k in ("values", "mean", "stderr", "quantiles"):
            assert np.array_equal(getattr(back[name], k), getattr(ens[name], k)), (name, k)
    assert np.array_equal(back.trajectory_positions, ens.trajectory_positions)
    assert attnflow.read_sweep(out, values=False)["clusters"].values is None


def test_a_system_is_the_single_run_of_its_grid_point(ens, ens_file, cli, tmp_path):
    # System i of point g: `attnflow run FILE --system g:i` writes it as an ordinary run file.
    for g, i in [(0, 0), (3, 2), (5, 1)]:
        out = tmp_path / f"sys{g}_{i}.h5"
        subprocess.run([cli, "run", str(ens_file), "--system", f"{g}:{i}", "-o", str(out), "--quiet"],
                       check=True)
        with h5py.File(out, "r") as f:
            x = f["/particles/tokens/position/value"][()]
            t = f["/particles/tokens/position/time"][()]
        assert np.array_equal(t, ens.times[g])
        assert np.array_equal(x, ens.trajectory_positions[g, i])  # bit for bit


def numpy_statistics(x, delta):
    """close_pair_fraction, clusters, diameter, mean_inner of one frame (N, d) in NumPy."""
    n = len(x)
    gram = x @ x.T
    iu = np.triu_indices(n, 1)
    close = gram[iu] > 1 - delta
    parent = list(range(n))                      # connected components of the delta-graph

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in zip(*iu):
        if gram[a, b] > 1 - delta:
            parent[find(a)] = find(b)
    clusters = len({find(a) for a in range(n)})
    diff = x[:, None, :] - x[None, :, :]
    diameter = np.sqrt((diff ** 2).sum(-1)).max()
    mean_inner = gram[~np.eye(n, dtype=bool)].mean()
    return {"close_pair_fraction": close.mean(), "clusters": clusters, "diameter": diameter,
            "mean_inner": mean_inner}


def test_statistics_and_aggregates_equal_numpy(ens):
    traj = ens.trajectory_positions
    G, K, F = traj.shape[:3]
    for g in range(G):
        for i in range(K):
            for k in range(F):
                ref = numpy_statistics(traj[g, i, k], ens.delta)
                for name, v in ref.items():
                    assert ens[name].values[g, k, i] == pytest.approx(v, rel=1e-12, abs=1e-12), (name, g, i, k)
    # on_grid unfolds the grid points, first axis slowest: [beta][dt][frame]
    cl = ens.on_grid(ens["clusters"].mean)
    assert cl.shape == (3, 2, F)
    for b in range(3):
        for j in range(2):
            assert np.array_equal(cl[b, j], ens["clusters"].mean[2 * b + j])
            assert ens.grid[2 * b + j].tolist() == [ens.axes[0][b], ens.axes[1][j]]
    for name in ens.statistics:
        s = ens[name]
        S = s.values.shape[2]
        np.testing.assert_allclose(s.mean, s.values.mean(axis=2), rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(s.stderr, s.values.std(axis=2, ddof=1) / np.sqrt(S), rtol=1e-12, atol=1e-15)
        q = np.moveaxis(np.quantile(s.values, ens.quantile_levels, axis=2), 0, -1)   # type 7
        np.testing.assert_allclose(s.quantiles, q, rtol=1e-13, atol=1e-15)


def test_run_dispatches_ensembles_and_file_output(ens, ens_file, tmp_path):
    out = tmp_path / "py.h5"
    out.write_bytes(b"an earlier result")
    res = attnflow.run(ens_file, output=out)               # run() on an [ensemble] scenario
    assert isinstance(res, attnflow.EnsembleResult)
    assert res.output == str(out) and res.summary.backup is not None
    with open(res.summary.backup, "rb") as f:               # the earlier file kept as #py.h5.1#
        assert f.read() == b"an earlier result"
    for name in ens.statistics:
        assert np.array_equal(res[name].values, ens[name].values)
    back = attnflow.read_sweep(out)
    assert np.array_equal(back["diameter"].quantiles, ens["diameter"].quantiles)
    assert res.summary.points_done == 6 and res.summary.systems == 60
    with pytest.raises(TypeError, match="on_frame"):
        attnflow.run(ens_file, on_frame=lambda t, f: None)


def test_overrides_change_the_ensemble(ens_file):
    res = attnflow.run_ensemble(ens_file, **{"ensemble.size": 4, "sweep.model.beta": [1.0],
                                             "ensemble.trajectories": 0})
    assert res.grid.shape == (2, 2) and res["clusters"].values.shape == (2, 9, 4)
    assert res.trajectory_positions is None
    with pytest.raises(KeyError, match="clusters"):
        res["energy"]


def test_ensemble_config_errors_are_located(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text(scenario_text().replace("size = 10", "size = 0"))
    with pytest.raises(attnflow.ConfigError) as e:
        attnflow.run_ensemble(p)
    lines = scenario_text().splitlines()
    line = next(k for k, s in enumerate(lines, 1) if s.startswith("size = 10"))
    assert e.value.file == str(p) and e.value.line == line and e.value.column == 8
    with pytest.raises(ValueError, match="no \\[ensemble\\]"):
        attnflow.run_ensemble(attnflow.load(scenario_text().split("[ensemble]")[0], name="single.toml"))
