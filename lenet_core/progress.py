"""Where a training run stands: the typed progress its worker records (engine.Event.progress
makes one; show.fmt.progress_line writes it as the line people read)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    epoch: int  # 0-based
    batch: int  # batches done in this epoch
    num_batches: int  # per epoch
    step: int  # optimizer steps so far
    total_steps: int
    examples_per_sec: float  # over the training time so far
    elapsed: float  # wall seconds since the run started
    train_time: float | None = None  # seconds in training steps so far (None: older records)

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left, at the pace of the training steps so far. Not the wall time per step:
        it counts loading the data and building the model as if every step took a share."""
        if not self.step:
            return None
        spent = self.elapsed if self.train_time is None else self.train_time
        return (self.total_steps - self.step) * spent / self.step

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str | None) -> Progress | None:
        """None for no progress yet; keys other versions wrote are ignored."""
        if not text:
            return None
        d = json.loads(text)
        try:
            return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d})
        except TypeError:  # a field without a default is missing
            return None
