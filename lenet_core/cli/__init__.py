"""`python -m lenet_core`: the layer table, training, runs, data, prediction, evaluation,
experiments and the benchmark. This module builds the parser and dispatches; the commands live
in .commands and .experiment, what they share in .args."""

from __future__ import annotations

import argparse
import sys

from .. import data
from ..cluster.executor import AddressError, ClusterError
from ..config import ConfigError
from ..runs.errors import NotFound, StoreError
from . import commands, diagnostics, experiment, export, lr_find
from .args import Parser, UsageError, add_cluster_flag, add_config_flags


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m lenet_core",
               description="LeNet Lab: train, inspect and use LeNet-5 on MNIST and Fashion-MNIST.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    s = sub.add_parser("summary", help="the layer table: output shape and parameters per layer")
    add_config_flags(s)
    s.add_argument("--json", action="store_true", help="print a JSON list instead of a table")

    t = sub.add_parser("train", help="train in the foreground and save the run")
    add_config_flags(t)
    t.add_argument("--name", help="a name for the run")
    t.add_argument("--save", metavar="PATH", help="also copy the checkpoint to PATH")
    t.add_argument("--json", action="store_true",
                   help="end with one JSON line: run_id, status, metrics, device")
    add_cluster_flag(t)

    r = sub.add_parser("runs", help="list the saved runs")
    r.add_argument("--json", action="store_true")

    d = sub.add_parser("data", help="which datasets are ready, and from where")
    d.add_argument("action", nargs="?", choices=["fetch"],
                   help="fetch: prepare both datasets in the data folder")

    pr = sub.add_parser("predict", help="classify image files with a trained model")
    src = pr.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", metavar="ID", help="a run's checkpoint")
    src.add_argument("--checkpoint", metavar="PATH", help="a checkpoint file")
    pr.add_argument("images", nargs="+", metavar="IMAGE")

    experiment.add_parser(sub, Parser)
    export.add_parser(sub, Parser)
    diagnostics.add_parser(sub, Parser)
    lr_find.add_parser(sub, Parser)

    e = sub.add_parser("evaluate", help="test-set accuracy per class, the confusion matrix and "
                       "the most confused pairs")
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", metavar="ID", help="a run's checkpoint ('default': the shipped model)")
    src.add_argument("--checkpoint", metavar="PATH", help="a checkpoint file")
    e.add_argument("--json", action="store_true",
                   help="end with one JSON line: test_acc, per_class_acc, confusion (rows: true "
                        "class, columns: predicted), top_confusions")

    b = sub.add_parser("bench", help="measure speed: engine vs the seed's loop, and more")
    b.add_argument("--json", action="store_true")
    b.add_argument("--quick", action="store_true", help="fewer examples: a fast smoke run")
    return p


COMMANDS = {"summary": commands.cmd_summary, "train": commands.cmd_train,
            "runs": commands.cmd_runs, "data": commands.cmd_data,
            "predict": commands.cmd_predict, "evaluate": commands.cmd_evaluate,
            "bench": commands.cmd_bench, "experiment": experiment.run,
            "export": export.run, "diagnostics": diagnostics.run, "lr-find": lr_find.run}


def main(argv: list[str] | None = None) -> int:
    try:
        a = build_parser().parse_args(argv)
        return COMMANDS[a.command](a)
    except (UsageError, ConfigError, NotFound, AddressError) as e:
        print(f"lenet_core: error: {e}", file=sys.stderr)
        return 2
    except (data.DataError, StoreError, ClusterError) as e:
        print(f"lenet_core: error: {e}", file=sys.stderr)
        return 1
