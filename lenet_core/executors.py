"""Where runs execute. An executor takes runs already created in the store (status `queued`)
and makes them train; the store stays the single source of truth for their curves and status.

Nothing outside this module may assume that runs are local processes: launch through an
executor, stop through `stop`, and watch the store (runner.wait) to see them end.
"""

from __future__ import annotations

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
    """The local queue unless a cluster address is given."""
    if not address:
        return LocalExecutor()
    raise NotImplementedError("running on a cluster is not available yet")
