"""Runs on a Ray cluster, behind the executor interface (docs/CLUSTER.md).

`RayExecutor(address)` checks that the address answers; `launch` starts a driver process
(lenet_core.cluster.driver) that connects to the cluster, trains each run there as one Ray actor
and streams its curves back into the local store. Launching returns once the driver has
connected, or raises ClusterError in one line after CONNECT_TIMEOUT: never a hang. This module
does not import Ray; only the driver and the workers do.
"""

from __future__ import annotations

import os
import select
import socket
import time
from collections.abc import Sequence

from ..runs.executors import Executor, spawn_runs
from ..runs.store import RunStore

DEFAULT_PORT = 6379  # `ray start --head`'s default
REACH_TIMEOUT = 5.0  # seconds for the address to accept a TCP connection
CONNECT_TIMEOUT = 30.0  # seconds for the driver to start, import Ray and connect
THREADS_PER_RUN = 1  # CPUs a run asks Ray for, and its torch threads (docs/CLUSTER.md)


class ClusterError(RuntimeError):
    """The cluster cannot be used: unreachable, refusing, or not a Ray cluster. One line."""


class AddressError(ClusterError, ValueError):
    """The address is not of the form HOST[:PORT]."""


def parse_address(text: str) -> tuple[str, int]:
    """"10.0.0.5:6379" -> ("10.0.0.5", 6379); the port defaults to DEFAULT_PORT."""
    text = text.strip()
    if text.startswith("ray://"):
        raise AddressError(f"{text} is a Ray Client address; LeNet Lab connects as a driver: "
                           f"give the head node's HOST:PORT (ray start --head --port), "
                           f"default port {DEFAULT_PORT}")
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = text, str(DEFAULT_PORT)
    host = host.strip("[]")  # an IPv6 address in brackets
    if not host or not port.isdigit() or not 0 < int(port) < 65536 or any(
            c.isspace() or c in "/?#@" for c in host):
        raise AddressError(f"{text!r} is not a Ray cluster address: use HOST:PORT, for example "
                           f"127.0.0.1:{DEFAULT_PORT}")
    return host, int(port)


def check_reachable(host: str, port: int, timeout: float = REACH_TIMEOUT) -> None:
    """A quick TCP connect, so an address with nothing behind it fails in seconds."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as e:
        why = "no answer" if isinstance(e, TimeoutError) else (e.strerror or str(e)).lower()
        raise ClusterError(f"cannot reach a Ray cluster at {host}:{port}: {why}") from e


class RayExecutor(Executor):
    """Each run trains as one Ray actor asking for `threads` CPUs (or a GPU for cuda), with
    `threads` torch threads; the driver writes its curves to the local store as they come."""

    name = "ray"

    def __init__(self, address: str, threads: int = THREADS_PER_RUN,
                 connect_timeout: float = CONNECT_TIMEOUT):
        host, port = parse_address(address)
        self.address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.threads, self.connect_timeout = threads, connect_timeout
        check_reachable(host, port)

    def launch(self, run_ids: Sequence[str], store: RunStore) -> None:
        """Returns once the driver is connected; ClusterError (the runs failed with the same
        message) when it cannot connect within connect_timeout."""
        if not run_ids:
            return
        for run_id in run_ids:
            store.set_executor(run_id, self.name)
        read_end, write_end = os.pipe()
        try:
            proc = spawn_runs(
                "lenet_core.cluster.driver", list(run_ids), store, "--address", self.address,
                "--threads", str(self.threads), "--status-fd", str(write_end),
                pass_fds=(write_end,))
        finally:
            os.close(write_end)
        with os.fdopen(read_end) as status:
            answer = _read_line(status, self.connect_timeout)
        if answer == "ok":
            return
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        message = answer or (f"no answer from the Ray cluster at {self.address} within "
                             f"{self.connect_timeout:g} s{_last_ray_warning(store, run_ids[0])}")
        for run_id in run_ids:  # none can have started: the driver never connected
            store.finish(run_id, "failed", error=message)
        raise ClusterError(message)


def _read_line(f, timeout: float) -> str | None:
    """The first line from `f`, or None at end of file or after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    buf = ""
    while "\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([f], [], [], left)[0]:
            return None
        chunk = os.read(f.fileno(), 4096).decode(errors="replace")
        if not chunk:
            break
        buf += chunk
    return buf.split("\n", 1)[0].strip() or None


def _last_ray_warning(store: RunStore, first_run: str) -> str:
    """Why Ray kept retrying, from the driver's log (say, a missing token), as a suffix."""
    log = store.root / f"{first_run}.log"
    lines = log.read_text(errors="replace").splitlines() if log.is_file() else []
    for line in reversed(lines):
        if "Failed to" in line or "Unauthenticated" in line:
            return " (Ray said: " + line.split("] ", 1)[-1].split(": ", 1)[-1][:200] + ")"
    return ""
