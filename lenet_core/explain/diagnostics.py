"""Per-layer diagnostics while a network trains: why it learns, or why it does not.

A `Recorder` plugs into the engine's Trainer through its callbacks and, at each recorded step,
describes every layer of the LeNet (an nn.Sequential):
- each weight layer (conv, linear): the norm of its weight, of that weight's gradient, and the
  update-to-weight ratio ||w_after - w_before|| / ||w_before|| of its weight, averaged over the
  steps since the previous record (every step during the dense start; between curve points
  over RATIO_SAMPLES evenly spaced steps, which keeps the cost per step near nothing; the
  biases are left out, as is usual for this ratio);
- each activation layer, from one forward pass over a fixed probe batch of training images
  (the first PROBE_SIZE, in eval mode, under no_grad): for ReLU the dead fraction, units (a
  channel of a conv layer, a feature of a linear one) whose output is 0 for every probe
  example; over the first STATS_PROBE of them (a fraction of the cost, still ~150k values
  for conv1): mean and standard deviation, and for sigmoid (and tanh) the saturated
  fraction, outputs below 0.02 or above 0.98 (tanh: beyond +-0.96, the same points);
- histograms (HIST_BINS bins, from min to max) of each weight, gradient and activation.
The net is walked as the nn.Sequential that lenet_core.model builds: layers of other kinds
(pooling, flatten, and any normalisation or dropout) are passed through, not described.
A layer whose numbers are not finite is reported as "non-finite": its dead fraction is then
None, never "every unit dead" (a NaN network outputs nothing meaningful to count).

Recording is dense where failures happen, at the start: every step for the first DENSE_STEPS,
then at each of the engine's curve points (5 per epoch), and at the step whose loss stopped
being finite. Each record is a plain JSON-able dict handed to `sink`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

import torch
from torch import nn

# Probe images: the first training images, the same at every record. Its forward pass is most
# of a record's cost: 128 keeps the book's recipe under its 3 % budget (docs/BENCHMARKS.md).
PROBE_SIZE = 128
DENSE_STEPS = 50  # every step recorded up to here
HIST_BINS = 32
STATS_PROBE = 32  # activation mean, std, saturation, histogram: the first 32 probe images
RATIO_SAMPLES = 8  # between curve points, the update ratio is averaged over ~8 sampled steps
SATURATED = 0.02  # sigmoid outputs below this or above 1 - this are saturated
NON_FINITE = "non-finite"
_ACTIVATIONS = {nn.Sigmoid: "sigmoid", nn.ReLU: "relu", nn.Tanh: "tanh", nn.GELU: "gelu"}
_WEIGHTED = (nn.Conv2d, nn.Linear)

Record = dict[str, Any]


class Trainer(Protocol):
    """What a Recorder reads of lenet_core.engine's Trainer (this module stays below the engine)."""

    net: nn.Module
    train_x: torch.Tensor
    train_y: torch.Tensor
    device: torch.device
    epoch: int
    batch: int  # batches done in this epoch
    step: int
    seen: int  # examples seen, over all epochs
    every: int  # batches between curve points
    num_batches: int  # per epoch
    loss_sum: torch.Tensor  # per-example losses this epoch

    def add_callback(self, when: str, fn: Callable[[Any], None]) -> None: ...


def weight_layers(net: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in net.named_children() if isinstance(m, _WEIGHTED)]


def activation_kind(m: nn.Module) -> str | None:
    return next((k for t, k in _ACTIVATIONS.items() if isinstance(m, t)), None)


def histogram(t: torch.Tensor, lo: float, hi: float) -> dict[str, Any]:
    """{"lo", "hi", "counts"}: HIST_BINS equal bins over [lo, hi] of t's finite values."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        t = t[torch.isfinite(t)]
        if t.numel() == 0:
            return {"lo": None, "hi": None, "counts": [0] * HIST_BINS}
        lo, hi = t.min().item(), t.max().item()
    counts = torch.histc(t.float(), HIST_BINS, lo, hi if hi > lo else lo + 1e-12)
    return {"lo": lo, "hi": hi, "counts": [int(c) for c in counts.tolist()]}


def _activation_stats(kind: str, y: torch.Tensor) -> list[torch.Tensor]:
    """[mean, std, min, max, dead, saturated] of one activation output, as 0-d tensors (read
    back together, once per record); dead over the whole probe, the rest over its first
    STATS_PROBE images. y: (N, C, H, W) or (N, F). A NaN makes min or max NaN (torch
    propagates it), an infinity makes one infinite: that is how a non-finite layer is told,
    without a pass of its own (a NaN among the other images also makes the dead count's
    maximum NaN, hence not "dead": NaN <= 0 is false)."""
    nan = torch.tensor(float("nan"), device=y.device)
    dead = sat = nan
    if kind == "relu":  # a unit is dead when it is 0 for every example (and every position)
        unit_max = y.amax(dim=(0, 2, 3)) if y.dim() == 4 else y.amax(dim=0)  # (C,) ReLU >= 0
        dead = (unit_max <= 0).float().mean()
    y = y[:STATS_PROBE].reshape(-1)  # one contiguous run: reductions on channels_last are slow
    if kind == "sigmoid":  # below SATURATED or above 1 - SATURATED
        sat = ((y - 0.5).abs() > 0.5 - SATURATED).float().mean()
    elif kind == "tanh":
        sat = (y.abs() > 1 - 2 * SATURATED).float().mean()
    std, mean = torch.std_mean(y)
    lo, hi = torch.aminmax(y)
    return [mean, std, lo, hi, dead, sat]


class Recorder:
    """Collects diagnostics of a Trainer's network; `callbacks()` gives what to add to it.

    sink(record) receives each record as it is made (the run store, a test's list)."""

    def __init__(self, sink: Callable[[Record], None], probe_size: int = PROBE_SIZE,
                 dense_steps: int = DENSE_STEPS):
        self.sink, self.probe_size, self.dense_steps = sink, probe_size, dense_steps
        self.records: list[Record] = []
        self._ready = False

    def callbacks(self) -> dict[str, list[Callable[[Trainer], None]]]:
        return {"after_backward": [self.before_update], "after_step": [self.after_update]}

    def attach(self, trainer: Trainer) -> Recorder:
        for when, fns in self.callbacks().items():
            for fn in fns:
                trainer.add_callback(when, fn)
        return self

    def _setup(self, trainer: Trainer) -> None:
        self.net = trainer.net
        self.probe = trainer.train_x[:self.probe_size]
        self.probe_y = trainer.train_y[:self.probe_size]
        self.layers = weight_layers(self.net)
        self.weights = [m.weight for _, m in self.layers]
        self.detached = [w.detach() for w in self.weights]  # the weights, updated in place
        self.before = [w.clone() for w in self.detached]
        self.ratio_sum = torch.zeros(len(self.weights), device=trainer.device)
        self.ratio_steps = 0
        self._ready = True

    def before_update(self, trainer: Trainer) -> None:
        """After backward, before the optimizer: keep the weights to measure the update (on
        the steps that are recorded or sampled for the update ratio)."""
        if not self._ready:
            self._setup(trainer)
        step, batch = trainer.step + 1, trainer.batch + 1  # the step being taken
        self.recording = step <= self.dense_steps or batch % trainer.every == 0 \
            or batch == trainer.num_batches
        stride = max(1, trainer.every // RATIO_SAMPLES)
        self.sampling = self.recording or batch % stride == 0
        if self.sampling:
            torch._foreach_copy_(self.before, self.detached)
        self.loss_before = trainer.loss_sum.clone() if self.recording else None
        self.seen_before = trainer.seen

    def after_update(self, trainer: Trainer) -> None:
        if self.sampling:
            with torch.no_grad():  # ||w_after - w_before|| / ||w_before||, per layer, summed
                before = torch._foreach_norm(self.before)
                torch._foreach_sub_(self.before, self.detached)  # now -(the update)
                norms = torch.stack(torch._foreach_norm(self.before) + before).view(2, -1)
                self.ratio_sum += norms[0] / norms[1]
            self.ratio_steps += 1
        # On the CPU the engine reads the loss back every step anyway: a step whose loss is not
        # finite (the run ends there, diverged) is recorded too.
        blew_up = trainer.device.type == "cpu" and not bool(trainer.loss_sum.isfinite())
        if self.recording or blew_up:
            self._record(trainer)

    def _record(self, trainer: Trainer) -> None:
        # this step's mean loss, from the engine's running sum of per-example losses
        loss = torch.tensor(float("nan")) if self.loss_before is None else \
            (trainer.loss_sum - self.loss_before) / (trainer.seen - self.seen_before)
        record = measure(self.net, self.layers, self.probe, self.probe_y,
                         self.ratio_sum / max(1, self.ratio_steps), loss)
        record.update(step=trainer.step, x=trainer.epoch + trainer.batch / trainer.num_batches)
        self.ratio_sum.zero_()
        self.ratio_steps = 0
        self.records.append(record)
        self.sink(record)


def measure(net: nn.Module, layers: list[tuple[str, nn.Module]], probe: torch.Tensor,
            probe_y: torch.Tensor, ratios: torch.Tensor, loss: torch.Tensor) -> Record:
    """One record: every layer's numbers, read back from the device in two batches."""
    acts, probe_loss = probe_forward(net, probe, probe_y)
    scalars: list[torch.Tensor] = [loss.float(), probe_loss]
    for (_, m), r in zip(layers, ratios, strict=True):
        w, g = m.weight.detach(), m.weight.grad
        g = torch.zeros_like(w) if g is None else g.detach()
        gmin, gmax = torch.aminmax(g)
        wmin, wmax = torch.aminmax(w)
        scalars += [torch.linalg.vector_norm(w), torch.linalg.vector_norm(g), r,
                    wmin, wmax, gmin, gmax]
    for _, kind, y in acts:
        scalars += _activation_stats(kind, y)
    values = torch.stack([s.detach().float().cpu() for s in scalars]).tolist()
    loss_v, probe_loss_v = values[0], values[1]
    out: list[Record] = []
    k = 2
    for (name, m), _ in zip(layers, ratios, strict=True):
        wn, gn, r, wmin, wmax, gmin, gmax = values[k:k + 7]
        k += 7
        g = m.weight.grad
        out.append({"name": name, "kind": "weight", "weight_norm": _num(wn),
                    "grad_norm": _num(gn), "update_ratio": _num(r),
                    "finite": all(map(math.isfinite, (wmin, wmax, gmin, gmax))),
                    "hist": {"weight": histogram(m.weight.detach(), wmin, wmax),
                             "grad": histogram(g.detach() if g is not None else
                                               torch.zeros(1), gmin, gmax)}})
    for name, kind, y in acts:
        mean, std, lo, hi, dead, sat = values[k:k + 6]
        k += 6
        ok = math.isfinite(lo) and math.isfinite(hi)
        out.append({"name": name, "kind": "activation", "fn": kind, "units": y.shape[1],
                    "mean": _num(mean), "std": _num(std), "finite": ok,
                    "dead": _num(dead) if ok else None,
                    "saturated": _num(sat) if ok else None,
                    "state": None if ok else NON_FINITE,
                    "hist": {"activation": histogram(y[:STATS_PROBE].reshape(-1), lo, hi)}})
    finite = math.isfinite(loss_v) and all(layer["finite"] for layer in out)
    return {"loss": _num(loss_v), "probe_loss": _num(probe_loss_v), "finite": finite,
            "state": None if finite else NON_FINITE, "layers": out}


def probe_forward(net: nn.Module, probe: torch.Tensor, probe_y: torch.Tensor
                  ) -> tuple[list[tuple[str, str, torch.Tensor]], torch.Tensor]:
    """Each activation layer's output on the probe batch, and the probe's mean loss: the
    Sequential walked layer by layer (no hooks, which would disturb a compiled step), in eval
    mode under no_grad; the mode the network was in is restored."""
    was_training = net.training
    net.eval()
    acts = []
    try:
        with torch.no_grad():
            x = probe
            for name, m in net.named_children():
                x = m(x)
                if kind := activation_kind(m):
                    acts.append((name, kind, x))
            loss = nn.functional.cross_entropy(x.float(), probe_y)
    finally:
        net.train(was_training)
    return acts, loss


def _num(v: float) -> float | None:
    """A JSON-safe number: None for NaN and infinities (their layer says "non-finite")."""
    return v if math.isfinite(v) else None


def layer(record: Record, name: str) -> Record:
    return next(entry for entry in record["layers"] if entry["name"] == name)


def dead_fraction(record: Record) -> float | None:
    """The share of all the network's ReLU units (channels and features) that are dead at this
    record, or None when it has no ReLU or any of them is non-finite."""
    relus = [entry for entry in record["layers"] if entry.get("fn") == "relu"]
    if not relus or any(entry["dead"] is None for entry in relus):
        return None
    return sum(e["dead"] * e["units"] for e in relus) / sum(e["units"] for e in relus)
