"""How a run ended, read as the seed's Q&A would: diverged where, at chance, and what to try."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..scoring import CHANCE_ACCURACY  # below it a 10-class model has learned nothing

if TYPE_CHECKING:
    from .records import Run

DIVERGED_HINT = ("The loss stopped being a number: the learning rate is too high for this "
                 "model. Lower the learning rate (the seed's Q&A: ReLU at lr 0.9 does not "
                 "converge, and trains at lr 0.1, the `relu-qa` preset).")
AT_CHANCE_HINT = ("Test accuracy is at chance (10 %): this run did not learn. The seed's Q&A "
                  "saw this with ReLU at lr 0.9 (\"does not converge\"); how often it ends at "
                  "chance or diverges, the qa-activation experiment measures. Lower the learning "
                  "rate (ReLU trains at lr 0.1: the `relu-qa` preset).")


def at_chance(run: Run) -> bool:
    """A run that ended without learning anything: test accuracy near 1 in 10."""
    return run.status in ("finished", "stopped") and run.test_acc is not None \
        and run.test_acc < CHANCE_ACCURACY


def diverged_x(run: Run) -> float | None:
    """Where a diverged run blew up, in epochs (the curves' x)."""
    if run.diverged_step is None:
        return None
    from ..engine import batches_per_epoch
    per_epoch = run.progress.num_batches if run.progress else batches_per_epoch(run.config)
    return run.diverged_step / per_epoch


def hint(run: Run) -> str | None:
    """What to try next, for a run that diverged or learned nothing."""
    if run.status == "diverged":
        return DIVERGED_HINT
    return AT_CHANCE_HINT if at_chance(run) else None
