"""`python -m lenet_core export ...`: a model as ONNX (Netron, onnxruntime), or runs as
TensorBoard logs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import data
from ..runs import checkpoint
from ..runs.store import RunStore
from .args import UsageError


def add_parser(sub, parser_class) -> None:
    e = sub.add_parser("export", help="a model as ONNX (for Netron and onnxruntime), or runs "
                       "as TensorBoard logs")
    what = e.add_mutually_exclusive_group(required=True)
    what.add_argument("--onnx", metavar="OUT", help="write the model to this .onnx file and "
                      "check it with onnxruntime on the whole test set")
    what.add_argument("--tensorboard", metavar="DIR", help="write each run's curves and hparams "
                      "into its own folder under DIR (tensorboard --logdir DIR)")
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", metavar="ID", nargs="+", help="run ids ('default': the shipped "
                     "model, for --onnx); --onnx takes one")
    src.add_argument("--checkpoint", metavar="PATH", help="a checkpoint file (--onnx)")
    src.add_argument("--experiment", metavar="ID", help="every run of an experiment "
                     "(--tensorboard), grouped by variant")


def run(a: argparse.Namespace) -> int:
    return _onnx(a) if a.onnx else _tensorboard(a)


def _onnx(a: argparse.Namespace) -> int:
    from ..export import onnx_model
    from ..runs.checkpoint import file_sha256
    if a.experiment or (a.run and len(a.run) > 1):
        raise UsageError("--onnx exports one model: give one --run ID or --checkpoint PATH")
    out = Path(a.onnx)
    if out.is_dir():
        raise UsageError(f"--onnx {out}: is a folder; give a file name such as {out / 'model.onnx'}")
    try:
        path, label = checkpoint.locate(a.run[0], RunStore()) if a.run else (Path(a.checkpoint),
                                                                             None)
        model = checkpoint.load(path, label)
    except checkpoint.CheckpointError as e:
        raise UsageError(str(e)) from e
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        size = onnx_model.write(model, out, file_sha256(path))
    except OSError as e:
        print(f"lenet_core: error: {out} could not be written: {e.strerror or e}", file=sys.stderr)
        return 1
    cfg = model.config
    print(f"{out}: {size / 1024:,.0f} KB, ONNX opset {onnx_model.OPSET}; input "
          f"{onnx_model.INPUT} float32 (N, 1, 28, 28) in [0, 1]"
          + (", standardised inside the graph" if cfg.normalize else "")
          + f"; outputs logits and probabilities (N, 10); {cfg.dataset}")
    try:
        ds = data.load(cfg.dataset)
    except data.DataError as e:
        print(f"not checked with onnxruntime: {e}", file=sys.stderr)
        return 0
    agreement = onnx_model.verify(model, out.read_bytes(), ds.test_x)
    print(f"onnxruntime against torch on the {agreement.images:,} {cfg.dataset} test images: "
          f"the same answer on {agreement.same_answer:,}, probabilities within "
          f"{agreement.max_prob_diff:.1e}")
    ok = agreement.same_answer == agreement.images and agreement.max_prob_diff <= 1e-4
    return 0 if ok else 1


def _tensorboard(a: argparse.Namespace) -> int:
    from ..export import tensorboard_logs
    if a.checkpoint:
        raise UsageError("--tensorboard exports runs' curves, which a checkpoint does not hold: "
                         "give --run ID ... or --experiment ID")
    out = Path(a.tensorboard)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--tensorboard {out}: is a file; give a folder")
    store = RunStore()
    if a.run:
        for run_id in a.run:
            store.get(run_id)  # every id is checked before anything is written
    try:
        done = tensorboard_logs.export_experiment(store, a.experiment, out) if a.experiment else \
            tensorboard_logs.export_runs(store, a.run, out)
    except OSError as e:
        print(f"lenet_core: error: {out} could not be written: {e.strerror or e}", file=sys.stderr)
        return 1
    for r, folder in done:
        print(f"run {r.id} ({r.status}, {len(store.metrics(r.id))} points): {folder}")
    print(f"open them with: tensorboard --logdir {out}")
    return 0
