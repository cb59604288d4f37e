"""What a model gets wrong: its predictions on the whole test set, the 10x10 confusion matrix
(rows: true class, columns: predicted), per-class accuracy, the most confused pairs, and which
test images fall in each cell.

An evaluation is cached in a JSON file keyed by the checkpoint file's sha256, so opening it
again costs a file read; a retrained checkpoint (another sha256) is evaluated afresh.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import data
from ..runs import checkpoint
from ..runs.checkpoint import file_sha256
from ..scoring import EVAL_BATCH_CPU
from . import inference

if TYPE_CHECKING:
    from ..runs.store import RunStore

FORMAT = "lenet-lab-eval/1"
TOP_CONFUSIONS = 5  # pairs listed by default


@dataclass(frozen=True)
class Confusion:
    """One off-diagonal cell: `count` test images of class `true` predicted as `predicted`."""

    true: int
    predicted: int
    count: int


@dataclass(frozen=True)
class Evaluation:
    dataset: str
    class_names: tuple[str, ...]
    labels: np.ndarray  # (N,) int64, the test set's true classes
    predicted: np.ndarray  # (N,) int64, the model's answers
    confidence: np.ndarray  # (N,) float32, the probability of the answer

    @cached_property
    def confusion(self) -> np.ndarray:
        """(10, 10) int64 counts: row = true class, column = predicted class."""
        k = len(self.class_names)
        return np.bincount(self.labels * k + self.predicted, minlength=k * k).reshape(k, k)

    @property
    def test_acc(self) -> float:
        return float(np.trace(self.confusion) / len(self.labels))

    @property
    def per_class_acc(self) -> np.ndarray:
        """(10,) the fraction of each true class predicted right: the diagonal over row sums."""
        rows = self.confusion.sum(1)
        return np.diag(self.confusion) / np.maximum(rows, 1)

    def normalized(self) -> np.ndarray:
        """The confusion matrix with each row divided by its sum (the class's test images)."""
        return self.confusion / np.maximum(self.confusion.sum(1, keepdims=True), 1)

    def top_confusions(self, n: int = TOP_CONFUSIONS) -> list[Confusion]:
        """The n largest off-diagonal cells, largest first (ties: by true, then predicted)."""
        off = [Confusion(t, p, int(c)) for (t, p), c in np.ndenumerate(self.confusion)
               if t != p and c > 0]
        return sorted(off, key=lambda c: (-c.count, c.true, c.predicted))[:n]

    def cell(self, true: int, predicted: int) -> np.ndarray:
        """Indices of the test images of class `true` predicted as `predicted`, the most
        confident first."""
        idx = np.flatnonzero((self.labels == true) & (self.predicted == predicted))
        return idx[np.argsort(-self.confidence[idx], kind="stable")]

    def summary(self, n: int = TOP_CONFUSIONS) -> dict[str, Any]:
        """Plain numbers for JSON: the CLI's last line."""
        return {
            "dataset": self.dataset,
            "test_acc": self.test_acc,
            "per_class_acc": [float(a) for a in self.per_class_acc],
            "class_names": list(self.class_names),
            "confusion": self.confusion.tolist(),
            "top_confusions": [{"true": c.true, "predicted": c.predicted, "count": c.count,
                                "true_name": self.class_names[c.true],
                                "predicted_name": self.class_names[c.predicted]}
                               for c in self.top_confusions(n)],
        }


def evaluate(model: checkpoint.LoadedModel, ds: data.Dataset | None = None) -> Evaluation:
    """Run `model` over its dataset's whole test set."""
    ds = ds or data.load(model.config.dataset)
    probs = np.concatenate([inference.predict_proba(model, ds.test_x[i:i + EVAL_BATCH_CPU]).numpy()
                            for i in range(0, len(ds.test_y), EVAL_BATCH_CPU)])
    return Evaluation(model.config.dataset, model.class_names, ds.test_y.numpy().astype(np.int64),
                      probs.argmax(1).astype(np.int64), probs.max(1).astype(np.float32))


def _to_json(ev: Evaluation, key: str) -> str:
    # Classes are single digits (10 classes), so labels and answers pack as strings of digits.
    return json.dumps({
        "format": FORMAT, "checkpoint_sha256": key, "dataset": ev.dataset,
        "class_names": list(ev.class_names),
        "labels": "".join(map(str, ev.labels)), "predicted": "".join(map(str, ev.predicted)),
        "confidence": [round(float(c), 4) for c in ev.confidence],
    })


def _from_json(text: str, key: str) -> Evaluation | None:
    """The cached evaluation, or None when the file is for another checkpoint or unreadable."""
    try:
        d = json.loads(text)
        if d.get("format") != FORMAT or d.get("checkpoint_sha256") != key:
            return None
        labels = np.frombuffer(d["labels"].encode(), np.uint8).astype(np.int64) - ord("0")
        predicted = np.frombuffer(d["predicted"].encode(), np.uint8).astype(np.int64) - ord("0")
        confidence = np.asarray(d["confidence"], np.float32)
        if not len(labels) == len(predicted) == len(confidence):
            return None
        return Evaluation(d["dataset"], tuple(d["class_names"]), labels, predicted, confidence)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def load_or_evaluate(path: Path, cache: Path | None, ds: data.Dataset | None = None,
                     label: str | None = None) -> Evaluation:
    """The evaluation of the checkpoint at `path`, read from `cache` when that holds this very
    checkpoint's (same sha256), else computed and written there (atomically; a cache that
    cannot be written is skipped). Raises checkpoint.CheckpointError for a bad checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise checkpoint.CheckpointError(f"no checkpoint at {path}")
    key = file_sha256(path)
    if cache is not None and cache.is_file():
        found = _from_json(cache.read_text(), key)
        if found is not None:
            return found
    ev = evaluate(checkpoint.load(path, label), ds)
    if cache is not None:
        # One temporary file per writer: the dashboard's sessions are threads of one process.
        tmp = cache.with_name(f"{cache.name}.{os.getpid()}-{threading.get_ident()}.tmp")
        try:
            tmp.write_text(_to_json(ev, key))
            tmp.replace(cache)
        except OSError:
            tmp.unlink(missing_ok=True)
    return ev


def for_ref(ref: str, store: RunStore, ds: data.Dataset | None = None) -> Evaluation:
    """The evaluation of a model reference (checkpoint.DEFAULT_MODEL or a run id), cached in
    the run store beside the run's checkpoint (deleting the run removes it)."""
    path, label = checkpoint.locate(ref, store)
    return load_or_evaluate(path, store.evaluation_path(ref), ds, label)
