"""A re-run carried from one machine to the next: while it goes on, the runs that ended are
written to docs/results/partial/NAME.json (small: each run's variant, seed, status and final
figures, and its curve where the experiment's measure reads one), beside the wall time and load
of each sitting so far. Committed, it lets a re-run longer than a sitting resume in a fresh
checkout, where the run store it began in is gone: the experiment is recorded again, the
carried runs are restored as they ended, and only the others are queued. The file goes once
the result is written.

A carried run keeps no checkpoint and no per-layer diagnostics: an experiment whose result
reads diagnostics (qa-activation's "why") is not carried, it resumes only in its own store.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..runs.records import Run
from ..runs.store import RunStore
from .catalog import EXPERIMENTS
from .definitions import run_config, run_name

PARTIAL = "partial"  # the folder, beside the results
UNCARRIED = ("qa-activation",)  # its verdict's "why" reads each run's stored diagnostics
CURVED = ("overfitting", "time-to-target")  # measures read from the curves, not the finals
FINALS = ("train_loss", "train_acc", "test_acc", "examples_per_sec", "train_time",
          "wall_time", "diverged_step", "device", "data_source")
POINT = ("x", "step", "train_loss", "train_acc", "test_acc", "test_loss", "elapsed")


def path(folder: Path, name: str) -> Path:
    return folder / PARTIAL / f"{name}.json"


def save(name: str, progress: dict[str, Any], store: RunStore, folder: Path) -> int:
    """Write what the re-run has so far: its sittings and every run that ended (an interrupted
    run is trained again, so it is left out); returns how many runs were written."""
    if name in UNCARRIED:
        return 0
    runs = [r for r in store.runs_of(progress["experiment_id"])
            if not r.active and r.status != "interrupted"]
    curved = EXPERIMENTS[name].measure in CURVED
    carried = {"experiment": name, "version": progress["version"],
               "overrides": progress["overrides"], "planned": planned(name, progress),
               "parts": progress["parts"], "runs": [_run(r, store, curved) for r in runs]}
    target = path(folder, name)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".tmp")  # a re-run killed mid-write keeps the last file
    temporary.write_text(json.dumps(carried, indent=0, sort_keys=True) + "\n")
    temporary.replace(target)
    return len(runs)


def planned(name: str, progress: dict[str, Any]) -> int:
    experiment = EXPERIMENTS[name]
    seeds = (progress["overrides"] or {}).get("seeds") or experiment.seeds
    return seeds * len(experiment.variants)


def _run(run: Run, store: RunStore, curved: bool) -> dict[str, Any]:
    out = {"variant": run.variant, "seed": run.config.seed, "status": run.status,
           "error": run.error, "executor": run.executor, "node": run.node,
           "threads": run.threads, **{k: getattr(run, k) for k in FINALS}}
    if curved:
        out["points"] = [[p[k] for k in POINT] for p in store.metrics(run.id)]
    return {k: v for k, v in out.items() if v is not None}


def load(folder: Path, name: str, overrides: dict[str, Any] | None) -> dict[str, Any] | None:
    """The carried re-run of this experiment, if one was saved with the same overrides and the
    catalog's current version of the experiment."""
    source = path(folder, name)
    if name in UNCARRIED or not source.exists():
        return None
    carried = json.loads(source.read_text())
    if carried.get("overrides") != (overrides or None) \
            or carried.get("version") != EXPERIMENTS[name].version:
        return None
    return carried


def put_back(carried: dict[str, Any], experiment_id: str,
             store: RunStore) -> set[tuple[str, int]]:
    """Restore the carried runs into the experiment (recorded again in this store) as they
    ended; returns their (variant, seed)s."""
    spec = store.experiment(experiment_id).spec
    variants = {v["label"]: v for v in spec["variants"]}
    kept = set()
    for r in carried["runs"]:
        run_id = store.create(run_config(spec, variants[r["variant"]], r["seed"]),
                              run_name(carried["experiment"], r["variant"], r["seed"]),
                              experiment_id=experiment_id, variant=r["variant"],
                              executor=r["executor"])
        if "node" in r:
            store.set_placement(run_id, r["node"], r.get("threads"))
        for point in r.get("points", []):
            store.add_point(run_id, **dict(zip(POINT, point, strict=True)))
        store.finish(run_id, r["status"], error=r.get("error"),
                     **{k: r[k] for k in FINALS if k in r})
        kept.add((r["variant"], r["seed"]))
    return kept


def counts(folder: Path) -> dict[str, tuple[int, int]]:
    """Each carried re-run's runs so far and its planned runs, by experiment."""
    found = {}
    for source in sorted((folder / PARTIAL).glob("*.json")):
        carried = json.loads(source.read_text())
        found[carried["experiment"]] = (len(carried["runs"]), carried["planned"])
    return found
