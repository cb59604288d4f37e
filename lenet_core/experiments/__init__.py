"""Experiments: a question answered by training, measured over seeds, with a verdict.

An `Experiment` is a named, versioned definition (lenet_core.experiments.catalog holds the
shipped ones):
the question, a base config, a small grid of variants over a few fields, default epochs and
seeds, and what to measure (the verdict rule). Launching one records it in the store and
queues its runs (variants x seeds) through an executor; launching again adds seeds. Results
are computed from the runs whenever they are read, from what was recorded at launch, so an
old experiment still reads right after its definition changes. The package's names come from
definitions (what an experiment is), launching (queueing its runs) and results (reading them).
"""

from __future__ import annotations

from .definitions import (
           COMPUTED,
           MEASURES,
           QUANTITIES,
           Experiment,
           Plan,
           Variant,
           comparisons,
           grid,
           parse_grid,
           run_config,
)
from .launching import add_seeds, launch, stop
from .results import Result, parameters, report, result, settings, table_row

__all__ = ["COMPUTED", "MEASURES", "QUANTITIES", "Experiment", "Plan", "Result", "Variant",
           "add_seeds", "comparisons", "grid", "launch", "parameters", "parse_grid", "report",
           "result", "run_config", "settings", "stop", "table_row"]
