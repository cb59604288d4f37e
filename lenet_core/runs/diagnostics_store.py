"""A run's per-layer diagnostics (lenet_core.explain.diagnostics) in the run store: one row per
recorded step (schema version 6), written as the run trains, so a live view can read them."""

from __future__ import annotations

import json
import math
import sqlite3
from contextlib import AbstractContextManager
from typing import Any, Protocol


class StoreDb(Protocol):
    """What this module uses of lenet_core.runs.store.RunStore: its database (the diagnostics
    table sits in the store's file; this module stays below the store)."""

    def _db(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def _write(self, sql: str, args: tuple = ()) -> None: ...


def add(store: StoreDb, run_id: str, record: dict[str, Any]) -> None:
    """Store one record (a step recorded twice keeps the last)."""
    store._write("INSERT OR REPLACE INTO diagnostics (run_id, step, x, record) VALUES (?,?,?,?)",
                 (run_id, record["step"], record["x"], json.dumps(_safe(record))))


# Without histograms: sqlite drops each layer's (a record has at most MAX_LAYERS layers).
MAX_LAYERS = 32
_NO_HIST = "json_remove(record, " + ", ".join(f"'$.layers[{i}].hist'"
                                              for i in range(MAX_LAYERS)) + ")"


def records(store: StoreDb, run_id: str, since_step: int = 0,
            histograms: bool = True) -> list[dict[str, Any]]:
    """The run's records in step order (those after `since_step`); [] for a run made before
    diagnostics were recorded. histograms=False leaves them out: a tenth of the reading."""
    column = "record" if histograms else _NO_HIST
    with store._db() as db:
        rows = db.execute(f"SELECT {column} FROM diagnostics WHERE run_id=? AND step>? "
                          "ORDER BY step", (run_id, since_step)).fetchall()
    return [json.loads(r[0]) for r in rows]


def counts(store: StoreDb, run_ids: list[str]) -> dict[str, int]:
    """How many records each run has (a live view redraws when the count grows)."""
    marks = ",".join("?" * len(run_ids))
    with store._db() as db:
        found = dict(db.execute(f"SELECT run_id, COUNT(*) FROM diagnostics WHERE run_id IN "
                                f"({marks}) GROUP BY run_id", run_ids).fetchall())
    return {r: found.get(r, 0) for r in run_ids}


def last_dead_fraction(store: StoreDb, run_id: str) -> float | None:
    """The share of ReLU units dead at the run's last diagnostics record, if measured there
    (None: no record, no ReLU, or non-finite weights, which are never read as dead)."""
    from ..explain.diagnostics import dead_fraction
    recs = records(store, run_id, histograms=False)
    return dead_fraction(recs[-1]) if recs and recs[-1]["finite"] else None


def sink(store: StoreDb, run_id: str):
    """A Recorder's sink that writes each record into the store as it comes."""
    return lambda record: add(store, run_id, record)


def steps(store: StoreDb, run_id: str) -> list[int]:
    """The steps recorded so far, in order."""
    with store._db() as db:
        return [r[0] for r in db.execute("SELECT step FROM diagnostics WHERE run_id=? "
                                         "ORDER BY step", (run_id,)).fetchall()]


def record_at(store: StoreDb, run_id: str, step: int) -> dict[str, Any] | None:
    """The record of one step, histograms included (None when that step was not recorded)."""
    with store._db() as db:
        row = db.execute("SELECT record FROM diagnostics WHERE run_id=? AND step=?",
                         (run_id, step)).fetchone()
    return json.loads(row[0]) if row else None


def _safe(v: Any) -> Any:
    """NaN and infinities as null: JSON has no such numbers."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _safe(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_safe(x) for x in v]
    return v
