"""The training engine: what the seed's `train_ch6` meant, working, fast, and silent.

It reports through a callback (the run store, the CLI's progress bar, a test's list) and
never prints or plots. Each epoch yields POINTS_PER_EPOCH training points, as the book's
animator draws them, and a test accuracy at its end.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from . import data as data_mod
from .config import TrainConfig
from .device import resolve
from .model import build_lenet

# Forward-only batch size for evaluation. Measured on the CPU: 256 is as fast as 1000+ for the
# book's net and 1.5x faster for wide ones (cache); accelerators want fewer, bigger launches.
EVAL_BATCH_CPU = 256
EVAL_BATCH_ACCELERATOR = 2500
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
    test_acc: float | None = None  # only at an epoch's end


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
    points: list[Point] = field(default_factory=list)
    model: nn.Module | None = None


def make_optimizer(config: TrainConfig, params) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, betas=config.betas)
    momentum = 0.9 if config.optimizer == "momentum" else 0.0
    return torch.optim.SGD(params, lr=config.lr, momentum=momentum)


def prepare_model(config: TrainConfig, device: torch.device) -> nn.Module:
    """The freshly initialised network on `device`, seeded by config.seed."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        net = build_lenet(config)
    net = net.to(device)
    if config.arch == "lenet":
        net = net.to(memory_format=torch.channels_last)
    return net


def to_input(x: torch.Tensor, device: torch.device, config: TrainConfig) -> torch.Tensor:
    """uint8 images -> the float input `config` trains on, on `device`, in the convs' layout."""
    x = data_mod.prepare(x, config.dataset, config.normalize)
    return x.to(device).contiguous(memory_format=torch.channels_last)


def evaluate(net: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int | None = None) -> float:
    """Accuracy of `net` on prepared inputs `x` and labels `y`; restores the train/eval mode."""
    batch = batch or (EVAL_BATCH_CPU if x.device.type == "cpu" else EVAL_BATCH_ACCELERATOR)
    was_training = net.training
    net.eval()
    correct = torch.zeros((), dtype=torch.long, device=y.device)
    with torch.inference_mode():
        for i in range(0, len(y), batch):
            correct += (net(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum()
    net.train(was_training)
    return correct.item() / len(y)


def train_examples(config: TrainConfig, available: int | None = None) -> int:
    """How many training examples a run uses: all the dataset has, or the config's cap."""
    available = available or data_mod.DATASETS[config.dataset].train_size
    return min(available, config.max_train_examples or available)


def batches_per_epoch(config: TrainConfig, available: int | None = None) -> int:
    return math.ceil(train_examples(config, available) / config.batch_size)


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


def train(
    config: TrainConfig,
    *,
    dataset: data_mod.Dataset | None = None,
    on_event: Callable[[Event], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    compile: bool | None = None,
) -> TrainResult:
    """Train a fresh network for `config`. `should_stop` is polled after every batch.

    compile: None follows config.compile ("auto": long runs on cpu/cuda); True/False forces it
    (the benchmark compares both)."""
    t_start = time.perf_counter()
    device = resolve(config.device)
    ds = dataset or data_mod.load(config.dataset)
    emit = on_event or (lambda e: None)
    stop = should_stop or (lambda: False)

    n_train = train_examples(config, len(ds.train_y))
    train_x = to_input(ds.train_x[:n_train], device, config)
    train_y = ds.train_y[:n_train].to(device)
    test_x = to_input(ds.test_x, device, config)
    test_y = ds.test_y.to(device)

    net = prepare_model(config, device)
    opt = make_optimizer(config, net.parameters())
    loss_fn = nn.CrossEntropyLoss()
    shuffle = torch.Generator().manual_seed(config.seed)  # on the CPU: data never depends on device

    bs = config.batch_size
    num_batches = batches_per_epoch(config, len(ds.train_y))
    every = max(1, num_batches // POINTS_PER_EPOCH)
    total_steps = num_batches * config.epochs
    sched = (torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=total_steps)
             if config.schedule == "onecycle" else None)
    # Reading a value back from an accelerator stalls its queue; on the CPU it costs nothing.
    check_every = 1 if device.type == "cpu" else every

    if compile is None and config.compile != "auto":
        compile = config.compile == "on"
    if compile is None:
        compile = device.type in ("cpu", "cuda") and n_train * config.epochs >= COMPILE_MIN_EXAMPLES
    step_net = None
    if compile:
        sizes = {min(bs, n_train)} | ({n_train % bs} if n_train % bs else set())
        step_net = compile_for_training(net, train_x, train_y, sizes)
    result = TrainResult(status="finished", device=str(device), model=net,
                         compiled=step_net is not None)
    if step_net is None:
        step_net = net
    step = 0
    seen = 0
    done_time = 0.0  # training seconds in finished epochs
    epoch_t0 = time.perf_counter()

    def train_time() -> float:
        return done_time + time.perf_counter() - epoch_t0

    def event(kind: str, epoch: int, batch: int, point: Point | None = None) -> Event:
        t = train_time()
        return Event(kind, epoch, batch, num_batches, step, total_steps,
                     seen / t, t, time.perf_counter() - t_start, point)

    if config.data_loader == "torchvision":  # the book's pipeline, for the speed ladder
        loader = data_mod.torchvision_loader(config.dataset, n_train, bs, shuffle)

        def batches():
            for xb, yb in loader:
                yield to_input(xb, device, config), yb.to(device)
    else:  # the whole training set lives on the device; a batch is an index gather
        def batches():
            order = torch.randperm(n_train, generator=shuffle).to(device)
            for i in range(num_batches):
                idx = order[i * bs:(i + 1) * bs]
                yield train_x[idx], train_y[idx]

    emit(event("start", 0, 0))
    net.train()
    for epoch in range(config.epochs):
        loss_sum = torch.zeros((), device=device)  # sum of per-example losses this epoch
        correct = torch.zeros((), dtype=torch.long, device=device)
        bad_step = torch.full((), -1, dtype=torch.long, device=device)
        n_epoch = 0
        epoch_t0 = time.perf_counter()
        for i, (xb, yb) in enumerate(batches()):
            opt.zero_grad(set_to_none=True)
            logits = step_net(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            with torch.no_grad():
                loss_sum += loss.detach() * len(yb)
                correct += (logits.argmax(1) == yb).sum()
                bad_step = torch.where((bad_step < 0) & ~torch.isfinite(loss),
                                       step + 1, bad_step)
            step += 1
            n_epoch += len(yb)
            seen += len(yb)

            at_point = (i + 1) % every == 0 or i == num_batches - 1
            if at_point or step % check_every == 0:
                first_bad = int(bad_step)
                if first_bad >= 0:
                    result.status, result.diverged_step = "diverged", first_bad
                    result.train_loss = math.nan
                    emit(event("point", epoch, i + 1,
                               Point(epoch + (i + 1) / num_batches, step, math.nan, None)))
                    return _finish(result, t_start, seen, train_time(), emit, event, epoch, i + 1)
            if at_point:
                p = Point(epoch + (i + 1) / num_batches, step,
                          loss_sum.item() / n_epoch, correct.item() / n_epoch)
                result.points.append(p)
                result.train_loss, result.train_acc = p.train_loss, p.train_acc
                emit(event("point", epoch, i + 1, p))
            emit(event("batch", epoch, i + 1))
            if stop():
                result.status = "stopped"
                return _finish(result, t_start, seen, train_time(), emit, event, epoch, i + 1)
        done_time = train_time()  # the last point's .item() has synced the device
        result.test_acc = evaluate(net, test_x, test_y)
        epoch_t0 = time.perf_counter()  # evaluation is not training time
        p = Point(float(epoch + 1), step, test_acc=result.test_acc)
        result.points.append(p)
        emit(event("point", epoch, num_batches, p))
        if config.stop_at is not None and result.test_acc >= config.stop_at:
            result.reached_at = epoch + 1
            return _finish(result, t_start, seen, train_time(), emit, event, epoch, num_batches)
    return _finish(result, t_start, seen, train_time(), emit, event, config.epochs - 1, num_batches)


def _finish(result, t_start, seen, train_time, emit, event, epoch, batch) -> TrainResult:
    result.train_time = train_time
    result.examples_per_sec = seen / train_time if train_time else 0.0
    result.wall_time = time.perf_counter() - t_start
    emit(event("end", epoch, batch))
    return result
