"""The driver process of runs on a Ray cluster (internal; started by cluster.RayExecutor).

It connects to the cluster as a Ray driver, starts one actor per run (1 CPU per thread, 1 GPU
for a cuda run), and writes what each run streams back (lenet_core.cluster.worker) to the local run
store: the store stays the single source of truth, and the cluster never sees it. While the
runs train it heartbeats them and relays the store's stop flag to the actor. Its pid is on
every run, so runs whose driver died read as interrupted; its actors die with it (Ray ties an
actor's life to its owner's), so nothing keeps training unseen.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import ray
from ray import exceptions as rex

from ..engine import Point
from ..model import build_lenet
from ..progress import Progress
from ..runs import diagnostics_store, environment, runner
from ..runs.errors import NoSuchRun
from ..runs.store import RunStore
from .worker import Diagnostic, Ending, Placement, RemoteRun

STOP_GRACE = 30.0  # seconds a run may take to end after a stop, before its actor is killed
NAMESPACE = "lenet-lab"


@dataclass
class _Run:
    id: str
    actor: ray.actor.ActorHandle
    started: bool = False
    stop_sent: float | None = None  # monotonic time the stop was relayed
    progress: Progress | None = None
    device: str | None = None
    done: threading.Event = field(default_factory=threading.Event)


def connect(address: str) -> None:
    # A driver, not Ray Client (ray://): the full Ray Core API, and runs that do not die with
    # a dropped client connection. The package travels with the job (py_modules), so every
    # worker runs the same lenet_core as this machine.
    ray.init(address=address, namespace=NAMESPACE, logging_level="warning",
             runtime_env={"py_modules": [str(Path(__file__).resolve().parents[1])]})


def _with_commit(env: environment.Environment) -> environment.Environment:
    """The worker runs the package this machine shipped (connect's py_modules), a copy outside
    any git checkout: its commit is this checkout's."""
    if env.git_commit != environment.UNKNOWN:
        return env
    return replace(env, git_commit=environment.git_commit())


def reason(e: BaseException) -> str:
    """A Ray error in one line: the cause, without Ray's bookkeeping lines."""
    lines = [ln.strip() for ln in str(e).splitlines()]
    keep = [ln for ln in lines if ln and not ln.startswith(
        ("class_name:", "actor_id:", "pid:", "name:", "namespace:", "ip:"))
        and ln != rex.ActorDiedError.BASE_ERROR_MSG]
    text = " ".join(keep) or type(e).__name__
    return text if len(text) <= 300 else text[:297] + "..."


class Driver:
    def __init__(self, store: RunStore, threads: int):
        self.store, self.threads = store, threads
        self.runs: dict[str, _Run] = {}
        self.actor_class = ray.remote(RemoteRun)

    def submit(self, run_id: str) -> None:
        run = self.store.get(run_id)
        if run.status != "queued":
            return  # deleted, stopped or reaped before the driver got to it
        if run.stop_requested:
            self.store.finish(run_id, "stopped", error="stopped before it started")
            return
        gpus = 1 if run.config.device == "cuda" else 0
        if gpus > ray.cluster_resources().get("GPU", 0):
            # Ray would keep it pending forever, waiting for a GPU node to join.
            self.store.finish(run_id, "failed", error="ValueError: the run asks for cuda, "
                              "but no node of the Ray cluster has a GPU")
            return
        actor = self.actor_class.options(num_cpus=self.threads, num_gpus=gpus,
                                         max_concurrency=2).remote()
        stream = actor.train.options(num_returns="streaming").remote(run.config.to_dict(),
                                                                     self.threads)
        self.runs[run_id] = r = _Run(run_id, actor)
        threading.Thread(target=self._follow, args=(r, stream, run.config), daemon=True,
                         name=run_id).start()

    def _follow(self, r: _Run, stream, config) -> None:
        try:
            for ref in stream:
                item = ray.get(ref)
                if isinstance(item, Placement):
                    if not self.store.claim(r.id, os.getpid(), max_running=None):
                        return  # deleted or reaped meanwhile
                    r.started, r.device = True, item.device
                    self.store.set_placement(r.id, item.node, item.threads,
                                             _with_commit(item.environment))
                    self.store.heartbeat(r.id, device=item.device)
                    print(f"run {r.id}: on {item.node}, worker pid {item.pid}, {item.device}",
                          flush=True)
                elif isinstance(item, Point):
                    self.store.add_point(r.id, item.x, item.step, item.train_loss,
                                         item.train_acc, item.test_acc, item.test_loss,
                                         item.elapsed)
                elif isinstance(item, Diagnostic):
                    diagnostics_store.add(self.store, r.id, item.record)
                elif isinstance(item, Progress):
                    r.progress = item
                elif isinstance(item, Ending):
                    self._record(r, item, config)
                    return
            raise RuntimeError("the run's stream ended without an outcome")
        except Exception as e:
            self._ended_by(r, e)
        finally:
            r.done.set()
            ray.kill(r.actor)  # frees its worker process and CPU at once

    def _record(self, r: _Run, out: Ending, config) -> None:
        if out.error is not None:
            self.store.finish(r.id, "failed", error=out.error)
            return
        model = None
        if out.state_dict is not None:
            model = build_lenet(config)
            model.load_state_dict(out.state_dict)
        runner.record(self.store, r.id, config, replace(out.result, model=model),
                      out.class_names, r.device, out.data_source)

    def _ended_by(self, r: _Run, e: Exception) -> None:
        """The stream broke: stopped (if asked), interrupted (the worker, its node or the
        connection died), or failed (an error in our own code)."""
        try:
            if not self.store.get(r.id).active:
                return
        except NoSuchRun:
            return  # deleted: nothing to record
        if self.store.stop_requested(r.id):
            status, error = "stopped", None if r.started else "stopped before it started"
        elif isinstance(e, (rex.RayActorError, rex.WorkerCrashedError, rex.NodeDiedError,
                            rex.ObjectLostError, rex.RaySystemError)):
            status, error = "interrupted", f"the Ray worker ended unexpectedly: {reason(e)}"
        else:
            status, error = "failed", runner.error_text(e).splitlines()[0]
        self.store.finish(r.id, status, error=error)

    def beat(self) -> None:
        """Heartbeat every run, relay stop requests; returns when every run has ended."""
        while not all(r.done.is_set() for r in self.runs.values()):
            for r in self.runs.values():
                if r.done.is_set():
                    continue
                try:
                    self.store.heartbeat(r.id, r.progress, r.device)
                    stop = self.store.stop_requested(r.id)
                except NoSuchRun:
                    stop = True
                if stop and r.stop_sent is None:
                    r.stop_sent = time.monotonic()
                    if r.started:
                        r.actor.stop.remote()  # graceful: it ends `stopped` with a checkpoint
                    else:
                        ray.kill(r.actor)  # still waiting for a CPU
                elif r.stop_sent is not None and time.monotonic() - r.stop_sent > STOP_GRACE:
                    ray.kill(r.actor)
            time.sleep(runner.PROGRESS_EVERY)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m lenet_core.cluster.driver",
                                description="Driver for runs on a Ray cluster (internal).")
    p.add_argument("run_ids", nargs="+", metavar="RUN_ID")
    p.add_argument("--runs", required=True, help="the run store folder")
    p.add_argument("--address", required=True, help="the cluster's host:port")
    p.add_argument("--threads", type=int, default=1, help="CPUs and torch threads per run")
    p.add_argument("--status-fd", type=int, help="where to write `ok` or the error, once")
    a = p.parse_args(argv)
    store = RunStore(a.runs)
    try:
        connect(a.address)
    except Exception as e:
        _tell(a.status_fd, f"cannot connect to the Ray cluster at {a.address}: {reason(e)}")
        return 1
    _tell(a.status_fd, "ok")
    driver = Driver(store, a.threads)
    for run_id in a.run_ids:
        try:
            driver.submit(run_id)
        except Exception as e:  # one run that cannot be submitted does not stop the rest
            store.finish(run_id, "failed", error=runner.error_text(e).splitlines()[0])
    driver.beat()
    return 0


def _tell(fd: int | None, message: str) -> None:
    if fd is not None:
        with os.fdopen(fd, "w") as f:
            f.write(message.replace("\n", " ") + "\n")


if __name__ == "__main__":
    sys.exit(main())
