"""Runs training in the background, in fresh Python processes that talk only through the store.

A fresh interpreter (the `spawn` model: CUDA-safe, nothing inherited) isolates crashes, and
lets a run outlive the page that started it. One worker process trains a list of runs in
order (one run from the Train page, or an experiment's runs). Runs queue: a worker waits
until its run is first in line and fewer than `max_running` runs are training, so two runs
never fight for two cores. lenet_core.runs.executors launches and stops runs through here.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence

import torch

from .. import data
from ..config import TrainConfig
from ..engine import Event, TrainResult, train
from ..explain.diagnostics import Recorder
from ..progress import Progress
from . import checkpoint, diagnostics_store, environment, procs
from .executors import Executor, LocalExecutor, Request
from .records import Run
from .store import RunStore

PROGRESS_EVERY = 0.5  # seconds between progress/heartbeat writes and stop-flag reads
QUEUE_POLL = 0.5  # seconds between a queued worker's looks at the queue


class ForegroundExecutor(Executor):
    """Trains the runs in this very process, one after another, without waiting in the queue
    (the CLI's `train`); returns when they have ended. `on_event` sees the engine's events."""

    name = "local"

    def __init__(self, on_event: Callable[[Event], None] | None = None):
        self.on_event = on_event

    def launch(self, run_ids: Sequence[str], store: RunStore) -> None:
        for run_id in run_ids:
            store.claim(run_id, os.getpid(), max_running=None)
            execute(store, run_id, on_event=self.on_event)


def start(config: TrainConfig, name: str | None = None, store: RunStore | None = None,
          max_running: int = 1) -> str:
    """One run, queued behind the others on this machine; returns its id at once."""
    store = store or RunStore()
    return LocalExecutor(max_running).submit([Request(config, name)], store)[0]


def wait(run_id: str, store: RunStore | None = None, timeout: float | None = None,
         interval: float = 0.2) -> Run:
    """Block until the run has ended (whatever ended it); returns it. TimeoutError after
    `timeout` seconds. It watches the store, so it works for any run, not only this process's."""
    store = store or RunStore()
    deadline = None if timeout is None else time.monotonic() + timeout
    while (run := store.get(run_id)).active:
        procs.reap()
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} is still {run.status} after {timeout} s")
        time.sleep(interval)
    return run


class StoreSink:
    """Engine events -> the run store. Points are written at once; progress, the heartbeat and
    the stop flag travel on a side thread every PROGRESS_EVERY s, off the training step's path."""

    def __init__(self, store: RunStore, run_id: str, device: str):
        self.store, self.run_id, self.device = store, run_id, device
        self.stop_event = threading.Event()
        self._progress: Progress | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._thread.start()

    def __call__(self, e: Event) -> None:
        if e.kind == "point" and e.point is not None:
            p = e.point
            self.store.add_point(self.run_id, p.x, p.step, p.train_loss, p.train_acc, p.test_acc,
                                 p.test_loss, p.elapsed)
        self._progress = e.progress()

    def _beat(self) -> None:
        while not self._done.wait(PROGRESS_EVERY):
            self.flush()

    def flush(self) -> None:
        self.store.heartbeat(self.run_id, self._progress, self.device)
        if self.store.stop_requested(self.run_id):
            self.stop_event.set()

    def close(self) -> None:
        if self._done.is_set():
            return
        self._done.set()
        self._thread.join()
        self.flush()


def execute(store: RunStore, run_id: str, on_event=None) -> str:
    """Train a run that is already `running` in this process; returns its final status.

    Whatever happens, the run ends with a final status and the metrics recorded so far."""
    from ..device import describe, resolve

    run = store.get(run_id)
    config = run.config
    sink = None
    try:
        where = resolve(config.device)
        device = describe(where)
        store.set_placement(run_id, socket.gethostname(), torch.get_num_threads(),
                            environment.current(where))
        sink = StoreSink(store, run_id, device)
        ds = data.load(config.dataset)

        def both(e: Event) -> None:
            sink(e)
            if on_event:
                on_event(e)

        # Per-layer diagnostics, written as they are recorded (a live view reads them).
        recorder = Recorder(diagnostics_store.sink(store, run_id))
        result = train(config, dataset=ds, on_event=both, should_stop=sink.stop_event.is_set,
                       callbacks=recorder.callbacks())
        sink.close()
        return record(store, run_id, config, result, ds.info.classes, device, ds.source)
    except KeyboardInterrupt:
        store.finish(run_id, "interrupted", error="interrupted by the user (Ctrl-C)")
        raise
    except Exception as e:  # any failure is recorded on the run; the curves stay
        store.finish(run_id, "failed", error=error_text(e))
        traceback.print_exc()
        return "failed"
    finally:
        if sink is not None:
            sink.close()


def error_text(e: BaseException) -> str:
    """A failed run's error as the store records it: "DataError: mnist is not available: ..."."""
    return f"{type(e).__name__}: {e}"


def record(store: RunStore, run_id: str, config: TrainConfig, result: TrainResult,
           class_names: tuple[str, ...], device: str, data_source: str) -> str:
    """How a training ended, into the store: the checkpoint (a finished or stopped run's
    weights) and the final metrics; returns the status. Local and cluster runs end through
    here alike."""
    status, error = result.status, None
    if status in ("finished", "stopped") and result.model is not None:
        path = store.checkpoint_path(run_id)
        try:
            checkpoint.save(path, config, result.model, class_names,
                            store.get(run_id).environment)
        except OSError as e:  # a full disk, a file-size limit: the curves and numbers stay
            status = "failed"
            error = f"the checkpoint could not be written ({e.strerror or e}): {path}"
    store.finish(run_id, status, error=error, train_loss=result.train_loss,
                 train_acc=result.train_acc, test_acc=result.test_acc,
                 examples_per_sec=result.examples_per_sec, train_time=result.train_time,
                 wall_time=result.wall_time, diverged_step=result.diverged_step,
                 device=device, data_source=data_source)
    return status


def _worker(run_ids: list[str], runs: str, max_running: int, threads: int | None = None) -> int:
    if threads is not None:
        torch.set_num_threads(threads)
    store = RunStore(runs)
    for run_id in run_ids:
        while not store.claim(run_id, os.getpid(), max_running):
            run = store.get(run_id)
            if run.status != "queued":
                break  # deleted, or reaped while waiting
            if run.stop_requested:
                store.finish(run_id, "stopped", error="stopped before it started")
                break
            store.heartbeat(run_id)
            time.sleep(QUEUE_POLL)
        else:
            execute(store, run_id)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m lenet_core.runs.runner",
                                description="Worker process for queued runs (internal).")
    p.add_argument("run_ids", nargs="+", metavar="RUN_ID")
    p.add_argument("--runs", required=True, help="the run store folder")
    p.add_argument("--max-running", type=int, default=1)
    p.add_argument("--threads", type=int, default=None, help="torch threads per run")
    a = p.parse_args(argv)
    return _worker(a.run_ids, a.runs, a.max_running, a.threads)


if __name__ == "__main__":
    sys.exit(main())
