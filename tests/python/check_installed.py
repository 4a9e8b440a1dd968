"""ctest: `import attnflow` works for /usr/bin/python3 from any directory without PYTHONPATH (the
README's set-up installs the package into site-packages: `make` runs `cmake --install build
--component python`), and the installed copy is the one this build made.

    /usr/bin/python3 tests/python/check_installed.py BUILD/python SCENARIO.toml
"""
import filecmp
import os
import subprocess
import sys

build_pkg = os.path.join(os.path.abspath(sys.argv[1]), "attnflow")
scenario = os.path.abspath(sys.argv[2])
env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
code = ("import attnflow, os; print(os.path.dirname(attnflow.__file__)); "
        f"r = attnflow.run({scenario!r}); assert r.positions.shape[0] == len(r.times) > 1; "
        "print(attnflow.__version__)")
r = subprocess.run(["/usr/bin/python3", "-c", code], cwd="/", env=env, capture_output=True, text=True)
if r.returncode != 0:
    print("FAIL: `import attnflow` from / without PYTHONPATH:\n" + r.stderr +
          "\nInstall it with `make install-python` (cmake --install build --component python).")
    sys.exit(1)
installed, version = r.stdout.split()
print(f"import attnflow from /: {installed} (version {version})")
if os.path.realpath(installed) == os.path.realpath(build_pkg):
    print("FAIL: imported the build tree, not an installed copy")
    sys.exit(1)
stale = [f for f in os.listdir(build_pkg) if f.endswith(".py")
         and not filecmp.cmp(os.path.join(build_pkg, f), os.path.join(installed, f), shallow=False)]
if stale:
    print("FAIL: the installed package differs from this build (" + ", ".join(stale) +
          "): run `make install-python`")
    sys.exit(1)
print("ok")
