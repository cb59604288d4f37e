"""What an experiment is, before anything runs: its definition (question, base config, variants,
verdict rule), the grid a sweep is made of, and each run's config as a launch records it. Plain
values over lenet_core.config: the catalog and every reader build on them."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ..config import SPECS, ConfigError, TrainConfig, build
from ..data import DATASETS

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


def run_name(experiment: str, variant: str, seed: int) -> str:
    """An experiment's run as the store names it: "qa-pooling · max-pool, sigmoid · seed 2"."""
    return f"{experiment} · {variant} · seed {seed}"


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
