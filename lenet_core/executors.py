"""Where runs execute. An executor takes runs already created in the store (status `queued`)
and makes them train; the store stays the single source of truth for their curves and status.

Nothing outside this module may assume that runs are local processes: launch through an
executor, stop through `stop`, and watch the store (runner.wait) to see them end.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence

from . import runner
from .store import RunStore


class Executor(ABC):
    name: str  # recorded on each run: "local" or "ray"

    @abstractmethod
    def launch(self, run_ids: Sequence[str], store: RunStore) -> None:
        """Make these queued runs train, in order; returns at once."""

    def stop(self, run_id: str, store: RunStore) -> None:
        """Ask a run to stop. The flag lives in the store; an executor that can cancel remote
        work relays it."""
        store.request_stop(run_id)


class LocalExecutor(Executor):
    """One background worker process on this machine trains the runs one after another,
    queueing behind other runs (max_running at a time over the whole store)."""

    name = "local"

    def __init__(self, max_running: int = 1):
        self.max_running = max_running

    def launch(self, run_ids: Sequence[str], store: RunStore) -> None:
        if run_ids:
            runner.spawn(list(run_ids), store, self.max_running)


def executor_for(address: str | None = None) -> Executor:
    """Where runs go: a Ray cluster at `address` (HOST:PORT), or at RAY_ADDRESS when `address`
    is None; otherwise, or for an empty address, the local queue. A cluster address must
    answer within seconds, else cluster.ClusterError (one line)."""
    if address is None:
        address = os.environ.get("RAY_ADDRESS", "")
    if not address.strip():
        return LocalExecutor()
    from .cluster import RayExecutor  # Ray itself is only imported by the driver it starts
    return RayExecutor(address)


def relaunch(run_ids: Sequence[str], store: RunStore, executor: Executor) -> list[str]:
    """Train ended runs (interrupted, failed, stopped) again from scratch: each gets a fresh
    queued run with its config, name, experiment and variant; the ended run stays as the
    record of what happened. Returns the new run ids."""
    new = []
    for run_id in run_ids:
        run = store.get(run_id)
        if run.active:
            raise RuntimeError(f"run {run_id} is {run.status}; only an ended run can be relaunched")
        new.append(store.create(run.config, run.name, experiment_id=run.experiment_id,
                                variant=run.variant, executor=executor.name))
    executor.launch(new, store)
    return new
