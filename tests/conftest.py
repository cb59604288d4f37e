"""Shared fixtures: an isolated run store per test, and the real datasets (loaded once)."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The real datasets live in the project's data folder (`make test` prepares it).
os.environ.setdefault("LENET_DATA", str(ROOT / "data"))


@pytest.fixture
def store(tmp_path, monkeypatch):
    from lenet_core.store import RunStore
    monkeypatch.setenv("LENET_RUNS", str(tmp_path / "runs"))
    return RunStore(tmp_path / "runs")


@pytest.fixture(scope="session")
def mnist():
    from lenet_core import data
    return data.load("mnist")


@pytest.fixture(scope="session")
def fashion():
    from lenet_core import data
    return data.load("fashion-mnist")
