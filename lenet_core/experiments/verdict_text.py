"""Verdicts in words: what each arm's runs did and what each declared comparison found, said
only as far as lenet_core.stats's rule allows (no comparison is said that was not computed)."""

from __future__ import annotations

from collections.abc import Sequence

from ..runs.outcome import too_short
from ..stats import p_text, planned_resolvable, wilson
from .verdicts import QUANTITIES, Arm, Compared, Stat, number, reached

FEW_SEEDS = "too few seeds"


def rate(k: int, n: int, low: float, high: float) -> str:
    """"3 of 5 seeds (95 % CI 23-88 %)"."""
    return f"{k} of {n} seeds (95 % CI {100 * low:.0f}-{100 * high:.0f} %)"


def failure(arm: Arm) -> str | None:
    """How an arm's runs failed to learn, measured, or None when every counted run learned."""
    k, n, low, high = arm.success
    if not n or k == n:
        return None
    parts = []
    if arm.diverged:
        steps = sorted(r.diverged_step for r in arm.diverged if r.diverged_step)
        where = f", median first non-finite loss at step {steps[len(steps) // 2]}" if steps else ""
        parts.append(f"diverged (a non-finite loss{where}) in {len(arm.diverged)}")
    if arm.chance:
        acc = Stat.of([r.test_acc for r in arm.chance])
        part = f"ended at chance accuracy ({acc.text(100, 1, ' %')}) in {len(arm.chance)}"
        short = [why for r in arm.chance if (why := too_short(r))]
        if len(short) == len(arm.chance):
            part += (f" after only {short[0]}: too small a run to conclude that this network "
                     "cannot learn")
        parts.append(part)
    text = f"learned in {rate(k, n, low, high)}: " + " and ".join(parts)
    if k and arm.stats.get("test_acc_learned"):
        text += f"; the runs that learned: {arm.stats['test_acc_learned'].text(100, 1, ' %')}"
    return text


def failure_short(arm: Arm) -> str:
    """How many runs failed, and how, in a table cell: "at chance in 2, diverged in 1"."""
    parts = ([f"diverged in {len(arm.diverged)}"] if arm.diverged else []) + \
        ([f"at chance in {len(arm.chance)}"] if arm.chance else [])
    return ", ".join(parts)


def seeds(n_a: int, n_b: int) -> str:
    return f"{n_a} seeds" if n_a == n_b else f"{n_a} and {n_b} seeds"


def sentence(c: Compared) -> str:
    """"A against B, test accuracy: +4.3 points [+3.1, +5.5] (paired, Holm p 0.002): higher"."""
    q, r = QUANTITIES[c.quantity], c.result
    head = f"{c.a} against {c.b}, {q.label}"
    if r.word == FEW_SEEDS:
        return f"{head}: too few seeds ({seeds(r.n_a, r.n_b)}; a test needs 2 on each side)"
    unit = f" {q.unit}" if q.unit else ""
    text = (f"{head}: {number(r.diff, c.quantity, True)}{unit} [{number(r.low, c.quantity, True)}"
            f", {number(r.high, c.quantity, True)}] ({r.method}, Holm p {p_text(r.p_holm)}): ")
    if r.word == "equivalent":
        return text + f"equivalent within ±{q.margin * q.scale:g}{unit}"
    if r.word == "inconclusive":
        return text + (f"inconclusive; {seeds(r.n_a, r.n_b)} tell apart differences of about "
                       f"{number(r.resolvable, c.quantity)}{unit}")
    return text + r.word


def _pending(arms: Sequence[Arm], compared: Sequence[Compared]) -> str | None:
    if not any(c.result.word == FEW_SEEDS for c in compared):
        return None
    if any(r.active for a in arms for r in a.runs):
        return "Runs are still queued or training: the comparisons fill in as they end."
    return "A comparison needs 2 seeds on each side: launch again to add seeds."


def verdict(measure: str, arms: Sequence[Arm], compared: Sequence[Compared],
            timed: bool) -> str:
    """The experiment's verdict: failures, per-arm numbers the measure asks for, and every
    computed comparison."""
    if not any(a.counted for a in arms):
        return "No run has finished yet."
    parts = [f"{a.label} {f}." for a in arms if (f := failure(a))]
    if measure == "overfitting":
        parts += [s for a in arms if (s := _fit_numbers(a))]
    if measure == "cost":
        parts.append(_cost(arms, timed))
    if measure == "data-size":
        parts += _at_each_x(arms)
    if measure == "time-to-target":
        parts += [_reached(a) for a in arms if a.counted]
        if not timed:
            parts.append("Times were not measured side by side, so they get no comparison.")
    parts += [sentence(c) + "." for c in compared]
    if pending := _pending(arms, compared):
        parts.append(pending)
    return " ".join(parts)


def _fit_numbers(arm: Arm) -> str | None:
    s = arm.stats
    if not s.get("train_acc") or not s.get("test_acc_learned"):
        return None
    text = (f"{arm.label}: train accuracy {s['train_acc'].text(100, 1, ' %')}, test accuracy "
            f"{s['test_acc_learned'].text(100, 1, ' %')} at the end")
    if s.get("peak_test_acc"):
        text += f" and {s['peak_test_acc'].text(100, 1, ' %')} at its peak"
    if s.get("test_loss"):
        text += f", test loss {s['test_loss'].text(1, 3)} at the end"
        if s.get("test_loss_min"):
            text += f" and {s['test_loss_min'].text(1, 3)} at its lowest"
    return text + f", final gap {s['gap'].text(100, 1, ' points')}."


def _at_each_x(arms: Sequence[Arm]) -> list[str]:
    """Each series' test accuracy at each x: the numbers the comparisons are about."""
    out = []
    for x in sorted({a.x for a in arms if a.x is not None}):
        row = [f"{a.series} {a.stats['test_acc'].text(100, 1, ' %')}" for a in arms
               if a.x == x and a.stats.get("test_acc")]
        if row:
            out.append(f"Test accuracy at {x:,.0f} training examples: {', '.join(row)}.")
    return out


def _cost(arms: Sequence[Arm], timed: bool) -> str:
    parts = [f"{a.label} has {a.params:,} parameters" + (
        f" and trained at {a.stats['examples_per_sec'].text(1, 0)} examples/s"
        if a.stats.get("examples_per_sec") else "") for a in arms if a.params is not None]
    note = "" if timed else " (not measured side by side: no comparison of speed)"
    return "Cost: " + "; ".join(parts) + note + "."


def _reached(arm: Arm) -> str:
    k, n = len([r for r in arm.runs if reached(r)]), len(arm.counted)
    text = (f"{arm.label}: reached {100 * arm.runs[0].config.stop_at:g} % in "
            f"{rate(k, n, *wilson(k, n))}")
    t = arm.stats.get("time_to_target")
    return text + (f", in {t.text(1, 1, ' s')}." if t else ".")


def resolvable_caption(compared: Sequence[Compared]) -> str:
    """What the seeds can tell apart, per quantity compared (the figure's grey band)."""
    parts = []
    for q in dict.fromkeys(c.quantity for c in compared):
        res = [c.result.resolvable for c in compared if c.quantity == q
               and c.result.resolvable is not None]
        if res:
            lo, hi = number(min(res), q), number(max(res), q)
            unit = f" {QUANTITIES[q].unit}" if QUANTITIES[q].unit else ""
            parts.append(f"{QUANTITIES[q].label}: about {lo if lo == hi else f'{lo}-{hi}'}{unit}")
    if not parts:
        return "Each comparison appears once both of its variants have 2 seeds."
    return ("The differences these seeds tell apart (80 % power, at the experiment's Holm "
            "level; the grey band): " + "; ".join(parts) + ". A dot outside its band, with an "
            "interval clear of 0, is a difference; inside, it is too small to tell.")


def plan_caption(definition) -> str:
    """How the default seed count was sized, for the launch form."""
    plan = definition.plan
    if plan is None or not definition.seeds:
        return ""
    resolves = planned_resolvable(plan.pilot_sd, definition.seeds, plan.comparisons)
    return (f"{definition.seeds} seeds per variant resolve a difference of about "
            f"{resolves:.1f} {plan.unit} in its main comparison (a pilot's spread over seeds: "
            f"{plan.pilot_sd:g} {plan.unit}; {plan.comparisons} comparisons share the Holm "
            "correction).")
