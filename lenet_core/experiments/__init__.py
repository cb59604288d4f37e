"""Experiments: a question answered by training, measured over seeds, with a verdict.

An `Experiment` is a named, versioned definition (lenet_core.experiments.catalog holds the
shipped ones):
the question, a base config, a small grid of variants over a few fields, default epochs and
seeds, and what to measure (the verdict rule). Launching one records it in the store and
queues its runs (variants x seeds) through an executor; launching again adds seeds. Results
are computed from the runs whenever they are read, from what was recorded at launch, so an
old experiment still reads right after its definition changes.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

from ..config import SPECS, ConfigError, TrainConfig, build
from ..data import DATASETS
from ..model import summary
from ..runs import executors
from ..runs.executors import Executor, Request
from ..runs.records import ExperimentRecord
from ..runs.runner import LocalExecutor
from ..runs.store import RunStore
from . import computed, verdict_text, verdicts, why

# The verdict rules an experiment can ask for, and what each compares (lenet_core.verdicts:
# timings only count when the runs were timed side by side).
QUANTITIES = {"accuracy": ("test_acc",), "overfitting": ("test_acc", "gap"),
              "cost": ("test_acc", "examples_per_sec"), "data-size": ("test_acc",),
              "time-to-target": ("time_to_target",), "layer-sizes": (), "view-reshape": ()}
MEASURES = tuple(QUANTITIES)
COMPUTED = ("layer-sizes", "view-reshape")  # answered without training


@dataclass(frozen=True)
class Variant:
    label: str  # how people read it: "ReLU, lr 0.1"
    changes: dict[str, Any]  # TrainConfig fields over the base
    series: str | None = None  # data-size / speed ladder: which line it belongs to
    x: float | None = None  # data-size: its place on the x axis


@dataclass(frozen=True)
class Experiment:
    name: str  # "qa-activation"
    version: int  # bump when the grid or the rule changes
    title: str
    question_en: str
    base: TrainConfig
    variants: tuple[Variant, ...]
    epochs: int  # default epochs per run
    measure: str = "accuracy"  # the verdict rule (MEASURES)
    seeds: int = 3  # default seeds per variant
    question_zh: str = ""  # the seed's own wording, where it asks
    answer_zh: str = ""  # what the seed's Q&A answered
    equal_budget: bool = False  # every run sees epochs x 60k examples, whatever its cap
    x_name: str = ""  # data-size: what x counts ("training examples")
    baseline: str | None = None  # compare every other variant against this one...
    pairs: tuple[tuple[str, str], ...] = ()  # ...or these (a, b) only: a against b
    timed: bool = False  # launched one run at a time on an idle machine: timings compared
    plan: Plan | None = None  # what `seeds` is sized to resolve

    def comparisons(self) -> list[tuple[str, str]]:
        """The declared comparisons (a against b): the pairs, or every variant against the
        baseline (the first variant when none is named)."""
        return comparisons(self.pairs, self.baseline, [v.label for v in self.variants])

    def spec(self, epochs: int, max_train_examples: int | None,
             timed: bool | None = None) -> dict[str, Any]:
        """What a launch records: enough to rebuild every run's config and read the results."""
        return {"title": self.title, "measure": self.measure, "base": self.base.to_dict(),
                "variants": [asdict(v) for v in self.variants], "epochs": epochs,
                "max_train_examples": max_train_examples, "equal_budget": self.equal_budget,
                "x_name": self.x_name, "comparisons": [list(p) for p in self.comparisons()],
                "timed": self.timed if timed is None else timed}


@dataclass(frozen=True)
class Plan:
    """How a default seed count was chosen: the difference the main comparison should
    resolve, the spread over seeds a pilot run measured (both in `unit`), and how many
    comparisons share the Holm correction."""

    effect: float
    pilot_sd: float
    comparisons: int
    unit: str = "points"


def comparisons(pairs, baseline: str | None, labels: Sequence[str]) -> list[tuple[str, str]]:
    if pairs:
        return [tuple(p) for p in pairs]
    base = baseline or (labels[0] if labels else None)
    return [(label, base) for label in labels if label != base]


def grid(**fields: Sequence[Any]) -> tuple[Variant, ...]:
    """Every combination of the given field values, labelled "field=value, ...": a sweep."""
    names = list(fields)
    return tuple(
        Variant(", ".join(f"{n}={_short(v)}" for n, v in zip(names, combo, strict=True)),
                dict(zip(names, combo, strict=True)))
        for combo in itertools.product(*(fields[n] for n in names)))


def _short(v: Any) -> str:
    return "/".join(map(str, v)) if isinstance(v, tuple) else f"{v:g}" if isinstance(v, float) \
        else str(v)


def parse_grid(items: list[str]) -> dict[str, tuple]:
    """["lr=0.01,0.1", "channels=6/16,12/32"] -> {"lr": (0.01, 0.1), "conv_channels": ((6, 16),
    (12, 32))}; every bad item is reported at once."""
    names = {**{n: n for n in SPECS}, **{n.replace("_", "-"): n for n in SPECS},
             **{s.flag.lstrip("-"): n for n, s in SPECS.items() if s.flag}}
    fields, problems = {}, {}
    for item in items:
        key, _, values = item.partition("=")
        name = names.get(key.strip().replace("_", "-")) or names.get(key.strip())
        if name is None or not values:
            problems[key or item] = "use FIELD=V1,V2,... with a TrainConfig field"
            continue
        spec = SPECS[name]
        try:
            parsed = tuple(True if spec.kind == "bool" and v == "true" else
                           False if spec.kind == "bool" and v == "false" else
                           spec.parse(v.strip().replace("/", " ")) for v in values.split(","))
        except ValueError:
            problems[name] = f"cannot read {values!r}"
            continue
        if bad := next((p for v in parsed if (p := spec.problem(v))), None):
            problems[name] = bad
        fields[name] = parsed
    if problems:
        raise ConfigError(problems)
    return fields


def run_config(spec: Mapping[str, Any], variant: Mapping[str, Any], seed: int) -> TrainConfig:
    """The config of one run of a launched experiment."""
    base = TrainConfig.from_dict(spec["base"])
    changes = dict(variant["changes"])
    cap = spec.get("max_train_examples")
    if cap is not None and changes.get("max_train_examples") is None:
        changes["max_train_examples"] = cap  # a variant that sets its own size keeps it
    epochs = changes.pop("epochs", spec["epochs"])
    if spec.get("equal_budget"):  # the same number of examples seen, whatever the set's size
        dataset = changes.get("dataset", base.dataset)
        size = changes.get("max_train_examples") or DATASETS[dataset].train_size
        epochs = math.ceil(spec["epochs"] * DATASETS[dataset].train_size / size)
    return build({**changes, "epochs": epochs, "seed": seed}, base, device_available=False)


def launch(experiment: Experiment, store: RunStore, *, epochs: int | None = None,
           seeds: int | None = None, max_train_examples: int | None = None,
           executor: Executor | None = None, timed: bool | None = None) -> str:
    """Record the experiment and queue its runs (variants x seeds); returns its id at once.
    timed: the runs are measured side by side (see lenet_core.verdicts); the definition's
    own flag by default, and never on a cluster, whose runs train at once on other machines."""
    executor = executor or LocalExecutor()
    timed = (experiment.timed if timed is None else timed) and executor.name == "local"
    spec = experiment.spec(epochs or experiment.epochs, max_train_examples, timed)
    if experiment.measure == "view-reshape":  # measured now, once: the record keeps it
        spec["cases"] = computed.view_reshape()
    for variant in spec["variants"]:  # every run's config is valid before anything is queued
        run_config(spec, variant, 0)
    experiment_id = store.create_experiment(experiment.name, experiment.version, spec,
                                            executor.name)
    if experiment.measure not in COMPUTED:
        add_seeds(experiment_id, store, seeds or experiment.seeds, executor)
    return experiment_id


def add_seeds(experiment_id: str, store: RunStore, seeds: int,
              executor: Executor | None = None) -> list[str]:
    """Queue `seeds` more seeds of every variant; returns the run ids. A variant's replicas
    count up from its own seed (a grid over `seed` at 100 runs 100, 101, ...; otherwise the
    base's, 0), continuing after the seeds it already has. Seed-major order: each seed's
    variants run one after another, so a queue that trains one run at a time alternates them."""
    executor = executor or LocalExecutor()
    record = store.experiment(experiment_id)
    runs = store.runs_of(experiment_id)
    first = {}
    for variant in record.spec["variants"]:
        own = [r.config.seed for r in runs if r.variant == variant["label"]]
        start = variant["changes"].get("seed", record.spec["base"]["seed"])
        first[variant["label"]] = 1 + max(own) if own else start
    return executor.submit([
        Request(run_config(record.spec, variant, first[variant["label"]] + k),
                f"{record.name} · {variant['label']} · seed {first[variant['label']] + k}",
                experiment_id, variant["label"])
        for k in range(seeds) for variant in record.spec["variants"]], store)


def stop(experiment_id: str, store: RunStore) -> int:
    """Ask every active run of the experiment to stop; returns how many were asked."""
    return executors.stop([r.id for r in store.runs_of(experiment_id)], store)


@dataclass
class Result:
    record: ExperimentRecord
    arms: list[verdicts.Arm]
    verdict: str
    compared: list[verdicts.Compared] = field(default_factory=list)
    layers: list[dict[str, Any]] = field(default_factory=list)  # layer-sizes: the table

    @property
    def runs(self):
        return [r for a in self.arms for r in a.runs]

    @property
    def active(self) -> bool:
        return any(r.active for r in self.runs)


def result(experiment_id: str, store: RunStore) -> Result:
    """The experiment's variants with their runs and statistics, its comparisons, the verdict."""
    record = store.experiment(experiment_id)
    spec = record.spec
    runs = store.runs_of(experiment_id)
    arms = []
    for v in spec["variants"]:
        arm = verdicts.Arm(v["label"], v["changes"], [r for r in runs if r.variant == v["label"]],
                           v.get("series"), v.get("x"))
        arm.config = run_config(spec, v, 0)
        arm.params = parameters(arm.config)
        if spec["measure"] in ("overfitting", "time-to-target"):  # peaks, losses, times to
            arm.points = {r.id: store.metrics(r.id) for r in arm.runs if not r.active}  # target
        arms.append(verdicts.summarize(arm))
    if spec["measure"] == "layer-sizes":
        layers = computed.layer_sizes(TrainConfig.from_dict(spec["base"]))
        return Result(record, arms, computed.layer_sizes_verdict(layers), [], layers)
    if spec["measure"] == "view-reshape":
        compared = computed.view_reshape_compared(spec["cases"])
        return Result(record, arms, computed.view_reshape_verdict(spec["cases"], compared),
                      compared)
    pairs = spec.get("comparisons") or comparisons((), None, [a.label for a in arms])
    timed = bool(spec.get("timed"))
    compared = verdicts.compare(arms, [tuple(p) for p in pairs], QUANTITIES[spec["measure"]],
                                timed)
    text = verdict_text.verdict(spec["measure"], arms, compared, timed)
    if record.name == "qa-activation" and (because := why.activation_why(arms, store)):
        text += " " + because
    if spec["measure"] == "cost":
        text += " " + computed.sizes_sentence(arms)
    return Result(record, arms, text, compared)


@lru_cache(maxsize=256)
def parameters(config: TrainConfig) -> int:
    """The network's parameter count (cached: live pages ask every few seconds)."""
    return sum(row.params for row in summary(config))


def report(experiment_id: str, store: RunStore) -> dict[str, Any]:
    """The experiment as JSON: the CLI's `--json` line."""
    res = result(experiment_id, store)
    table = [table_row(a) for a in res.arms]
    runs = [{"run_id": r.id, "variant": r.variant, "status": r.status, "config": r.config.to_dict(),
             "test_acc": r.test_acc, "train_acc": r.train_acc, "train_loss": r.train_loss,
             "examples_per_sec": r.examples_per_sec, "train_time": r.train_time,
             "executor": r.executor, "node": r.node, "threads": r.threads} for r in res.runs]
    spec = res.record.spec
    out = {"experiment": res.record.name, "id": res.record.id, "title": spec["title"],
           "measure": spec["measure"], "max_train_examples": spec["max_train_examples"],
           "timed": bool(spec.get("timed")), "settings": settings(res.runs),
           "verdict": res.verdict, "comparisons": [c.to_dict() for c in res.compared],
           "runs": runs, "table": table}
    if res.layers:
        out["layers"] = res.layers
    if spec["measure"] == "cost":
        out["sizes"] = computed.sizes_rows(res.arms)
    if spec["measure"] == "view-reshape":
        out["cases"] = computed.case_rows(spec["cases"])
    return out


def table_row(arm: verdicts.Arm) -> dict[str, Any]:
    """One arm as the report's table holds it: counts, success rate, statistics."""
    k, n, low, high = arm.success
    return {"variant": arm.label, "seeds": len(arm.learned), "runs": len(arm.runs),
            "counted": n, "learned": k, "success_low": low, "success_high": high,
            "params": arm.params, "failed_to_learn": verdict_text.failure(arm),
            **{key: (asdict(arm.stats[key]) if arm.stats.get(key) else None)
               for key in verdicts.STAT_KEYS}}


def settings(runs) -> dict[str, list]:
    """What the runs had in common, for a report's header: seeds, epochs, where they ran."""
    ran = [r for r in runs if r.node] or runs  # queued runs have no node yet
    return {"runs": len(runs), "seeds": sorted({r.config.seed for r in runs}),
            "epochs": sorted({r.config.epochs for r in runs}),
            "executors": sorted({r.executor for r in ran}),
            "nodes": sorted({r.node or "?" for r in ran}),
            "threads": sorted({str(r.threads) for r in ran})}
