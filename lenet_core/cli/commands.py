"""The commands of `python -m lenet_core` but `experiment`: summary, train, runs, data,
predict, evaluate, bench. Each takes the parsed arguments and returns the exit code."""

from __future__ import annotations

import json
import os
import sys
import time

from .. import data
from ..runs import diagnostics_store, outcome
from .args import UsageError, config_from_args


def cmd_summary(a) -> int:
    from ..model import summary
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


def cmd_train(a) -> int:
    from ..launch import executor_for
    from ..runs.records import name_problem
    from ..runs.runner import ForegroundExecutor
    from ..runs.store import RunStore
    address = a.cluster if a.cluster is not None else os.environ.get("RAY_ADDRESS", "")
    local = not address.strip()
    # Bad flags first, then the cluster. Here an unavailable device is a usage error; a
    # cluster's workers judge their own.
    config = config_from_args(a, device_available=local)
    if a.name and (problem := name_problem(a.name)):
        raise UsageError(f"--name: {problem}")
    if a.save and os.path.isdir(a.save):  # refused before training, not after
        raise UsageError(f"--save {a.save}: is a folder; give a file name such as "
                         f"{os.path.join(a.save, 'model.pt')}")
    executor = ForegroundExecutor(on_event=_ProgressBar()) if local else executor_for(address)
    store = RunStore()
    run_id = store.create(config, a.name, executor=executor.name)
    if local:
        print(f"run {run_id}: {config.dataset}, {config.epochs} epochs", file=sys.stderr)
        try:
            executor.launch([run_id], store)
        except KeyboardInterrupt:
            print(f"\nrun {run_id} interrupted; its curves are kept", file=sys.stderr)
            return 130
    else:
        executor.launch([run_id], store)
        print(f"run {run_id}: {config.dataset}, {config.epochs} epochs, on the Ray cluster at "
              f"{executor.address}", file=sys.stderr)
        _follow(run_id, store)
    return _report(a, store.get(run_id), store)


def _report(a, run, store) -> int:
    """A trained run's last words: its numbers (or one JSON line), the hint, and the copy of
    its checkpoint that --save asked for."""
    not_saved = None
    if a.save and store.checkpoint_path(run.id).is_file():
        import shutil
        try:  # where the user says, with the user's own rights: the run itself stays in the store
            os.makedirs(os.path.dirname(os.path.abspath(a.save)), exist_ok=True)
            shutil.copyfile(store.checkpoint_path(run.id), a.save)
        except OSError as e:
            not_saved = f"the checkpoint was not copied to {a.save}: {e.strerror}"
    summary = run.to_dict(("run_id", "status", "train_loss", "train_acc", "test_acc",
                           "examples_per_sec", "device"))
    if run.status == "diverged":
        summary["diverged_step"] = run.diverged_step
    if run.error:
        summary["error"] = run.error
    if a.json:
        print(json.dumps(summary))
    else:
        print(f"run {run.id} {run.status}: " + ", ".join(
            f"{k} {v:.3f}" for k, v in summary.items()
            if k in ("train_loss", "train_acc", "test_acc") and v is not None)
            + f", {run.examples_per_sec or 0:,.0f} examples/sec on {run.device}")
        if run.status == "diverged":
            print(f"diverged at step {run.diverged_step}.")
        if hint := outcome.hint(run, diagnostics_store.last_dead_fraction(store, run.id)):
            print(hint.replace("`", ""))
        if run.error:
            print(f"error: {run.error}")
    if not_saved:
        print(f"lenet_core: error: {not_saved} (it is kept in the run store)", file=sys.stderr)
        return 1
    return 0 if run.status in ("finished", "stopped") else 1


def _follow(run_id: str, store) -> None:
    """Follow a run that trains elsewhere from the store until it ends, a line per test
    accuracy (Ctrl-C stops it, keeping its checkpoint)."""
    from ..runs import executors
    from ..runs.runner import wait
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
        executors.stop([run_id], store)
        print(f"\nstopping run {run_id}...", file=sys.stderr)
        wait(run_id, store, timeout=60)


RUNS_JSON = ("id", "name", "status", "created_at", "test_acc", "train_loss", "examples_per_sec",
             "device", "executor", "node", "threads", "config", "environment")


def cmd_runs(a) -> int:
    from ..runs.store import RunStore
    runs = RunStore().list()
    if a.json:
        print(json.dumps([r.to_dict(RUNS_JSON) for r in runs]))
        return 0
    if not runs:
        print("no runs yet: python -m lenet_core train --help")
        return 0
    print(f"{'id':<21} {'status':<11} {'test acc':>8}  name")
    for r in runs:
        acc = f"{r.test_acc:.4f}" if r.test_acc is not None else "-"
        print(f"{r.id:<21} {r.status:<11} {acc:>8}  {r.name}")
    return 0


def cmd_data(a) -> int:
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
    from ..runs import checkpoint
    from ..runs.errors import NoSuchRun
    from ..runs.store import RunStore
    try:
        return (checkpoint.load_ref(a.run, RunStore()) if a.run
                else checkpoint.load(a.checkpoint))
    except (NoSuchRun, checkpoint.CheckpointError) as e:
        raise UsageError(str(e)) from e


def cmd_predict(a) -> int:
    from ..explain import images
    from ..explain.inference import predict_proba
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


def cmd_evaluate(a) -> int:
    from ..explain import evaluation
    from ..runs import checkpoint
    from ..runs.store import RunStore
    model = _load_model(a)  # refuses a bad reference or file before the dataset loads
    if a.run:
        ev = evaluation.for_ref(a.run, RunStore())
    else:
        try:
            ev = evaluation.load_or_evaluate(a.checkpoint, None)
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


def cmd_bench(a) -> int:
    from ..bench import BenchError, run_bench
    try:
        return run_bench(json_out=a.json, quick=a.quick)
    except BenchError as e:
        print(f"lenet_core: error: bench: {e}", file=sys.stderr)
        return 1
