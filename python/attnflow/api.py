"""attnflow's Python API: scenarios, runs and the stepping Simulator (see docs/python.md)."""

import os
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from . import _core
from ._core import Scenario
from ._toml import overrides_to_sets, scenario_text

__all__ = ["load", "from_arrays", "run", "RunResult", "RunSummary", "Frame", "Simulator",
           "Scenario", "models", "integrators"]


# --- scenarios -----------------------------------------------------------------------------------

def _is_text(source):
    return isinstance(source, str) and ("\n" in source or source.lstrip().startswith("["))


def load(source, /, *, name=None, x0=None, **overrides) -> Scenario:
    """Load and validate a scenario: a TOML file or TOML text, with overrides.

    Args:
        source: a path (str or os.PathLike) of a scenario file, or TOML text (a str that
            contains a newline or starts with '['), or a Scenario (then only the overrides apply).
        name: for TOML text, the name used in error locations, as the default run name (its
            stem) and as the place relative paths resolve against (default "text.toml":
            relative to the working directory).
        x0: initial tokens as an (N, d) array: sets tokens.init = "values", tokens.values,
            tokens.n and tokens.d (the values arrive bit for bit; on the sphere every row is
            then normalised).
        **overrides: scenario keys to set, like `attnflow run --set`: dotted keys through a
            dict (**{"integrator.dt": 0.05}), double underscores (integrator__dt=0.05), or a
            dict per section (model={"beta": 2.0, "Q": Q}). Values: numbers, strings, bools,
            lists, NumPy arrays (matrices: written exactly), dicts (inline tables such as
            Q={"file": "w.npy"} or Q={"file": "w.h5", "dataset": "/l0/Wq"}).

    Returns:
        Scenario: validated; every key resolved (scenario.toml), ready for run() and Simulator.

    Raises:
        ConfigError: with .file, .line, .column and .message of the first problem (or
            .override when a keyword override is at fault).
    """
    if x0 is not None:
        x = np.asarray(x0)
        if x.ndim != 2:
            raise ValueError(f"load: x0 must be an (N, d) array, got shape {x.shape}")
        overrides = {"tokens.init": "values", "tokens.values": x, "tokens.n": x.shape[0],
                     "tokens.d": x.shape[1], **overrides}
    sets = overrides_to_sets(overrides)
    if isinstance(source, Scenario):
        return _core.replace(source, sets) if sets else source
    if isinstance(source, os.PathLike):
        return _core.load_file(os.fspath(source), sets)
    if not isinstance(source, str):
        raise TypeError(f"load: expected a path, TOML text or a Scenario, got {type(source).__name__}")
    if _is_text(source):
        return _core.load_text(source, name or "text.toml", sets)
    return _core.load_file(source, sets)


def _replace(self, **overrides) -> Scenario:
    """A new scenario: this one with keys overridden (same rules as attnflow.load)."""
    return load(self, **overrides)


Scenario.replace = _replace


def from_arrays(x0, *, model="attention", sphere=False, integrator="rk4", dt=0.1, t_end=None,
                layers=None, frames=101, save_every=None, seed=0, observe=(), name="arrays",
                tokens=None, integrator_options=None, **model_keys) -> Scenario:
    """A scenario built from arrays: initial tokens, model matrices (trained weights) and keys.

    Args:
        x0: initial tokens (N, d) (on the sphere the rows are normalised).
        model: [model] kind ("attention", "transformer", "accelerated_attention", ...).
        sphere: tokens on S^{d-1} (tokens.space = "sphere") instead of R^d.
        integrator, dt, t_end | layers: the [integrator] (t_end defaults to 10 for flows).
        frames | save_every, seed, name: the [run] keys; observe: [observe] quantities.
        tokens: extra [tokens] keys (e.g. {"momentum": "gaussian"}).
        integrator_options: extra [integrator] keys (rtol, atol, t0, ...).
        **model_keys: [model] keys, e.g. Q=Q, K=K, V=V (arrays, written exactly), beta=1.0,
            normalization="mean".

    Returns:
        Scenario (the generated TOML is scenario.source; it is stored with any output file, so
        a run made from arrays can be reproduced or resumed from its file alone).
    """
    x = np.asarray(x0)
    if x.ndim != 2:
        raise ValueError(f"from_arrays: x0 must be an (N, d) array, got shape {x.shape}")
    if x.dtype.kind not in "fiu":
        raise TypeError(f"from_arrays: x0 must hold real numbers, got dtype {x.dtype}")
    if t_end is None and layers is None:
        t_end = 10.0
    run_keys = {"name": name, "seed": seed}
    if save_every is not None:
        run_keys["save_every"] = save_every
    else:
        run_keys["frames"] = frames
    tok = {"n": x.shape[0], "d": x.shape[1], "space": "sphere" if sphere else "euclidean",
           "init": "values", "values": x}
    tok.update(tokens or {})
    integ = {"kind": integrator, "dt": dt, "t_end": t_end, "layers": layers}
    integ.update(integrator_options or {})
    sections = {"run": run_keys, "tokens": tok, "model": {"kind": model, **model_keys},
                "integrator": integ}
    if observe:
        sections["observe"] = {"quantities": list(observe)}
    return _core.load_text(scenario_text(sections), f"{name}.toml", [])


def models():
    """Registered models: {kind: one-line summary}."""
    return _core.models()


def integrators():
    """Registered integrators: {kind: one-line summary}."""
    return _core.integrators()


# --- runs ------------------------------------------------------------------------------------

@dataclass
class RunSummary:
    """Counters of a run (what `attnflow run` prints at the end)."""

    steps: int
    rejected: int
    rhs_evals: int
    oracle_calls: int
    frames: int
    t_final: float
    wall_seconds: float
    output: Optional[str]   # the file written (None: in memory, or nothing written: see kept)
    stopped: bool       # on_frame asked to stop
    interrupted: bool   # Ctrl-C (the run raised KeyboardInterrupt; see RunResult via .result)
    backup: Optional[str] = None  # where an earlier file at the output path went (#RUN.h5.N#)
    kept: bool = False  # a file run stopped before its first computed frame: no file written,
                        # an earlier file at the path left as it was
    line: str = field(repr=False, default="")

    def __str__(self):
        return self.line


@dataclass
class Frame:
    """What on_frame(t, frame) receives at every frame (copies: safe to keep)."""

    index: int                      # 0-based frame number
    step: int                       # accepted steps (layers) so far
    t: float
    positions: np.ndarray           # (N, d)
    momenta: Optional[np.ndarray]   # (N, d) for second-order models, else None
    observables: dict               # name -> value at this frame

    @property
    def phases(self):
        """Phases (N,) for oscillator models (positions[:, 0])."""
        return self.positions[:, 0]


class RunResult:
    """The frames of a run.

    Attributes:
        times (T,), steps (T,): time and accepted steps of every frame.
        positions: (T, N, d) array. In memory for output=None; for a file run it is read from
            the file on first access (h5py), so long runs need not fit in memory.
        momenta: (T, N, d) for second-order models, else None (read likewise).
        phases: (T, N) for oscillator models (kuramoto), else None (a view of positions).
        observables: {name: (T,) array} of the scenario's [observe] quantities.
        summary: RunSummary. output: the file, or None. scenario: the Scenario.
    result["energy"] is result.observables["energy"].
    """

    def __init__(self, scenario, raw):
        self.scenario = scenario
        self.times = raw["times"]
        self.steps = raw["steps"]
        self.observables = raw["observables"]
        s = raw["summary"]
        self.summary = RunSummary(steps=s["steps"], rejected=s["rejected"],
                                  rhs_evals=s["rhs_evals"], oracle_calls=s["oracle_calls"],
                                  frames=s["frames"], t_final=s["t_final"],
                                  wall_seconds=s["wall_seconds"], output=s["output"],
                                  stopped=s["stopped"], interrupted=s["signal"] != 0,
                                  backup=s["backup"], kept=s["kept"], line=s["line"])
        self.output = s["output"]
        self._phase_state = raw["phase_state"]
        self._has_momenta = raw["momentum"]
        self._positions = raw.get("positions")
        self._momenta = raw.get("momenta")
        # The file's identity: frames are read lazily, and never from a file that has replaced
        # this run's (a later run to the same path keeps this one as #PATH.N#).
        self._file_id = None
        if self.output:
            st = os.stat(self.output)
            self._file_id = (st.st_dev, st.st_ino)

    def _read(self, what):
        import h5py  # Debian's python3-h5py (installed by scripts/setup.sh)
        from .errors import OutputError
        try:
            st = os.stat(self.output)
            same = (st.st_dev, st.st_ino) == self._file_id
        except OSError:
            same = False
        if not same:
            raise OutputError(f"{self.output}: this run's file was moved or replaced since the run "
                              f"(a later run keeps it as #{os.path.basename(self.output)}.N#); read "
                              "the frames before writing the same path again, or open the backup")
        with h5py.File(self.output, "r") as f:
            return f[f"/particles/tokens/{what}/value"][:len(self.times)]

    @property
    def positions(self):
        if self._positions is None:
            self._positions = self._read("position")
        return self._positions

    @property
    def momenta(self):
        if not self._has_momenta:
            return None
        if self._momenta is None:
            self._momenta = self._read("momentum")
        return self._momenta

    @property
    def phases(self):
        return self.positions[:, :, 0] if self._phase_state else None

    def __getitem__(self, name):
        return self.observables[name]

    def __len__(self):
        return len(self.times)

    def __repr__(self):
        where = f" -> {self.output}" if self.output else " (in memory)"
        return (f"<attnflow.RunResult '{self.scenario.name}': {len(self.times)} frames, "
                f"t = {self.summary.t_final:g}, observables {list(self.observables)}{where}>")


def _trampoline(on_frame):
    """Wraps on_frame(t, frame) for the C++ loop: returns True to stop."""

    def call(index, step, t, positions, momenta, observables):
        frame = Frame(index, step, t, positions, momenta, observables)
        try:
            return bool(on_frame(t, frame))
        except StopIteration:
            return True

    return call


def run(scenario, output=None, on_frame=None, *, progress=False, overwrite=False, **overrides):
    """Run a scenario to its end and return its frames (or, for an ensemble, its statistics).

    Args:
        scenario: a Scenario, or a path / TOML text (loaded with attnflow.load(scenario,
            **overrides)); overrides also apply to a Scenario.
        output: None (default): frames stay in memory, no file is written. A path: the run is
            written to that H5MD file (+ its .xdmf2 sidecar) as `attnflow run -o PATH` does, and
            positions/momenta are read back from it on access. True: the scenario's [run]
            output path. An existing file at the path is kept as #PATH.N# (summary.backup) once
            the run has computed its first frame; a run stopped before that writes nothing
            (summary.kept, summary.output is None) and leaves an earlier file as it was.
        overwrite: replace an existing output file instead of keeping it as a backup
            (`attnflow run --overwrite`).
        on_frame: optional callable on_frame(t, frame) called at every frame (frame: Frame,
            with copies of the positions). Returning True (or raising StopIteration) stops the
            run after this frame; the result then holds the frames so far and
            result.summary.stopped is True. Any other exception stops the run (the output file is
            closed and readable) and propagates.
        progress: draw a text progress bar on sys.stderr (in Jupyter: under the cell).

    Returns:
        RunResult: times, steps, positions (T x N x d), momenta / phases where present,
        observables (dict of arrays), summary.
        For a scenario with [ensemble] / [[sweep]]: an EnsembleResult (see run_ensemble; on_frame
        is not available for ensembles).

    Raises:
        ConfigError, NumericalError, OutputError: as the command line's exit codes 2, 3, 4.
        KeyboardInterrupt: on Ctrl-C (or Jupyter's "interrupt kernel"), within one step (or one
            block of rows of a long step); the output file is closed and readable, and the
            exception's .result holds the frames completed so far.

    The GIL is released while the run computes (other Python threads keep running).
    """
    if not isinstance(scenario, Scenario):
        scenario = load(scenario, **overrides)
    elif overrides:
        scenario = scenario.replace(**overrides)
    if scenario.is_ensemble:
        if on_frame is not None:
            raise TypeError("run: on_frame is not available for an ensemble or sweep (its systems "
                            "run in parallel); use run_ensemble(...).trajectories")
        from .ensemble import run_ensemble
        return run_ensemble(scenario, output=output, progress=progress, overwrite=overwrite)
    if output is True:
        output = scenario.output
    elif output is not None:
        output = os.fspath(output)
    callback = _trampoline(on_frame) if on_frame is not None else None
    raw = _core.run(scenario, output, callback, bool(progress), bool(overwrite))
    result = RunResult(scenario, raw)
    signal = raw["summary"]["signal"]
    if signal:
        if result.output:
            where = f"; {output} is closed and readable"
        elif output:
            where = (f"; nothing was written to {output} (stopped before the first computed "
                     "frame; an earlier file there is as it was)")
        else:
            where = ""
        e = KeyboardInterrupt(f"run interrupted by signal {signal} at t = "
                              f"{result.summary.t_final:g} after {result.summary.frames} "
                              f"frames{where}")
        e.result = result
        raise e
    return result


# --- stepping --------------------------------------------------------------------------------

class Simulator(_core.Simulator):
    """A simulation you advance yourself, with zero-copy views of its state.

        sim = attnflow.Simulator(scenario)          # or Simulator("run.toml", **overrides)
        sim = attnflow.Simulator.from_arrays(X, Q=Q, K=K, V=V, sphere=True, dt=0.05)
        sim.step(10)              # 10 steps of dt (layers for layer maps)
        sim.advance_to(2.5)       # to t = 2.5 in equal steps <= dt (as run() between frames)
        sim.positions             # (N, d) read-only view of the live state (no copy)
        sim.momenta, sim.phases   # second-order / oscillator models, else None
        sim.t, sim.steps, sim.rhs_evals, sim.oracle_calls, sim.counters
        sim.observables()         # {name: value} of the scenario's [observe] quantities now
        sim.rhs()                 # dX (or (dX, dY)) at the current state
        sim.set_state(positions=..., momenta=...)   # copied in (rows normalised on the sphere)

    step() and advance_to() release the GIL; Ctrl-C raises KeyboardInterrupt and leaves the
    simulator exactly as it was before the call (state, time, counters, integrator history); so
    does a NumericalError. The views stay valid while the simulator lives and follow it as it
    steps; copy them (.copy()) to keep snapshots. Advancing through scenario.frame_times with
    advance_to reproduces run() bit for bit.
    """

    def __init__(self, scenario, **overrides):
        if not isinstance(scenario, Scenario):
            scenario = load(scenario, **overrides)
        elif overrides:
            scenario = scenario.replace(**overrides)
        super().__init__(scenario)

    @classmethod
    def from_arrays(cls, x0, **kwargs):
        """Simulator(attnflow.from_arrays(x0, **kwargs))."""
        return cls(from_arrays(x0, **kwargs))

    def step(self, k=1):
        """Advance k steps of dt (k layers of a layer map; adaptive integrators reach t + k dt)."""
        return super().step(k)

    def advance_to(self, t):
        """Advance to time t (>= self.t) in equal steps no longer than dt."""
        return super().advance_to(t)

    def observables(self):
        """{name: value} of the scenario's [observe] quantities at the current state."""
        return super().observables()

    def rhs(self):
        """F(t, state): dX (N, d) for first-order flows, (dX, dY) for second-order ones."""
        return super().rhs()

    def set_state(self, positions=None, momenta=None):
        """Replace positions and/or momenta (copied; retracted onto the sphere if needed)."""
        return super().set_state(positions, momenta)

    def __repr__(self):
        sc = self.scenario
        return (f"<attnflow.Simulator '{sc.name}': {sc.model}, N = {sc.n}, d = {sc.d}, "
                f"t = {self.t:g}, {self.steps} steps>")
