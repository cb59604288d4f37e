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


def _wait_for(predicate, timeout=120.0, interval=0.1):
    """Poll until predicate() is truthy; fail loudly after `timeout` seconds."""
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


@pytest.fixture
def wait_for():
    return _wait_for
