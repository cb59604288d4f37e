"""Shared fixtures: an isolated run store per test, the real datasets (loaded once), and a
headless browser for the end-to-end tests, and a real Ray cluster on 127.0.0.1 (started once
per session, only if a test asks for it)."""

import os
import shutil
import sys
import tempfile
import threading
import traceback
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The real datasets live in the project's data folder (`make test` prepares it).
os.environ.setdefault("LENET_DATA", str(ROOT / "data"))
# Ray stays on loopback: without this it swaps 127.0.0.1 for the machine's interface address.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
# Runs go where a test says: a developer's RAY_ADDRESS must not send them to a cluster.
os.environ.pop("RAY_ADDRESS", None)


CHECKOUT_STORE = ROOT / "runs"  # the dashboard's own store: `make run` uses it, tests never
# The default store of this session: every process the tests start without a store of their own
# (a server, a worker, a Ray head, and whatever outlives its test) writes here, never into the
# checkout's ./runs or the store a developer's LENET_RUNS names.
SESSION_STORE = Path(tempfile.mkdtemp(prefix="lenet-tests-runs-"))
os.environ["LENET_RUNS"] = str(SESSION_STORE)


_default_store_opened: list[str] = []  # where this process opened it: thread and stack


def _watch_default_store(event: str, args: tuple) -> None:
    """An audit hook: a test process that opens the session's default store records who did,
    so that the warning below can name the code, not only the test it happened during."""
    if event == "sqlite3.connect" and str(args[0]).startswith(str(SESSION_STORE)):
        stack = "".join(traceback.format_stack(limit=12)[:-1])
        _default_store_opened.append(f"thread {threading.current_thread().name}:\n{stack}")


sys.addaudithook(_watch_default_store)


def _store_files(root: Path) -> dict[str, tuple[int, int]]:
    """Every file of a run store folder, with its size and modification time."""
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file()}


def _changed(before: dict, after: dict) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


@pytest.fixture(scope="session", autouse=True)
def session_store():
    yield SESSION_STORE
    shutil.rmtree(SESSION_STORE, ignore_errors=True)


@pytest.fixture(autouse=True)
def main_module_kept():
    """Streamlit's AppTest leaves the app's script as sys.modules["__main__"]; a later test's
    spawned process (multiprocessing's "spawn" re-runs the parent's main module) then ran the
    dashboard script at its start and opened the default run store: in CI, ./runs/runs.db
    appeared in the checkout during test_upgrade. Each test gets the real main module back."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture(autouse=True)
def checkout_store_untouched():
    """A test that creates, changes or deletes anything in the checkout's ./runs errors at its
    teardown, naming the files. One that writes into the session's default store gets a warning
    naming it: its runs belong in its own store (the `store` fixture); a process that an earlier
    test left running may also be the writer, which is why it is not an error."""
    before, default_before = _store_files(CHECKOUT_STORE), _store_files(SESSION_STORE)
    _default_store_opened.clear()
    yield
    if changed := _changed(default_before, _store_files(SESSION_STORE)):
        opened = ("opened by this process in " + _default_store_opened[0]
                  if _default_store_opened else "by another process (none here opened it)")
        warnings.warn(f"the session's default run store changed during this test: "
                      f"{', '.join(changed)} (use the store fixture or LENET_RUNS); {opened}",
                      stacklevel=1)
    changed = _changed(before, _store_files(CHECKOUT_STORE))
    assert not changed, (f"this test touched the checkout's run store {CHECKOUT_STORE}: "
                         f"{', '.join(changed)} (use the store fixture or LENET_RUNS)")


@pytest.fixture
def store(tmp_path, monkeypatch):
    from lenet_core.runs.store import RunStore
    monkeypatch.setenv("LENET_RUNS", str(tmp_path / "runs"))
    return RunStore(tmp_path / "runs")


@pytest.fixture
def no_workers(monkeypatch):
    """Launching queues runs in the store and starts no worker process; the list holds the run
    ids that a worker would have been given."""
    from lenet_core.runs import runner
    spawned = []
    monkeypatch.setattr(runner.LocalExecutor, "launch",
                        lambda self, run_ids, store: spawned.extend(run_ids))
    return spawned


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

    from lenet_core.bench.appserver import launch_chromium
    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh tab (its own context: cookies, session) at a desktop size."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def ray_head(tmp_path_factory):
    """A 2-CPU Ray head on 127.0.0.1 with token authentication. Its data folder holds the real
    Fashion-MNIST and a corrupt MNIST: a worker that cannot load a dataset. It leaves the
    environment alone: `ray_cluster` puts the token in one test's environment."""
    from tests import ray_cluster as rc
    data = tmp_path_factory.mktemp("cluster-data")
    (data / "FashionMNIST").symlink_to(Path(os.environ["LENET_DATA"]).resolve() / "FashionMNIST")
    raw = data / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / name).write_bytes(b"not the dataset")
    cluster = rc.start(data)
    yield cluster
    rc.stop(cluster)


@pytest.fixture
def ray_cluster(ray_head, monkeypatch):
    """The Ray head, its auth token in this test's environment (the drivers it launches inherit
    it) and gone again after the test."""
    for key, value in ray_head.env.items():
        monkeypatch.setenv(key, value)
    return ray_head
