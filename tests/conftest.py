"""Shared fixtures: an isolated run store per test, the real datasets (loaded once), and a
headless browser for the end-to-end tests."""

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


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for a module's browser tests (tests/e2e_support.py); per module, so
    that a test driving Playwright itself finds no other Playwright running."""
    from playwright.sync_api import sync_playwright

    from tests.e2e_support import CHROMIUM, CHROMIUM_ARGS
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh tab (its own context: cookies, session) at a desktop size."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()
