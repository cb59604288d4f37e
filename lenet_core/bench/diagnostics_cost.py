"""What per-layer diagnostics cost: the book's recipe trained with the Recorder and without,
alternated, in one process; examples/s over training time (records included, evaluation not).

The issue's budget: at most 3 % of the recipe's throughput. On a machine shared with other
work the alternation and the medians are what make the two sides comparable.
"""

from __future__ import annotations

import os
import statistics

from .. import data, engine
from ..config import D2L, TrainConfig
from ..engine import POINTS_PER_EPOCH
from ..explain.diagnostics import DENSE_STEPS, RATIO_SAMPLES, Recorder

BUDGET = 0.03  # the most the diagnostics may cost, as a share of examples/s


def book_recipe(quick: bool) -> TrainConfig:
    """The book's recipe (10 epochs of Fashion-MNIST, batch 256, compiled as such long runs
    are); quick: one epoch of 15,360 examples, eager (its records weigh more: 50 dense steps
    of 60, so it overstates the cost)."""
    if quick:
        return D2L.replace(epochs=1, max_train_examples=15_360, device="cpu")
    return D2L.replace(device="cpu")


def one_run(config: TrainConfig, ds: data.Dataset, diagnostics: bool) -> dict:
    recorder = Recorder(lambda record: None) if diagnostics else None
    r = engine.train(config, dataset=ds, callbacks=recorder.callbacks() if recorder else None)
    return {"examples_per_sec": r.examples_per_sec, "train_time": r.train_time,
            "records": len(recorder.records) if recorder else 0, "compiled": r.compiled,
            "test_acc": r.test_acc}


def diagnostics_cost(quick: bool = False, repeats: int | None = None) -> dict:
    """Off and on, alternated `repeats` times (3; quick: 2); medians, and the cost as
    1 - on/off of examples/s."""
    config = book_recipe(quick)
    ds = data.load(config.dataset)
    repeats = repeats or (2 if quick else 3)
    runs: dict[str, list[dict]] = {"off": [], "on": []}
    for k in range(repeats):  # off first, then on first: neither always trains second
        for side in (("off", "on") if k % 2 == 0 else ("on", "off")):
            runs[side].append(one_run(config, ds, side == "on"))
    med = {side: statistics.median(r["examples_per_sec"] for r in v) for side, v in runs.items()}
    cost = 1 - med["on"] / med["off"]
    parts = components()
    return {"config": f"{config.epochs} epochs x {config.max_train_examples or 60_000:,} "
                      f"examples, batch {config.batch_size}, {config.activation}",
            "repeats": repeats, "off_examples_per_sec": med["off"],
            "on_examples_per_sec": med["on"], "cost": cost, "budget": BUDGET,
            "records": runs["on"][0]["records"], "compiled": runs["on"][0]["compiled"],
            "load_average": os.getloadavg(), "components": parts,
            "samples": {side: [r["examples_per_sec"] for r in v] for side, v in runs.items()}}


def components(repeats: int = 20) -> dict:
    """The cost in parts, each timed between plain training steps of the book's net (batch
    256), so a machine's load weighs on both alike: a step, the per-step callbacks (on a step
    that is sampled for the update ratio; the others do almost nothing) and one record; then
    the share they take of the book's 10-epoch recipe (2,350 steps, 100 records, ~510 steps
    sampled)."""
    import time

    import torch

    from ..engine import Trainer
    config = D2L.replace(epochs=1, max_train_examples=25_600, device="cpu", compile="off")
    trainer = Trainer(config, dataset=data.load(config.dataset), compile=False)
    recorder = Recorder(lambda record: None)
    trainer.loss_sum = torch.zeros(())
    xb, yb = trainer.train_x[:256], trainer.train_y[:256]
    t = {"step": 0.0, "callbacks": 0.0, "record": 0.0}
    for k in range(repeats + 2):
        t0 = time.perf_counter()
        trainer.opt.zero_grad()
        trainer.loss_fn(trainer.net(xb), yb).backward()
        trainer.opt.step()
        t1 = time.perf_counter()
        recorder.before_update(trainer)
        recorder.sampling, recorder.recording = True, False
        recorder.after_update(trainer)
        t2 = time.perf_counter()
        recorder.loss_before = trainer.loss_sum.clone()
        recorder._record(trainer)
        if k >= 2:  # the first two warm up
            for key, dt in (("step", t1 - t0), ("callbacks", t2 - t1),
                            ("record", time.perf_counter() - t2)):
                t[key] += dt / repeats
    # The book: 10 epochs of 235 steps, a curve point every 47; the update ratio sampled every
    # 47 // RATIO_SAMPLES = 5 steps between points, every step of the dense start.
    steps, records = 2350, DENSE_STEPS + 10 * POINTS_PER_EPOCH
    sampled = DENSE_STEPS + (steps - DENSE_STEPS) // (47 // RATIO_SAMPLES)
    return {"step_ms": 1e3 * t["step"], "callbacks_ms": 1e3 * t["callbacks"],
            "record_ms": 1e3 * t["record"],
            "book_cost": (sampled * t["callbacks"] + records * t["record"]) / (steps * t["step"])}


def describe(r: dict) -> str:
    c = r["components"]
    return (f"diagnostics ({r['config']}, {r['records']} records): off "
            f"{r['off_examples_per_sec']:,.0f} ex/s, on {r['on_examples_per_sec']:,.0f} ex/s, "
            f"cost {100 * r['cost']:+.1f} % (budget {100 * r['budget']:.0f} %; load average "
            f"{r['load_average'][0]:.1f}); in parts: a step {c['step_ms']:.1f} ms, its "
            f"callbacks {c['callbacks_ms']:.2f} ms, a record {c['record_ms']:.1f} ms: "
            f"{100 * c['book_cost']:.1f} % of the book's 10 epochs")
