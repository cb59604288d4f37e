"""An experiment's results, computed from its runs whenever they are read (from what was
recorded at launch): the arms with their statistics, the comparisons, the verdict, the report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

from ..config import TrainConfig
from ..model import summary
from ..runs.records import ExperimentRecord
from ..runs.store import RunStore
from . import computed, verdict_text, verdicts, why
from .definitions import QUANTITIES, comparisons, run_config


@dataclass
class Result:
    record: ExperimentRecord
    arms: list[verdicts.Arm]
    verdict: str
    compared: list[verdicts.Compared] = field(default_factory=list)
    layers: list[dict[str, Any]] = field(default_factory=list)  # layer-sizes: the table

    @property
    def runs(self):
        return [r for a in self.arms for r in a.runs]

    @property
    def active(self) -> bool:
        return any(r.active for r in self.runs)


def result(experiment_id: str, store: RunStore) -> Result:
    """The experiment's variants with their runs and statistics, its comparisons, the verdict."""
    record = store.experiment(experiment_id)
    spec = record.spec
    runs = store.runs_of(experiment_id)
    arms = []
    for v in spec["variants"]:
        arm = verdicts.Arm(v["label"], v["changes"], [r for r in runs if r.variant == v["label"]],
                           v.get("series"), v.get("x"))
        arm.config = run_config(spec, v, 0)
        arm.params = parameters(arm.config)
        if spec["measure"] in ("overfitting", "time-to-target"):  # peaks, losses, times to
            arm.points = {r.id: store.metrics(r.id) for r in arm.runs if not r.active}  # target
        arms.append(verdicts.summarize(arm))
    if spec["measure"] == "layer-sizes":
        layers = computed.layer_sizes(TrainConfig.from_dict(spec["base"]))
        return Result(record, arms, computed.layer_sizes_verdict(layers), [], layers)
    if spec["measure"] == "view-reshape":
        compared = computed.view_reshape_compared(spec["cases"])
        return Result(record, arms, computed.view_reshape_verdict(spec["cases"], compared),
                      compared)
    pairs = spec.get("comparisons") or comparisons((), None, [a.label for a in arms])
    timed = bool(spec.get("timed"))
    compared = verdicts.compare(arms, [tuple(p) for p in pairs], QUANTITIES[spec["measure"]],
                                timed)
    text = verdict_text.verdict(spec["measure"], arms, compared, timed)
    if record.name == "qa-activation" and (because := why.activation_why(arms, store)):
        text += " " + because
    if spec["measure"] == "cost":
        text += " " + computed.sizes_sentence(arms)
    return Result(record, arms, text, compared)


@lru_cache(maxsize=256)
def parameters(config: TrainConfig) -> int:
    """The network's parameter count (cached: live pages ask every few seconds)."""
    return sum(row.params for row in summary(config))


REPORT_RUN = ("run_id", "variant", "status", "config", "test_acc", "train_acc", "train_loss",
              "examples_per_sec", "train_time", "executor", "node", "threads")


def report(experiment_id: str, store: RunStore) -> dict[str, Any]:
    """The experiment as JSON: the CLI's `--json` line."""
    res = result(experiment_id, store)
    table = [table_row(a) for a in res.arms]
    runs = [r.to_dict(REPORT_RUN) for r in res.runs]
    spec = res.record.spec
    out = {"experiment": res.record.name, "id": res.record.id, "title": spec["title"],
           "measure": spec["measure"], "max_train_examples": spec["max_train_examples"],
           "timed": bool(spec.get("timed")), "settings": settings(res.runs),
           "verdict": res.verdict, "comparisons": [c.to_dict() for c in res.compared],
           "runs": runs, "table": table}
    if res.layers:
        out["layers"] = res.layers
    if spec["measure"] == "cost":
        out["sizes"] = computed.sizes_rows(res.arms)
    if spec["measure"] == "view-reshape":
        out["cases"] = computed.case_rows(spec["cases"])
    return out


def table_row(arm: verdicts.Arm) -> dict[str, Any]:
    """One arm as the report's table holds it: counts, success rate, statistics."""
    k, n, low, high = arm.success
    return {"variant": arm.label, "seeds": len(arm.learned), "runs": len(arm.runs),
            "counted": n, "learned": k, "success_low": low, "success_high": high,
            "params": arm.params, "failed_to_learn": verdict_text.failure(arm),
            **{key: (asdict(arm.stats[key]) if arm.stats.get(key) else None)
               for key in verdicts.STAT_KEYS}}


def settings(runs) -> dict[str, list]:
    """What the runs had in common, for a report's header: seeds, epochs, where they ran, and
    the training-set sizes they used (None: the full set)."""
    ran = [r for r in runs if r.node] or runs  # queued runs have no node yet
    return {"runs": len(runs), "seeds": sorted({r.config.seed for r in runs}),
            "epochs": sorted({r.config.epochs for r in runs}),
            "executors": sorted({r.executor for r in ran}),
            "nodes": sorted({r.node or "?" for r in ran}),
            "threads": sorted({str(r.threads) for r in ran}),
            "train_examples": sorted({r.config.max_train_examples for r in runs},
                                     key=lambda n: (n is None, n or 0))}
