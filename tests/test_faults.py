"""Faults, made for real: killed and frozen workers, a disk that refuses the checkpoint, many
processes on one store at once, a damaged data folder. Nothing here mocks the fault itself.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from lenet_core import data
from lenet_core.cli import main
from lenet_core.config import MODERN
from lenet_core.runs import runner
from lenet_core.runs import store as store_module
from lenet_core.runs.store import RunStore
from tests.support import poll

QUICK = MODERN.replace(epochs=2, max_train_examples=2048, device="cpu")
POINTS_PER_EPOCH = 6 + 1  # 16 batches: a point every 3 batches and at the last, then a test


def integrity(store: RunStore) -> str:
    with sqlite3.connect(store.db_path) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def assert_complete_curve(store: RunStore, run_id: str, epochs: int) -> None:
    points = store.metrics(run_id)
    assert len(points) == epochs * POINTS_PER_EPOCH
    steps = [p["step"] for p in points]
    assert steps == sorted(steps) and steps[-1] == epochs * 16
    assert [p["x"] for p in points if p["test_acc"] is not None] == [float(e + 1)
                                                                    for e in range(epochs)]


@pytest.mark.slow
def test_a_worker_killed_mid_epoch_is_interrupted_with_every_point_it_wrote(store):
    run_id = runner.start(MODERN.replace(epochs=50, max_train_examples=10_240), "to kill",
                          store=store)
    poll(lambda: (p := store.get(run_id).progress) and 0 < p.batch < p.num_batches
         and len(store.metrics(run_id)) >= 3, 120, "the run to be mid-epoch")
    pid = store.get(run_id).pid
    os.kill(pid, signal.SIGSTOP)  # frozen: what it has written is exactly what is there
    written = store.metrics(run_id)
    os.kill(pid, signal.SIGKILL)
    run = runner.wait(run_id, store, timeout=10)  # "within seconds"
    assert run.status == "interrupted" and "ended unexpectedly" in run.error
    assert store.metrics(run_id) == written
    assert integrity(store) == "ok"


@pytest.mark.slow
def test_a_frozen_worker_is_not_taken_for_dead_and_finishes_when_it_wakes(store, monkeypatch):
    """A laptop asleep: the worker is frozen past the heartbeat timeout, then wakes."""
    monkeypatch.setattr(store_module, "HEARTBEAT_TIMEOUT", 1.0)  # the readers' patience
    run_id = runner.start(QUICK, "asleep", store=store)
    poll(lambda: store.metrics(run_id), 120, "the run to train")
    pid = store.get(run_id).pid
    poll(lambda: _frozen_outside_a_write(store, pid), 60, "a freeze between the worker's writes")
    try:
        poll(lambda: time.time() - store.get(run_id).heartbeat > 3, 30, "a stale heartbeat")
        assert store.get(run_id).status == "running"
    finally:
        os.kill(pid, signal.SIGCONT)
    run = runner.wait(run_id, store, timeout=120)
    assert run.status == "finished", run.error
    assert_complete_curve(store, run_id, epochs=2)


def _frozen_outside_a_write(store: RunStore, pid: int) -> bool:
    """Freeze the worker; True if it holds no write lock on the store (else it is woken: a
    worker frozen mid-write would lock every reader out, which is not the case tested)."""
    os.kill(pid, signal.SIGSTOP)
    try:
        with closing(sqlite3.connect(store.db_path, timeout=0.1)) as db:
            db.execute("BEGIN IMMEDIATE")
            db.rollback()
        return True
    except sqlite3.OperationalError:
        os.kill(pid, signal.SIGCONT)
        return False


def test_a_stale_heartbeat_from_another_process_with_its_pid_is_interrupted(store):
    """The worker died and its pid now belongs to a process that started after the run did."""
    run_id = store.create(QUICK, "pid reused")
    long_ago = time.time() - 600
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"]) as other:
        try:
            with sqlite3.connect(store.db_path) as db:
                db.execute("UPDATE runs SET status='running', pid=?, started_at=?, heartbeat=? "
                           "WHERE id=?", (other.pid, long_ago, long_ago, run_id))
            run = store.get(run_id)
        finally:
            other.kill()
    assert run.status == "interrupted" and "ended unexpectedly" in run.error


def _limit_file_size(limit: int):
    def apply() -> None:  # in the child, before it runs Python: the kernel then refuses writes
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["file-size limit", "a folder in the way"])
def test_a_checkpoint_that_cannot_be_written_fails_the_run_and_keeps_its_curves(store, fault):
    # Wide hidden layers: a ~5 MB checkpoint, while the database and the log stay far below the
    # 2 MB limit (running as root, a read-only folder would not stop the write).
    config = QUICK.replace(epochs=1, hidden=(1024, 1024))
    run_id = store.create(config, fault)
    if fault == "a folder in the way":
        store.checkpoint_path(run_id).mkdir()
    worker = subprocess.Popen(
        [sys.executable, "-m", "lenet_core.runs.runner", run_id, "--runs", str(store.root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=_limit_file_size(2_000_000) if fault == "file-size limit" else None)
    store.set_pid(run_id, worker.pid)
    assert worker.wait(timeout=180) == 0
    run = store.get(run_id)
    assert run.status == "failed"
    why = "File too large" if fault == "file-size limit" else "Is a directory"
    assert run.error.startswith(f"the checkpoint could not be written ({why})"), run.error
    assert str(store.checkpoint_path(run_id)) in run.error
    assert_complete_curve(store, run_id, epochs=1)
    assert run.test_acc > 0.5 and run.train_time > 0  # the final numbers are kept too
    assert not list(store.root.glob("*.tmp"))  # no half-written file left behind
    assert integrity(store) == "ok"


def _reader(root: str, run_ids: list[str], errors, ready, reads) -> None:
    """Polls the store until the runs have ended; reports how many of its reads saw one train."""
    store = RunStore(root)
    during = 0
    try:
        while True:
            runs = [store.get(i) for i in run_ids]
            store.list()
            for i in run_ids:
                store.metrics(i)
            if ready is not None:  # the first read is done: the runs may start
                ready.put(True)
                ready = None
            during += any(r.status == "running" for r in runs)
            if not any(r.active for r in runs):
                break
    except Exception as e:  # reported to the test
        errors.put(f"{type(e).__name__}: {e}")
    reads.put(during)


@pytest.mark.slow
def test_three_runs_at_once_under_five_polling_readers_lose_nothing(store):
    ids = [store.create(QUICK.replace(seed=k), f"parallel {k}") for k in range(3)]
    ctx = mp.get_context("spawn")
    errors, ready, reads = ctx.Queue(), ctx.Queue(), ctx.Queue()
    readers = [ctx.Process(target=_reader, args=(str(store.root), ids, errors, ready, reads))
               for _ in range(5)]
    for p in readers:
        p.start()
    for _ in readers:  # every reader polls before the runs start: none can miss them
        ready.get(timeout=120)
    for run_id in ids:  # one worker each, as Start training does, three at a time
        runner.LocalExecutor(max_running=3).launch([run_id], store)
    runs = [runner.wait(i, store, timeout=300) for i in ids]
    for p in readers:
        p.join(60)
    assert [p.exitcode for p in readers] == [0] * 5
    assert errors.empty(), errors.get()
    assert all(reads.get(timeout=5) > 0 for _ in readers)  # each read while the runs trained
    assert [r.status for r in runs] == ["finished"] * 3, [r.error for r in runs]
    assert max(r.started_at for r in runs) < min(r.finished_at for r in runs)  # all at once
    for r in runs:
        assert_complete_curve(store, r.id, epochs=2)
        assert "locked" not in (store.root / f"{r.id}.log").read_text()
    assert integrity(store) == "ok"


# --- a damaged data folder ------------------------------------------------------------------

def _copy_mnist(to: Path, damage) -> Path:
    raw = to / "MNIST" / "raw"
    raw.mkdir(parents=True)
    source = data.data_root() / "MNIST" / "raw"
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / name).write_bytes(damage(name, (source / name).read_bytes()))
    return to


@pytest.mark.parametrize("what,damage", [
    ("truncated", lambda name, blob: blob[: len(blob) // 2] if "t10k-images" in name else blob),
    ("one byte flipped", lambda name, blob: blob[:-1] + bytes([blob[-1] ^ 1])
     if "train-labels" in name else blob),
    ("Fashion-MNIST's file in its place", lambda name, blob: (
        data.data_root() / "FashionMNIST" / "raw" / name).read_bytes()
     if "train-images" in name else blob),
])
def test_a_damaged_data_folder_fails_its_checksum_with_a_clear_message(tmp_path, what, damage,
                                                                        monkeypatch, capsys):
    root = _copy_mnist(tmp_path / "data", damage)
    with pytest.raises(data.DataError, match="sha256 .* does not match"):
        data.load("mnist", root, allow_download=False)
    monkeypatch.setenv("LENET_DATA", str(root))
    assert main(["data"]) == 0
    mnist = next(line for line in capsys.readouterr().out.splitlines()
                 if line.startswith("mnist "))
    assert "missing" in mnist and "sha256" in mnist and "corrupt" in mnist
