"""Where runs execute, and the one way to start and stop them.

An executor makes queued runs train; the store stays the single source of truth for their
curves and status. Every launch goes through `Executor.submit` (create the runs, then
`launch` them): the Train page, the CLI and experiments alike. Every stop goes through
`stop`: a flag in the store, which whatever trains the run watches (a local worker reads it
between batches; the Ray driver relays it to its actor), so stopping needs no connection to
where the run trains. Watch the store (runner.wait) to see runs end.
"""

from __future__ import annotations

import subprocess
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from ..config import TrainConfig
from . import procs
from .store import RunStore

RUNNER = "lenet_core.runs.runner"  # the module a local worker runs (python -m)


@dataclass(frozen=True)
class Request:
    """A run to create: its config, and how it is named and grouped."""

    config: TrainConfig
    name: str | None = None  # None: one is made up from the config
    experiment_id: str | None = None
    variant: str | None = None  # its experiment's variant label


class Executor(ABC):
    name: str  # recorded on each run: "local" or "ray"

    @abstractmethod
    def launch(self, run_ids: Sequence[str], store: RunStore) -> None:
        """Make these queued runs train, in order."""

    def submit(self, requests: Sequence[Request], store: RunStore) -> list[str]:
        """Create these runs (queued, recorded as this executor's) and launch them; returns
        their ids."""
        run_ids = [store.create(r.config, r.name, experiment_id=r.experiment_id,
                                variant=r.variant, executor=self.name) for r in requests]
        self.launch(run_ids, store)
        return run_ids


def spawn_runs(module: str, run_ids: list[str], store: RunStore, *args: str,
               pass_fds: tuple[int, ...] = ()) -> subprocess.Popen:
    """`python -m module RUN_IDS --runs ROOT ARGS` in the background, logging to the first
    run's log. Each run records its pid, so a dead process's runs read as interrupted."""
    proc = procs.spawn(module, [*run_ids, "--runs", str(store.root), *args],
                       store.root / f"{run_ids[0]}.log", pass_fds)
    for run_id in run_ids:
        store.set_pid(run_id, proc.pid)
    return proc


class LocalExecutor(Executor):
    """Background worker processes on this machine train the runs, queueing behind other runs
    (max_running at a time over the whole store); returns at once. One worker trains them one
    after another; `workers` > 1 deal the runs out in turn to that many workers, each run on
    `threads` torch threads (None: torch's default), so that many train side by side."""

    name = "local"

    def __init__(self, max_running: int = 1, workers: int = 1, threads: int | None = None):
        if not 1 <= workers <= max_running:
            raise ValueError(f"{workers} workers need 1 to max_running ({max_running}) slots")
        self.max_running, self.workers, self.threads = max_running, workers, threads

    def launch(self, run_ids: Sequence[str], store: RunStore) -> None:
        args = ["--max-running", str(self.max_running)]
        if self.threads is not None:
            args += ["--threads", str(self.threads)]
        for k in range(self.workers):
            if share := list(run_ids)[k::self.workers]:
                spawn_runs(RUNNER, share, store, *args)


def stop(run_ids: Sequence[str], store: RunStore) -> int:
    """Ask these runs to stop, wherever they train; returns how many were still active. A run
    ends within one batch of its trainer seeing the flag (well under a second locally)."""
    active = [r for r in run_ids if store.get(r).active]
    for run_id in active:
        store.request_stop(run_id)
    return len(active)


def relaunch(run_ids: Sequence[str], store: RunStore, executor: Executor) -> list[str]:
    """Train ended runs (interrupted, failed, stopped) again from scratch: each gets a fresh
    queued run with its config, name, experiment and variant; the ended run stays as the
    record of what happened. Returns the new run ids."""
    requests = []
    for run_id in run_ids:
        run = store.get(run_id)
        if run.active:
            raise RuntimeError(f"run {run_id} is {run.status}; only an ended run can be relaunched")
        requests.append(Request(run.config, run.name, run.experiment_id, run.variant))
    return executor.submit(requests, store)
