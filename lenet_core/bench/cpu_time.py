"""CPU time per process and per group of processes, read from /proc: where the CPU went while
a dashboard watched a run (lenet_core.bench.watched). Linux only.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

QUIET_BUSY = 0.15  # cores: below this for QUIET_WINDOW_S, the machine counts as idle
QUIET_WINDOW_S = 3.0
_CLK_TCK = os.sysconf("SC_CLK_TCK")


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


def wait_quiet(limit_s: float) -> float:
    """Wait until the machine has been nearly idle (QUIET_BUSY) for QUIET_WINDOW_S, or limit_s
    has passed; returns the busy cores of the last window (the report keeps it)."""
    deadline = time.monotonic() + limit_s
    while True:
        before = machine_busy()
        time.sleep(QUIET_WINDOW_S)
        busy = (machine_busy() - before) / QUIET_WINDOW_S
        if busy < QUIET_BUSY or time.monotonic() > deadline:
            return busy


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
        return {k: round(v, 2) for k, v in out.items()}
