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


def short_label(run: Run) -> str:
    """A run's name plus the tail of its id: names repeat, ids do not."""
    return f"{run.name} #{run.id[-4:]}"


def run_option_label(run: Run, *, status: bool = True) -> str:
    return f"{run.name} · {run.status} · {run.id}" if status else f"{run.name} · {run.id}"


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


def progress_line(run: Run, *, eta: bool = True) -> tuple[float, str]:
    """(fraction done, "Epoch 2/10 · batch 37/235 · 12,345 examples/s · ETA 0:42 · cpu")."""
    if run.status == "queued":
        return 0.0, ("Queued: waiting for a free worker on the Ray cluster" if run.executor == "ray"
                     else "Queued: starts when the run ahead of it ends")
    p = run.progress
    if p is None:
        return 0.0, "Starting: loading the data and building the model…"
    parts = [f"Epoch {p.epoch + 1}/{run.config.epochs}", f"batch {p.batch}/{p.num_batches}",
             f"{p.examples_per_sec:,.0f} examples/s"]
    if eta:
        parts.append(f"ETA {duration(p.eta)}")
        if run.device:
            parts.append(run.device + (f" on {run.node} (Ray)" if run.executor == "ray" else ""))
    return p.fraction, " · ".join(parts)
