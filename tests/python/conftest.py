"""Shared fixtures of the Python package's tests (run by ctest through run_pytest.py).

Environment (set by tests/CMakeLists.txt): PYTHONPATH = the build tree's python/ folder,
ATTNFLOW_SOURCE_DIR = the repository, ATTNFLOW_CLI = the attnflow executable.
"""
import os
import pathlib

import numpy as np
import pytest

SOURCE = pathlib.Path(os.environ.get("ATTNFLOW_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))


@pytest.fixture
def source_dir():
    return SOURCE


@pytest.fixture
def quickstart():
    return SOURCE / "scenarios" / "quickstart.toml"


@pytest.fixture
def cli():
    path = os.environ.get("ATTNFLOW_CLI")
    if not path or not os.path.exists(path):
        pytest.skip("ATTNFLOW_CLI not set (run through ctest)")
    return path


@pytest.fixture
def rng():
    return np.random.default_rng(20260317)


def sphere_tokens(rng, n, d):
    x = rng.normal(size=(n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)
