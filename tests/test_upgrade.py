"""Upgrades: stores and checkpoints written by earlier releases open with nothing lost.

tests/fixtures/store-* are real run stores that earlier releases made with their own CLI
(tests/fixtures/make_store.py says how); expected.json beside each holds what sqlite read
from it then, and that release's own predictions with each checkpoint. Never regenerate a
fixture with the current code: add a new one for a new release instead.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import shutil
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from lenet_core import data
from lenet_core.cli import main
from lenet_core.config import TrainConfig
from lenet_core.runs import checkpoint
from lenet_core.runs.schema import SCHEMA_VERSION
from lenet_core.runs.store import METRIC_COLUMNS, RunStore

FIXTURES = Path(__file__).parent / "fixtures"
STORES = sorted(p.name for p in FIXTURES.glob("store-*"))
DEFAULT_MODEL_COPY = FIXTURES / "default-mnist-42ae049.pt"  # the shipped model as released


def expected(name: str) -> dict:
    return json.loads((FIXTURES / name / "expected.json").read_text())


@pytest.fixture(params=STORES)
def old(request, tmp_path):
    """A copy of one old store (the fixture itself stays untouched) and what it held."""
    shutil.copytree(FIXTURES / request.param / "runs", tmp_path / "runs")
    return tmp_path / "runs", expected(request.param)


def test_there_is_a_store_from_before_schema_versions():
    assert {expected(name)["user_version"] for name in STORES} >= {0, 2}


def test_every_run_of_an_old_store_opens_as_it_was(old):
    root, was = old
    store = RunStore(root)
    runs = {r.id: r for r in store.list()}
    assert list(runs) == [r["id"] for r in reversed(was["runs"])]  # newest first, none lost
    for row in was["runs"]:
        run = runs[row["id"]]
        assert run.name == row["name"]
        # A run whose trainer was killed and never read since reads as interrupted now.
        reaped = row["status"] == "running"
        assert run.status == ("interrupted" if reaped else row["status"])
        assert run.config.to_dict() | json.loads(row["config"]) == run.config.to_dict()
        for column in ("created_at", "started_at", "train_loss", "train_acc", "test_acc",
                       "examples_per_sec", "train_time", "diverged_step", "device",
                       "data_source") + (() if reaped else ("finished_at", "error")):
            assert getattr(run, column) == row[column], (row["name"], column)
        if row["progress"]:
            assert run.progress.step == json.loads(row["progress"])["step"]
    with sqlite3.connect(root / "runs.db") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_every_metric_row_of_an_old_store_is_kept(old):
    root, was = old
    store = RunStore(root)
    for row in was["runs"]:
        rows = [{c: m[c] for c in METRIC_COLUMNS} for m in was["metrics"]
                if m["run_id"] == row["id"]]
        now = store.metrics(row["id"])
        assert [{c: m[c] for c in METRIC_COLUMNS} for m in now] == rows, row["name"]
        assert all(m["test_loss"] is None and m["elapsed"] is None for m in now)  # added later
    assert sum(len(store.metrics(r["id"])) for r in was["runs"]) == len(was["metrics"])


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> list[str]:
    """The MNIST test digits the old releases classified, as the same 28x28 PNGs."""
    folder = tmp_path_factory.mktemp("digits")
    images = data.load("mnist").test_x
    paths = []
    for i in range(3):
        paths.append(str(folder / f"digit{i}.png"))
        Image.fromarray(images[i].numpy()).save(paths[-1])
    return paths


def test_old_checkpoints_load_and_predict_as_their_release_did(old, digits, capsys):
    root, was = old
    store = RunStore(root)
    assert len(was["predictions"]) >= 4  # a LeNet, an MLP, a Fashion-MNIST run, the default
    for ref, said in was["predictions"].items():
        path = DEFAULT_MODEL_COPY if ref == "default" else store.checkpoint_path(ref)
        model = checkpoint.load(path)
        if ref != "default":
            assert model.config == store.get(ref).config
        assert main(["predict", "--checkpoint", str(path), *digits]) == 0
        now = [line.split(": ", 1)[1] for line in capsys.readouterr().out.splitlines()]
        assert now == said, ref


def test_the_default_model_as_released_is_the_one_shipped():
    assert DEFAULT_MODEL_COPY.read_bytes() == checkpoint.DEFAULT_MODEL_PATH.read_bytes(), \
        "the shipped model changed: copy the old one's predictions check to the new one"


def test_an_upgraded_store_takes_new_runs_and_deletes_old_ones(old):
    root, was = old
    store = RunStore(root)
    first = was["runs"][0]["id"]
    store.delete(first)
    assert not store.checkpoint_path(first).exists() and store.metrics(first) == []
    new = store.create(TrainConfig(), "after the upgrade")
    store.add_point(new, 0.2, 1, train_loss=1.0)
    assert [r.name for r in store.list()][0] == "after the upgrade"
    assert len(store.list()) == len(was["runs"])


def _open(root: str, barrier, errors) -> None:
    try:
        barrier.wait(30)
        RunStore(root).list()
    except Exception as e:  # reported to the test, which shows it
        errors.put(f"{type(e).__name__}: {e}")


@pytest.mark.slow
def test_two_processes_opening_an_old_store_at_once_migrate_it_once(tmp_path):
    """Each migration adds columns: applied twice, the second would fail ("duplicate column")."""
    name = next(n for n in STORES if expected(n)["user_version"] == 0)
    roots = []
    for k in range(8):
        roots.append(tmp_path / f"copy{k}")
        shutil.copytree(FIXTURES / name / "runs", roots[-1])
    ctx = mp.get_context("spawn")
    errors = ctx.Queue()
    barriers = [ctx.Barrier(3) for _ in roots]
    procs = [ctx.Process(target=_opener, args=(roots, barriers, errors)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert errors.empty(), errors.get()
    for root in roots:
        with sqlite3.connect(root / "runs.db") as db:
            assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
            assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == \
                len(expected(name)["runs"])


def _opener(roots, barriers, errors) -> None:
    for root, barrier in zip(roots, barriers, strict=True):
        _open(str(root), barrier, errors)


def test_an_upgraded_store_has_no_diagnostics_for_old_runs_and_keeps_new_ones(old):
    from lenet_core.runs import diagnostics_store
    root, was = old
    store = RunStore(root)
    assert all(diagnostics_store.records(store, r["id"]) == [] for r in was["runs"])
    new = store.create(TrainConfig(), "diagnosed after the upgrade")
    diagnostics_store.add(store, new, {"step": 1, "x": 0.01, "loss": 2.3, "layers": []})
    assert diagnostics_store.records(store, new)[0]["loss"] == 2.3
    store.finish(new, "failed")
    store.delete(new)
    assert diagnostics_store.counts(store, [new]) == {new: 0}
