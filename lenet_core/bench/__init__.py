"""`python -m lenet_core bench`: every speed figure side by side, in one process, on this machine.

1. the seed's loop (torchvision dataset + ToTensor + DataLoader) against the engine,
   alternated 3 times, medians;
2. seconds of training until the fastest presets reach 90 % Fashion-MNIST / 99 % MNIST;
3. draw-to-prediction latency for one 280x280 canvas, and with every layer drawn (Draw's
   whole-network figure);
4. a run through the dashboard's background runner against the same run in the foreground,
   with and without a page polling it;
5. the same run started from the dashboard with its Train page open in headless Chromium,
   against the CLI, and where the CPU went meanwhile (lenet_core.bench.watched);
6. the book's recipe with per-layer diagnostics and without (lenet_core.bench.diagnostics_cost);
7. peak memory.
"""

from __future__ import annotations

import json
import platform
import resource
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .. import data, engine
from ..config import D2L, PRESETS, TrainConfig
from ..device import describe, resolve
from ..explain import inference
from ..model import build_lenet
from ..runs import checkpoint
from .diagnostics_cost import BUDGET as DIAGNOSTICS_BUDGET
from .diagnostics_cost import describe as describe_diagnostics
from .diagnostics_cost import diagnostics_cost
from .watched import bench_config, watched_vs_cli

GOALS = {
    "engine_speedup": 3.0,  # x the seed loop's examples/s
    "epoch_speedup": 3.0,  # x shorter epoch + evaluation
    "fashion_90_seconds": 20.0,
    "mnist_99_seconds": 30.0,
    "speedrun_fashion_90_seconds": 8.0,
    "speedrun_mnist_99_seconds": 5.0,
    "draw_latency_ms": 10.0,
    "draw_network_ms": 100.0,  # Draw's whole-network figure, per stroke, server side
    "runner_vs_cli": 0.90,
    "watched_vs_cli": 0.90,  # the run's examples/s with its Train page open, x the CLI's
    "diagnostics_cost": DIAGNOSTICS_BUDGET,  # 1 - examples/s with diagnostics / without
}


def seed_loop(n_examples: int, batch_size: int = 256, workers: int = 4) -> dict:
    """The seed's train_ch6, fixed: torchvision FashionMNIST + ToTensor through a DataLoader
    with d2l's 4 workers, Xavier init, SGD lr 0.9, timing the steps as its Timer did; then its
    test evaluation."""
    import torchvision
    from torchvision import transforms

    train_iter = data.torchvision_loader("fashion-mnist", n_examples, batch_size,
                                         torch.Generator().manual_seed(0), workers)
    test_set = torchvision.datasets.FashionMNIST(str(data.data_root()), train=False,
                                                 transform=transforms.ToTensor(), download=False)
    test_iter = torch.utils.data.DataLoader(test_set, batch_size, shuffle=False,
                                            num_workers=workers)

    torch.manual_seed(0)
    net = build_lenet(D2L)  # the same layers as the seed's nn.Sequential (Xavier-initialised)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.9)
    loss = nn.CrossEntropyLoss()
    t_wall = time.perf_counter()
    step_time, seen = 0.0, 0
    net.train()
    for X, y in train_iter:
        t0 = time.perf_counter()
        optimizer.zero_grad()
        y_hat = net(X)
        l = loss(y_hat, y)  # noqa: E741 (the seed's name)
        l.backward()
        optimizer.step()
        with torch.no_grad():  # the seed's Accumulator
            _ = float(l * X.shape[0]), float((y_hat.argmax(1) == y).sum())
        step_time += time.perf_counter() - t0
        seen += X.shape[0]
    net.eval()
    correct = 0
    with torch.no_grad():
        for X, y in test_iter:
            correct += int((net(X).argmax(1) == y).sum())
    wall = time.perf_counter() - t_wall
    return {"examples_per_sec": seen / step_time, "epoch_plus_eval_s": wall,
            "test_acc": correct / len(test_set)}


def engine_loop(n_examples: int, compile: bool, batch_size: int = 256) -> dict:
    """The engine on the seed loop's epoch: compiled as the book's 10-epoch recipe runs, or
    eager as short runs go."""
    ds = data.load("fashion-mnist")
    cfg = D2L.replace(epochs=1, batch_size=batch_size, max_train_examples=n_examples, device="cpu")
    r = engine.train(cfg, dataset=ds, compile=compile)
    return {"examples_per_sec": r.examples_per_sec, "epoch_plus_eval_s": r.wall_time,
            "warm_up_s": r.wall_time - r.train_time, "test_acc": r.test_acc,
            "compiled": r.compiled}


def throughput(n_examples: int, repeats: int) -> dict:
    """Seed loop, compiled engine and eager engine, alternated `repeats` times; medians. The
    compiled engine's first run in the process (its compile included) is reported apart."""
    first = engine_loop(n_examples, compile=True)
    samples: dict[str, list[dict]] = {"seed_loop": [], "compiled": [], "eager": []}
    for _ in range(repeats):
        samples["seed_loop"].append(seed_loop(n_examples))
        samples["compiled"].append(engine_loop(n_examples, compile=True))
        samples["eager"].append(engine_loop(n_examples, compile=False))
    med = {k: {f: statistics.median(s[f] for s in v) for f in ("examples_per_sec",
                                                                 "epoch_plus_eval_s")}
           for k, v in samples.items()}
    seed, eng = med["seed_loop"], med["compiled"]
    return {"examples": n_examples, "batch_size": 256, "repeats": repeats,
            "seed_loop": seed, "engine": eng,
            "engine_variants": {"compiled_first": first, **{k: med[k] for k in ("compiled", "eager")}},
            "speedup": eng["examples_per_sec"] / seed["examples_per_sec"],
            "epoch_speedup": seed["epoch_plus_eval_s"] / eng["epoch_plus_eval_s"],
            "samples": {k: [s["examples_per_sec"] for s in v] for k, v in samples.items()}}


def time_to_accuracy(config: TrainConfig, target: float, max_epochs: int | None = None) -> dict:
    """Training seconds (evaluation excluded) until a test accuracy >= target, training for
    the preset's own epochs (its schedule is planned over them) unless max_epochs says more."""
    reached: dict = {}

    def on_event(e: engine.Event) -> None:
        p = e.point
        if p is not None and p.test_acc is not None and p.test_acc >= target and not reached:
            reached.update(epoch=e.epoch + 1, test_acc=p.test_acc,
                           seconds=e.train_time)

    ds = data.load(config.dataset)
    r = engine.train(config.replace(epochs=max_epochs or config.epochs), dataset=ds, on_event=on_event,
                     should_stop=lambda: bool(reached))
    return {"preset": _preset_name(config), "target": target,
            "seconds": reached.get("seconds"), "epochs": reached.get("epoch"),
            "test_acc": reached.get("test_acc", r.test_acc)}


def _preset_name(config: TrainConfig) -> str:
    return next((k for k, v in PRESETS.items()
                 if v.replace(dataset=config.dataset, epochs=config.epochs,
                              max_train_examples=config.max_train_examples) == config), "custom")


def draw_latency(repeats: int = 50) -> dict:
    model = checkpoint.load_default()
    canvas = np.zeros((280, 280, 4), np.uint8)
    canvas[60:220, 130:150] = 255  # a "1"
    inference.classify_canvas(model, canvas)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        inference.classify_canvas(model, canvas)
        times.append((time.perf_counter() - t0) * 1000)
    return {"median_ms": statistics.median(times), "p95_ms": sorted(times)[int(0.95 * repeats) - 1]}


def draw_network(repeats: int = 30) -> dict:
    """The server's work for one Draw update with every layer shown: the canvas read as the
    model's dataset was made, the prediction, every layer's output drawn as one figure, and
    that figure serialised as st.plotly_chart serialises it."""
    import plotly.io as pio

    from ..show.network_view import network_figure

    model = checkpoint.load_default()
    canvas = np.zeros((280, 280, 4), np.uint8)
    canvas[60:220, 130:150] = 255  # a "1"

    def update() -> None:
        prediction = inference.classify_canvas(model, canvas)
        pio.to_json(network_figure(model, prediction.image), validate=False)

    update()
    times, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        update()
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    # CPU time too: on a machine busy with other work, wall time says more about the others.
    return {"median_ms": statistics.median(times), "p95_ms": sorted(times)[int(0.95 * repeats) - 1],
            "cpu_median_ms": statistics.median(cpu)}


class BenchError(RuntimeError):
    """A measurement could not be taken (a run it timed did not finish): one line for the CLI."""


def runner_vs_cli(n_examples: int, repeats: int = 2) -> dict:
    """The same run as `python -m lenet_core train` and through the dashboard's background
    runner, with and without a thread polling it as a live page does; each a fresh process,
    alternated, median of `repeats`."""
    from ..runs import runner
    from ..runs.store import RunStore
    from .watched import cli_run

    cfg = D2L.replace(epochs=2, max_train_examples=n_examples, device="cpu")
    figures: dict[str, list[float]] = {"cli": [], "runner": [], "runner_polled": []}
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp))
        for _ in range(repeats):
            figures["cli"].append(cli_run(cfg, Path(tmp))["examples_per_sec"])
            for key, poll in (("runner", False), ("runner_polled", True)):
                run_id = runner.start(cfg, f"bench: {key}", store=store)
                done = threading.Event()

                def page(run_id=run_id, done=done):
                    while not done.wait(1.0):  # a live page's fragment: run + curves, each second
                        store.get(run_id)
                        store.metrics(run_id)

                if poll:
                    threading.Thread(target=page, daemon=True).start()
                run = runner.wait(run_id, store)
                done.set()
                if run.status != "finished" or run.examples_per_sec is None:
                    raise BenchError(f"the {key} run {run_id} ended {run.status}: "
                                       f"{run.error or 'no speed recorded'} (its log: "
                                       f"{store.root / f'{run_id}.log'})")
                figures[key].append(run.examples_per_sec)
    med = {k: statistics.median(v) for k, v in figures.items()}
    return {"cli_examples_per_sec": med["cli"], "runner_examples_per_sec": med["runner"],
            "runner_polled_examples_per_sec": med["runner_polled"],
            "runner_vs_cli": med["runner"] / med["cli"],
            "polled_vs_cli": med["runner_polled"] / med["cli"], "samples": figures}


def peak_memory_mb() -> dict:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"this_process_mb": own, "largest_child_mb": children}


def collect(quick: bool = False) -> dict:
    n = 15_360 if quick else 60_000
    fast = PRESETS["fast"]
    if quick:  # one short epoch each, lower targets: checks the machinery, not the goals
        fast = fast.replace(epochs=1, max_train_examples=n)
        tta = {"fashion_90": time_to_accuracy(fast.replace(dataset="fashion-mnist"), 0.70, 1),
               "mnist_99": time_to_accuracy(fast.replace(dataset="mnist"), 0.90, 1)}
        speed = PRESETS["speedrun"].replace(epochs=1, max_train_examples=n)
        tta |= {"speedrun_fashion_90": time_to_accuracy(speed.replace(dataset="fashion-mnist"),
                                                        0.70),
                "speedrun_mnist_99": time_to_accuracy(speed, 0.90)}
    else:
        tta = {"fashion_90": time_to_accuracy(fast.replace(dataset="fashion-mnist"), 0.90),
               "mnist_99": time_to_accuracy(fast.replace(dataset="mnist"), 0.99)}
        speed = PRESETS["speedrun"]
        tta |= {"speedrun_fashion_90": time_to_accuracy(
                    speed.replace(dataset="fashion-mnist", epochs=3), 0.90),
                "speedrun_mnist_99": time_to_accuracy(speed, 0.99)}
    report = {
        "machine": {"cpu": platform.processor() or platform.machine(),
                    "device": describe(resolve("auto")), "torch": torch.__version__,
                    "threads": torch.get_num_threads(), "quick": quick},
        "throughput": throughput(n, 1 if quick else 3),
        "time_to_accuracy": tta,
        "draw_latency": draw_latency(),
        "draw_network": draw_network(),
        "runner": runner_vs_cli(n // 4 if quick else 30_000, 1 if quick else 2),
        "watched": watched_vs_cli(bench_config(quick), 1 if quick else 2,
                                  quiet_wait_s=0 if quick else 60, cost_s=5 if quick else 20),
        "diagnostics": diagnostics_cost(quick),
        "memory": peak_memory_mb(),
    }
    report["goals"] = _goals(report, quick)
    return report


def _goals(r: dict, quick: bool) -> dict:
    tta = r["time_to_accuracy"]
    figures = {
        "engine_speedup": r["throughput"]["speedup"],
        "epoch_speedup": r["throughput"]["epoch_speedup"],
        "fashion_90_seconds": tta["fashion_90"]["seconds"],
        "mnist_99_seconds": tta["mnist_99"]["seconds"],
        "speedrun_fashion_90_seconds": tta["speedrun_fashion_90"]["seconds"],
        "speedrun_mnist_99_seconds": tta["speedrun_mnist_99"]["seconds"],
        "draw_latency_ms": r["draw_latency"]["median_ms"],
        "draw_network_ms": r["draw_network"]["median_ms"],
        "runner_vs_cli": min(r["runner"]["runner_vs_cli"], r["runner"]["polled_vs_cli"]),
        "watched_vs_cli": r["watched"].get("watched_vs_cli"),
        "diagnostics_cost": r["diagnostics"]["cost"],
    }
    out = {}
    for k, v in figures.items():
        lower_is_better = k.endswith(("seconds", "_ms", "_cost"))
        met = v is not None and (v <= GOALS[k] if lower_is_better else v >= GOALS[k])
        out[k] = {"value": v, "goal": ("<= " if lower_is_better else ">= ") + str(GOALS[k]),
                  "met": met if not quick else None}
    if skipped := r["watched"].get("skipped"):
        out["watched_vs_cli"].update(met=None, skipped=skipped)
    return out


def run_bench(json_out: bool = False, quick: bool = False) -> int:
    report = collect(quick)
    if json_out:
        print(json.dumps(report, indent=2))
        return 0
    t = report["throughput"]
    print(f"machine: {report['machine']}")
    print(f"seed loop             : {t['seed_loop']['examples_per_sec']:9,.0f} ex/s, "
          f"epoch+eval {t['seed_loop']['epoch_plus_eval_s']:.2f} s")
    for name, e in t["engine_variants"].items():
        warm = f" (warm-up {e['warm_up_s']:.2f} s)" if "warm_up_s" in e else ""
        print(f"engine {name:<15}: {e['examples_per_sec']:9,.0f} ex/s, "
              f"epoch+eval {e['epoch_plus_eval_s']:.2f} s{warm}")
    for k, g in report["goals"].items():
        v = g["value"]
        shown = "not reached" if v is None else f"{v:.3g}"
        mark = {True: "met", False: "MISSED", None: "(quick run)"}[g["met"]]
        if "skipped" in g:
            shown, mark = "skipped", g["skipped"]
        print(f"{k:<20} {shown:>12}  goal {g['goal']:<8} {mark}")
    if "arms" in (w := report["watched"]):
        print("watched run, CPU-s while it trained: " + "; ".join(
            f"{arm} " + ", ".join(f"{k} {v:.1f}" for k, v in a["cpu_s"].items())
            for arm, a in w["arms"].items()))
        cost = w["arms"]["dashboard"]["watch_cost"]
        print(f"watching, CPU-s per minute: server {cost['server']:.1f}, browser "
              f"{cost['browser']:.1f} (a point every {w['point_s']} s, nothing training)")
    print(describe_diagnostics(report["diagnostics"]))
    print(f"memory: {report['memory']}")
    return 0
