"""TensorBoard logs of runs: one event-file directory per run, holding its curves, its final
metrics and its hparams (the config and the environment), readable by `tensorboard --logdir`.

- Steps. TensorBoard's step is an integer; each point's is the run's optimizer step (the
  store's `step`): exact, and two points never share one, however small the batches. The
  epoch, the x of the dashboard's charts, is recovered two ways: the scalar `epoch` written
  at every step, and the hparam `steps_per_epoch` (epoch = step / steps_per_epoch).
- Tags: `train/loss` and `train/accuracy` (5 points per epoch, means over the epoch so far),
  `test/accuracy` (each epoch's end), `epoch`, and at the last step the run's recorded
  `final/...` numbers, which the HPARAMS dashboard shows as its metrics.
- Hparams are written by hand into the run's own directory (a session-start and a
  session-end summary): torch's SummaryWriter.add_hparams writes them into a separate run
  (pytorch/pytorch#32651). No experiment summary is written: TensorBoard builds it from every
  run's session, so runs exported at different times combine in one table.
- Wall times: the store keeps none per point, so each point's is placed between the run's
  start and end in proportion to its step: TensorBoard's "relative" axis is an estimate.
- Layout: DIR/<run name> (<id>) for a run; DIR/<experiment> (<id>)/<variant>/seed <seed> for
  an experiment's runs, each session grouped by its variant in the HPARAMS dashboard.
- A re-export replaces the run's event files (only those) rather than adding a second copy.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from ..budget import batches_per_epoch
from ..config import SPECS
from ..runs.environment import LABELS
from ..runs.records import Run
from ..runs.store import RunStore

EVENTS_GLOB = "events.out.tfevents.*"
CURVES = {"train_loss": "train/loss", "train_acc": "train/accuracy", "test_acc": "test/accuracy"}
FINAL = {"test_acc": "final/test_accuracy", "train_acc": "final/train_accuracy",
         "train_loss": "final/train_loss", "examples_per_sec": "final/examples_per_sec",
         "train_time": "final/train_time_s"}
_SESSION_STATUS = {"finished": api_pb2.STATUS_SUCCESS, "diverged": api_pb2.STATUS_FAILURE,
                   "failed": api_pb2.STATUS_FAILURE, "queued": api_pb2.STATUS_RUNNING,
                   "running": api_pb2.STATUS_RUNNING}  # stopped, interrupted: STATUS_UNKNOWN

# What else a run's directory holds, beyond its curves: each source gives a run's extra
# (step, Summary.Value) pairs, built with scalar() and histogram(). The per-layer diagnostics
# (issue 18: activation, weight and gradient statistics and histograms) plug in here.
Source = Callable[[RunStore, Run], Iterable[tuple[int, Summary.Value]]]
SOURCES: tuple[Source, ...] = ()


def scalar(tag: str, value: float) -> Summary.Value:
    return Summary.Value(tag=tag, simple_value=float(value))


def histogram(tag: str, counts: np.ndarray, edges: np.ndarray) -> Summary.Value:
    """A histogram from `counts` (k bins) over `edges` (k + 1 bin edges, increasing), as
    np.histogram returns them. Sums are taken at the bin centres (the values are not kept)."""
    counts, edges = np.asarray(counts, np.float64), np.asarray(edges, np.float64)
    centres = (edges[:-1] + edges[1:]) / 2
    proto = HistogramProto(min=float(edges[0]), max=float(edges[-1]), num=float(counts.sum()),
                           sum=float(counts @ centres), sum_squares=float(counts @ centres ** 2),
                           bucket_limit=edges[1:].tolist(), bucket=counts.tolist())
    return Summary.Value(tag=tag, histo=proto)


def hparams(run: Run) -> dict[str, Any]:
    """The run's hparams: every config field, the environment, and how steps map to epochs.
    TensorBoard takes text, numbers and booleans: lists become "6, 16", a missing value "none"."""
    out: dict[str, Any] = {}
    for name, spec in SPECS.items():
        v = getattr(run.config, name)
        out[name] = "none" if v is None else spec.text(v) if spec.is_list else v
    out["steps_per_epoch"] = batches_per_epoch(run.config)
    out |= {f"environment/{LABELS[k]}": v for k, v in run.environment.to_dict().items()}
    if run.variant is not None:
        out["variant"] = run.variant
    return out


def _hparams_value(tag: str, data: plugin_data_pb2.HParamsPluginData) -> Summary.Value:
    return Summary.Value(tag=tag, metadata=metadata.create_summary_metadata(data),
                         tensor=metadata.NULL_TENSOR)


def session_start(run: Run, group: str) -> Summary.Value:
    info = plugin_data_pb2.SessionStartInfo(group_name=group,
                                            start_time_secs=run.started_at or run.created_at)
    for name, v in hparams(run).items():
        if isinstance(v, bool):
            info.hparams[name].bool_value = v
        elif isinstance(v, (int, float)):
            info.hparams[name].number_value = v
        else:
            info.hparams[name].string_value = str(v)
    return _hparams_value(metadata.SESSION_START_INFO_TAG,
                          plugin_data_pb2.HParamsPluginData(session_start_info=info))


def session_end(run: Run) -> Summary.Value:
    info = plugin_data_pb2.SessionEndInfo(
        status=_SESSION_STATUS.get(run.status, api_pb2.STATUS_UNKNOWN),
        end_time_secs=run.finished_at or time.time())
    return _hparams_value(metadata.SESSION_END_INFO_TAG,
                          plugin_data_pb2.HParamsPluginData(session_end_info=info))


def run_events(store: RunStore, run: Run, group: str) -> list[event_pb2.Event]:
    """Every event of a run's directory, in step order."""
    points = store.metrics(run.id)
    last = max((p["step"] for p in points), default=0)
    start = run.started_at or run.created_at
    end = run.finished_at or (run.heartbeat if run.active else None) or start

    def at(step: int, *values: Summary.Value) -> event_pb2.Event:
        wall = start + (end - start) * (step / last if last else 0)
        return event_pb2.Event(wall_time=wall, step=step, summary=Summary(value=list(values)))

    events = [at(0, session_start(run, group))]
    for p in points:
        values = [scalar(tag, p[key]) for key, tag in CURVES.items() if p[key] is not None]
        events.append(at(p["step"], scalar("epoch", p["x"]), *values))
    events += [at(step, value) for source in SOURCES for step, value in source(store, run)]
    final = [scalar(tag, getattr(run, key)) for key, tag in FINAL.items()
             if getattr(run, key) is not None]
    events.append(at(last, *final, session_end(run)))
    return sorted(events, key=lambda e: e.step)  # stable: session start first, end last


def write_run(store: RunStore, run: Run, folder: Path, group: str = "") -> Path:
    """The run's event file in `folder` (created; earlier event files there are replaced)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(EVENTS_GLOB):
        old.unlink()
    writer = EventFileWriter(str(folder))
    try:
        for event in run_events(store, run, group):
            writer.add_event(event)
    finally:
        writer.close()
    return folder


def _safe(text: str) -> str:
    """A path component from a name people typed: no separators, dots or control codes."""
    text = re.sub(r"[^\w ,.=+()#@-]+", "_", text).strip(" .")
    return text[:80] or "_"


def run_folder(run: Run, experiment_name: str | None = None) -> Path:
    """Where a run's events go under the export folder."""
    if run.experiment_id is None or experiment_name is None:
        return Path(_safe(f"{run.name} ({run.id})"))
    return Path(_safe(f"{experiment_name} ({run.experiment_id})"),
                _safe(run.variant or "variant"), f"seed {run.config.seed}")


def export_runs(store: RunStore, run_ids: list[str], out: Path) -> list[tuple[Run, Path]]:
    """Each run into its own folder under `out`; returns (run, folder) pairs."""
    done = []
    for run_id in run_ids:
        run = store.get(run_id)
        done.append((run, write_run(store, run, out / run_folder(run), run.variant or "")))
    return done


def export_experiment(store: RunStore, experiment_id: str, out: Path) -> list[tuple[Run, Path]]:
    """Every run of an experiment, grouped by variant, seed in the run name."""
    name = store.experiment(experiment_id).name
    return [(run, write_run(store, run, out / run_folder(run, name), run.variant or ""))
            for run in store.runs_of(experiment_id)]
