"""One run as it trains on a cluster worker: the engine, reporting as a stream of small values.

This is the code a Ray worker runs (lenet_core.cluster.driver wraps `RemoteRun` as a Ray actor).
It needs this package, torch and the dataset (the worker's LENET_DATA folder or the offline
data packages), never the run store: everything the store needs travels back in the stream,
  Placement, then each engine Point and each per-layer Diagnostic as they come, a Progress
  about twice a second, and last an Ending holding the final metrics and the weights (or the
  error),
and the driver on the LeNet Lab machine writes it to the store. Nothing here imports Ray, so
the stream is tested in-process too.
"""

from __future__ import annotations

import os
import queue
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

import torch

from .. import data
from ..config import TrainConfig
from ..device import describe, resolve
from ..engine import Event, Point, TrainResult, train
from ..explain.diagnostics import Recorder
from ..progress import Progress
from ..runs import environment
from ..runs.runner import PROGRESS_EVERY, error_text


@dataclass(frozen=True)
class Placement:
    """Where the run trains, sent first."""

    node: str  # the worker machine's host name
    threads: int  # torch intra-op threads it trains with
    device: str  # device.describe(): "cpu (1 thread)"
    pid: int  # the worker process
    environment: environment.Environment  # the worker's versions, device name and threads


@dataclass(frozen=True)
class Ending:
    """How the run ended, sent last: the result and weights, or the error."""

    result: TrainResult | None  # without its model: the weights travel as state_dict
    state_dict: dict[str, torch.Tensor] | None  # CPU tensors; None for a diverged run
    class_names: tuple[str, ...]
    data_source: str | None
    error: str | None = None  # a failed run's error, as runner.error_text writes it


@dataclass(frozen=True)
class Diagnostic:
    """One per-layer diagnostics record (lenet_core.explain.diagnostics), as it is made."""

    record: dict


StreamItem = Placement | Point | Diagnostic | Progress | Ending


class RemoteRun:
    """One run. `train` streams while `stop` may be called beside it (the Ray actor gets two
    threads), so a stop is graceful: the run ends `stopped` with its weights, as locally."""

    def __init__(self):
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def train(self, config: dict, threads: int) -> Iterator[StreamItem]:
        # Ray leaves a task OMP_NUM_THREADS=1 unless told; the driver decides the count (the
        # CPUs the run asked for) and records it, because it changes the numbers.
        torch.set_num_threads(threads)
        try:
            cfg = TrainConfig.from_dict(config)
            where = resolve(cfg.device)
            device = describe(where)
        except Exception as e:  # a device this worker lacks fails the run, as locally
            yield Ending(None, None, (), None, error_text(e))
            return
        yield Placement(socket.gethostname(), torch.get_num_threads(), device, os.getpid(),
                        environment.current(where))
        yield from _stream(cfg, self._stop)


def _stream(config: TrainConfig, stop: threading.Event) -> Iterator[StreamItem]:
    """Train on a thread; yield its points as they come, its progress every PROGRESS_EVERY s,
    then its outcome."""
    items: queue.Queue = queue.Queue()
    latest: list[Event] = []

    def on_event(e: Event) -> None:
        if e.kind == "point" and e.point is not None:
            items.put(e.point)
        latest[:] = [e]

    def work() -> None:
        try:
            ds = data.load(config.dataset)
            recorder = Recorder(lambda record: items.put(Diagnostic(record)))
            result = train(config, dataset=ds, on_event=on_event, should_stop=stop.is_set,
                           callbacks=recorder.callbacks())
            weights = None
            if result.model is not None and result.status in ("finished", "stopped"):
                weights = {k: v.detach().cpu() for k, v in result.model.state_dict().items()}
            items.put(Ending(replace(result, model=None, points=[]), weights,
                              ds.info.classes, ds.source))
        except Exception as e:  # e.g. no dataset on this worker: the run fails with its message
            items.put(Ending(None, None, (), None, error_text(e)))

    threading.Thread(target=work, name="train", daemon=True).start()
    sent, last = None, time.monotonic()
    while True:
        try:
            item = items.get(timeout=PROGRESS_EVERY)
        except queue.Empty:
            item = None
        if latest and (item is None or time.monotonic() - last >= PROGRESS_EVERY):
            progress = latest[0].progress()
            if progress != sent:
                yield progress
                sent, last = progress, time.monotonic()
        if item is not None:
            yield item
            if isinstance(item, Ending):
                return
