"""Launching an experiment: record it in the store and queue its runs (variants x seeds)
through an executor; adding seeds; stopping its runs."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from ..runs import executors
from ..runs.executors import Executor, LocalExecutor, Request
from ..runs.records import Run
from ..runs.store import RunStore
from . import computed
from .definitions import COMPUTED, Experiment, run_config, run_name


def launch(experiment: Experiment, store: RunStore, *, epochs: int | None = None,
           seeds: int | None = None, max_train_examples: int | None = None,
           executor: Executor | None = None, timed: bool | None = None,
           queue: bool = True) -> str:
    """Record the experiment and queue its runs (variants x seeds); returns its id at once.
    timed: the runs are measured side by side (see lenet_core.verdicts); the definition's
    own flag by default, and never on a cluster, whose runs train at once on other machines.
    queue=False records it with no runs (a carried re-run restores its own, then queues the
    rest)."""
    executor = executor or LocalExecutor()
    timed = (experiment.timed if timed is None else timed) and executor.name == "local"
    spec = experiment.spec(epochs or experiment.epochs, max_train_examples, timed)
    if experiment.measure == "view-reshape":  # measured now, once: the record keeps it
        spec["cases"] = computed.view_reshape()
    for variant in spec["variants"]:  # every run's config is valid before anything is queued
        run_config(spec, variant, 0)
    experiment_id = store.create_experiment(experiment.name, experiment.version, spec,
                                            executor.name)
    if queue and experiment.measure not in COMPUTED:
        add_seeds(experiment_id, store, seeds or experiment.seeds, executor)
    return experiment_id


def add_seeds(experiment_id: str, store: RunStore, seeds: int,
              executor: Executor | None = None) -> list[str]:
    """Queue `seeds` more seeds of every variant; returns the run ids. A variant's replicas
    count up from its own seed (a grid over `seed` at 100 runs 100, 101, ...; otherwise the
    base's, 0), continuing after the seeds it already has. Seed-major order: each seed's
    variants run one after another, so a queue that trains one run at a time alternates them."""
    record = store.experiment(experiment_id)
    runs = store.runs_of(experiment_id)
    first = {}
    for variant in record.spec["variants"]:
        own = [r.config.seed for r in runs if r.variant == variant["label"]]
        first[variant["label"]] = 1 + max(own) if own else first_seed(record.spec, variant)
    return queue_runs(experiment_id, store, [
        (variant["label"], first[variant["label"]] + k)
        for k in range(seeds) for variant in record.spec["variants"]], executor)


def first_seed(spec: dict, variant: dict) -> int:
    """A variant's first replica's seed: its own (a grid over `seed`), else the base's."""
    return variant["changes"].get("seed", spec["base"]["seed"])


def queue_runs(experiment_id: str, store: RunStore, runs: Sequence[tuple[str, int]],
               executor: Executor | None = None) -> list[str]:
    """Queue these (variant label, seed) runs of the experiment, in this order; returns their
    ids."""
    executor = executor or LocalExecutor()
    record = store.experiment(experiment_id)
    variants = {v["label"]: v for v in record.spec["variants"]}
    return executor.submit([
        Request(run_config(record.spec, variants[label], seed),
                run_name(record.name, label, seed), experiment_id, label)
        for label, seed in runs], store)


def follow(experiment_id: str, store: RunStore, on_end: Callable[[int, int, Run], None], *,
           on_poll: Callable[[], None] | None = None, poll_s: float = 2.0) -> None:
    """Return once no run of the experiment is active, calling on_end(k, n, run) as each run
    ends (k counts every ended run, those that had ended before included, of n) and on_poll()
    at every look."""
    seen = {r.id for r in store.runs_of(experiment_id) if not r.active}
    while True:
        runs = store.runs_of(experiment_id)
        for r in runs:
            if not r.active and r.id not in seen:
                seen.add(r.id)
                on_end(len(seen), len(runs), r)
        if on_poll:
            on_poll()
        if all(not r.active for r in runs):
            return
        time.sleep(poll_s)


def stop(experiment_id: str, store: RunStore) -> int:
    """Ask every active run of the experiment to stop; returns how many were asked."""
    return executors.stop([r.id for r in store.runs_of(experiment_id)], store)
