"""bench's "watched run vs CLI": what an open dashboard costs the run it shows.

The same run (the book's recipe, capped) trains from the CLI and through the dashboard: started
from the Train page's form, which then stays open on it in headless Chromium until it ends.
The two alternate; the report gives medians. Beside the throughput, where the CPU went while
the watched run trained, read from /proc/<pid>/stat: the worker, the Streamlit server, the
browser's process tree, and this harness (the bench process and Playwright's driver).

`watched_vs_cli` takes several app folders (say a worktree of an older commit beside this one),
so that versions of the pages alternate in one process and compare on equal terms.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import appserver
from .config import D2L, TrainConfig
from .store import RunStore

SAMPLE_S = 0.5  # seconds between CPU samples while a watched run trains
READY = "[data-testid=stApp][data-test-script-state=notRunning]"
_CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- CPU time per process, from /proc ---------------------------------------------------------

@dataclass(frozen=True)
class Proc:
    ppid: int
    comm: str
    cpu: float  # user + system seconds of its own threads (reaped children excluded)


def processes() -> dict[int, Proc]:
    """Every process this user can read: {pid: Proc}."""
    out = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            text = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # it ended while we looked
        comm = text[text.index("(") + 1:text.rindex(")")]
        f = text[text.rindex(")") + 2:].split()  # f[0] is field 3 (state) of proc(5)
        out[int(entry.name)] = Proc(int(f[1]), comm, (int(f[11]) + int(f[12])) / _CLK_TCK)
    return out


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy since boot, all cores together."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:]]
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / _CLK_TCK  # less idle and iowait


def descendants(table: dict[int, Proc], pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for p, proc in table.items():
        children.setdefault(proc.ppid, []).append(p)
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.add(c)
            todo.append(c)
    return out


class CpuMeter:
    """CPU seconds per group of processes over a window. A process alive at the first sample
    counts from then, one born later from zero; one that ends counts up to its last sample.
    "others" is whatever else kept the machine busy meanwhile: a figure taken beside a busy
    neighbour is not to be trusted."""

    def __init__(self, groups):
        self.groups = groups  # table -> {group: set of pids}
        self.start: dict[tuple[str, int], float] = {}
        self.last: dict[tuple[str, int], float] = {}
        self.first_at: float | None = None
        self.last_at = 0.0
        self.busy: list[float] = []

    def sample(self) -> None:
        table = processes()
        self.busy.append(machine_busy())
        first = self.first_at is None
        for group, pids in self.groups(table).items():
            for pid in pids & table.keys():
                key = (group, pid)
                self.start.setdefault(key, table[pid].cpu if first else 0.0)
                self.last[key] = table[pid].cpu
        self.last_at = time.monotonic()
        self.first_at = self.last_at if first else self.first_at

    def totals(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for (group, pid), cpu in self.last.items():
            out[group] = out.get(group, 0.0) + cpu - self.start[(group, pid)]
        if self.busy:
            out["others"] = max(0.0, self.busy[-1] - self.busy[0] - sum(out.values()))
        out["window_s"] = self.last_at - (self.first_at or self.last_at)
        return out


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


def _start_from_form(page, config: TrainConfig) -> None:
    """The Train page's form as a user fills it: the d2l preset (the form's first), capped."""
    form = page.get_by_test_id("stForm")
    form.get_by_role("spinbutton", name="Epochs", exact=True).fill(str(config.epochs))
    form.get_by_role("spinbutton", name="Max train examples").fill(str(config.max_train_examples))
    device = page.get_by_role("combobox", name="Device", exact=True)
    device.focus()
    device.press("ArrowDown")
    page.get_by_role("option", name=config.device, exact=True).click()
    form.get_by_role("button", name="Start training").click()


def watched_run(browser, app: appserver.App, config: TrainConfig, timeout: float = 600) -> dict:
    """Start the run from the Train page and keep the page open on it until it ends; its
    examples/s and the CPU seconds of each process group while it trained."""
    store = RunStore(app.runs)
    before = {r.id for r in store.list()}
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    try:
        page = context.new_page()
        page.goto(app.url + "/train")
        page.wait_for_selector(READY, timeout=60_000)
        _start_from_form(page, config)
        deadline = time.monotonic() + timeout
        while not (new := [r for r in store.list() if r.id not in before]):
            if time.monotonic() > deadline:
                raise TimeoutError("the Train page started no run")
            page.wait_for_timeout(100)  # lets Playwright take the browser's messages meanwhile
        run_id = new[0].id
        server, me = app.process.pid, os.getpid()

        def groups(table):
            served = descendants(table, server) | {server}
            ours = descendants(table, me) - served
            browser_tree = {p for p in ours if table[p].comm.startswith(("chromium", "chrome"))}
            return {"worker": served - {server}, "server": {server}, "browser": browser_tree,
                    "harness": ours - browser_tree | {me}}  # this process, Playwright's driver

        meter = CpuMeter(groups)
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


# --- the figure -------------------------------------------------------------------------------

def watched_vs_cli(config: TrainConfig, repeats: int,
                   apps: dict[str, Path] | None = None) -> dict:
    """The CLI and each app's watched run, alternated `repeats` times (the order reversed
    every other round); medians, and each app's ratio to the CLI."""
    if reason := appserver.browser_missing():
        return {"skipped": reason}
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
                    if arm == "cli":
                        samples[arm].append(cli_run(config, root / "cli"))
                    else:
                        samples[arm].append(watched_run(browser, servers[arm], config))
        finally:
            browser.close()
            for server in servers.values():
                server.stop()
    return _summary(config, repeats, samples)


def _summary(config: TrainConfig, repeats: int, samples: dict[str, list[dict]]) -> dict:
    arms = {}
    for arm, runs in samples.items():
        groups = sorted({g for s in runs for g in s["cpu_s"]})
        arms[arm] = {"examples_per_sec": statistics.median(s["examples_per_sec"] for s in runs),
                     "cpu_s": {g: statistics.median(s["cpu_s"].get(g, 0.0) for s in runs)
                               for g in groups},
                     "samples": [s["examples_per_sec"] for s in runs]}
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
