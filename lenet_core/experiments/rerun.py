"""Re-run shipped experiments with their default epochs and seeds, one after another on this
machine's queue (one run at a time, or `parallel` at a time for an untimed experiment), and
store each result for the results document: how long it took and how busy the machine was are
recorded beside it (load average over 1 minute, sampled every LOAD_EVERY_S; the experiment's
own runs add about their thread count to it).

A re-run longer than one sitting resumes: its progress file in the run store
(rerun-NAME.json) names the launch and the wall time and load of each part so far. Running
`experiment rerun NAME` again on the same store keeps every run that ended, queues the runs
whose process died (interrupted) again from scratch, waits for the rest, and records the parts'
summed wall time. A changed definition or other overrides start a fresh launch instead.
On a fresh machine, where that store is gone, the re-run resumes from what it carried in
docs/results/partial/ (lenet_core.experiments.carried), which it rewrites as it goes.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..runs import executors, procs
from ..runs.errors import NoSuchExperiment
from ..runs.executors import Executor, LocalExecutor
from ..runs.store import RunStore
from ..show import fmt
from . import carried, launching, results, results_doc
from .catalog import EXPERIMENTS

LOAD_EVERY_S = 30.0
POLL_S = 2.0


class Busy(RuntimeError):
    """This experiment's re-run is already going on in this store, in another process."""


def load_average() -> float:
    return os.getloadavg()[0]


def progress_path(store: RunStore, name: str) -> Path:
    return store.root / f"rerun-{name}.json"


def unfinished(name: str, store: RunStore,
               overrides: dict[str, Any] | None) -> dict[str, Any] | None:
    """The progress of this experiment's earlier re-run in this store, if one was left
    unfinished with the same overrides and the catalog's current version of the experiment."""
    path = progress_path(store, name)
    if not path.exists():
        return None
    progress = json.loads(path.read_text())
    if progress.get("overrides") != (overrides or None) \
            or progress.get("version") != EXPERIMENTS[name].version:
        return None
    try:
        store.experiment(progress["experiment_id"])
    except NoSuchExperiment:
        return None
    pid = progress.get("pid")
    if pid != os.getpid() and procs.alive(pid) and procs.started_by(pid, progress.get("since")):
        raise Busy(f"a re-run of {name} is already going on in this store (process "
                   f"{progress['pid']}); wait for it, or stop that process first")
    return progress


def requeue(experiment_id: str, store: RunStore, executor: Executor) -> list[str]:
    """Train the experiment's interrupted runs again from scratch, in their queued order; the
    interrupted records are deleted (a part-trained run is not a result). Returns the new ids."""
    gone = [r.id for r in store.runs_of(experiment_id) if r.status == "interrupted"]
    again = executors.relaunch(gone, store, executor)
    for run_id in gone:
        store.delete(run_id)
    return again


def side_by_side(name: str, parallel: int, timed: bool | None) -> int:
    """How many of the experiment's runs train at a time: `parallel`, except that a timed
    experiment's runs train one at a time (their timings are compared)."""
    if parallel < 1:
        raise ValueError(f"parallel must be 1 or more, got {parallel}")
    return 1 if (EXPERIMENTS[name].timed if timed is None else timed) else parallel


def local_executor(at_a_time: int) -> LocalExecutor:
    """`at_a_time` workers, each run on an equal share of this machine's cores."""
    if at_a_time == 1:
        return LocalExecutor()
    return LocalExecutor(at_a_time, workers=at_a_time,
                         threads=max(1, (os.cpu_count() or 1) // at_a_time))


def run_one(name: str, store: RunStore, *, timed: bool | None = None,
            say: Callable[[str], None] = print,
            overrides: dict[str, Any] | None = None,
            executor: Executor | None = None, parallel: int = 1,
            folder: Path | None = None) -> dict[str, Any]:
    """Launch one shipped experiment (or resume its unfinished re-run), wait for every run,
    and return its stored result. overrides: launch options (epochs, seeds,
    max_train_examples) for a quick rehearsal. parallel: runs trained at a time (untimed
    experiments only), each on cpus / parallel threads. folder: where the results go; the
    re-run carries its progress in its partial/ folder, and resumes from it when this store
    has none."""
    at_a_time = side_by_side(name, parallel, timed)
    if at_a_time < parallel:
        say(f"{name} is timed: its runs train one at a time")
    executor = executor or local_executor(at_a_time)
    before = load_average()
    part = {"date": time.strftime("%Y-%m-%d %H:%M"), "seconds": 0.0, "loads": [before],
            "at_a_time": at_a_time}
    progress = unfinished(name, store, overrides)
    if progress is None and folder is not None \
            and (carry := carried.load(folder, name, overrides)) is not None:
        progress = restore(name, carry, store, executor, folder, timed=timed, say=say)
        experiment_id = progress["experiment_id"]
    elif progress is None:
        experiment_id = launching.launch(EXPERIMENTS[name], store, timed=timed,
                                           executor=executor, **(overrides or {}))
        progress = {"experiment_id": experiment_id, "version": EXPERIMENTS[name].version,
                    "overrides": overrides or None, "parts": []}
    else:
        experiment_id = progress["experiment_id"]
        runs = store.runs_of(experiment_id)
        ended = sum(not r.active and r.status != "interrupted" for r in runs)
        again = requeue(experiment_id, store, executor)
        say(f"{name}: resuming {experiment_id} (part {len(progress['parts']) + 1}): "
            f"{ended} of {len(runs)} runs ended, {len(again)} interrupted runs queued again")
    progress["parts"].append(part)
    progress["pid"], progress["since"] = os.getpid(), time.time()
    def keep() -> None:
        progress_path(store, name).write_text(json.dumps(progress, indent=1) + "\n")
        if folder is not None:
            carried.save(name, progress, store, folder)

    _wait(experiment_id, store, part, keep, say)
    report = results.report(experiment_id, store)
    parts = progress["parts"]
    seconds = sum(p["seconds"] for p in parts)
    loads = [x for p in parts for x in p["loads"]]
    ran = {"seconds": round(seconds, 1), "load_before": parts[0]["loads"][0],
           "load_mean": round(statistics.fmean(loads), 2), "load_max": max(loads),
           "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d"),
           "overrides": overrides or None}
    if len(parts) > 1:
        ran["parts"] = len(parts)
    if (at := sorted({p.get("at_a_time", 1) for p in parts}))[-1] > 1:
        ran["at_a_time"] = at
    say(f"{name}: {len(report['runs'])} runs in {seconds / 60:.1f} min"
        f"{f' over {len(parts)} parts' if len(parts) > 1 else ''}, load average "
        f"{ran['load_before']:.2f} before, {ran['load_mean']:.2f} mean")
    return results_doc.trim(report, ran)


def restore(name: str, carry: dict[str, Any], store: RunStore, executor: Executor,
            folder: Path, *, timed: bool | None,
            say: Callable[[str], None]) -> dict[str, Any]:
    """Record the experiment again in this store, put the carried runs back as they ended,
    queue the rest of its runs; returns the re-run's progress (the carried sittings)."""
    experiment = EXPERIMENTS[name]
    overrides = carry["overrides"] or {}
    experiment_id = launching.launch(
        experiment, store, executor=executor, timed=timed, queue=False,
        **{k: v for k, v in overrides.items() if k != "seeds"})
    kept = carried.put_back(carry, experiment_id, store)
    spec = store.experiment(experiment_id).spec
    seeds = overrides.get("seeds") or experiment.seeds
    every = [(v["label"], launching.first_seed(spec, v) + k)
             for k in range(seeds) for v in spec["variants"]]
    queued = launching.queue_runs(experiment_id, store,
                                  [pair for pair in every if pair not in kept], executor)
    say(f"{name}: resuming the re-run carried in {carried.path(folder, name)} "
        f"(part {len(carry['parts']) + 1}): {len(kept)} of {len(every)} runs kept, "
        f"{len(queued)} queued")
    return {"experiment_id": experiment_id, "version": carry["version"],
            "overrides": carry["overrides"], "parts": carry["parts"]}


def _wait(experiment_id: str, store: RunStore, part: dict[str, Any],
          keep: Callable[[], None], say: Callable[[str], None]) -> None:
    """Until no run of the experiment is active: a line as each run ends, and the load
    sampled into the part every LOAD_EVERY_S, kept (keep()) then and as each run ends, so a
    re-run killed meanwhile loses at most one sample's time."""
    t0 = time.monotonic()
    next_sample = t0 + LOAD_EVERY_S

    def ended(k: int, n: int, run) -> None:
        say(fmt.ended_line(k, n, run))
        part["seconds"] = round(time.monotonic() - t0, 1)
        keep()

    def sample() -> None:
        nonlocal next_sample
        if time.monotonic() >= next_sample:
            part["loads"].append(load_average())
            part["seconds"] = round(time.monotonic() - t0, 1)
            keep()
            next_sample += LOAD_EVERY_S

    keep()
    launching.follow(experiment_id, store, ended, on_poll=sample, poll_s=POLL_S)
    part["seconds"] = round(time.monotonic() - t0, 1)
    keep()


def rerun(names: Sequence[str], store: RunStore, folder: Path = results_doc.RESULTS, *,
          timed: bool | None = None, say: Callable[[str], None] = print,
          overrides: dict[str, Any] | None = None, parallel: int = 1) -> Path:
    """Re-run each named experiment, write folder/NAME.json after each (an interrupted re-run
    keeps what finished, and resumes when run again), then render the document from the
    folder; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        result = run_one(name, store, timed=timed, say=say, overrides=overrides,
                         parallel=parallel, folder=folder)
        (folder / f"{name}.json").write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
        progress_path(store, name).unlink(missing_ok=True)
        carried.path(folder, name).unlink(missing_ok=True)
    document = folder.parent / "EXPERIMENTS.md" if folder != results_doc.RESULTS \
        else results_doc.DOCUMENT
    results_doc.write(folder, document)
    return document
