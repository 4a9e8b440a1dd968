"""Python values as TOML text, for scenario overrides and scenarios built from arrays.

Floats are written as Python's repr(), the shortest decimal that reads back as the same double
(correctly rounded both ways: repr here, strtod in attnflow's TOML reader), so arrays given to
attnflow arrive bit for bit. NaN and infinities are refused: a scenario value must be finite.
"""

import json
import math
import numbers
import os

import numpy as np

__all__ = ["toml_value", "overrides_to_sets", "scenario_text"]

_BARE_KEY = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def _key(k):
    k = str(k)
    return k if k and set(k) <= _BARE_KEY else json.dumps(k)


def _float(x, where):
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"{where}: {x} is not finite; scenario values must be finite numbers")
    return repr(x)


def _array(a, where):
    a = np.asarray(a)
    if a.dtype.kind == "c":
        raise TypeError(f"{where}: complex values are not supported (pass .real explicitly)")
    if a.dtype.kind != "f":
        return toml_value(a.tolist(), where)
    a = a.astype(np.float64, copy=False)
    if not np.isfinite(a).all():
        bad = np.argwhere(~np.isfinite(a))[0]
        raise ValueError(f"{where}: entry {tuple(int(i) for i in bad)} is {a[tuple(bad)]}; "
                         "scenario values must be finite numbers")
    if a.ndim == 0:
        return repr(float(a))
    if a.ndim == 1:
        return "[" + ", ".join(map(repr, a.tolist())) + "]"
    if a.ndim == 2:
        return "[" + ", ".join("[" + ", ".join(map(repr, row)) + "]" for row in a.tolist()) + "]"
    return "[" + ", ".join(_array(sub, where) for sub in a) + "]"


def _list(v, where):
    return "[" + ", ".join(toml_value(x, where) for x in v) + "]"


def toml_value(v, where="value"):
    """The TOML text of a Python value (bool, int, float, str, path, sequence, array, dict)."""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        return _float(v, where)
    if isinstance(v, os.PathLike):
        v = os.fspath(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, np.ndarray):
        return _array(v, where)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {toml_value(x, where)}" for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        return _list(v, where)
    if hasattr(v, "__array__"):
        return _array(np.asarray(v), where)
    raise TypeError(f"{where}: cannot write a {type(v).__name__} as a scenario value")


def overrides_to_sets(overrides):
    """Keyword overrides -> ["section.key=value", ...] (what `attnflow run --set` takes).

    Keys are dotted ("integrator.dt") or use double underscores (integrator__dt); a dict given
    for a section name sets several keys of it (model={"beta": 2, "Q": Q}). A dict given for a
    full key is an inline table (Q={"file": "w.npy"}).
    """
    sets = []
    for key, value in overrides.items():
        key = str(key).replace("__", ".")
        if isinstance(value, dict) and "." not in key:
            for k, v in value.items():
                sets.append(f"{key}.{k}={toml_value(v, f'{key}.{k}')}")
        else:
            if "." not in key:
                raise TypeError(f"override {key!r}: name a key as 'section.key' (e.g. "
                                f"'integrator.dt' or integrator__dt=...), or give a dict for "
                                f"the section ({key}={{...}})")
            sets.append(f"{key}={toml_value(value, key)}")
    return sets


def scenario_text(sections):
    """{section: {key: value}} -> TOML text (keys in the given order)."""
    lines = []
    for name, table in sections.items():
        lines.append(f"[{name}]")
        for k, v in table.items():
            if v is None:
                continue
            lines.append(f"{_key(k)} = {toml_value(v, f'{name}.{k}')}")
        lines.append("")
    return "\n".join(lines)
