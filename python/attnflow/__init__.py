"""attnflow: transformer tokens as particles, attention as a mean-field flow.

The Python interface of the attnflow simulator (C++20, OpenMP): NumPy in, NumPy out.

    import numpy as np, attnflow

    sc = attnflow.load("scenarios/quickstart.toml", integrator__dt=0.05)   # validated scenario
    res = attnflow.run(sc)                       # frames in memory (output="run.h5": H5MD file)
    res.positions.shape                          # (T, N, d); res.times, res.observables["energy"]

    X = np.random.default_rng(0).normal(size=(64, 3))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    dX = attnflow.attention_rhs(X, Q, K, V, beta=1.0, sphere=True)   # one right-hand side

    sim = attnflow.Simulator.from_arrays(X, sphere=True, Q=Q, K=K, V=V, dt=0.1)
    sim.step(10); sim.positions                  # zero-copy read-only view of the state

Scenarios:   load, from_arrays, Scenario (.replace), models, integrators
Runs:        run -> RunResult (RunSummary, on_frame(t, Frame)), Simulator
Ensembles:   run_ensemble (or run) -> EnsembleResult: statistics [grid point][frame][system],
             mean / stderr / quantiles, the grid; read_sweep (a sweep file)
Kernels:     attention_rhs, accelerated_attention_rhs, svgd_rhs, kuramoto_rhs, ssa_attention
Errors:      Error, ConfigError (ValueError; .file .line .column .message), NumericalError,
             OutputError (OSError); Ctrl-C raises KeyboardInterrupt.

Arrays: float64 C-contiguous arrays are read in place; other real arrays (float32, integers,
Fortran order, strided views, lists) are converted once to float64; complex, boolean and object
arrays raise TypeError. The GIL is released while C++ computes. Reference: docs/python.md.
"""

from .errors import ConfigError, Error, NumericalError, OutputError  # noqa: F401  (first: _core uses them)
from . import _core  # noqa: E402
from ._core import (  # noqa: E402,F401
    Scenario,
    accelerated_attention_rhs,
    attention_rhs,
    kuramoto_rhs,
    ssa_attention,
    svgd_rhs,
)
from .api import (  # noqa: E402,F401
    Frame,
    RunResult,
    RunSummary,
    Simulator,
    from_arrays,
    integrators,
    load,
    models,
    run,
)
from .ensemble import (  # noqa: E402,F401
    EnsembleResult,
    EnsembleStatistic,
    EnsembleSummary,
    read_sweep,
    run_ensemble,
)

__version__ = _core.__version__

__all__ = [
    "load", "from_arrays", "run", "Simulator", "Scenario", "RunResult", "RunSummary", "Frame",
    "attention_rhs", "accelerated_attention_rhs", "svgd_rhs", "kuramoto_rhs", "ssa_attention",
    "models", "integrators",
    "run_ensemble", "read_sweep", "EnsembleResult", "EnsembleStatistic", "EnsembleSummary",
    "Error", "ConfigError", "NumericalError", "OutputError",
]
