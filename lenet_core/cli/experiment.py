"""`python -m lenet_core experiment ...`: list, run, sweep, show and stop experiments."""

from __future__ import annotations

import argparse
import json
import sys

from ..experiments import definitions, launching, report_text, results
from ..experiments.catalog import EXPERIMENTS, question, sweep
from ..launch import executor_for
from ..runs.executors import Executor
from ..runs.store import RunStore
from ..show import fmt
from .args import UsageError, add_cluster_flag, add_config_flags, config_from_args

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
            r.add_argument("--epochs", type=int, help="epochs per run (default: the "
                           "experiment's)")
            r.add_argument("--max-train-examples", type=int, metavar="N",
                           help="cap every run's training set (quick runs)")
        else:
            r.add_argument("--grid", action="append", required=True, metavar="FIELD=V1,V2",
                           help="a field and its values, e.g. lr=0.01,0.1,0.9 or "
                                "channels=6/16,12/32 or seed=0,100 (each variant's seeds "
                                "count up from its own); repeat for more fields")
            add_config_flags(r)  # the fixed part, as `train` takes it
        r.add_argument("--seeds", type=int, help="seeds per variant (default: the experiment's)")
        r.add_argument("--timed", action=argparse.BooleanOptionalAction, default=None,
                       help="record that the runs are timed side by side (one at a time on "
                            "this otherwise idle machine), so their timings are compared "
                            "(default: the experiment's own setting)")
        r.add_argument("--json", action="store_true",
                       help="end with one JSON line: experiment, id, verdict, comparisons, "
                            "runs, table")
        add_cluster_flag(r)
    sh = esub.add_parser("show", help="an experiment's table, comparisons and verdict")
    sh.add_argument("id")
    out = sh.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true")
    out.add_argument("--markdown", action="store_true",
                     help="a Markdown section, as docs/EXPERIMENTS.md holds them")
    st = esub.add_parser("stop", help="stop every run of an experiment")
    st.add_argument("id")
    d = esub.add_parser("docs", help="write docs/EXPERIMENTS.md from docs/results/*.json")
    d.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 when the document differs from the render")
    rr = esub.add_parser("rerun", help="re-run shipped experiments with their defaults, one "
                         "after another, store each result in docs/results and write "
                         "docs/EXPERIMENTS.md (hours: see docs/results/INTRO.md); run again "
                         "on the same store (or on a fresh checkout, from "
                         "docs/results/partial/), it resumes an unfinished re-run")
    rr.add_argument("names", nargs="*", metavar="NAME", help="these only (default: all)")
    rr.add_argument("--timed", action=argparse.BooleanOptionalAction, default=None,
                    help="record every experiment as timed side by side (default: each "
                         "experiment's own setting); only on an otherwise idle machine")
    rr.add_argument("--seeds", type=int, metavar="N",
                    help="N seeds per variant instead of each experiment's own (recorded with "
                         "the result, and said in the document)")
    rr.add_argument("--parallel", type=int, metavar="N", default=1,
                    help="train N runs at a time, each on CPUs/N threads (default 1); a timed "
                         "experiment's runs still train one at a time")


def _executor(a) -> Executor:
    return executor_for(getattr(a, "cluster", None))


def _wait(store: RunStore, experiment_id: str, executor: Executor) -> None:
    """Until every run has ended, a line on stderr each time one ends. Ctrl-C stops them."""
    try:
        launching.follow(experiment_id, store, lambda k, n, run: print(
            fmt.ended_line(k, n, run), file=sys.stderr, flush=True), poll_s=POLL_S)
    except KeyboardInterrupt:
        n = launching.stop(experiment_id, store)
        print(f"\nexperiment {experiment_id}: asked {n} runs to stop", file=sys.stderr)
        raise


def _print(report: dict, as_json: bool) -> None:
    print(json.dumps(report) if as_json else report_text.text(report))


def _docs(a: argparse.Namespace) -> int:
    """`docs` reads only docs/results; `rerun` trains, in the run store."""
    from ..experiments import rerun, results_doc
    if a.action == "docs":
        text = results_doc.rendered()
        if a.check:
            same = results_doc.DOCUMENT.read_text() == text
            print(f"{results_doc.DOCUMENT} is {'up to date' if same else 'out of date'}")
            return 0 if same else 1
        results_doc.DOCUMENT.write_text(text)
        print(f"wrote {results_doc.DOCUMENT}")
        return 0
    if unknown := [n for n in a.names if n not in EXPERIMENTS]:
        raise UsageError(f"no experiment named {unknown[0]!r}; choose from "
                         f"{', '.join(EXPERIMENTS)}")
    if a.seeds is not None and a.seeds < 1:
        raise UsageError(f"--seeds must be 1 or more, got {a.seeds}")
    if a.parallel < 1:
        raise UsageError(f"--parallel must be 1 or more, got {a.parallel}")
    if a.parallel > 1 and a.timed:
        raise UsageError("--timed trains one run at a time (its timings are compared); "
                         "drop --parallel or --timed")
    try:
        path = rerun.rerun(a.names or list(EXPERIMENTS), RunStore(), timed=a.timed,
                           say=lambda line: print(line, file=sys.stderr),
                           overrides={"seeds": a.seeds} if a.seeds else None,
                           parallel=a.parallel)
    except rerun.Busy as e:
        raise UsageError(str(e)) from None
    print(f"wrote {path}")
    return 0


def run(a: argparse.Namespace) -> int:
    if a.action in ("docs", "rerun"):
        return _docs(a)
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
            print(f"asked {launching.stop(a.id, store)} runs to stop")
            return 0
        report = results.report(a.id, store)
        if a.markdown:
            print(report_text.markdown(report, question(report["experiment"])))
        else:
            _print(report, a.json)
        return 0
    for option in ("epochs", "seeds", "max_train_examples"):
        value = getattr(a, option) if a.action == "run" or option == "seeds" else None
        if value is not None and value < 1:
            raise UsageError(f"--{option.replace('_', '-')} must be 1 or more, got {value}")
    if a.action == "run":
        if a.name not in EXPERIMENTS:
            raise UsageError(f"no experiment named {a.name!r}; choose one of "
                             f"{', '.join(EXPERIMENTS)}")
        definition, epochs, cap = EXPERIMENTS[a.name], a.epochs, a.max_train_examples
    else:
        base = config_from_args(a, device_available=not getattr(a, "cluster", None))
        definition = sweep(definitions.parse_grid(a.grid), base)
        epochs, cap = base.epochs, None  # the base config holds them
    executor = _executor(a)
    experiment_id = launching.launch(definition, store, epochs=epochs, seeds=a.seeds,
                                       max_train_examples=cap, executor=executor,
                                       timed=a.timed)
    print(f"experiment {experiment_id}: {definition.name}, "
          f"{len(store.runs_of(experiment_id))} runs queued", file=sys.stderr)
    try:
        _wait(store, experiment_id, executor)
    except KeyboardInterrupt:
        return 130
    report = results.report(experiment_id, store)
    _print(report, a.json)
    failed = [r for r in report["runs"] if r["status"] in ("failed", "interrupted")]
    return 1 if failed else 0
