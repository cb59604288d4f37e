"""The run store: concurrent readers and a writer, CSV export, deletion, schema versions."""

import multiprocessing as mp
import os
import sqlite3

import pytest

from lenet_core.config import MODERN
from lenet_core.progress import Progress
from lenet_core.runs.errors import StoreError
from lenet_core.runs.schema import SCHEMA_VERSION
from lenet_core.runs.store import RunStore

QUICK = MODERN.replace(epochs=1, max_train_examples=2048)


def _writer(root, run_id, n):
    store = RunStore(root)
    for i in range(n):
        store.add_point(run_id, i / n, i, train_loss=1.0 / (i + 1), train_acc=0.5)
        store.heartbeat(run_id, Progress(0, i, n, i, n, 1000.0, 1.0))
    store.finish(run_id, "finished", test_acc=0.9)


def _reader(root, run_id, n, errors):
    store = RunStore(root)
    try:
        for _ in range(n):
            store.get(run_id)
            store.metrics(run_id)
            store.list()
    except sqlite3.OperationalError as e:
        errors.put(str(e))


@pytest.mark.slow
def test_one_writer_many_readers_no_lock_errors(store):
    run_id = store.create(QUICK, "concurrency")
    store.claim(run_id, os.getpid(), max_running=None)
    ctx = mp.get_context("spawn")
    errors = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(str(store.root), run_id, 400))]
    procs += [ctx.Process(target=_reader, args=(str(store.root), run_id, 300, errors))
              for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert all(p.exitcode == 0 for p in procs)
    assert errors.empty()
    assert len(store.metrics(run_id)) == 400
    assert store.get(run_id).status == "finished"


def test_csv_export_and_delete(store):
    run_id = store.create(QUICK)
    store.add_point(run_id, 0.2, 10, train_loss=0.5, train_acc=0.8)
    store.add_point(run_id, 1.0, 50, test_acc=0.9)
    store.finish(run_id, "finished", test_acc=0.9)
    lines = store.metrics_csv(run_id).splitlines()
    assert lines == ["epoch,step,train_loss,train_acc,test_acc", "0.2,10,0.5,0.8,", "1.0,50,,,0.9"]
    (store.root / f"{run_id}.log").write_text("worker output")
    store.delete(run_id)
    with pytest.raises(KeyError):
        store.get(run_id)
    assert not list(store.root.glob(f"{run_id}*"))


def test_a_store_made_before_schema_versions_opens_with_its_runs(tmp_path):
    # The first release wrote the same tables without a version (user_version 0).
    from lenet_core.runs.schema import _V1
    root = tmp_path / "runs"
    root.mkdir()
    db = sqlite3.connect(root / "runs.db")
    db.executescript(_V1)
    db.execute("INSERT INTO runs (id, name, created_at, status, config, progress) "
               "VALUES ('old', 'from before', 1.0, 'finished', ?, ?)",
               (MODERN.to_json(), '{"epoch": 0, "step": 3, "eta": 1.0}'))
    db.execute("INSERT INTO metrics VALUES ('old', 0.2, 3, 1.5, 0.4, NULL)")
    db.commit()
    db.close()
    store = RunStore(root)
    run = store.get("old")
    assert (run.name, run.config, run.progress) == ("from before", MODERN, None)
    assert len(store.metrics("old")) == 1
    with sqlite3.connect(root / "runs.db") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_store_from_a_newer_version_is_refused_untouched(tmp_path):
    root = tmp_path / "runs"
    RunStore(root)
    with sqlite3.connect(root / "runs.db") as db:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer LeNet Lab"):
        RunStore(root)


def test_the_local_queue_ignores_runs_on_a_cluster(store):
    # A cluster run that is training, and one waiting for the cluster's CPUs, neither take this
    # machine's slot nor hold up its queue.
    on_ray = [store.create(QUICK, f"ray {k}", executor="ray") for k in range(2)]
    assert store.claim(on_ray[0], os.getpid(), max_running=None)
    local = store.create(QUICK, "here")
    assert store.claim(local, os.getpid(), max_running=1)
    assert store.get(local).status == "running"
    assert store.get(on_ray[1]).status == "queued"
