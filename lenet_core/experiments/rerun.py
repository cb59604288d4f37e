"""Re-run shipped experiments with their default epochs and seeds, one after another on this
machine's queue (one run at a time), and store each result for the results document: how long
it took and how busy the machine was are recorded beside it (load average over 1 minute,
sampled every LOAD_EVERY_S; the experiment's own run adds about its thread count to it).
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..runs.store import RunStore
from . import launching, results, results_doc
from .catalog import EXPERIMENTS

LOAD_EVERY_S = 30.0
POLL_S = 2.0


def load_average() -> float:
    return os.getloadavg()[0]


def run_one(name: str, store: RunStore, *, timed: bool | None = None,
            say: Callable[[str], None] = print,
            overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Launch one shipped experiment, wait for every run, and return its stored result.
    overrides: launch options (epochs, seeds, max_train_examples) for a quick rehearsal."""
    before = load_average()
    samples, t0, next_sample = [before], time.monotonic(), time.monotonic() + LOAD_EVERY_S
    experiment_id = launching.launch(EXPERIMENTS[name], store, timed=timed,
                                       **(overrides or {}))
    while any(r.active for r in store.runs_of(experiment_id)):
        if time.monotonic() >= next_sample:
            samples.append(load_average())
            next_sample += LOAD_EVERY_S
        time.sleep(POLL_S)
    seconds = time.monotonic() - t0
    report = results.report(experiment_id, store)
    ran = {"seconds": round(seconds, 1), "load_before": before,
           "load_mean": round(statistics.fmean(samples), 2), "load_max": max(samples),
           "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d"),
           "overrides": overrides or None}
    say(f"{name}: {len(report['runs'])} runs in {seconds / 60:.1f} min, load average "
        f"{before:.2f} before, {ran['load_mean']:.2f} mean")
    return results_doc.trim(report, ran)


def rerun(names: Sequence[str], store: RunStore, folder: Path = results_doc.RESULTS, *,
          timed: bool | None = None, say: Callable[[str], None] = print,
          overrides: dict[str, Any] | None = None) -> Path:
    """Re-run each named experiment, write folder/NAME.json after each (an interrupted re-run
    keeps what finished), then render the document from the folder; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        result = run_one(name, store, timed=timed, say=say, overrides=overrides)
        (folder / f"{name}.json").write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    document = folder.parent / "EXPERIMENTS.md" if folder != results_doc.RESULTS \
        else results_doc.DOCUMENT
    results_doc.write(folder, document)
    return document
