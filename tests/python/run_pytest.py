"""ctest entry point for the Python tests: exit 77 (skipped) only when a Debian package the
tests need is absent (scripts/setup.sh installs them all, so in CI they run), else pytest's code.

    /usr/bin/python3 tests/python/run_pytest.py tests/python/test_rhs.py [pytest args]
"""
import importlib.util
import sys

need = {"pytest": "python3-pytest", "numpy": "python3-numpy", "h5py": "python3-h5py"}
missing = [pkg for mod, pkg in need.items() if importlib.util.find_spec(mod) is None]
if missing:
    print("SKIP: Debian packages not installed: " + " ".join(missing) + " (scripts/setup.sh installs them)")
    sys.exit(77)
if importlib.util.find_spec("attnflow") is None:
    print("FAIL: the attnflow module is not importable (PYTHONPATH=build/python?)")
    sys.exit(1)

import pytest  # noqa: E402

sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "-rs", *sys.argv[1:]]))
