"""bench's "watched run vs CLI": what an open dashboard costs the run it shows.

The same run (the book's recipe, capped) trains from the CLI and through the dashboard: started
from the Train page's form, which then stays open on it in headless Chromium until it ends.
The two alternate; the report gives medians. Beside the throughput, where the CPU went while
the watched run trained, read from /proc/<pid>/stat: the worker, the Streamlit server, the
browser's process tree, and this harness (the bench process and Playwright's driver).

`watched_vs_cli` takes several app folders (say a checkout of an older commit beside this one),
so that versions of the pages alternate in one process and compare on equal terms:
`python -m lenet_core.bench.watched before=/tmp/old after=.`. `watch_cost` adds a figure that
holds on a busy machine: the CPU the server and browser spend showing a run that only
pretends to train.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ..config import D2L, TrainConfig
from ..progress import Progress
from ..runs.store import RunStore
from . import appserver
from .appserver import CHART, READY
from .cpu_time import CpuMeter, descendants, wait_quiet

SAMPLE_S = 0.5  # seconds between CPU samples while a watched run trains
POINT_S = 0.45  # a curve point every this many seconds: the bench run's pace at ~20k examples/s


# --- one run each way ---------------------------------------------------------------------------

def cli_run(config: TrainConfig, runs: Path) -> dict:
    """`python -m lenet_core train` on the d2l preset with config's epochs, cap and device, in
    a fresh process: its examples/s, and the CPU seconds while it ran."""
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lenet_core", "train", "--preset", "d2l",
             "--epochs", str(config.epochs), "--max-train-examples",
             str(config.max_train_examples), "--device", config.device, "--json"],
            env={**os.environ, "LENET_RUNS": str(runs)}, cwd=appserver.ROOT,
            stdout=out, stderr=subprocess.DEVNULL, text=True)
        meter = CpuMeter(lambda table: {"worker": descendants(table, proc.pid) | {proc.pid}})
        while proc.poll() is None:
            meter.sample()
            time.sleep(SAMPLE_S)
        if proc.returncode:
            raise RuntimeError(f"the CLI run exited with {proc.returncode}")
        out.seek(0)
        result = json.loads(out.read().strip().splitlines()[-1])
    return {"examples_per_sec": result["examples_per_sec"], "cpu_s": meter.totals()}


def _fill(page, label: str, value) -> None:
    """Type into a box of the Train page and leave it (Tab), as a user does; the rerun that
    follows is waited for, so the next field is never typed into a widget being redrawn."""
    box = page.get_by_test_id("stMain").get_by_role("spinbutton", name=label, exact=True)
    box.fill(str(value))
    box.press("Tab")
    page.wait_for_selector(READY, timeout=60_000)


def _start_from_form(page, config: TrainConfig) -> None:
    """The Train page's fields as a user fills them: the d2l preset (the page's first), capped."""
    _fill(page, "Epochs", config.epochs)
    _fill(page, "Max train examples", config.max_train_examples)
    device = page.get_by_role("combobox", name="Device", exact=True)
    device.focus()
    device.press("ArrowDown")
    page.get_by_role("option", name=config.device, exact=True).click()
    page.wait_for_selector(READY, timeout=60_000)
    page.get_by_role("button", name="Start training").click()


def _start_run(page, store: RunStore, before: set[str], config: TrainConfig,
               tries: int = 3, wait_s: float = 30) -> str:
    """Press Start training until a run exists, and check that it is the run the fields asked
    for (a bench of a run with the preset's 10 epochs would report a wrong figure)."""
    for _ in range(tries):
        _start_from_form(page, config)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if new := [r for r in store.list() if r.id not in before]:
                got = new[0].config
                asked = (config.epochs, config.max_train_examples, config.device)
                if (got.epochs, got.max_train_examples, got.device) != asked:
                    raise RuntimeError(f"the Train page started {got}, not {asked}")
                return new[0].id
            page.wait_for_timeout(100)  # lets Playwright take the browser's messages meanwhile
        page.reload()
        page.wait_for_selector(READY, timeout=60_000)
    raise TimeoutError(f"the Train page started no run in {tries} tries")


def _groups(server: int):
    """Process groups of a watched run: its worker (the server's child), the server, the
    browser's processes and this harness (this process and Playwright's driver)."""
    me = os.getpid()

    def groups(table: dict) -> dict[str, set[int]]:
        served = descendants(table, server) | {server}
        ours = descendants(table, me) - served
        browser = {p for p in ours if table[p].comm.startswith(("chromium", "chrome"))}
        return {"worker": served - {server}, "server": {server}, "browser": browser,
                "harness": ours - browser | {me}}

    return groups


def _open(context, url: str):
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector(READY, timeout=60_000)
    return page


def watched_run(browser, app: appserver.App, config: TrainConfig, timeout: float = 600) -> dict:
    """Start the run from the Train page and keep the page open on it until it ends; its
    examples/s and the CPU seconds of each process group while it trained."""
    store = RunStore(app.runs)
    before = {r.id for r in store.list()}
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    try:
        page = _open(context, app.url + "/train")
        run_id = _start_run(page, store, before, config)
        deadline = time.monotonic() + timeout
        meter = CpuMeter(_groups(app.process.pid))
        while (run := store.get(run_id)).active:
            if run.status == "running":
                meter.sample()
            if time.monotonic() > deadline:
                raise TimeoutError(f"the watched run is still {run.status} after {timeout} s")
            page.wait_for_timeout(SAMPLE_S * 1000)
    finally:
        context.close()
    if run.status != "finished":
        raise RuntimeError(f"the watched run ended {run.status}: {run.error}")
    return {"examples_per_sec": run.examples_per_sec, "cpu_s": meter.totals()}


def _feed(store: RunStore, run_id: str, stop: threading.Event, point_s: float) -> None:
    """A run's records as its worker writes them, without the training: a training point every
    point_s seconds, a test point at each epoch's end, the progress alongside."""
    batches, every, step, started = 176, 35, 0, time.monotonic()  # the bench run's epoch
    while not stop.wait(point_s):
        step += every
        epoch, batch = divmod(step, batches)
        store.add_point(run_id, step / batches, step, 2.3 / (1 + step / batches), 0.8)
        if batch < every:
            store.add_point(run_id, float(epoch), step, test_acc=0.75)
        store.heartbeat(run_id, Progress(epoch, batch, batches, step, 10 * batches, 20_000.0,
                                         time.monotonic() - started), "cpu")


def watch_cost(browser, app: appserver.App, seconds: float, point_s: float = POINT_S,
               path: str = "/train") -> dict:
    """CPU seconds per minute that the server and the browser spend showing a run that gains a
    point every point_s seconds, on the page at `path`. Nothing trains meanwhile, so unlike
    the throughput this figure barely moves when other work shares the machine."""
    store = RunStore(app.runs)
    run_id = store.create(D2L, "bench: watched, not training")
    store.claim(run_id, os.getpid(), max_running=None)
    stop = threading.Event()
    feeder = threading.Thread(target=_feed, args=(store, run_id, stop, point_s), daemon=True)
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    try:
        feeder.start()
        page = _open(context, app.url + path)
        page.wait_for_selector(f"{CHART} .js-plotly-plot", timeout=60_000)
        meter = CpuMeter(_groups(app.process.pid))
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            meter.sample()
            page.wait_for_timeout(SAMPLE_S * 1000)
        meter.sample()
    finally:
        stop.set()
        feeder.join()
        context.close()
        store.finish(run_id, "stopped")
    t = meter.totals()
    return {g: round(t.get(g, 0.0) * 60 / t["window_s"], 2) for g in ("server", "browser")}


# --- the figure -------------------------------------------------------------------------------

def watched_vs_cli(config: TrainConfig, repeats: int, apps: dict[str, Path] | None = None,
                   quiet_wait_s: float = 60, cost_s: float = 20) -> dict:
    """The CLI and each app's watched run, alternated `repeats` times (the order reversed
    every other round); medians, and each app's ratio to the CLI. Before each run it waits
    (up to quiet_wait_s; 0: not at all) for the machine to be idle; each run reports the CPU
    others took meanwhile. Then each app's watch_cost over cost_s seconds, `repeats` times."""
    if reason := appserver.browser_missing():
        return {"skipped": reason}
    if not Path("/proc/stat").is_file():
        return {"skipped": "no /proc here: the CPU split reads it (Linux only)"}
    from playwright.sync_api import sync_playwright

    apps = apps or {"dashboard": appserver.ROOT}
    samples: dict[str, list[dict]] = {"cli": [], **{k: [] for k in apps}}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        root = Path(tmp)
        servers = {k: appserver.start_app(root / k, root / f"{k}.log", app_dir=Path(d))
                   for k, d in apps.items()}
        browser = appserver.launch_chromium(p)
        try:
            for r in range(repeats):
                order = ["cli", *apps]
                for arm in order if r % 2 == 0 else order[::-1]:
                    busy_before = wait_quiet(quiet_wait_s) if quiet_wait_s else None
                    if arm == "cli":
                        samples[arm].append(cli_run(config, root / "cli"))
                    else:
                        samples[arm].append(watched_run(browser, servers[arm], config))
                    samples[arm][-1]["busy_before"] = busy_before
            costs = {k: [watch_cost(browser, servers[k], cost_s) for _ in range(repeats)]
                     for k in apps}
        finally:
            browser.close()
            for server in servers.values():
                server.stop()
    out = _summary(config, repeats, samples)
    for k, runs in costs.items():
        out["arms"][k]["watch_cost"] = {
            g: statistics.median(c[g] for c in runs) for g in ("server", "browser")}
    out["watch_cost_s"], out["point_s"] = cost_s, POINT_S
    return out


def _summary(config: TrainConfig, repeats: int, samples: dict[str, list[dict]]) -> dict:
    arms = {}
    for arm, runs in samples.items():
        groups = sorted({g for s in runs for g in s["cpu_s"]})
        arms[arm] = {"examples_per_sec": statistics.median(s["examples_per_sec"] for s in runs),
                     "cpu_s": {g: statistics.median(s["cpu_s"].get(g, 0.0) for s in runs)
                               for g in groups},
                     "samples": [s["examples_per_sec"] for s in runs],
                     "busy_before": [s["busy_before"] and round(s["busy_before"], 2)
                                     for s in runs]}
    cli = arms["cli"]["examples_per_sec"]
    for arm, a in arms.items():
        if arm != "cli":
            a["vs_cli"] = a["examples_per_sec"] / cli
    first = next(a for arm, a in arms.items() if arm != "cli")
    return {"config": {"preset": "d2l", "epochs": config.epochs,
                       "max_train_examples": config.max_train_examples, "device": config.device},
            "repeats": repeats, "arms": arms, "cli_examples_per_sec": cli,
            "watched_examples_per_sec": first["examples_per_sec"],
            "watched_vs_cli": first["vs_cli"]}


def bench_config(quick: bool) -> TrainConfig:
    """The run both arms train: ~30 s of the book's recipe here; a few seconds with --quick."""
    if quick:
        return D2L.replace(epochs=2, max_train_examples=10_240, device="cpu")
    return D2L.replace(epochs=10, max_train_examples=45_000, device="cpu")


def main(argv: list[str] | None = None) -> int:
    """Versions of the dashboard side by side: `python -m lenet_core.bench.watched
    before=/tmp/old-checkout after=.` (each folder holds app.py and pages/)."""
    p = argparse.ArgumentParser(prog="python -m lenet_core.bench.watched", description=main.__doc__)
    p.add_argument("apps", nargs="+", metavar="NAME=APP_DIR")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--cost-s", type=float, default=20, help="seconds of each watch-cost sample")
    p.add_argument("--quiet-wait-s", type=float, default=60)
    p.add_argument("--quick", action="store_true", help="a short run: checks the machinery")
    a = p.parse_args(argv)
    apps = dict(arg.split("=", 1) for arg in a.apps)
    report = watched_vs_cli(bench_config(a.quick), a.repeats, {k: Path(v) for k, v in apps.items()},
                            quiet_wait_s=a.quiet_wait_s, cost_s=a.cost_s)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
