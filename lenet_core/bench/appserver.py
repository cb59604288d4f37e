"""The dashboard served from a subprocess, and the headless Chromium that looks at it: what
`bench` and the browser tests share.

Nothing here imports streamlit or playwright at module level: the server is another process,
and the browser is only launched by whoever calls `launch_chromium`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the project: app.py, pages/
CHROMIUM = "/usr/bin/chromium"
READY = "[data-testid=stApp][data-test-script-state=notRunning]"  # a script run has ended
CHART = "[data-testid=stPlotlyChart]"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def browser_missing() -> str | None:
    """Why headless Chromium cannot be driven here, or None when it can."""
    if not Path(CHROMIUM).is_file():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements.txt)"
    return None


def launch_chromium(playwright):
    """Headless Chromium from the system package (browser downloads fail offline)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@dataclass
class App:
    url: str
    runs: Path
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def start_app(runs: Path, log: Path, timeout: float = 90.0, app_dir: Path = ROOT, *,
              port: int | None = None, own_session: bool = False,
              env: dict[str, str] | None = None) -> App:
    """`streamlit run app.py` in `app_dir` on a free port (or `port`), with its own run store;
    returns once its health check answers. own_session: a process group of its own, as a shell
    starts it from a terminal; env: added to this environment. The log is appended to: a
    restarted server keeps one log."""
    port = port or free_port()
    env = {**os.environ, **(env or {}), "LENET_RUNS": str(runs), "PYTHONUNBUFFERED": "1"}
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "streamlit"), "run", "app.py",
             "--server.port", str(port), "--server.headless", "true"],
            cwd=app_dir, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=own_session)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while not _healthy(url):
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            process.kill()
            raise TimeoutError(f"the app did not answer its health check in {timeout} s")
        time.sleep(0.1)
    return App(url, runs, process, log)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.read().decode().strip() == "ok"
    except OSError:
        return False
