"""The run store under concurrent use, and the background runner: stop, crash, queue."""

import multiprocessing as mp
import os
import signal
import sqlite3

import pytest
import torch

from lenet_core import runner
from lenet_core.config import MODERN
from lenet_core.store import RunStore

QUICK = MODERN.replace(epochs=1, max_train_examples=2048)


def _writer(root, run_id, n):
    store = RunStore(root)
    for i in range(n):
        store.add_point(run_id, i / n, i, train_loss=1.0 / (i + 1), train_acc=0.5)
        store.heartbeat(run_id, {"step": i})
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


def test_background_run_finishes_with_a_loadable_checkpoint(store, wait_for):
    run_id = runner.start(QUICK, "bg", store=store)
    run = wait_for(lambda: (r := store.get(run_id)) and not r.active and r)
    assert run.status == "finished", run.error
    assert run.test_acc > 0.7 and run.device.startswith("cpu")
    points = store.metrics(run_id)
    assert sum(p["test_acc"] is not None for p in points) == 1
    assert sum(p["train_loss"] is not None for p in points) >= 5
    ckpt = torch.load(store.checkpoint_path(run_id), weights_only=True)
    assert ckpt["config"] == QUICK.to_dict()
    assert len(ckpt["class_names"]) == 10 and "conv1.weight" in ckpt["state_dict"]


def test_stop_a_background_run(store, wait_for):
    run_id = runner.start(QUICK.replace(epochs=50), "to stop", store=store)
    wait_for(lambda: store.metrics(run_id))  # it is training
    runner.stop(run_id, store=store)
    run = wait_for(lambda: (r := store.get(run_id)) and not r.active and r, timeout=30)
    assert run.status == "stopped"
    assert run.progress["step"] < 50 * 16
    assert store.checkpoint_path(run_id).is_file()


def test_a_killed_run_is_interrupted_with_its_metrics_intact(store, wait_for):
    run_id = runner.start(QUICK.replace(epochs=50), "to kill", store=store)
    wait_for(lambda: len(store.metrics(run_id)) >= 3)
    pid = store.get(run_id).pid
    os.kill(pid, signal.SIGKILL)
    runner._children[run_id].wait(10)
    run = wait_for(lambda: (r := store.get(run_id)) and not r.active and r, timeout=30)
    assert run.status == "interrupted"
    assert len(store.metrics(run_id)) >= 3


def test_runs_queue_one_at_a_time(store, wait_for):
    first = runner.start(QUICK.replace(epochs=2), "first", store=store)
    second = runner.start(QUICK, "second", store=store)
    wait_for(lambda: store.get(first).status == "running")
    assert store.get(second).status == "queued"
    done = wait_for(lambda: (r := store.get(second)) and not r.active and r)
    assert done.status == "finished"
    assert store.get(first).finished_at <= done.started_at


def test_a_failing_run_is_failed_with_the_error(store, wait_for, monkeypatch, tmp_path):
    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / name).write_bytes(b"not the dataset")
    monkeypatch.setenv("LENET_DATA", str(tmp_path / "data"))
    run_id = runner.start(QUICK, "corrupt data", store=store)
    run = wait_for(lambda: (r := store.get(run_id)) and not r.active and r)
    assert run.status == "failed"
    assert "sha256" in run.error
