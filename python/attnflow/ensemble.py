"""Ensembles and parameter sweeps from Python: statistics as arrays indexed by the grid.

A scenario with an [ensemble] table (and optionally [[sweep]] tables) runs S independent systems
at every grid point (sim/run/ensemble.hpp): the same computation as `attnflow run` on such a
scenario, which writes a sweep file. Here the statistics stay in memory (output=None) or are
also written to the sweep file (output=PATH); read_sweep() reads a sweep file back into the same
EnsembleResult.

    sc = attnflow.load("glpr.toml", **{"ensemble.size": 256})
    ens = attnflow.run_ensemble(sc)                  # or attnflow.run(sc)
    ens.keys, ens.axes, ens.grid                     # ["model.beta"], [(n_beta,)], (G, A)
    s = ens["close_pair_fraction"]
    s.values                                         # (G, F, S)  [grid point][frame][system]
    s.mean, s.stderr                                 # (G, F)
    s.quantiles                                      # (G, F, Q) at ens.quantile_levels
    ens.on_grid(s.mean)                              # (n_beta, F): the grid axes unfolded
"""

import os
from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import _core
from ._core import Scenario

__all__ = ["run_ensemble", "read_sweep", "EnsembleResult", "EnsembleStatistic", "EnsembleSummary"]


@dataclass
class EnsembleStatistic:
    """One statistic of an ensemble, indexed [grid point][frame][system].

    values:    (G, F, S) per system (None when read_sweep(values=False))
    mean:      (G, F) mean over the systems
    stderr:    (G, F) standard error of the mean (sample sd / sqrt(S))
    quantiles: (G, F, Q) at EnsembleResult.quantile_levels (type 7, NumPy's default)
    Grid points not computed (an interrupted run) hold NaN.
    """

    name: str
    values: Optional[np.ndarray]
    mean: np.ndarray
    stderr: np.ndarray
    quantiles: np.ndarray


@dataclass
class EnsembleSummary:
    """Counters of an ensemble run (what `attnflow run` prints for a sweep)."""

    points_done: int
    systems: int
    steps: int
    rhs_evals: int
    wall_seconds: float
    interrupted: bool
    output: Optional[str]   # the sweep file written, else None
    backup: Optional[str]   # where an earlier file at that path went (#PATH.N#), else None
    line: str = ""

    def __str__(self):
        return self.line


class EnsembleResult:
    """The statistics of an ensemble or sweep.

    Attributes:
        keys:      the swept scenario keys (A of them; [] for an ensemble without [[sweep]])
        axes:      their values, one 1-D array per key (first axis slowest)
        log:       per key, whether its values are spaced logarithmically
        grid:      (G, A) the values of every grid point (G = product of the axis lengths)
        shape:     the grid's shape (len(axes[0]), len(axes[1]), ...), () without [[sweep]]
        times:     (G, F) frame times of every grid point
        done:      (G,) bool, points computed (all True unless the run was interrupted)
        statistics: the names (ensemble.statistics); result[name] -> EnsembleStatistic
        quantile_levels: (Q,); seeds: (S,) run.seed of every system (uint64)
        size (S), delta, trajectories (K)
        trajectory_positions: (G, K, F, N, d) positions of the first K systems of every point
            (ensemble.trajectories = K), else None
        summary: EnsembleSummary (None for read_sweep); output: the sweep file, or None
    System i of grid point g is the single run `attnflow run FILE --system g:i`.
    """

    def __init__(self, raw, scenario=None, output=None):
        self.scenario = scenario
        self.keys = list(raw["keys"])
        self.axes = list(raw["axes"])
        self.log = list(raw["log"])
        self.grid = raw["grid"]
        self.shape = tuple(len(a) for a in self.axes)
        self.times = raw["times"]
        self.done = raw["done"]
        self.size = raw["size"]
        self.delta = raw["delta"]
        self.trajectories = raw["trajectories"]
        self.quantile_levels = raw["quantile_levels"]
        self.seeds = raw["seeds"]
        self.statistics = list(raw["statistics"])
        self.scenario_text = raw["scenario"]
        self._stats = {name: EnsembleStatistic(name, s["values"], s["mean"], s["stderr"], s["quantiles"])
                       for name, s in raw["stats"].items()}
        self._traj = raw.get("trajectory_positions")
        s = raw.get("summary")
        self.summary = None
        if s is not None:
            self.summary = EnsembleSummary(points_done=s["points_done"], systems=s["systems"],
                                           steps=s["steps"], rhs_evals=s["rhs_evals"],
                                           wall_seconds=s["wall_seconds"],
                                           interrupted=s["signal"] != 0, output=s["output"],
                                           backup=s["backup"], line=s["line"])
            output = s["output"]
        self.output = output

    def __getitem__(self, name) -> EnsembleStatistic:
        try:
            return self._stats[name]
        except KeyError:
            raise KeyError(f"{name!r} is not a statistic of this ensemble (it has "
                           f"{', '.join(self.statistics)})") from None

    def __contains__(self, name):
        return name in self._stats

    @property
    def trajectory_positions(self):
        if self._traj is None and self.trajectories and self.output:
            import h5py  # Debian's python3-h5py
            with h5py.File(self.output, "r") as f:
                self._traj = f["/trajectories/position"][()]
        return self._traj

    def on_grid(self, array):
        """array with its leading grid-point axis (G) unfolded into the grid's shape:
        (G, ...) -> (n_0, n_1, ..., ...). Without [[sweep]] (G = 1) the axis is dropped."""
        a = np.asarray(array)
        if a.shape[:1] != (len(self.grid),):
            raise ValueError(f"on_grid: the first axis must have the {len(self.grid)} grid points, "
                             f"got shape {a.shape}")
        return a.reshape(self.shape + a.shape[1:])

    def __repr__(self):
        sweep = ", ".join(f"{k} x {len(a)}" for k, a in zip(self.keys, self.axes)) or "no sweep"
        where = f" -> {self.output}" if self.output else " (in memory)"
        return (f"<attnflow.EnsembleResult: {len(self.grid)} grid points ({sweep}), "
                f"{self.size} systems, {self.times.shape[1]} frames, statistics "
                f"{self.statistics}{where}>")


def run_ensemble(scenario, output=None, *, progress=False, overwrite=False, **overrides) -> EnsembleResult:
    """Run every system of an ensemble / sweep and return the statistics as arrays.

    Args:
        scenario: a Scenario with an [ensemble] table (and [[sweep]] tables), or a path / TOML
            text (loaded with attnflow.load(scenario, **overrides)); overrides also apply to a
            Scenario (e.g. **{"ensemble.size": 64}, **{"sweep.model.beta": [0.5, 1, 2]}).
        output: None: statistics in memory only. A path: also written to that sweep file, as
            `attnflow run SCENARIO -o PATH` does (an existing file is kept as #PATH.N# once the
            first grid point is complete). True: the scenario's [run] output path.
        progress: a text progress bar over the grid points on sys.stderr.
        overwrite: replace an existing output file instead of keeping a backup.

    Returns:
        EnsembleResult: result[name].values (G, F, S), .mean / .stderr (G, F), .quantiles
        (G, F, Q); grid, axes, keys, times (G, F). The arrays equal the sweep file bit for bit.

    Raises:
        ConfigError, NumericalError, OutputError as run().
        KeyboardInterrupt: Ctrl-C stops at the next system; the grid point in progress is
            discarded, its .result holds the finished points (result.done), and the sweep file
            (if any) is closed and readable (`attnflow run --resume PATH` continues it).

    The systems run on OpenMP threads without the GIL.
    """
    from .api import load

    if not isinstance(scenario, Scenario):
        scenario = load(scenario, **overrides)
    elif overrides:
        scenario = scenario.replace(**overrides)
    if output is True:
        output = scenario.output
    elif output is not None:
        output = os.fspath(output)
    raw = _core.run_ensemble(scenario, output, bool(progress), bool(overwrite))
    result = EnsembleResult(raw, scenario)
    signal = raw["summary"]["signal"]
    if signal:
        where = f"; {output} is closed and readable" if result.output else ""
        e = KeyboardInterrupt(f"ensemble interrupted by signal {signal} after "
                              f"{result.summary.points_done} of {len(result.grid)} grid points{where}")
        e.result = result
        raise e
    return result


def read_sweep(path, *, values=True) -> EnsembleResult:
    """Read a sweep file (written by `attnflow run` on an ensemble scenario, or by
    run_ensemble(output=...)) into an EnsembleResult. values=False skips the per-system values
    (statistic.values is then None); trajectory_positions are read on first access."""
    path = os.fspath(path)
    return EnsembleResult(_core.read_sweep(path, bool(values)), None, output=path)
