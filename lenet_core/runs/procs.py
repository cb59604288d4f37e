"""The processes that train runs: starting one in the background, and telling whether a run's
process is alive and still the process that claimed the run.

The store asks before it declares a run interrupted: a dead process (or a zombie) means the
run is over; a live one that started after the run was claimed has only reused the number.
Linux says both through /proc; elsewhere only `os.kill(pid, 0)` answers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_children: dict[int, subprocess.Popen] = {}  # this process's children, by pid, until reaped


def spawn(module: str, args: list[str], log: Path,
          pass_fds: tuple[int, ...] = ()) -> subprocess.Popen:
    """`python -m module ARGS` in the background, its output into `log`."""
    with open(log, "wb") as out:  # the child keeps its own handle
        proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, pass_fds=pass_fds,
            # Its own session: Ctrl-C in the dashboard's terminal, or the terminal closing,
            # stops the server but not the runs, which a restarted server shows again.
            start_new_session=True,
        )
    _children[proc.pid] = proc
    reap()
    return proc


def reap() -> None:
    """Collect this process's children that have ended: a dead child must stop being a zombie
    to read as dead."""
    for pid, proc in list(_children.items()):
        if proc.poll() is not None:
            del _children[pid]


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) is not alive for our purposes.
    stat = _stat(pid)
    return stat is None or stat[0] != "Z"


def started_by(pid: int, t: float | None) -> bool:
    """Whether process `pid` had started by time `t` (1 s of slack: the boot time is in whole
    seconds), so it is the process that claimed a run then, not a later one that reuses its
    number. False where the system does not say."""
    stat = _stat(pid)
    if stat is None or t is None:
        return False
    try:
        with open("/proc/stat") as f:
            boot = next(float(line.split()[1]) for line in f if line.startswith("btime "))
        return boot + int(stat[19]) / os.sysconf("SC_CLK_TCK") <= t + 1.0
    except (OSError, StopIteration, ValueError, IndexError):
        return False


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (field 3 on), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
