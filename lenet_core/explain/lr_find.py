"""A learning-rate range test, in the manner of fastai's `lr_find` (after Smith, "Cyclical
Learning Rates", 2017): train a fresh network for a few hundred steps while the learning rate
grows exponentially from START_LR to END_LR, and watch the loss.

- The loss is smoothed by an exponential moving average with bias correction (beta 0.98):
  avg_i = beta avg_{i-1} + (1 - beta) loss_i, smoothed_i = avg_i / (1 - beta^i).
- The test stops once the smoothed loss exceeds STOP_FACTOR (4) times its minimum so far, or
  a loss is not finite: past there the rate only blows the network up.
- It suggests a *range*, not one number (single automatic picks are known to be fragile):
  * lr_min: the rate where the smoothed loss is lowest;
  * lr_steep: the rate where the smoothed loss falls fastest per decade of rate (the most
    negative slope d smoothed / d log10 lr, over a quarter of a decade), among the rates
    before lr_min, past the curve's first tenth (where the average is still settling);
  * the range runs from the lower to the higher of lr_steep and lr_min / 10 (fastai's two
    classic picks); without a descent at all, from lr_min / 100 to lr_min / 10.
  The minimum itself is already too high to train at for long: the loss is about to turn.
- On a quadratic loss (c/2) w^2, SGD diverges above lr = 2/c; tests/test_lr_find.py checks the
  stop and the range against that.

Results never touch the run store's runs: they are kept in one JSON file beside them
(RESULTS_FILE under the store's folder), newest last, so a learner can come back to them.
"""

from __future__ import annotations

import json
import math
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .. import data as data_mod
from ..config import TrainConfig
from ..device import resolve

START_LR, END_LR = 1e-5, 10.0
STEPS = 200  # the book's net: well under 15 s on a 2-core CPU, at batch 256
BETA = 0.98  # the smoothing of the loss
STOP_FACTOR = 4.0  # stop once the smoothed loss exceeds this times its minimum
RESULTS_FILE = "lr-find.json"
KEEP = 100  # results kept in the file, the newest


@dataclass
class LrCurve:
    lrs: list[float]  # the rate of each step taken
    losses: list[float | None]  # each step's batch loss (None: not finite)
    smoothed: list[float | None]
    stopped: str  # "blew up" (4x the minimum), "not finite" or "end" (every rate tried)
    lr_min: float | None = None
    lr_steep: float | None = None
    low: float | None = None  # the suggested range
    high: float | None = None
    seconds: float = 0.0
    label: str = ""
    config: dict = field(default_factory=dict)
    id: str = ""
    created_at: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def schedule(steps: int = STEPS, start: float = START_LR, end: float = END_LR) -> list[float]:
    """`steps` rates growing exponentially from start to end."""
    return [start * (end / start) ** (i / max(1, steps - 1)) for i in range(steps)]


def range_test(step: Callable[[float], float], steps: int = STEPS, start: float = START_LR,
               end: float = END_LR, beta: float = BETA,
               stop_factor: float = STOP_FACTOR) -> LrCurve:
    """Run `step(lr) -> loss` (one optimizer step at that rate, the loss before it) at each
    rate of the schedule until the stop rule; returns the curve and its suggested range."""
    t0 = time.perf_counter()
    lrs, losses, smoothed = [], [], []
    avg, best, stopped = 0.0, math.inf, "end"
    for i, lr in enumerate(schedule(steps, start, end), start=1):
        loss = float(step(lr))
        lrs.append(lr)
        if not math.isfinite(loss):
            losses.append(None)
            smoothed.append(None)
            stopped = "not finite"
            break
        avg = beta * avg + (1 - beta) * loss
        s = avg / (1 - beta ** i)
        losses.append(loss)
        smoothed.append(s)
        best = min(best, s)
        if s > stop_factor * best:
            stopped = "blew up"
            break
    curve = LrCurve(lrs, losses, smoothed, stopped, seconds=time.perf_counter() - t0)
    suggest(curve)
    return curve


def suggest(curve: LrCurve) -> None:
    """Fill in lr_min, lr_steep and the range (the module docstring's rule). The slope is
    taken over a quarter of a decade, and the first tenth of the curve is skipped: there the
    moving average has seen too few losses for its slope to mean anything."""
    points = [(math.log10(lr), s) for lr, s in zip(curve.lrs, curve.smoothed, strict=True)
              if s is not None]
    if len(points) < 3:
        return
    i_min = min(range(len(points)), key=lambda i: points[i][1])
    curve.lr_min = 10 ** points[i_min][0]
    per_decade = (len(points) - 1) / max(1e-9, points[-1][0] - points[0][0])
    w, skip = max(1, round(per_decade / 4)), len(points) // 10
    slopes = [((points[i + w][1] - points[i][1]) / (points[i + w][0] - points[i][0]), i)
              for i in range(skip, i_min - w + 1)]
    descent = [(slope, i) for slope, i in slopes if slope < 0]
    if descent:
        i = min(descent)[1]
        curve.lr_steep = 10 ** ((points[i][0] + points[i + w][0]) / 2)  # the window's middle
        a, b = curve.lr_steep, curve.lr_min / 10
        curve.low, curve.high = min(a, b), max(a, b)
    else:
        curve.low, curve.high = curve.lr_min / 100, curve.lr_min / 10


def lr_find(config: TrainConfig, dataset: data_mod.Dataset | None = None, steps: int = STEPS,
            start: float = START_LR, end: float = END_LR) -> LrCurve:
    """The range test of a fresh network for `config` (its seed, init, optimizer, batch size)
    on its training set, in the seeded order; nothing is saved."""
    from ..engine import make_optimizer, prepare_model, to_input
    device = resolve(config.device)
    ds = dataset or data_mod.load(config.dataset)
    n = min(len(ds.train_y), config.max_train_examples or len(ds.train_y))
    net = prepare_model(config, device).train()
    opt = make_optimizer(config, net.parameters())
    order = torch.randperm(n, generator=torch.Generator().manual_seed(config.seed))
    bs = config.batch_size
    batches = max(1, n // bs)
    state = {"i": 0}

    def step(lr: float) -> float:
        k = state["i"] % batches
        state["i"] += 1
        idx = order[k * bs:(k + 1) * bs]
        x, y = to_input(ds.train_x[idx], device, config), ds.train_y[idx].to(device)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    curve = range_test(step, steps, start, end)
    curve.config = config.to_dict()
    curve.label = label(config)
    return curve


def label(config: TrainConfig) -> str:
    """What a result is called: what shapes its curve beyond the dataset and batch size."""
    return f"{config.activation}/{config.pooling} {config.optimizer} {config.init} init"


def results_path(root: Path | str) -> Path:
    return Path(root) / RESULTS_FILE


def save(curve: LrCurve, root: Path | str) -> LrCurve:
    """Append the result to the folder's results file (the newest KEEP stay); returns it with
    its id. The file is replaced whole, so a reader never sees half of it."""
    curve.id = curve.id or time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
    curve.created_at = curve.created_at or time.time()
    path = results_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = (load(root) + [curve])[-KEEP:]
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps([c.to_dict() for c in kept]))
    os.replace(tmp, path)
    return curve


def load(root: Path | str) -> list[LrCurve]:
    """The kept results, oldest first ([] when there are none, or the file is unreadable)."""
    try:
        return [LrCurve(**d) for d in json.loads(results_path(root).read_text())]
    except (OSError, ValueError, TypeError):
        return []


def where(lr: float, curve: LrCurve) -> str:
    """Where a rate lands on the curve, in words."""
    if curve.low is None:
        return "the curve is too short to say"
    if lr > curve.lrs[-1]:
        return "beyond where the test stopped: the loss had blown up before this rate"
    if curve.lr_min is not None and lr > curve.lr_min:
        return "past the loss's minimum: the loss was rising there"
    if lr > curve.high:
        return "above the suggested range, below the minimum: fast, at the edge"
    if lr >= curve.low:
        return "inside the suggested range"
    return "below the suggested range: slow"
