"""The "why" of qa-activation, from the per-layer diagnostics stored with its runs
(lenet_core.explain.diagnostics): how many ReLU units each ReLU variant left dead, and how the
sigmoid net's gradient shrinks from the last layer to conv1.

Only what was measured is said: runs without diagnostics (made before they were recorded) add
nothing, and a run whose weights went non-finite is reported as such, never as "dead".
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from functools import lru_cache

from ..explain.diagnostics import PROBE_SIZE, dead_fraction
from ..runs import diagnostics_store
from ..runs.records import Run
from ..runs.store import RunStore
from .verdicts import Arm

EARLY_STEP = 8  # where the seed's failure shows: within a dozen steps at lr 0.9
DENSE_STEPS = 50  # the sigmoid's gradients: the median over the dense start


@lru_cache(maxsize=512)
def _records(root: str, run_id: str) -> tuple[dict, ...]:
    """An ended run's records without histograms (they never change once it has ended)."""
    return tuple(diagnostics_store.records(RunStore(root), run_id, histograms=False))


def records(store: RunStore, run: Run) -> tuple[dict, ...]:
    if run.active:
        return ()
    return _records(str(store.root), run.id)


def _pct(values: Sequence[float]) -> str:
    v = sorted(values)
    med = statistics.median(v)
    spread = f" ({100 * v[0]:.0f}-{100 * v[-1]:.0f} % over {len(v)} runs)" if len(v) > 1 else ""
    return f"{100 * med:.0f} %{spread}"


def dead_sentence(arm: Arm, store: RunStore) -> str | None:
    """"ReLU, lr 0.9: 78 % of its ReLU units dead at the end (...), 55 % by step 8; in 2 runs
    the weights went non-finite (...)", or None without diagnostics."""
    end, early, non_finite = [], [], []
    for run in arm.runs:
        recs = records(store, run)
        if not recs:
            continue
        if not recs[-1]["finite"]:
            non_finite.append(recs[-1]["step"])
        elif (d := dead_fraction(recs[-1])) is not None:
            end.append(d)
        at = next((r for r in recs if r["step"] == EARLY_STEP), None)
        if at is not None and (d := dead_fraction(at)) is not None:
            early.append(d)
    if not (end or non_finite):
        return None
    parts = []
    if end:
        parts.append(f"{_pct(end)} of its ReLU units dead at the end (0 for all "
                     f"{PROBE_SIZE} probe images)")
    if early:
        parts.append(f"{_pct(early)} by step {EARLY_STEP}")
    text = f"{arm.label}: " + ", ".join(parts) if parts else f"{arm.label}:"
    if non_finite:
        steps = sorted(non_finite)
        text += (f"{';' if parts else ''} in {len(steps)} run{'s' * (len(steps) != 1)} the "
                 f"weights went non-finite (by step {steps[len(steps) // 2]}, median): "
                 "there no unit can be counted dead or alive")
    return text + "."


def gradient_sentence(arm: Arm, store: RunStore) -> str | None:
    """How the sigmoid net's gradient norm shrinks from its last layer to conv1 (medians over
    the dense start of every run), or None without diagnostics."""
    norms: dict[str, list[float]] = {}
    for run in arm.runs:
        for rec in records(store, run):
            if rec["step"] > DENSE_STEPS or not rec["finite"]:
                continue
            for e in rec["layers"]:
                if e["kind"] == "weight" and e["grad_norm"] is not None:
                    norms.setdefault(e["name"], []).append(e["grad_norm"])
    if len(norms) < 2:
        return None
    order = list(norms)[::-1]  # last layer first
    med = {name: statistics.median(norms[name]) for name in order}
    first, last = order[0], order[-1]
    chain = ", ".join(f"{name} {med[name]:.2g}" for name in order)
    ratio = med[first] / med[last] if med[last] else float("inf")
    return (f"{arm.label}: the gradient norm shrinks from the last layer to the first, {chain} "
            f"(medians over the first {DENSE_STEPS} steps): {ratio:.0f}x smaller at {last} "
            f"than at {first}.")


def activation_why(arms: Sequence[Arm], store: RunStore) -> str:
    """The measured why for qa-activation ("" when no run has diagnostics)."""
    parts = []
    for arm in arms:
        activation = arm.config.activation if arm.config else None
        if activation == "relu":
            parts.append(dead_sentence(arm, store))
        elif activation == "sigmoid":
            parts.append(gradient_sentence(arm, store))
    said = [p for p in parts if p]
    return ("Why, from the per-layer diagnostics: " + " ".join(said)) if said else ""
