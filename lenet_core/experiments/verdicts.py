"""Verdicts: an experiment's runs summarised per variant, and its declared comparisons decided
by the rule in lenet_core.stats.

Each variant (an arm) is summarised over its seeds. A run that did not learn counts: a run
that diverged counts at chance accuracy (CHANCE, 0.1, the accuracy of a guess among 10
classes) and a run that ended at chance at the accuracy it reached, so an unstable variant is
not flattered; each arm's success rate (runs that learned) comes with its Wilson interval, and
means over only the runs that learned are labelled so. Comparisons are paired by seed when
both arms ran the same seeds with the same data order and initial weights (the same dataset,
training-set size, data loader, init, starting weights and weight shapes), Welch's otherwise.
Timings are compared only for runs measured side by side (an experiment launched `timed`: one
run at a time, variants alternated seed by seed, on an otherwise idle machine); otherwise they
are shown without a verdict.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .. import stats
from ..config import TrainConfig
from ..data import DATASETS
from ..model import build_lenet
from ..runs.records import Run, at_chance

CHANCE = 0.1  # what a diverged run counts as: a guess among 10 classes


@dataclass(frozen=True)
class Stat:
    """A quantity over seeds: mean, sample standard deviation (0 for one seed), count."""

    mean: float
    std: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float | None]) -> Stat | None:
        v = [x for x in values if x is not None and math.isfinite(x)]
        if not v:
            return None
        return cls(statistics.fmean(v), statistics.stdev(v) if len(v) > 1 else 0.0, len(v))

    def text(self, scale: float = 1.0, digits: int = 1, unit: str = "") -> str:
        return f"{self.mean * scale:.{digits}f} ± {self.std * scale:.{digits}f}{unit}"


@dataclass(frozen=True)
class Quantity:
    """Something an arm's runs measured, as a comparison names and shows it."""

    label: str
    scale: float  # to the unit shown: 100 for accuracies in points
    unit: str
    margin: float | None  # equivalence margin (stats.ACCURACY_MARGIN), None for none
    timing: bool = False  # compared only when measured side by side
    digits: int = 1  # decimals shown


QUANTITIES = {
    "test_acc": Quantity("test accuracy", 100, "points", stats.ACCURACY_MARGIN),
    "peak_test_acc": Quantity("peak test accuracy", 100, "points", stats.ACCURACY_MARGIN),
    "gap": Quantity("final train-test gap", 100, "points", stats.ACCURACY_MARGIN),
    "test_loss": Quantity("final test loss", 1, "", None, digits=3),
    "time_to_target": Quantity("time to target", 1, "s", None, timing=True),
    "examples_per_sec": Quantity("examples/s", 1, "examples/s", None, timing=True, digits=0),
    # view and reshape are timed alternately in one process: side by side by construction
    "call_time": Quantity("time per call", 1e9, "ns", None, digits=0),
}


def number(value: float, quantity: str, signed: bool = False) -> str:
    """A value of the quantity in its unit and decimals: "+1.2" (signed), "35,421"."""
    q = QUANTITIES[quantity]
    return f"{value * q.scale:{'+' if signed else ''},.{q.digits}f}"


@dataclass
class Arm:
    """One variant of an experiment and what its runs did."""

    label: str
    changes: dict[str, Any]
    runs: list[Run]
    series: str | None = None  # for experiments drawn as lines (e.g. the architecture)
    x: float | None = None  # where it sits on that line (e.g. the training-set size)
    params: int | None = None
    config: TrainConfig | None = None  # the variant's config (its first seed's)
    points: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # curves by run id
    stats: dict[str, Stat | None] = field(default_factory=dict)

    @property
    def counted(self) -> list[Run]:
        """Runs that ended by training out or diverging: every one counts."""
        return [r for r in self.runs if r.status in ("finished", "diverged")]

    @property
    def diverged(self) -> list[Run]:
        return [r for r in self.runs if r.status == "diverged"]

    @property
    def chance(self) -> list[Run]:
        return [r for r in self.runs if r.status == "finished" and at_chance(r)]

    @property
    def learned(self) -> list[Run]:
        """Finished runs that learned something."""
        return [r for r in self.runs if r.status == "finished" and r.test_acc is not None
                and not at_chance(r)]

    @property
    def fails(self) -> bool:
        """Every counted run failed to learn."""
        return bool(self.counted) and not self.learned

    @property
    def success(self) -> tuple[int, int, float, float]:
        """Runs that learned, runs counted, and the Wilson interval of the rate."""
        k, n = len(self.learned), len(self.counted)
        return (k, n, *stats.wilson(k, n))

    def values(self, key: str) -> dict[int, float]:
        """One value of a quantity per seed (see the module docstring for who counts)."""
        if key == "test_acc":
            return {r.config.seed: CHANCE if r.status == "diverged" else r.test_acc
                    for r in self.counted if r.status == "diverged" or r.test_acc is not None}
        out = {}
        if key == "time_to_target":
            for r in self.runs:
                t = _run_value(r, key, self.points.get(r.id, [])) if reached(r) else None
                if t is not None:
                    out[r.config.seed] = t
            return out
        for r in self.learned:
            v = _run_value(r, key, self.points.get(r.id, []))
            if v is not None and math.isfinite(v):
                out[r.config.seed] = v
        return out


def _run_value(r: Run, key: str, points: list[dict[str, Any]]) -> float | None:
    if key == "gap":
        return None if r.train_acc is None else r.train_acc - r.test_acc
    if key == "peak_test_acc":
        return max((p["test_acc"] for p in points if p.get("test_acc") is not None),
                   default=None)
    losses = [p["test_loss"] for p in points if p.get("test_loss") is not None]
    if key in ("test_loss", "test_loss_min"):
        return (losses[-1] if key == "test_loss" else min(losses)) if losses else None
    if key == "time_to_target":  # the first score at the target: wall time, scoring included
        return next((p.get("elapsed") for p in points if p.get("test_acc") is not None
                     and p["test_acc"] >= r.config.stop_at), None)
    return getattr(r, key)


def reached(run: Run) -> bool:
    """A run with a target (stop_at) that reached it."""
    stop_at = run.config.stop_at
    return run.status == "finished" and stop_at is not None and run.test_acc is not None \
        and run.test_acc >= stop_at


STAT_KEYS = ("test_acc", "test_acc_learned", "train_acc", "gap", "peak_test_acc", "test_loss",
             "test_loss_min", "examples_per_sec", "train_time", "time_to_target")


def summarize(arm: Arm) -> Arm:
    """Fill in the arm's statistics: test accuracy over every counted run, the rest over the
    runs that learned."""
    arm.stats = {"test_acc": Stat.of(list(arm.values("test_acc").values())),
                 "test_acc_learned": Stat.of([r.test_acc for r in arm.learned])}
    for key in ("train_acc", "gap", "peak_test_acc", "test_loss", "test_loss_min",
                "examples_per_sec", "train_time"):
        arm.stats[key] = Stat.of([_run_value(r, key, arm.points.get(r.id, []))
                                  for r in arm.learned])
    arm.stats["time_to_target"] = Stat.of(list(arm.values("time_to_target").values()))
    return arm


@lru_cache(maxsize=256)
def _start(config: TrainConfig) -> tuple:
    """What fixes a seed's data order and initial weights, besides the seed."""
    shapes = tuple((k, tuple(v.shape)) for k, v in build_lenet(config).state_dict().items())
    size = min(DATASETS[config.dataset].train_size,
               config.max_train_examples or DATASETS[config.dataset].train_size)
    return config.dataset, size, config.data_loader, config.init, config.init_from, shapes


def same_start(a: TrainConfig | None, b: TrainConfig | None) -> bool:
    """Whether two variants' runs of one seed share data order and initial weights."""
    return a is not None and b is not None and _start(a.replace(seed=0)) == _start(
        b.replace(seed=0))


@dataclass(frozen=True)
class Compared:
    """A declared comparison "a against b" of one quantity, decided."""

    a: str
    b: str
    quantity: str
    result: stats.Comparison

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        return {"a": self.a, "b": self.b, "quantity": self.quantity, "difference": r.diff,
                "low": r.low, "high": r.high, "p": r.p, "p_holm": r.p_holm, "word": r.word,
                "method": r.method, "resolvable": r.resolvable, "n_a": r.n_a, "n_b": r.n_b}


def decide(declared: Sequence[tuple[str, str, str]],
           values: Mapping[tuple[str, str], Mapping[int, float]],
           pairable: Callable[[str, str], bool]) -> list[Compared]:
    """Decide (a, b, quantity) comparisons together, from each arm's values by seed:
    paired when pairable(a, b) and both ran the same seeds."""
    samples = []
    for a, b, q in declared:
        va, vb = values[(a, q)], values[(b, q)]
        same = pairable(a, b) and set(va) == set(vb)
        seeds_a = sorted(va) if same else list(va)
        seeds_b = seeds_a if same else list(vb)
        samples.append(stats.Sample([va[s] for s in seeds_a], [vb[s] for s in seeds_b], same,
                                    QUANTITIES[q].margin))
    return [Compared(a, b, q, r) for (a, b, q), r in
            zip(declared, stats.decide(samples), strict=True)]


def compare(arms: Sequence[Arm], pairs: Sequence[tuple[str, str]], quantities: Sequence[str],
            timed: bool) -> list[Compared]:
    """The experiment's comparisons: each declared pair on each quantity; timings only when
    the runs were measured side by side, times to a target only where every run got there."""
    by_label = {a.label: a for a in arms}
    declared = []
    for q in quantities:
        if QUANTITIES[q].timing and not timed:
            continue
        for a, b in pairs:
            if q == "time_to_target" and not all(
                    len(by_label[x].values(q)) == len(by_label[x].counted) for x in (a, b)):
                continue
            declared.append((a, b, q))
    values = {(a.label, q): a.values(q) for a in arms for q in quantities}
    return decide(declared, values,
                  lambda a, b: same_start(by_label[a].config, by_label[b].config))
