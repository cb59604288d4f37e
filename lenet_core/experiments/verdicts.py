"""Honest verdicts: an experiment's runs summarised per variant as mean ± std over seeds, and
compared only where the spread allows.

The rule, stated once: two variants differ clearly when the gap between their means is larger
than the sum of their standard deviations over seeds (their mean ± std intervals do not
overlap), and each has at least two seeds. Otherwise the verdict says "no clear difference",
or, with one seed, that there is no verdict yet. A variant that diverges or ends at chance is
said to, with how often and where.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..runs.outcome import at_chance
from ..runs.records import Run

MIN_SEEDS = 2  # fewer seeds than this and nothing is "better" than anything


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


def compare(a: Stat | None, b: Stat | None) -> str:
    """"higher", "lower", "no clear difference", or "too few seeds" (a against b)."""
    if a is None or b is None or a.n < MIN_SEEDS or b.n < MIN_SEEDS:
        return "too few seeds"
    gap = a.mean - b.mean
    if abs(gap) <= a.std + b.std:
        return "no clear difference"
    return "higher" if gap > 0 else "lower"


@dataclass
class Arm:
    """One variant of an experiment and what its runs did."""

    label: str
    changes: dict[str, Any]
    runs: list[Run]
    series: str | None = None  # for experiments drawn as lines (e.g. the architecture)
    x: float | None = None  # where it sits on that line (e.g. the training-set size)
    params: int | None = None
    stats: dict[str, Stat | None] = field(default_factory=dict)

    @property
    def ended(self) -> list[Run]:
        return [r for r in self.runs if not r.active]

    @property
    def diverged(self) -> list[Run]:
        return [r for r in self.runs if r.status == "diverged"]

    @property
    def chance(self) -> list[Run]:
        return [r for r in self.runs if at_chance(r)]

    @property
    def learned(self) -> list[Run]:
        """Finished runs that learned something: the ones accuracy is averaged over."""
        return [r for r in self.runs if r.status == "finished" and r.test_acc is not None
                and not at_chance(r)]

    @property
    def fails(self) -> bool:
        """Every run that ended failed to learn (diverged or at chance)."""
        ended = [r for r in self.ended if r.status in ("finished", "diverged")]
        return bool(ended) and len(self.diverged) + len(self.chance) == len(ended)


def summarize(arm: Arm) -> Arm:
    """Fill in the arm's statistics over its runs that learned."""
    runs = arm.learned
    arm.stats = {
        "test_acc": Stat.of([r.test_acc for r in runs]),
        "train_acc": Stat.of([r.train_acc for r in runs]),
        # Train accuracy is the running mean over the last epoch, test accuracy its end point.
        "gap": Stat.of([r.train_acc - r.test_acc for r in runs if r.train_acc is not None]),
        "examples_per_sec": Stat.of([r.examples_per_sec for r in runs]),
        "train_time": Stat.of([r.train_time for r in runs]),
    }
    return arm


def failure(arm: Arm) -> str | None:
    """How a variant failed to learn, in words, or None when it learned in every seed."""
    n = len([r for r in arm.ended if r.status in ("finished", "diverged")])
    parts = []
    if arm.diverged:
        steps = sorted(r.diverged_step for r in arm.diverged if r.diverged_step)
        where = f" (first non-finite loss at step {steps[len(steps) // 2]})" if steps else ""
        parts.append(f"diverged in {len(arm.diverged)} of {n} seeds{where}")
    if arm.chance:
        acc = Stat.of([r.test_acc for r in arm.chance])
        dead = ", its ReLUs dead" if arm.runs[0].config.activation == "relu" else ""
        parts.append(f"ended at chance accuracy ({acc.text(100, 1, ' %')}{dead}) in "
                     f"{len(arm.chance)} of {n} seeds")
    return "; ".join(parts) or None


def pct(stat: Stat | None) -> str:
    return "–" if stat is None else stat.text(100, 1, " %")


def accuracy_verdict(arms: Sequence[Arm]) -> str:
    """Which variant reaches the highest test accuracy, and which differ clearly from it."""
    sentences = []
    for arm in arms:
        if arm.fails:
            sentences.append(f"{arm.label} does not learn: it {failure(arm)}.")
        elif f := failure(arm):
            sentences.append(f"{arm.label} {f}; the others reach {pct(arm.stats['test_acc'])}.")
    learning = [a for a in arms if not a.fails and a.stats.get("test_acc")]
    if not learning:
        return " ".join(sentences) or "No run has finished yet."
    if any(a.stats["test_acc"].n < MIN_SEEDS for a in learning):
        sentences.append("With one seed per variant there is no verdict yet: launch again to "
                         "add seeds.")
        return " ".join(sentences)
    best = max(learning, key=lambda a: a.stats["test_acc"].mean)
    clear, close = [], []
    for arm in learning:
        if arm is best:
            continue
        gap = 100 * (best.stats["test_acc"].mean - arm.stats["test_acc"].mean)
        item = f"{arm.label} ({pct(arm.stats['test_acc'])}, {gap:.1f} points lower)"
        (clear if compare(best.stats["test_acc"], arm.stats["test_acc"]) == "higher"
         else close).append(item)
    head = f"{best.label} reaches the highest test accuracy, {pct(best.stats['test_acc'])}"
    if clear:
        head += ", clearly above " + "; ".join(clear)
    if close:
        head += (". No clear difference from " if clear else ", but with no clear difference "
                 "from ") + "; ".join(close) + " (within the spread over seeds)"
    sentences.insert(0, head + ".")
    return " ".join(sentences)


def spread_verdict(arms: Sequence[Arm], key: str, what: str, scale: float = 100,
                   unit: str = " points") -> str | None:
    """Where a quantity (the train-test gap, the time) is largest and smallest, and whether
    that difference is clear."""
    have = [a for a in arms if not a.fails and a.stats.get(key)]
    if len(have) < 2:
        return None
    lo = min(have, key=lambda a: a.stats[key].mean)
    hi = max(have, key=lambda a: a.stats[key].mean)
    verdict = compare(hi.stats[key], lo.stats[key])
    said = {"higher": "a clear difference", "no clear difference": "no clear difference",
            "too few seeds": "too few seeds to tell"}[verdict]
    return (f"{what}: largest for {hi.label} ({hi.stats[key].text(scale, 1, unit)}), smallest "
            f"for {lo.label} ({lo.stats[key].text(scale, 1, unit)}): {said}.")


def cost_verdict(arms: Sequence[Arm]) -> str | None:
    """What each variant costs: parameters and training speed."""
    have = [a for a in arms if a.stats.get("examples_per_sec")]
    if not have:
        return None
    parts = [f"{a.label} has {a.params:,} parameters and trains at "
             f"{a.stats['examples_per_sec'].text(1, 0)} examples/s" for a in have]
    fast = max(have, key=lambda a: a.stats["examples_per_sec"].mean)
    slow = min(have, key=lambda a: a.stats["examples_per_sec"].mean)
    if fast is not slow:
        ratio = fast.stats["examples_per_sec"].mean / slow.stats["examples_per_sec"].mean
        clear = compare(fast.stats["examples_per_sec"], slow.stats["examples_per_sec"])
        parts.append(f"{fast.label} trains {ratio:.1f}x as fast as {slow.label}"
                     + ("" if clear == "higher" else f" ({clear})"))
    return "Cost: " + "; ".join(parts) + "."


def series_verdict(arms: Sequence[Arm], x_name: str) -> str | None:
    """Lines of test accuracy against x (e.g. training-set size): the series compared at each
    x, and what the smallest x costs each series against the largest."""
    series = sorted({a.series for a in arms if a.series})
    xs = sorted({a.x for a in arms if a.x is not None})
    if len(series) < 2 or not xs:
        return None
    at = {(a.series, a.x): a for a in arms}
    sentences = []
    for x in xs:
        row = [at.get((s, x)) for s in series]
        if any(a is None or a.stats.get("test_acc") is None for a in row):
            continue
        text = ", ".join(f"{a.series} {pct(a.stats['test_acc'])}" for a in row)
        best = max(row, key=lambda a: a.stats["test_acc"].mean)
        others = [a for a in row if a is not best]
        clear = all(compare(best.stats["test_acc"], a.stats["test_acc"]) == "higher"
                    for a in others)
        said = f"{best.series} clearly higher" if clear else "no clear difference"
        sentences.append(f"at {x:,.0f} {x_name}: {text} ({said})")
    for s in series:
        lo, hi = at.get((s, xs[0])), at.get((s, xs[-1]))
        if lo and hi and lo.stats.get("test_acc") and hi.stats.get("test_acc"):
            drop = 100 * (hi.stats["test_acc"].mean - lo.stats["test_acc"].mean)
            sentences.append(f"{s} loses {drop:.1f} points going from {xs[-1]:,.0f} to "
                             f"{xs[0]:,.0f} {x_name}")
    return ("Test accuracy " + "; ".join(sentences) + ".") if sentences else None


def reached(run: Run) -> bool:
    """A run with a target (stop_at) that reached it."""
    stop_at = run.config.stop_at
    return stop_at is not None and run.test_acc is not None and run.test_acc >= stop_at


def time_verdict(arms: Sequence[Arm]) -> str | None:
    """Seconds of training to the target accuracy, per variant (the speed ladder): each step's
    time, and the fastest."""
    sentences = []
    for s in sorted({a.series for a in arms}, key=str):
        steps = [a for a in arms if a.series == s]
        texts, best, times = [], None, []
        for a in steps:
            hit = [r for r in a.runs if reached(r)]
            ended = [r for r in a.ended if r.status in ("finished", "diverged")]
            if not ended:
                continue
            t = Stat.of([r.train_time for r in hit])
            if t is None or len(hit) < len(ended):
                texts.append(f"{a.label}: not reached in {a.runs[0].config.epochs} epochs"
                             + (f" ({len(hit)} of {len(ended)} seeds did)" if hit else ""))
                continue
            texts.append(f"{a.label}: {t.text(1, 1, ' s')}")
            times.append((a, t))
            if best is None or t.mean < best[1].mean:
                best = (a, t)
        if texts:
            target = steps[0].runs[0].config.stop_at if steps[0].runs else None
            head = f"To {target:.0%} on {s}: " if target else f"{s}: "
            tail = f" Fastest: {best[0].label}, {best[1].text(1, 1, ' s')}" if best else ""
            if best:  # "fastest" only claims what the spread over seeds supports
                close = [a.label for a, t in times
                         if a is not best[0] and compare(t, best[1]) != "lower"
                         and compare(t, best[1]) != "higher"]
                tail += (f"; no clear difference from {', '.join(close)}." if close else
                         ", clearly ahead of every other step.")
            sentences.append(head + "; ".join(texts) + "." + tail)
    return " ".join(sentences) or None
