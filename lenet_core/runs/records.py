"""What the run store holds, as plain values: a run's record, an experiment's record, the
statuses, and what a run name may be. Read back from SQLite rows; written by lenet_core.runs.store."""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..config import TrainConfig
from ..progress import Progress
from ..scoring import CHANCE_ACCURACY  # below it a 10-class model has learned nothing
from .environment import Environment

STATUSES = ("queued", "running", "finished", "stopped", "diverged", "failed", "interrupted")
ACTIVE = ("queued", "running")
NAME_MAX = 100  # characters in a run's name: it heads panels, legends and table columns


@dataclass(frozen=True)
class Run:
    id: str
    name: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    status: str
    config: TrainConfig
    device: str | None
    pid: int | None
    heartbeat: float | None
    stop_requested: bool
    progress: Progress | None
    train_loss: float | None
    train_acc: float | None
    test_acc: float | None
    examples_per_sec: float | None
    train_time: float | None
    wall_time: float | None
    diverged_step: int | None
    error: str | None
    data_source: str | None
    experiment_id: str | None
    executor: str  # "local" or "ray"
    node: str | None  # the machine it ran on
    threads: int | None  # torch intra-op threads
    variant: str | None  # its experiment's variant label
    environment: Environment  # where it trained; all "unknown" until it starts, and for old runs

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def to_dict(self, fields: Sequence[str]) -> dict[str, Any]:
        """The named fields as JSON values (config and environment as dicts): the one way a run
        becomes JSON. "run_id" names the id under the key the train and experiment reports use."""
        def value(name: str) -> Any:
            v = self.id if name == "run_id" else getattr(self, name)
            return v.to_dict() if isinstance(v, (TrainConfig, Environment)) else v
        return {name: value(name) for name in fields}


def name_problem(name: str) -> str | None:
    """Why this run name is refused, or None. Names are shown everywhere as plain text; this
    keeps them to one printable line of reasonable length."""
    if len(name) > NAME_MAX:
        return f"at most {NAME_MAX} characters, got {len(name)}"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        return "only printable characters: no line breaks, tabs or control codes"
    return None


@dataclass(frozen=True)
class ExperimentRecord:
    id: str
    name: str  # the definition's name, or "sweep"
    version: int
    created_at: float
    spec: dict[str, Any]  # what was launched (lenet_core.experiments reads it)
    executor: str


def experiment_from_row(row: sqlite3.Row) -> ExperimentRecord:
    d = dict(row)
    d["spec"] = json.loads(d["spec"])
    return ExperimentRecord(**d)


def run_from_row(row: sqlite3.Row) -> Run:
    d = dict(row)
    d["config"] = TrainConfig.from_dict(json.loads(d["config"]))
    d["progress"] = Progress.from_json(d["progress"])
    d["stop_requested"] = bool(d["stop_requested"])
    d["environment"] = Environment.from_json(d["environment"])
    return Run(**d)


def at_chance(run: Run) -> bool:
    """A run that ended without learning anything: test accuracy near 1 in 10."""
    return run.status in ("finished", "stopped") and run.test_acc is not None \
        and run.test_acc < CHANCE_ACCURACY
