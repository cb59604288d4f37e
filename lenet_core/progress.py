"""Where a training run stands: the typed progress its worker records, and the line people read."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .fmt import duration

if TYPE_CHECKING:
    from .engine import Event
    from .store import Run


@dataclass(frozen=True)
class Progress:
    epoch: int  # 0-based
    batch: int  # batches done in this epoch
    num_batches: int  # per epoch
    step: int  # optimizer steps so far
    total_steps: int
    examples_per_sec: float  # over the training time so far
    elapsed: float  # wall seconds since the run started

    @classmethod
    def of(cls, e: Event) -> Progress:
        return cls(e.epoch, e.batch, e.num_batches, e.step, e.total_steps, e.examples_per_sec,
                   e.elapsed)

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left, at the pace so far."""
        return (self.total_steps - self.step) * self.elapsed / self.step if self.step else None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str | None) -> Progress | None:
        """None for no progress yet; keys other versions wrote are ignored."""
        if not text:
            return None
        d = json.loads(text)
        try:
            return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls)})
        except KeyError:
            return None


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
