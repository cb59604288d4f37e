"""A real one-node Ray cluster on 127.0.0.1 for the tests: started once per session from the
venv's `ray start --head`, with token authentication on, and stopped at the end.

Stopping kills only this cluster's processes (each carries our RAY_TMPDIR in its environment):
`ray stop` would stop every Ray process of the user on the machine, other sessions' included.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lenet_core.bench.appserver import free_port
from tests.support import poll

RAY = str(Path(sys.executable).with_name("ray"))


@dataclass(frozen=True)
class Cluster:
    address: str  # "127.0.0.1:PORT"
    tmpdir: Path  # RAY_TMPDIR: sessions, logs and sockets (a short path: socket names are short)
    env: dict[str, str]  # what a driver needs to connect: the auth mode and token

    def processes(self) -> list[int]:
        """The pids of this cluster's processes (head services and workers)."""
        mark = f"RAY_TMPDIR={self.tmpdir}".encode()
        pids = []
        for d in Path("/proc").iterdir():
            if d.name.isdigit() and int(d.name) != os.getpid():
                try:
                    if mark in (d / "environ").read_bytes().split(b"\0"):
                        pids.append(int(d.name))
                except OSError:
                    pass
        return pids

    def worker_pids(self, title: str) -> list[int]:
        """Worker processes whose Ray process title starts with `title` ("ray::RemoteRun")."""
        found = []
        for pid in self.processes():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if cmd.startswith(title):
                found.append(pid)
        return found


def start(data: Path, num_cpus: int = 2) -> Cluster:
    """The head, its workers reading datasets from `data` (their LENET_DATA)."""
    tmpdir = Path(tempfile.mkdtemp(prefix="lenet-ray-"))
    token = tmpdir / "auth_token"
    token.write_text(secrets.token_hex(32))
    token.chmod(0o600)
    env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token),
           # Keeps Ray on loopback: without it, Ray swaps 127.0.0.1 for the interface address.
           "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    port = free_port()
    done = subprocess.run(
        [RAY, "start", "--head", "--port", str(port), "--num-cpus", str(num_cpus),
         "--node-ip-address", "127.0.0.1", "--include-dashboard=false", "--disable-usage-stats"],
        env={**os.environ, **env, "RAY_TMPDIR": str(tmpdir), "LENET_DATA": str(data)},
        capture_output=True, text=True, timeout=120, start_new_session=True)
    if done.returncode != 0:
        raise RuntimeError(f"ray start failed: {done.stderr[-2000:]}")
    return Cluster(f"127.0.0.1:{port}", tmpdir, env)


def stop(cluster: Cluster) -> None:
    """SIGKILL, as `ray stop --force` does: a test cluster has nothing to save."""
    for pid in cluster.processes():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    poll(lambda: not cluster.processes(), timeout=30, what="the Ray cluster to stop")
    shutil.rmtree(cluster.tmpdir, ignore_errors=True)
