"""The training engine: what the seed's `train_ch6` meant, working, fast, and silent.

It reports through a callback (the run store, the CLI's progress bar, a test's list) and
never prints or plots. Each epoch yields POINTS_PER_EPOCH training points, as the book's
animator draws them, and a test score at its end (at every point, for a run with a target).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
from torch import nn

from . import augment as augment_mod
from . import data as data_mod
from .assets import default_model_weights
from .budget import batches_per_epoch, train_examples
from .config import TrainConfig
from .device import resolve
from .model import build_lenet
from .progress import Progress
from .scoring import Watch, score

POINTS_PER_EPOCH = 5  # the book's animator: train loss and accuracy 5 times an epoch
# torch.compile fuses activation + pooling (~+12 % on the CPU) but costs seconds of warm-up, so
# it only pays on long runs (docs/BENCHMARKS.md). MPS is left eager.
COMPILE_MIN_EXAMPLES = 300_000


@dataclass(frozen=True)
class Point:
    """One point of the curves, at x = epoch + fraction of the epoch done (the animator's x)."""

    x: float
    step: int  # optimizer steps so far, over all epochs
    train_loss: float | None = None  # mean over the epoch so far
    train_acc: float | None = None
    test_acc: float | None = None  # at an epoch's end (every point for a run with a target)
    test_loss: float | None = None  # with test_acc, as is elapsed (scoring included)
    elapsed: float | None = field(default=None, compare=False)  # wall s from step 1: measured


@dataclass(frozen=True)
class Event:
    """Progress, sent to the callback after every batch ("batch") and at each curve point."""

    kind: str  # "start", "batch", "point", "end"
    epoch: int  # 0-based
    batch: int  # batches done in this epoch
    num_batches: int  # per epoch
    step: int
    total_steps: int
    examples_per_sec: float  # over the training time so far
    train_time: float  # seconds spent training so far (evaluation excluded)
    elapsed: float  # wall seconds since the start
    point: Point | None = None

    def progress(self) -> Progress:
        """What a run's record keeps of this moment."""
        return Progress(self.epoch, self.batch, self.num_batches, self.step, self.total_steps,
                        self.examples_per_sec, self.elapsed, self.train_time)


@dataclass
class TrainResult:
    status: str  # "finished", "stopped" or "diverged"
    device: str
    train_loss: float | None = None
    train_acc: float | None = None
    test_acc: float | None = None
    examples_per_sec: float = 0.0  # examples / seconds spent in training steps
    train_time: float = 0.0  # seconds in training steps (evaluation excluded)
    wall_time: float = 0.0  # seconds for the whole call, evaluation and set-up included
    diverged_step: int | None = None  # 1-based step whose loss was not finite
    compiled: bool = False  # whether the training step ran through torch.compile
    reached_at: int | None = None  # the epoch whose test accuracy reached config.stop_at
    time_to_target: float | None = None  # wall seconds from the first step to that score
    gave_up: bool = False  # ended early at chance accuracy (lenet_core.scoring): did not learn
    points: list[Point] = field(default_factory=list)
    model: nn.Module | None = None


def make_optimizer(config: TrainConfig, params) -> torch.optim.Optimizer:
    """config's optimizer over `params`; weight decay only on the conv and dense weights (2 or
    more dimensions), as the book decays weights, not biases (nor batch norm here)."""
    if config.weight_decay > 0:
        params = list(params)
        params = [{"params": [p for p in params if p.dim() > 1], "weight_decay": config.weight_decay},
                  {"params": [p for p in params if p.dim() <= 1]}]
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, betas=config.betas)
    momentum = 0.9 if config.optimizer == "momentum" else 0.0
    return torch.optim.SGD(params, lr=config.lr, momentum=momentum)


def prepare_model(config: TrainConfig, device: torch.device) -> nn.Module:
    """The network on `device`, seeded by config.seed; init_from "default": the shipped model's
    weights (config.check has matched their shapes)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        net = build_lenet(config)
    if config.init_from == "default":
        net.load_state_dict(default_model_weights())
    net = net.to(device)
    if config.arch == "lenet":
        net = net.to(memory_format=torch.channels_last)
    return net


def to_input(x: torch.Tensor, device: torch.device, config: TrainConfig) -> torch.Tensor:
    """uint8 images -> the float input `config` trains on, on `device`, in the convs' layout."""
    x = data_mod.prepare(x, config.dataset, config.normalize)
    return x.to(device).contiguous(memory_format=torch.channels_last)


def compile_for_training(net: nn.Module, x: torch.Tensor, y: torch.Tensor,
                         batch_sizes: set[int]) -> nn.Module | None:
    """`net` through torch.compile, warmed up on every batch size the run will use (so no curve
    point pays for compilation), or None where no compiler works here. Weights are untouched."""
    try:
        compiled = torch.compile(net)
        for n in sorted(batch_sizes):
            nn.functional.cross_entropy(compiled(x[:n]), y[:n]).backward()
    except Exception:  # no C++ compiler, an unsupported platform...: train eagerly
        return None
    finally:
        net.zero_grad(set_to_none=True)
    return compiled


# A callback gets the Trainer after the named moment of each step: "after_backward" (the
# gradients are there, the weights not yet updated) or "after_step" (the weights updated).
Callback = Callable[["Trainer"], None]
CALLBACK_POINTS = ("after_backward", "after_step")


class Trainer:
    """One training run's loop state, minGPT-style: set up once, then `run()` goes epoch by
    epoch. Progress goes out through `on_event`; extra per-step work (diagnostics, say) plugs
    in as named callbacks, so the loop itself stays short."""

    def __init__(self, config: TrainConfig, *, dataset: data_mod.Dataset | None = None,
                 on_event: Callable[[Event], None] | None = None,
                 should_stop: Callable[[], bool] | None = None, compile: bool | None = None):
        self.t_start = time.perf_counter()
        self.config = config
        self.device = resolve(config.device)
        ds = dataset or data_mod.load(config.dataset)
        self.emit = on_event or (lambda e: None)
        self.should_stop = should_stop or (lambda: False)
        self.callbacks: dict[str, list[Callback]] = {k: [] for k in CALLBACK_POINTS}

        self.n_train = train_examples(config, len(ds.train_y))
        self.train_x = to_input(ds.train_x[:self.n_train], self.device, config)
        self.train_y = ds.train_y[:self.n_train].to(self.device)
        self.test_x = to_input(ds.test_x, self.device, config)
        self.test_y = ds.test_y.to(self.device)

        self.net = prepare_model(config, self.device)
        self.opt = make_optimizer(config, self.net.parameters())
        self.loss_fn = nn.CrossEntropyLoss()
        self.augment = augment_mod.for_config(config)  # applied to each training batch
        # On the CPU: the data order never depends on the device.
        self.shuffle = torch.Generator().manual_seed(config.seed)
        self.num_batches = batches_per_epoch(config, len(ds.train_y))
        self.every = max(1, self.num_batches // POINTS_PER_EPOCH)
        self.total_steps = self.num_batches * config.epochs
        self.sched = (torch.optim.lr_scheduler.OneCycleLR(self.opt, max_lr=config.lr,
                                                          total_steps=self.total_steps)
                      if config.schedule == "onecycle" else None)
        # Reading a value back from an accelerator stalls its queue; on the CPU it costs nothing.
        self.check_every = 1 if self.device.type == "cpu" else self.every
        self.batches = self._batch_source()
        self.step_net = self._step_net(compile)
        self.result = TrainResult(status="finished", device=str(self.device), model=self.net,
                                  compiled=self.step_net is not self.net)
        self.epoch = self.batch = 0  # where the loop is: 0-based epoch, batches done in it
        self.step = self.seen = 0  # optimizer steps and examples, over all epochs
        self.done_time = 0.0  # training seconds in finished epochs
        self.epoch_t0 = time.perf_counter()

    def add_callback(self, when: str, fn: Callback) -> None:
        self.callbacks[when].append(fn)

    def _trigger(self, when: str) -> None:
        for fn in self.callbacks[when]:
            fn(self)

    def _step_net(self, compile: bool | None) -> nn.Module:
        """The module the training step calls: the network itself, or it compiled.
        compile None follows config.compile ("auto": long runs on cpu/cuda)."""
        config = self.config
        if compile is None and config.compile != "auto":
            compile = config.compile == "on"
        if compile is None:
            compile = self.device.type in ("cpu", "cuda") and \
                self.n_train * config.epochs >= COMPILE_MIN_EXAMPLES
        if not compile:
            return self.net
        bs, n = config.batch_size, self.n_train
        sizes = {min(bs, n)} | ({n % bs} if n % bs else set())
        return compile_for_training(self.net, self.train_x, self.train_y, sizes) or self.net

    def _batch_source(self) -> Callable[[], Iterator[tuple[torch.Tensor, torch.Tensor]]]:
        """One epoch's batches, on the device, in the seeded order."""
        config, device, bs = self.config, self.device, self.config.batch_size
        if config.data_loader == "torchvision":  # the book's pipeline, for the speed ladder
            loader = data_mod.torchvision_loader(config.dataset, self.n_train, bs, self.shuffle)

            def batches():
                for xb, yb in loader:
                    yield to_input(xb, device, config), yb.to(device)
            return batches

        def batches():  # the whole training set lives on the device; a batch is an index gather
            order = torch.randperm(self.n_train, generator=self.shuffle).to(device)
            for i in range(self.num_batches):
                idx = order[i * bs:(i + 1) * bs]
                yield self.train_x[idx], self.train_y[idx]
        return batches

    def train_time(self) -> float:
        return self.done_time + time.perf_counter() - self.epoch_t0

    def event(self, kind: str, point: Point | None = None) -> Event:
        t = self.train_time()
        return Event(kind, self.epoch, self.batch, self.num_batches, self.step,
                     self.total_steps, self.seen / t, t, time.perf_counter() - self.t_start, point)

    def run(self) -> TrainResult:
        self.emit(self.event("start"))
        self.net.train()
        self.watch, self.loop_t0 = Watch.of(self.config), time.perf_counter()
        for epoch in range(self.config.epochs):
            if self.run_epoch(epoch) is not None:
                break
        r = self.result
        r.train_time = self.train_time()
        r.examples_per_sec = self.seen / r.train_time if r.train_time else 0.0
        r.wall_time = time.perf_counter() - self.t_start
        self.emit(self.event("end"))
        return r

    def run_epoch(self, epoch: int) -> str | None:
        """One pass over the training set, then the test accuracy; returns why the run ends
        here ("diverged", "stopped", "reached") or None to go on."""
        self.epoch, self.batch = epoch, 0
        self.loss_sum = torch.zeros((), device=self.device)  # per-example losses this epoch
        self.correct = torch.zeros((), dtype=torch.long, device=self.device)
        self.bad_step = torch.full((), -1, dtype=torch.long, device=self.device)
        self.n_epoch = 0
        self.epoch_t0 = time.perf_counter()
        for xb, yb in self.batches():
            self.train_step(xb, yb)
            at_point = self.batch % self.every == 0 or self.batch == self.num_batches
            if (at_point or self.step % self.check_every == 0) and self._diverged():
                return "diverged"
            if at_point:
                self._train_point()
                if self.config.stop_at is not None and (why := self._test_point()):
                    return why
            self.emit(self.event("batch"))
            if self.should_stop():
                self.result.status = "stopped"
                return "stopped"
        return self._end_epoch()

    def train_step(self, xb: torch.Tensor, yb: torch.Tensor) -> None:
        xb = self.augment(xb)
        self.opt.zero_grad(set_to_none=True)
        logits = self.step_net(xb)
        loss = self.loss_fn(logits, yb)
        loss.backward()
        self._trigger("after_backward")
        self.opt.step()
        if self.sched is not None:
            self.sched.step()
        with torch.no_grad():
            self.loss_sum += loss.detach() * len(yb)
            self.correct += (logits.argmax(1) == yb).sum()
            self.bad_step = torch.where((self.bad_step < 0) & ~torch.isfinite(loss),
                                        self.step + 1, self.bad_step)
        self.step += 1
        self.batch += 1
        self.n_epoch += len(yb)
        self.seen += len(yb)
        self._trigger("after_step")

    def _x(self) -> float:
        return self.epoch + self.batch / self.num_batches

    def _diverged(self) -> bool:
        """Whether a loss so far was not finite; if so the run ends diverged, at that step."""
        first_bad = int(self.bad_step)
        if first_bad < 0:
            return False
        r = self.result
        r.status, r.diverged_step, r.train_loss = "diverged", first_bad, math.nan
        self.emit(self.event("point", Point(self._x(), self.step, math.nan, None)))
        return True

    def _train_point(self) -> None:
        p = Point(self._x(), self.step, self.loss_sum.item() / self.n_epoch,
                  self.correct.item() / self.n_epoch)
        self.result.points.append(p)
        self.result.train_loss, self.result.train_acc = p.train_loss, p.train_acc
        self.emit(self.event("point", p))

    def _end_epoch(self) -> str | None:
        self.done_time = self.train_time()  # the last point's .item() has synced the device
        why = self._test_point() if self.config.stop_at is None else None  # else scored already
        self.epoch_t0 = time.perf_counter()  # evaluation is not training time
        return why

    def _test_point(self) -> str | None:
        """Score the test set here (not training time); returns why the run ends here
        ("reached", "at chance": lenet_core.scoring) or None."""
        r, t0 = self.result, time.perf_counter()
        r.test_acc, loss = score(self.net, self.test_x, self.test_y)
        now = time.perf_counter()
        self.epoch_t0 += now - t0
        p = Point(self._x(), self.step, test_acc=r.test_acc, test_loss=loss,
                  elapsed=now - self.loop_t0)
        r.points.append(p)
        self.emit(self.event("point", p))
        why = self.watch.after(r.test_acc, p.x, self.step)
        if why == "reached":
            r.reached_at, r.time_to_target = math.ceil(p.x), p.elapsed
        r.gave_up = why == "at chance"
        return why


def train(config: TrainConfig, *, dataset: data_mod.Dataset | None = None,
          on_event: Callable[[Event], None] | None = None,
          should_stop: Callable[[], bool] | None = None, compile: bool | None = None,
          callbacks: dict[str, list[Callback]] | None = None) -> TrainResult:
    """Train a fresh network for `config`. `should_stop` is polled after every batch.

    compile: None follows config.compile ("auto": long runs on cpu/cuda); True/False forces it
    (the benchmark compares both)."""
    trainer = Trainer(config, dataset=dataset, on_event=on_event, should_stop=should_stop,
                      compile=compile)
    for when, fns in (callbacks or {}).items():
        for fn in fns:
            trainer.add_callback(when, fn)
    return trainer.run()
