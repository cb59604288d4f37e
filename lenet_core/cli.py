"""`python -m lenet_core`: the layer table, training, runs, data, prediction, experiments and
the benchmark."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from . import cli_experiment, data, outcome
from .cluster import AddressError, ClusterError
from .config import PRESET_HELP, PRESETS, SPECS, ConfigError, TrainConfig, from_text, preset
from .schema import StoreError
from .store import NotFound


class UsageError(Exception):
    """Bad usage or a bad value: one line on stderr, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage dump
        raise UsageError(f"{message} (see {self.prog} --help)")


def flag(name: str) -> str:
    """The command-line flag of a TrainConfig field."""
    return SPECS[name].flag or "--" + name.replace("_", "-")


def add_config_flags(p: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field, from its spec. Values stay text here: config.from_text
    reads and checks them all, so every bad flag is reported at once."""
    g = p.add_argument_group("hyperparameters (override the preset)")
    g.add_argument("--preset", choices=list(PRESETS), default="d2l",
                   help="starting point: " + "; ".join(f"{k}: {v}" for k, v in PRESET_HELP.items())
                   .replace("%", "%%"))
    for name, spec in SPECS.items():
        text = spec.help.replace("%", "%%")
        if spec.kind == "bool":
            g.add_argument(flag(name), dest=name, action=argparse.BooleanOptionalAction, help=text)
        elif spec.is_list:
            g.add_argument(flag(name), dest=name, nargs="*" if spec.length[0] == 0 else "+",
                           metavar="N", help=text)
        else:
            metavar = "{" + ",".join(map(str, spec.choices)) + "}" if spec.choices else name.upper()
            g.add_argument(flag(name), dest=name, metavar=metavar, help=text)


def add_cluster_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cluster", metavar="HOST:PORT",
                   help="train on the Ray cluster at this address (default: $RAY_ADDRESS if set, "
                        "else this machine); see docs/CLUSTER.md")


def config_from_args(a: argparse.Namespace, device_available: bool = True) -> TrainConfig:
    """device_available=False leaves the device to the machine that trains (a cluster's)."""
    given = {name: getattr(a, name) for name in SPECS if getattr(a, name) is not None}
    bools = {name: given.pop(name) for name in list(given) if SPECS[name].kind == "bool"}
    base = preset(a.preset).replace(**bools)
    return from_text(given, base, device_available=device_available)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m lenet_core",
                description="LeNet Lab: train, inspect and use LeNet-5 on MNIST and Fashion-MNIST.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

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

    cli_experiment.add_parser(sub, _Parser)

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


def _cmd_summary(a) -> int:
    from .model import summary
    rows = summary(config_from_args(a))
    if a.json:
        print(json.dumps([{"layer": r.layer, "type": r.type, "output_shape": list(r.output_shape),
                           "params": r.params} for r in rows]))
        return 0
    print(f"{'layer':<8} {'type':<10} {'output shape':<18} {'params':>8}")
    for r in rows:
        print(f"{r.layer:<8} {r.type:<10} {str(list(r.output_shape)):<18} {r.params:>8,}")
    print(f"{'total':<38} {sum(r.params for r in rows):>8,}")
    return 0


class _ProgressBar:
    """A one-line bar on stderr when it is a terminal; a line per epoch otherwise."""

    def __init__(self):
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, e) -> None:
        now = time.monotonic()
        if e.kind == "point" and e.point and e.point.test_acc is not None:
            self._line(e, f"test acc {e.point.test_acc:.3f}", final=True)
        elif e.kind == "batch" and self.tty and now - self.last > 0.2:
            self.last = now
            self._line(e, "")

    def _line(self, e, extra: str, final: bool = False) -> None:
        frac = e.step / e.total_steps if e.total_steps else 0
        bar = "#" * int(frac * 24)
        text = (f"epoch {e.epoch + 1} batch {e.batch}/{e.num_batches} [{bar:<24}] "
                f"{e.examples_per_sec:,.0f} ex/s {extra}")
        if self.tty:
            sys.stderr.write("\r" + text.ljust(100) + ("\n" if final else ""))
        elif final:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()


def _cmd_train(a) -> int:
    from .executors import executor_for
    from .runner import execute
    from .store import RunStore, name_problem
    config = config_from_args(a, device_available=False)  # bad flags first, then the cluster
    if a.name and (problem := name_problem(a.name)):
        raise UsageError(f"--name: {problem}")
    if a.save and os.path.isdir(a.save):  # refused before training, not after
        raise UsageError(f"--save {a.save}: is a folder; give a file name such as "
                         f"{os.path.join(a.save, 'model.pt')}")
    executor = executor_for(a.cluster)
    store = RunStore()
    if executor.name == "local":
        config = config_from_args(a)  # an unavailable device is a usage error, not a failed run
        run_id = store.create(config, a.name)
        store.claim(run_id, os.getpid(), max_running=None)
        print(f"run {run_id}: {config.dataset}, {config.epochs} epochs", file=sys.stderr)
        try:
            execute(store, run_id, on_event=_ProgressBar())
        except KeyboardInterrupt:
            print(f"\nrun {run_id} interrupted; its curves are kept", file=sys.stderr)
            return 130
    else:  # the cluster's workers judge the device
        run_id = _train_on(executor, config, a.name, store)
    run = store.get(run_id)
    not_saved = None
    if a.save and store.checkpoint_path(run_id).is_file():
        import shutil
        try:  # where the user says, with the user's own rights: the run itself stays in the store
            os.makedirs(os.path.dirname(os.path.abspath(a.save)), exist_ok=True)
            shutil.copyfile(store.checkpoint_path(run_id), a.save)
        except OSError as e:
            not_saved = f"the checkpoint was not copied to {a.save}: {e.strerror}"
    summary = {"run_id": run_id, "status": run.status, "train_loss": run.train_loss,
               "train_acc": run.train_acc, "test_acc": run.test_acc,
               "examples_per_sec": run.examples_per_sec, "device": run.device}
    if run.status == "diverged":
        summary["diverged_step"] = run.diverged_step
    if run.error:
        summary["error"] = run.error
    if a.json:
        print(json.dumps(summary))
    else:
        print(f"run {run_id} {run.status}: " + ", ".join(
            f"{k} {v:.3f}" for k, v in summary.items()
            if k in ("train_loss", "train_acc", "test_acc") and v is not None)
            + f", {run.examples_per_sec or 0:,.0f} examples/sec on {run.device}")
        if run.status == "diverged":
            print(f"diverged at step {run.diverged_step}.")
        if hint := outcome.hint(run):
            print(hint.replace("`", ""))
        if run.error:
            print(f"error: {run.error}")
    if not_saved:
        print(f"lenet_core: error: {not_saved} (it is kept in the run store)", file=sys.stderr)
        return 1
    return 0 if run.status in ("finished", "stopped") else 1


def _train_on(executor, config: TrainConfig, name: str | None, store) -> str:
    """Launch one run on `executor` and follow it from the store until it ends (Ctrl-C stops
    it, keeping its checkpoint); returns its id."""
    from .runner import wait
    run_id = store.create(config, name, executor=executor.name)
    executor.launch([run_id], store)
    print(f"run {run_id}: {config.dataset}, {config.epochs} epochs, on the Ray cluster at "
          f"{executor.address}", file=sys.stderr)
    shown = 0
    try:
        while True:
            run = store.get(run_id)  # before its points: an ended run has all of them
            tests = [m for m in store.metrics(run_id) if m["test_acc"] is not None]
            for m in tests[shown:]:
                print(f"epoch {m['x']:g} test acc {m['test_acc']:.3f} on {run.node}",
                      file=sys.stderr)
            shown = len(tests)
            if not run.active:
                break
            time.sleep(0.5)
    except KeyboardInterrupt:
        executor.stop(run_id, store)
        print(f"\nstopping run {run_id}...", file=sys.stderr)
        wait(run_id, store, timeout=60)
    return run_id


def _cmd_runs(a) -> int:
    from .store import RunStore
    runs = RunStore().list()
    if a.json:
        print(json.dumps([{"id": r.id, "name": r.name, "status": r.status,
                           "created_at": r.created_at, "test_acc": r.test_acc,
                           "train_loss": r.train_loss, "examples_per_sec": r.examples_per_sec,
                           "device": r.device, "executor": r.executor, "node": r.node,
                           "threads": r.threads, "config": r.config.to_dict()} for r in runs]))
        return 0
    if not runs:
        print("no runs yet: python -m lenet_core train --help")
        return 0
    print(f"{'id':<21} {'status':<11} {'test acc':>8}  name")
    for r in runs:
        acc = f"{r.test_acc:.4f}" if r.test_acc is not None else "-"
        print(f"{r.id:<21} {r.status:<11} {acc:>8}  {r.name}")
    return 0


def _cmd_data(a) -> int:
    if a.action == "fetch":
        failed = 0
        for name in data.DATASETS:
            try:
                ds = data.load(name)
                print(f"{name}: ready ({len(ds.train_y):,} train / {len(ds.test_y):,} test) "
                      f"from {ds.source}")
            except data.DataError as e:
                failed += 1
                print(f"{name}: {e}", file=sys.stderr)
        return 1 if failed else 0
    for row in data.status():
        state = "ready" if row["ready"] else "missing"
        print(f"{row['dataset']:<14} {state:<8} {row['source']}")
    print(f"data folder: {data.data_root().resolve()} (set LENET_DATA to move it)")
    return 0


def _load_model(a):
    """The model named by --run or --checkpoint; a usage error (exit 2) when there is none."""
    from . import checkpoint
    from .store import NoSuchRun, RunStore
    try:
        return (checkpoint.load_ref(a.run, RunStore()) if a.run
                else checkpoint.load(a.checkpoint))
    except (NoSuchRun, checkpoint.CheckpointError) as e:
        raise UsageError(str(e)) from e


def _cmd_predict(a) -> int:
    from . import images
    from .inference import predict_proba
    model = _load_model(a)
    read = []  # every image is read before any is classified: a bad one refuses the whole call
    for path in a.images:
        try:
            read.append(images.read_file(path, model.config.dataset))
        except images.BlankImage:
            read.append(None)
        except images.ImageError as e:
            raise UsageError(str(e)) from e
    for path, image in zip(a.images, read, strict=True):
        if image is None:
            print(f"{path}: nothing drawn")
            continue
        probs = predict_proba(model, image)[0]
        k = int(probs.argmax())
        print(f"{path}: {model.class_names[k]} ({probs[k]:.3f})")
    return 0


def _cmd_evaluate(a) -> int:
    from . import checkpoint, evaluate
    from .store import RunStore
    model = _load_model(a)  # refuses a bad reference or file before the dataset loads
    if a.run:
        ev = evaluate.for_ref(a.run, RunStore())
    else:
        try:
            ev = evaluate.load_or_evaluate(a.checkpoint, None)
        except checkpoint.CheckpointError as e:
            raise UsageError(str(e)) from e
    names = ev.class_names
    print(f"{model.label}: test accuracy {ev.test_acc:.2%} on {len(ev.labels):,} "
          f"{ev.dataset} test images")
    width = max(map(len, names))
    for k, acc in enumerate(ev.per_class_acc):
        print(f"  {names[k]:<{width}}  {acc:7.2%}  ({ev.confusion[k, k]:,} of "
              f"{ev.confusion[k].sum():,})")
    print("most confused (true -> predicted: images):")
    for c in ev.top_confusions():
        print(f"  {names[c.true]} -> {names[c.predicted]}: {c.count}")
    if a.json:
        print(json.dumps(ev.summary()))
    return 0


def _cmd_bench(a) -> int:
    from .bench import run_bench
    return run_bench(json_out=a.json, quick=a.quick)


COMMANDS = {"summary": _cmd_summary, "train": _cmd_train, "runs": _cmd_runs, "data": _cmd_data,
            "predict": _cmd_predict, "evaluate": _cmd_evaluate, "bench": _cmd_bench,
            "experiment": cli_experiment.run}


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
