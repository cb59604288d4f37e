"""The background runner: a run in its own process finishes, stops, queues and fails (a killed
or frozen worker: tests/test_faults.py)."""

import pytest
import torch

from lenet_core.config import MODERN
from lenet_core.runs import executors, runner
from tests.support import poll

pytestmark = pytest.mark.slow  # real worker processes, real training

QUICK = MODERN.replace(epochs=1, max_train_examples=2048)


def test_background_run_finishes_with_a_loadable_checkpoint(store):
    run_id = runner.start(QUICK, "bg", store=store)
    run = runner.wait(run_id, store, timeout=120)
    assert run.status == "finished", run.error
    assert run.test_acc > 0.7 and run.device.startswith("cpu")
    points = store.metrics(run_id)
    assert sum(p["test_acc"] is not None for p in points) == 1
    assert sum(p["train_loss"] is not None for p in points) >= 5
    ckpt = torch.load(store.checkpoint_path(run_id), weights_only=True)
    assert ckpt["config"] == QUICK.to_dict()
    assert len(ckpt["class_names"]) == 10 and "conv1.weight" in ckpt["state_dict"]


def test_stop_a_background_run(store):
    run_id = runner.start(QUICK.replace(epochs=50), "to stop", store=store)
    poll(lambda: store.metrics(run_id))  # it is training
    executors.stop([run_id], store)
    run = runner.wait(run_id, store, timeout=30)
    assert run.status == "stopped"
    assert run.progress.step < 50 * 16
    assert store.checkpoint_path(run_id).is_file()


def test_runs_queue_one_at_a_time(store):
    first = runner.start(QUICK.replace(epochs=2), "first", store=store)
    second = runner.start(QUICK, "second", store=store)
    poll(lambda: store.get(first).status == "running")
    assert store.get(second).status == "queued"
    done = runner.wait(second, store, timeout=120)
    assert done.status == "finished"
    assert store.get(first).finished_at <= done.started_at


def test_a_failing_run_is_failed_with_the_error(store, monkeypatch, tmp_path):
    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / name).write_bytes(b"not the dataset")
    monkeypatch.setenv("LENET_DATA", str(tmp_path / "data"))
    run_id = runner.start(QUICK, "corrupt data", store=store)
    run = runner.wait(run_id, store, timeout=120)
    assert run.status == "failed"
    assert "sha256" in run.error


def test_one_worker_trains_a_list_of_runs_in_order(store):
    from lenet_core.runs.runner import LocalExecutor
    ids = [store.create(QUICK.replace(seed=k), f"batch {k}") for k in range(2)]
    LocalExecutor().launch(ids, store)
    pids = {store.get(i).pid for i in ids}
    assert len(pids) == 1  # one process for the whole list
    first, second = (runner.wait(i, store, timeout=180) for i in ids)
    assert first.status == second.status == "finished"
    assert first.finished_at <= second.started_at
    assert first.threads >= 1 and first.node and first.executor == "local"
