"""`python -m lenet_core experiment ...`: list, run, sweep, show and stop experiments."""

from __future__ import annotations

import argparse
import json
import sys
import time

from .. import experiments
from ..config import PRESETS, preset
from ..experiments.catalog import EXPERIMENTS, sweep
from ..launch import executor_for
from ..runs.executors import Executor
from ..runs.store import RunStore
from ..show import fmt
from .args import UsageError, add_cluster_flag

POLL_S = 1.0  # how often a waiting `experiment run` looks at its runs


def add_parser(sub, parser_class) -> None:
    e = sub.add_parser("experiment", help="the seed's Q&A and the book's exercises, answered "
                       "over several seeds")
    esub = e.add_subparsers(dest="action", required=True, parser_class=parser_class)
    ls = esub.add_parser("list", help="the experiments that ship")
    ls.add_argument("--json", action="store_true")
    for name, what in (("run", "launch an experiment and wait for its verdict"),
                       ("sweep", "every combination of some config fields, over seeds")):
        r = esub.add_parser(name, help=what)
        if name == "run":
            r.add_argument("name", help="an experiment's name (see `experiment list`)")
        else:
            r.add_argument("--grid", action="append", required=True, metavar="FIELD=V1,V2",
                           help="a field and its values, e.g. lr=0.01,0.1,0.9 or "
                                "channels=6/16,12/32; repeat for more fields")
            r.add_argument("--preset", choices=list(PRESETS), default="d2l",
                           help="the base config the grid changes")
        r.add_argument("--epochs", type=int, help="epochs per run (default: the experiment's)")
        r.add_argument("--seeds", type=int, help="seeds per variant (default: 3)")
        r.add_argument("--max-train-examples", type=int, metavar="N",
                       help="cap every run's training set (quick runs)")
        r.add_argument("--json", action="store_true",
                       help="end with one JSON line: experiment, id, verdict, runs, table")
        add_cluster_flag(r)
    sh = esub.add_parser("show", help="an experiment's table and verdict")
    sh.add_argument("id")
    out = sh.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true")
    out.add_argument("--markdown", action="store_true",
                     help="a Markdown section, as docs/EXPERIMENTS.md holds them")
    st = esub.add_parser("stop", help="stop every run of an experiment")
    st.add_argument("id")


def _executor(a) -> Executor:
    return executor_for(getattr(a, "cluster", None))


def _wait(store: RunStore, experiment_id: str, executor: Executor) -> None:
    """Until every run has ended, a line on stderr each time one ends. Ctrl-C stops them."""
    seen: set[str] = set()
    try:
        while True:
            runs = store.runs_of(experiment_id)
            for r in runs:
                if not r.active and r.id not in seen:
                    seen.add(r.id)
                    acc = fmt.percent(r.test_acc)
                    print(f"[{len(seen)}/{len(runs)}] {r.variant} · seed {r.config.seed}: "
                          f"{r.status}, test acc {acc}", file=sys.stderr, flush=True)
            if all(not r.active for r in runs):
                return
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        n = experiments.stop(experiment_id, store)
        print(f"\nexperiment {experiment_id}: asked {n} runs to stop", file=sys.stderr)
        raise


def _stat(row: dict, key: str, scale: float = 1.0, digits: int = 1) -> str:
    s = row[key]
    return "–" if s is None else f"{s['mean'] * scale:.{digits}f}±{s['std'] * scale:.{digits}f}"


def _print(report: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report))
        return
    print(f"experiment {report['experiment']} ({report['id']})")
    print(f"{'variant':<44} {'seeds':>5} {'test acc %':>13} {'gap':>11} {'params':>9} "
          f"{'ex/s':>8} {'time s':>7}")
    for row in report["table"]:
        print(f"{row['variant'][:44]:<44} {row['seeds']:>5} {_stat(row, 'test_acc', 100):>13} "
              f"{_stat(row, 'gap', 100):>11} {row['params'] or 0:>9,} "
              f"{_stat(row, 'examples_per_sec', 1, 0):>8} {_stat(row, 'train_time'):>7}")
    for layer in report.get("layers", []):
        print(f"{layer['layer']:<8} {str(layer['shape']):<16} {layer['values']:>7,} values")
    print(f"verdict: {report['verdict']}")


def markdown(report: dict) -> str:
    """An experiment's report as a Markdown section: question, settings, table, verdict."""
    definition = EXPERIMENTS.get(report["experiment"])
    runs = report["runs"]
    lines = [f"## `{report['experiment']}`: {report.get('title') or report['experiment']}", ""]
    if definition is not None:
        lines += [f"> {definition.question_en}", ""]
        if definition.question_zh:
            lines += [f"The seed asks: {definition.question_zh} Its Q&A answered: "
                      f"{definition.answer_zh}", ""]
    if runs:
        epochs = sorted({r["config"]["epochs"] for r in runs})
        seeds = sorted({r["config"]["seed"] for r in runs})
        ran = [r for r in runs if r.get("node")] or runs  # queued runs have no node yet
        threads = sorted({str(r.get("threads")) for r in ran})
        lines += [f"Experiment `{report['id']}`: {len(runs)} runs (seeds "
                  f"{', '.join(map(str, seeds))}), {'/'.join(map(str, epochs))} epochs, "
                  + ("the full training sets unless a variant sets its size"
                     if report["max_train_examples"] is None else
                     f"training sets capped at {report['max_train_examples']:,} examples")
                  + ", on "
                  f"{', '.join(sorted({r['executor'] for r in ran}))} "
                  f"({', '.join(sorted({r['node'] or '?' for r in ran}))}, {'/'.join(threads)} "
                  f"thread{'' if threads == ['1'] else 's'} per run).", "",
                  "| variant | seeds | test acc % | train acc % | gap (points) | parameters | "
                  "examples/s | train time s | did not learn |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for row in report["table"]:
            lines.append(
                f"| {row['variant']} | {row['seeds']}/{row['runs']} | "
                f"{_stat(row, 'test_acc', 100)} | {_stat(row, 'train_acc', 100)} | "
                f"{_stat(row, 'gap', 100)} | {row['params']:,} | "
                f"{_stat(row, 'examples_per_sec', 1, 0)} | {_stat(row, 'train_time')} | "
                f"{row['failed_to_learn'] or ''} |")
        lines.append("")
    for layer in report.get("layers", []):
        if layer is report["layers"][0]:
            lines += ["| layer | output (C x H x W) | values per example |", "| --- | --- | --- |"]
        lines.append(f"| {layer['layer']} | {' x '.join(map(str, layer['shape']))} | "
                     f"{layer['values']:,} |")
    return "\n".join([*lines, "", f"**Verdict** (computed from the runs): {report['verdict']}",
                      ""])


def run(a: argparse.Namespace) -> int:
    store = RunStore()
    if a.action == "list":
        rows = [{"name": e.name, "version": e.version, "title": e.title,
                 "question": e.question_en, "question_zh": e.question_zh,
                 "variants": len(e.variants), "epochs": e.epochs, "seeds": e.seeds,
                 "measure": e.measure} for e in EXPERIMENTS.values()]
        if a.json:
            print(json.dumps(rows))
        for r in [] if a.json else rows:
            print(f"{r['name']:<18} {r['variants']:>2} variants x {r['seeds']} seeds, "
                  f"{r['epochs']:>2} epochs  {r['title']}")
        return 0
    if a.action in ("show", "stop"):
        store.experiment(a.id)  # NoSuchExperiment: one line, exit 2
        if a.action == "stop":
            # The stop flag lives in the store, wherever the runs train: no cluster to reach.
            print(f"asked {experiments.stop(a.id, store)} runs to stop")
            return 0
        report = experiments.report(a.id, store)
        if a.markdown:
            print(markdown(report))
        else:
            _print(report, a.json)
        return 0
    for option in ("epochs", "seeds", "max_train_examples"):
        value = getattr(a, option)
        if value is not None and value < 1:
            raise UsageError(f"--{option.replace('_', '-')} must be 1 or more, got {value}")
    if a.action == "run":
        if a.name not in EXPERIMENTS:
            raise UsageError(f"no experiment named {a.name!r}; choose one of "
                             f"{', '.join(EXPERIMENTS)}")
        definition = EXPERIMENTS[a.name]
    else:
        definition = sweep(experiments.parse_grid(a.grid), preset(a.preset), a.epochs)
    executor = _executor(a)
    experiment_id = experiments.launch(definition, store, epochs=a.epochs, seeds=a.seeds,
                                       max_train_examples=a.max_train_examples,
                                       executor=executor)
    print(f"experiment {experiment_id}: {definition.name}, "
          f"{len(store.runs_of(experiment_id))} runs queued", file=sys.stderr)
    try:
        _wait(store, experiment_id, executor)
    except KeyboardInterrupt:
        return 130
    report = experiments.report(experiment_id, store)
    _print(report, a.json)
    failed = [r for r in report["runs"] if r["status"] in ("failed", "interrupted")]
    return 1 if failed else 0
