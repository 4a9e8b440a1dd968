#!/usr/bin/python3
"""The folders are layers and dependencies point one way: this test reads every #include line.

usage: check_layers.py SOURCE_DIR

  sim/core      <- nothing of attnflow
  sim/kernels   <- core
  sim/config    <- core
  sim/models    <- core, kernels, config          integrators/ <- core, kernels, config, models
  sim/run       <- core, kernels, config
  sim/io        <- core, kernels, config, run
  analysis      <- core, kernels, config, models, run, io
  viz           <- core, io
  mpi           <- anything but viz (the MPI implementation of sim/core/comm.hpp's Comm)
  sim/cli, python, tests, bench: anything

and third-party headers stay in their layer: toml++ only in sim/config (its .cpp files and the
internal toml_doc.hpp), <hdf5.h> only in sim/io/*.cpp; no other header includes either; <mpi.h>
only in mpi/ and sim/io/*.cpp (its parallel HDF5 build): physics code sees the abstract Comm.
"""
import os
import re
import sys

SRC = sys.argv[1]
ALLOWED = {
    "sim/core": {"sim/core"},
    "sim/kernels": {"sim/core", "sim/kernels"},
    "sim/config": {"sim/core", "sim/config"},
    "sim/models": {"sim/core", "sim/kernels", "sim/config", "sim/models"},
    "integrators": {"sim/core", "sim/kernels", "sim/config", "sim/models", "integrators"},
    "sim/run": {"sim/core", "sim/kernels", "sim/config", "sim/run"},
    "sim/io": {"sim/core", "sim/kernels", "sim/config", "sim/run", "sim/io"},
    "analysis": {"sim/core", "sim/kernels", "sim/config", "sim/models", "sim/run", "sim/io", "analysis"},
    "viz": {"sim/core", "sim/io", "viz"},
    "mpi": {"sim/core", "sim/kernels", "sim/config", "sim/models", "integrators", "sim/run", "sim/io",
            "analysis", "mpi"},
}
LAYER_OF = [("sim/core/", "sim/core"), ("sim/kernels/", "sim/kernels"), ("sim/config/", "sim/config"),
            ("sim/models/", "sim/models"), ("integrators/", "integrators"), ("sim/run/", "sim/run"),
            ("sim/io/", "sim/io"), ("analysis/", "analysis"), ("viz/", "viz"), ("mpi/", "mpi")]


def layer(path):
    for prefix, name in LAYER_OF:
        if path.startswith(prefix):
            return name
    return None


errors = []
checked = 0
for top in ("sim", "integrators", "analysis", "viz", "mpi"):
    for root, _, files in os.walk(os.path.join(SRC, top)):
        for f in files:
            if not f.endswith((".hpp", ".cpp", ".h")):
                continue
            rel = os.path.relpath(os.path.join(root, f), SRC)
            me = layer(rel)
            if me is None:
                continue
            checked += 1
            for n, line in enumerate(open(os.path.join(SRC, rel), errors="replace"), 1):
                m = re.match(r'\s*#\s*include\s*([<"])([^>"]+)[>"]', line)
                if not m:
                    continue
                inc = m.group(2)
                if inc.startswith("toml++"):
                    if not (me == "sim/config" and (rel.endswith(".cpp") or rel.endswith("toml_doc.hpp"))):
                        errors.append(f"{rel}:{n}: includes toml++ (only sim/config/*.cpp may)")
                if inc in ("hdf5.h", "H5Cpp.h"):
                    if not (me == "sim/io" and rel.endswith(".cpp")):
                        errors.append(f"{rel}:{n}: includes {inc} (only sim/io/*.cpp may)")
                if inc == "mpi.h" and not (me == "mpi" or (me == "sim/io" and rel.endswith(".cpp"))):
                    errors.append(f"{rel}:{n}: includes mpi.h (only mpi/ and sim/io/*.cpp may)")
                other = layer(inc)
                if other is not None and other not in ALLOWED[me]:
                    errors.append(f"{rel}:{n}: layer {me} includes {inc} (layer {other}); "
                                  f"{me} may use {sorted(ALLOWED[me])}")
if checked < 50:
    errors.append(f"only {checked} files checked: wrong SOURCE_DIR?")
for e in errors:
    print(e)
print(f"{checked} files, {len(errors)} layering errors")
sys.exit(1 if errors else 0)
