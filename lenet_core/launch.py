"""Where launched runs go: a Ray cluster, or this machine's queue (lenet_core.runs.executors)."""

from __future__ import annotations

import os

from .cluster.executor import RayExecutor
from .runs.executors import Executor, LocalExecutor


def executor_for(address: str | None = None) -> Executor:
    """A Ray cluster at `address` (HOST:PORT), or at RAY_ADDRESS when `address` is None;
    otherwise, or for an empty address, the local queue. A cluster address must answer within
    seconds, else cluster.executor.ClusterError (one line)."""
    if address is None:
        address = os.environ.get("RAY_ADDRESS", "")
    if not address.strip():
        return LocalExecutor()
    return RayExecutor(address)
