"""Which models a page's "Model" picker offers, in what order, and which it opens on.

The learner's own runs come first (newest first), then the shipped model, then the runs that
experiments launched (by experiment, newest first): an experiment's dozens of runs must not
bury the learner's own. A page opens on the learner's newest finished run, else the shipped
model, else an experiment's newest finished run. No Streamlit here (pages.models shows it).
"""

from __future__ import annotations

from ..runs import checkpoint, outcome
from ..runs.records import Run
from ..runs.store import RunStore
from . import fmt


def model_choices(store: RunStore, *, dataset: str | None = None,
                  statuses: tuple[str, ...] = ("finished", "stopped")) -> dict[str, str]:
    """{model reference: label}: runs of `dataset` (any when None) in `statuses` that have a
    checkpoint, and the shipped model when it exists and fits the dataset, grouped as above."""
    runs = [r for r in store.list() if r.status in statuses
            and dataset in (None, r.config.dataset) and store.checkpoint_path(r.id).is_file()]
    choices = {r.id: fmt.model_option_label(r, at_chance=outcome.at_chance(r))
               for r in runs if r.experiment_id is None}
    if checkpoint.DEFAULT_MODEL_PATH.is_file() and dataset in (None, "mnist"):
        choices[checkpoint.DEFAULT_MODEL] = checkpoint.DEFAULT_MODEL_LABEL
    launched = [r for r in runs if r.experiment_id is not None]
    if launched:
        records = store.experiments()
        order = {e.id: k for k, e in enumerate(records)}
        names = {e.id: e.name for e in records}
        for r in sorted(launched, key=lambda r: order.get(r.experiment_id, len(order))):
            choices[r.id] = fmt.model_option_label(r, names.get(r.experiment_id),
                                                   at_chance=outcome.at_chance(r))
    return choices


def _newest(runs: list[Run]) -> str:
    return max(runs, key=lambda r: (r.finished_at or 0, r.created_at)).id


def current_model(store: RunStore, choices: dict[str, str], dataset: str | None = None) -> str:
    """"The current model" among `choices`: the learner's newest finished run (of `dataset`
    when given), else the shipped model, else an experiment's newest finished run, else the
    first choice."""
    finished = [r for r in store.list("finished")
                if r.id in choices and dataset in (None, r.config.dataset)]
    own = [r for r in finished if r.experiment_id is None]
    if own:
        return _newest(own)
    if checkpoint.DEFAULT_MODEL in choices:
        return checkpoint.DEFAULT_MODEL
    return _newest(finished) if finished else next(iter(choices))
