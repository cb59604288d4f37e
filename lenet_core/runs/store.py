"""The run store: every run and its curves in one SQLite file (WAL), checkpoints beside it.

One process writes a run (its trainer); any number read at once (pages, CLI, tests). A run
whose process has died is marked `interrupted` by whoever next reads it, metrics intact.
The schema and its migrations live in lenet_core.runs.schema; opening a store applies the migrations
it lacks, so an upgrade never loses a run. Whatever sqlite reports (a damaged file, a full disk)
reaches callers as one StoreError line, never sqlite's own.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from ..config import TrainConfig
from ..progress import Progress
from . import procs
from .environment import Environment
from .errors import NoSuchExperiment, NoSuchRun, StoreError
from .records import ACTIVE, STATUSES, ExperimentRecord, Run, experiment_from_row, name_problem, run_from_row
from .schema import SCHEMA_VERSION, migrate

HEARTBEAT_TIMEOUT = 60.0  # seconds without a heartbeat after which a live pid is not trusted
METRIC_COLUMNS = ("x", "step", "train_loss", "train_acc", "test_acc")


def runs_root() -> Path:
    return Path(os.environ.get("LENET_RUNS", "runs"))


class RunStore:
    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else runs_root()
        self.root.mkdir(parents=True, exist_ok=True)
        self.db_path = self.root / "runs.db"
        with self._db() as db:
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                migrate(db, self.db_path)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A fresh connection (safe across threads and processes, and cheap in SQLite), closed
        after use; sqlite's errors become one StoreError line."""
        try:
            with closing(sqlite3.connect(self.db_path, timeout=30, isolation_level=None)) as db:
                db.row_factory = sqlite3.Row
                db.execute("PRAGMA busy_timeout=30000")
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute("PRAGMA foreign_keys=ON")
                yield db
        except sqlite3.OperationalError as e:  # locked past the timeout, disk full, read-only
            raise StoreError(f"{self.db_path}: the run store cannot be used now ({e})") from e
        except sqlite3.DatabaseError as e:  # not a database, or a damaged one
            raise StoreError(f"{self.db_path} is damaged or not a LeNet Lab run store ({e}): "
                             "move it aside to start a new one") from e

    def _write(self, sql: str, args: tuple = ()) -> None:
        with self._db() as db:
            db.execute(sql, args)

    # --- lifecycle ----------------------------------------------------------------------

    def create(self, config: TrainConfig, name: str | None = None, *,
               experiment_id: str | None = None, variant: str | None = None,
               executor: str = "local") -> str:
        if name and (problem := name_problem(name)):
            raise ValueError(f"run name: {problem}")
        run_id = _new_id()
        name = name or f"{config.dataset} {config.activation}/{config.pooling} " \
                       f"{config.optimizer} lr={config.lr:g}"
        self._write("INSERT INTO runs (id, name, created_at, status, config, experiment_id, "
                    "variant, executor) VALUES (?,?,?,?,?,?,?,?)",
                    (run_id, name, time.time(), "queued", config.to_json(), experiment_id,
                     variant, executor))
        return run_id

    def claim(self, run_id: str, pid: int, max_running: int | None = 1) -> bool:
        """Move a queued run to running if it is first in the queue and a slot is free.

        max_running=None starts it at once (a foreground CLI run does not wait in line)."""
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                self._reap(db)
                # This machine's queue: cluster runs neither hold a slot nor block the line.
                running = db.execute("SELECT COUNT(*) FROM runs WHERE status='running' "
                                     "AND executor='local'").fetchone()[0]
                first = db.execute("SELECT id FROM runs WHERE status='queued' AND "
                                   "executor='local' ORDER BY created_at, id LIMIT 1").fetchone()
                status = db.execute("SELECT status FROM runs WHERE id=?", (run_id,)).fetchone()
                if max_running is None:
                    ok = status is not None and status["status"] == "queued"
                else:
                    ok = (running < max_running and first is not None
                          and first["id"] == run_id)
                if ok:
                    now = time.time()
                    db.execute("UPDATE runs SET status='running', pid=?, started_at=?, "
                               "heartbeat=? WHERE id=?", (pid, now, now, run_id))
                db.execute("COMMIT")
                return ok
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def set_executor(self, run_id: str, executor: str) -> None:
        self._write("UPDATE runs SET executor=? WHERE id=?", (executor, run_id))

    def set_placement(self, run_id: str, node: str, threads: int,
                      environment: Environment | None = None) -> None:
        """Where the run trains: the machine, its torch thread count and its environment."""
        self._write("UPDATE runs SET node=?, threads=?, environment=COALESCE(?, environment) "
                    "WHERE id=?", (node, threads, environment and environment.to_json(), run_id))

    def set_pid(self, run_id: str, pid: int) -> None:
        self._write("UPDATE runs SET pid=?, heartbeat=? WHERE id=?", (pid, time.time(), run_id))

    def heartbeat(self, run_id: str, progress: Progress | None = None,
                  device: str | None = None) -> None:
        self._write("UPDATE runs SET heartbeat=?, progress=COALESCE(?, progress), "
                    "device=COALESCE(?, device) WHERE id=?",
                    (time.time(), progress.to_json() if progress else None, device, run_id))

    def add_point(self, run_id: str, x: float, step: int, train_loss: float | None = None,
                  train_acc: float | None = None, test_acc: float | None = None,
                  test_loss: float | None = None, elapsed: float | None = None) -> None:
        self._write("INSERT INTO metrics (run_id, x, step, train_loss, train_acc, test_acc, "
                    "test_loss, elapsed) VALUES (?,?,?,?,?,?,?,?)",
                    (run_id, x, step, _finite(train_loss), train_acc, test_acc,
                     _finite(test_loss), elapsed))

    def finish(self, run_id: str, status: str, *, error: str | None = None,
               **final: Any) -> None:
        assert status in STATUSES and status not in ACTIVE, status
        cols = ("train_loss", "train_acc", "test_acc", "examples_per_sec", "train_time",
                "wall_time", "diverged_step", "device", "data_source")
        unknown = set(final) - set(cols)
        assert not unknown, unknown
        sets = ", ".join(f"{c}=COALESCE(?, {c})" for c in cols)
        self._write(f"UPDATE runs SET status=?, finished_at=?, error=?, pid=NULL, {sets} "
                    "WHERE id=?",
                    (status, time.time(), error, *(_finite(final.get(c)) for c in cols), run_id))

    def request_stop(self, run_id: str) -> None:
        self._write("UPDATE runs SET stop_requested=1 WHERE id=?", (run_id,))

    def stop_requested(self, run_id: str) -> bool:
        with self._db() as db:
            row = db.execute("SELECT stop_requested FROM runs WHERE id=?", (run_id,)).fetchone()
        return bool(row and row[0])

    def delete(self, run_id: str) -> None:
        run = self.get(run_id)
        if run.active:
            raise RuntimeError(f"run {run_id} is {run.status}; stop it before deleting it")
        self._write("DELETE FROM runs WHERE id=?", (run_id,))
        self.checkpoint_path(run_id).unlink(missing_ok=True)
        self.evaluation_path(run_id).unlink(missing_ok=True)
        (self.root / f"{run_id}.log").unlink(missing_ok=True)

    # --- reading ------------------------------------------------------------------------

    def _reap(self, db: sqlite3.Connection) -> None:
        """Active runs whose process is gone become interrupted; their metrics stay."""
        now = time.time()
        for row in db.execute("SELECT id, pid, heartbeat, status, started_at FROM runs WHERE "
                              "status IN ('queued','running') AND pid IS NOT NULL").fetchall():
            # A queued run waits on a live worker busy with the runs ahead of it: only a
            # running run must keep its heartbeat fresh. A silent heartbeat from the very
            # process that claimed the run means a frozen process (a laptop asleep, SIGSTOP),
            # not a dead one: it goes on when it wakes.
            stale = row["status"] == "running" and row["heartbeat"] is not None \
                and now - row["heartbeat"] > HEARTBEAT_TIMEOUT \
                and not procs.started_by(row["pid"], row["started_at"])
            if not procs.alive(row["pid"]) or stale:
                db.execute("UPDATE runs SET status='interrupted', finished_at=?, pid=NULL, "
                           "error=COALESCE(error, 'the training process ended unexpectedly') "
                           "WHERE id=? AND status IN ('queued','running')", (now, row["id"]))

    def get(self, run_id: str) -> Run:
        with self._db() as db:
            self._reap(db)
            row = db.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise NoSuchRun(f"no run with id {run_id!r}")
        return run_from_row(row)

    def list(self, status: str | None = None) -> list[Run]:
        with self._db() as db:
            self._reap(db)
            if status:
                rows = db.execute("SELECT * FROM runs WHERE status=? ORDER BY created_at DESC",
                                  (status,)).fetchall()
            else:
                rows = db.execute("SELECT * FROM runs ORDER BY created_at DESC").fetchall()
        return [run_from_row(r) for r in rows]

    def runs_of(self, experiment_id: str) -> list[Run]:
        """An experiment's runs, in the order they were queued."""
        with self._db() as db:
            self._reap(db)
            rows = db.execute("SELECT * FROM runs WHERE experiment_id=? ORDER BY created_at, id",
                              (experiment_id,)).fetchall()
        return [run_from_row(r) for r in rows]

    # --- experiments ----------------------------------------------------------------------

    def create_experiment(self, name: str, version: int, spec: dict[str, Any],
                          executor: str = "local") -> str:
        experiment_id = _new_id()
        self._write("INSERT INTO experiments (id, name, version, created_at, spec, executor) "
                    "VALUES (?,?,?,?,?,?)",
                    (experiment_id, name, version, time.time(), json.dumps(spec), executor))
        return experiment_id

    def experiment(self, experiment_id: str) -> ExperimentRecord:
        with self._db() as db:
            row = db.execute("SELECT * FROM experiments WHERE id=?", (experiment_id,)).fetchone()
        if row is None:
            raise NoSuchExperiment(f"no experiment with id {experiment_id!r}")
        return experiment_from_row(row)

    def experiments(self, name: str | None = None) -> list[ExperimentRecord]:
        """Experiment records, newest first (only those of one definition, with `name`)."""
        with self._db() as db:
            rows = db.execute("SELECT * FROM experiments WHERE ? IS NULL OR name=? "
                              "ORDER BY created_at DESC, id DESC", (name, name)).fetchall()
        return [experiment_from_row(r) for r in rows]

    def metrics(self, run_id: str) -> list[dict[str, Any]]:
        with self._db() as db:
            rows = db.execute("SELECT x, step, train_loss, train_acc, test_acc, test_loss, "
                              "elapsed FROM metrics WHERE run_id=? ORDER BY step, rowid",
                              (run_id,)).fetchall()
        return [dict(r) for r in rows]

    def point_counts(self, run_ids: list[str]) -> dict[str, int]:
        """How many curve points each run has. Points are only ever appended, so a live view
        compares counts to know, cheaply, whether there is anything new to draw."""
        marks = ",".join("?" * len(run_ids))
        with self._db() as db:
            found = dict(db.execute(f"SELECT run_id, COUNT(*) FROM metrics WHERE run_id IN "
                                    f"({marks}) GROUP BY run_id", run_ids).fetchall())
        return {r: found.get(r, 0) for r in run_ids}

    def metrics_csv(self, run_id: str) -> str:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(("epoch",) + METRIC_COLUMNS[1:])
        for m in self.metrics(run_id):
            w.writerow(["" if m[c] is None else m[c] for c in METRIC_COLUMNS])
        return out.getvalue()

    # --- checkpoints --------------------------------------------------------------------

    def checkpoint_path(self, run_id: str) -> Path:
        return self.root / f"{run_id}.pt"

    def evaluation_path(self, ref: str) -> Path:
        """lenet_core.explain.evaluation's cache for a run id (or checkpoint.DEFAULT_MODEL)."""
        return self.root / f"{ref}.eval.json"


def _new_id() -> str:
    """Sortable by time, unique by 32 random bits (many runs are queued within one second)."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:8]


def _finite(v: Any) -> Any:
    return None if isinstance(v, float) and v != v else v
