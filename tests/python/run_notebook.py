"""ctest: execute a notebook headlessly with Debian's Jupyter (jupyter nbconvert --execute); fails
if any cell fails. Exit 77 (skipped) only when a Debian package it needs is absent
(scripts/setup.sh installs them all, so in CI it runs).

    /usr/bin/python3 tests/python/run_notebook.py examples/attention_on_the_sphere.ipynb OUTDIR
"""
import importlib.util
import os
import subprocess
import sys

need = {"nbconvert": "python3-nbconvert / jupyter-nbconvert", "ipykernel": "python3-ipykernel",
        "matplotlib": "python3-matplotlib", "jupyter_client": "python3-jupyter-client",
        "h5py": "python3-h5py"}
missing = [pkg for mod, pkg in need.items() if importlib.util.find_spec(mod) is None]
if missing:
    print("SKIP: Debian packages not installed: " + ", ".join(missing))
    sys.exit(77)

notebook, outdir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
os.makedirs(outdir, exist_ok=True)
env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
cmd = [sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute", notebook,
       "--output-dir", outdir, "--ExecutePreprocessor.timeout=600",
       "--ExecutePreprocessor.kernel_name=python3"]
print(" ".join(cmd), flush=True)
r = subprocess.run(cmd, cwd=os.path.dirname(notebook), env=env)
if r.returncode != 0:
    print(f"FAIL: a cell of {notebook} failed (exit {r.returncode})")
    sys.exit(1)

# Report what the executed notebook printed (and make sure every code cell ran).
import nbformat  # noqa: E402

nb = nbformat.read(os.path.join(outdir, os.path.basename(notebook)), 4)
for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
    if cell.get("execution_count") is None:
        print(f"FAIL: code cell {i + 1} did not run")
        sys.exit(1)
    for out in cell.outputs:
        if out.output_type == "error":
            print(f"FAIL: code cell {i + 1}: {out.ename}: {out.evalue}")
            sys.exit(1)
print(f"ok: every code cell of {os.path.basename(notebook)} ran")
