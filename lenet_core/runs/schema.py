"""The run store's schema and its migrations: an upgrade never loses a run.

The schema carries a version (`PRAGMA user_version`). Migration k takes a store from version k
to k + 1; opening a store applies the ones it lacks, each in its own transaction.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .errors import StoreError

# Migration k takes a store from schema version k to k + 1. Never edit one that has shipped:
# append a new one. Version 1 is the first schema; stores made before versions existed hold it
# at user_version 0, and its IF NOT EXISTS makes applying it to them a no-op.
_V1 = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    status TEXT NOT NULL,
    config TEXT NOT NULL,          -- TrainConfig as JSON
    device TEXT,
    pid INTEGER,                   -- the process training it, while active
    heartbeat REAL,                -- last sign of life from that process
    stop_requested INTEGER NOT NULL DEFAULT 0,
    progress TEXT,                 -- progress.Progress as JSON
    train_loss REAL, train_acc REAL, test_acc REAL,
    examples_per_sec REAL, train_time REAL, wall_time REAL,
    diverged_step INTEGER,
    error TEXT,
    data_source TEXT
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    x REAL NOT NULL,               -- epoch + fraction of the epoch, as the book's animator
    step INTEGER NOT NULL,
    train_loss REAL, train_acc REAL, test_acc REAL
);
CREATE INDEX IF NOT EXISTS metrics_run ON metrics(run_id, step);
"""
# Version 2: runs belong to experiments, and record where they ran and with how many threads.
_V2 = """
ALTER TABLE runs ADD COLUMN experiment_id TEXT;        -- the experiment it belongs to, if any
ALTER TABLE runs ADD COLUMN executor TEXT NOT NULL DEFAULT 'local';  -- "local" or "ray"
ALTER TABLE runs ADD COLUMN node TEXT;                 -- the machine (host or Ray node) it ran on
ALTER TABLE runs ADD COLUMN threads INTEGER;           -- torch intra-op threads it trained with
CREATE TABLE IF NOT EXISTS experiments (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,            -- the definition's name ("qa-activation"), or "sweep"
    version INTEGER NOT NULL,      -- the definition's version when it was launched
    created_at REAL NOT NULL,
    spec TEXT NOT NULL,            -- what was launched, as JSON (base config, grid, epochs, seeds)
    executor TEXT NOT NULL DEFAULT 'local'
);
CREATE INDEX IF NOT EXISTS runs_experiment ON runs(experiment_id)
"""
# Version 3: which variant of its experiment a run is ("ReLU, lr 0.1").
_V3 = """
ALTER TABLE runs ADD COLUMN variant TEXT
"""
# Version 4: the environment a run trained in (lenet_core.environment.Environment as JSON; NULL
# for runs made before it, which read as "unknown").
_V4 = """
ALTER TABLE runs ADD COLUMN environment TEXT
"""
# Version 5: a curve point's test loss (mean cross-entropy on the test set), and when it was
# reached (wall seconds since the first step, evaluations included: time to a target).
_V5 = """
ALTER TABLE metrics ADD COLUMN test_loss REAL;
ALTER TABLE metrics ADD COLUMN elapsed REAL
"""
# Version 6: per-layer diagnostics (lenet_core.explain.diagnostics), one row per recorded step:
# every step at the start, then each curve point. Runs made before it have none.
_V6 = """
CREATE TABLE IF NOT EXISTS diagnostics (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,         -- optimizer steps so far
    x REAL NOT NULL,               -- epoch + fraction of the epoch, as metrics.x
    record TEXT NOT NULL,          -- the record as JSON: loss, state, a dict per layer
    PRIMARY KEY (run_id, step)
)
"""
MIGRATIONS = (_V1, _V2, _V3, _V4, _V5, _V6)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring the schema up to SCHEMA_VERSION, one migration at a time, each in a transaction
    (a second process opening the store at once waits, then finds nothing left to do)."""
    db.execute("PRAGMA journal_mode=WAL")
    while True:
        db.execute("BEGIN IMMEDIATE")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version >= SCHEMA_VERSION:
            db.execute("COMMIT")
            break
        try:
            for statement in MIGRATIONS[version].split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version={version + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path} was written by a newer LeNet Lab (schema {version}, this "
                         f"version reads up to {SCHEMA_VERSION}): upgrade LeNet Lab to open it")
