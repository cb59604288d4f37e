"""Numbers and runs as people read them: durations, percentages, labels. No Streamlit here."""

from __future__ import annotations

import math
import re
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..runs.records import Run


def duration(seconds: float | None) -> str:
    """12.3 -> "12 s", 83 -> "1:23", 4000 -> "1:06:40"; None -> "–"."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def count(n: int, noun: str) -> str:
    """1 -> "1 epoch", 2 -> "2 epochs", 12000 -> "12,000 epochs"."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def percent(v: float | None) -> str:
    return "–" if v is None else f"{v:.1%}"


def number(v: float | None, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def value(v: Any) -> str:
    """A config value: tuples as "6, 16", floats short, None (no cap) as "all"."""
    if v is None:
        return "all"
    if isinstance(v, tuple):
        return ", ".join(str(x) for x in v)
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def ended_line(k: int, n: int, run: Run) -> str:
    """"[3/12] max-pool, sigmoid · seed 0: finished, test acc 82.5 %": the k-th of an
    experiment's n runs has ended."""
    return (f"[{k}/{n}] {run.variant} · seed {run.config.seed}: {run.status}, test acc "
            f"{percent(run.test_acc)}")


def short_label(run: Run) -> str:
    """A run's name plus the tail of its id: names repeat, ids do not."""
    return f"{run.name} #{run.id[-4:]}"


def run_option_label(run: Run, *, status: bool = True) -> str:
    return f"{run.name} · {run.status} · {run.id}" if status else f"{run.name} · {run.id}"


def model_option_label(run: Run, experiment: str | None = None, *,
                       at_chance: bool = False) -> str:
    """A run in a model picker, its group first: "Your run · digits #ab12 · 98.9 % test acc",
    or "qa-activation · ReLU, lr 0.9 · seed 1 #ab12 · 10.0 % test acc · at chance"."""
    if run.experiment_id is None:
        head = f"Your run · {short_label(run)}"
    else:
        head = (f"{experiment or 'Experiment'} · {run.variant or run.name} · "
                f"seed {run.config.seed} #{run.id[-4:]}")
    return f"{head} · {percent(run.test_acc)} test acc" + (" · at chance" if at_chance else "")


def when(timestamp: float) -> str:
    """A local date and time to the minute: "2026-11-26 08:47"."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


_ECHO = re.compile(r"""(?:[,;] got |cannot read )(?:'.*'|".*")$""")


def field_message(message: str) -> str:
    """A check's message about a field, for a page that shows it as Markdown beside the field:
    the text the user typed ("got '...'") is dropped. It is in the box above already, and here
    Markdown would render it (an image link would be fetched). Numbers stay."""
    return _ECHO.sub(lambda m: "" if m.group(0)[0] in ",;" else "cannot read it",
                     message)


STARTING = "Starting: loading the data and building the model…"


def progress_line(run: Run, *, eta: bool = True, ahead: bool = True) -> tuple[float, str]:
    """(fraction done, "Epoch 2/10 · batch 37/235 · 12,345 examples/s · ETA 0:42 · cpu").
    ahead: whether another run is ahead of this one in this machine's queue (queued_ahead);
    a queued run with none is about to start, and says so."""
    if run.status == "queued":
        if run.executor == "ray":
            return 0.0, "Queued: waiting for a free worker on the Ray cluster"
        return 0.0, "Queued: starts when the run ahead of it ends" if ahead else STARTING
    p = run.progress
    if p is None:
        return 0.0, STARTING
    parts = [f"Epoch {p.epoch + 1}/{run.config.epochs}", f"batch {p.batch}/{p.num_batches}",
             f"{p.examples_per_sec:,.0f} examples/s"]
    if eta:
        parts.append(f"ETA {duration(p.eta)}")
        if run.device:
            parts.append(run.device + (f" on {run.node} (Ray)" if run.executor == "ray" else ""))
    return p.fraction, " · ".join(parts)


def queued_ahead(runs: list[Run], run: Run) -> bool:
    """Whether an active run of this machine's queue came before `run` (they train one at a
    time, oldest first)."""
    return any(r.executor == "local" and r.id != run.id and
               (r.status == "running" or r.status == "queued" and r.created_at < run.created_at)
               for r in runs)
