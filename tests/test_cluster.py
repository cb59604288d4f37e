"""Runs on a real Ray cluster (tests/ray_cluster.py: one head on 127.0.0.1, 2 CPUs, token
authentication): they train there, stream their curves into the local store while they run,
equal a local run, stop, survive a killed worker, and a bad address fails fast."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import torch

from lenet_core import engine
from lenet_core.cluster.executor import ClusterError, RayExecutor
from lenet_core.config import MODERN
from lenet_core.runs import checkpoint, diagnostics_store, environment, executors, runner
from lenet_core.runs.executors import relaunch
from tests.support import poll

pytestmark = pytest.mark.slow  # a real cluster, real training

# The cluster's data folder has a real Fashion-MNIST only (conftest.ray_cluster).
QUICK = MODERN.replace(dataset="fashion-mnist", epochs=2, max_train_examples=4096)
ACTOR = "ray::RemoteRun"  # the process title of a run's worker


def running_with_points(store, run_id) -> bool:
    return store.get(run_id).status == "running" and len(store.metrics(run_id)) > 0


def untimed(points: list[dict]) -> list[dict]:
    return [{k: v for k, v in p.items() if k != "elapsed"} for p in points]


def test_runs_train_on_ray_live_and_equal_a_local_run_with_the_same_seed(ray_cluster, store):
    configs = [QUICK.replace(seed=s) for s in (0, 1)]
    ids = [store.create(c, f"seed {c.seed}", executor="ray") for c in configs]
    # A run whose dataset the worker cannot load fails alone, with the loader's own message;
    # one that asks for a GPU the cluster lacks fails at once instead of waiting forever.
    no_data = store.create(QUICK.replace(dataset="mnist"), "no data", executor="ray")
    no_gpu = store.create(QUICK.replace(device="cuda"), "no gpu", executor="ray")
    RayExecutor(ray_cluster.address).launch([*ids, no_data, no_gpu], store)

    # The curves arrive while the runs train, not only at the end.
    live = poll(lambda: next((i for i in ids if running_with_points(store, i)), None),
                timeout=120, what="a point of a running run")
    assert store.get(live).finished_at is None
    runs = [runner.wait(i, store, timeout=180) for i in ids]
    for run in runs:
        assert run.status == "finished", run.error
        assert run.executor == "ray" and run.node == socket.gethostname()
        assert run.threads == 1 and run.device == "cpu (1 thread)"
        assert checkpoint.load_ref(run.id, store).config == run.config
    assert runs[0].test_acc != runs[1].test_acc  # two seeds, two runs
    failed = runner.wait(no_data, store, timeout=120)
    assert failed.status == "failed"
    assert failed.error.startswith("DataError: ") and "sha256" in failed.error
    assert store.get(no_gpu).status == "failed" and "no node of the Ray cluster has a GPU" in \
        store.get(no_gpu).error

    # The same config and seed trained here with the same thread count: identical numbers.
    twin = store.create(configs[0], "local twin")
    store.claim(twin, os.getpid(), max_running=None)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert runner.execute(store, twin) == "finished"
    finally:
        torch.set_num_threads(threads)
    # Every number the run computed is the same; only the wall clock it took may differ.
    assert untimed(store.metrics(twin)) == untimed(store.metrics(ids[0]))
    # The per-layer diagnostics travel back too, the same as the twin's.
    assert diagnostics_store.records(store, ids[0]) == diagnostics_store.records(store, twin)
    assert diagnostics_store.records(store, ids[0])
    local, remote = store.get(twin), runs[0]
    assert (local.train_loss, local.train_acc, local.test_acc) == \
        (remote.train_loss, remote.train_acc, remote.test_acc)
    local_w = checkpoint.load_ref(twin, store).net.state_dict()
    remote_w = checkpoint.load_ref(remote.id, store).net.state_dict()
    assert all(torch.equal(local_w[k], remote_w[k]) for k in local_w)

    # With another thread count, the same run agrees within float noise.
    torch.set_num_threads(2)
    try:
        other = engine.train(configs[0])
    finally:
        torch.set_num_threads(threads)
    assert other.train_loss == pytest.approx(remote.train_loss, rel=1e-3)
    assert other.test_acc == pytest.approx(remote.test_acc, abs=0.005)


def test_stop_ends_running_and_waiting_runs_and_frees_the_cluster(ray_cluster, store):
    # Three long runs (too short for torch.compile's warm-up) on two CPUs: two train, one waits.
    ids = [store.create(QUICK.replace(epochs=50, seed=k), f"long {k}", executor="ray")
           for k in range(3)]
    RayExecutor(ray_cluster.address).launch(ids, store)
    poll(lambda: sum(running_with_points(store, i) for i in ids) == 2, timeout=120,
         what="two runs training")
    waiting = next(i for i in ids if store.get(i).status == "queued")
    for run_id in ids:
        executors.stop([run_id], store)
    runs = {i: runner.wait(i, store, timeout=60) for i in ids}
    assert all(r.status == "stopped" for r in runs.values())
    assert runs[waiting].error == "stopped before it started"
    for run_id in set(ids) - {waiting}:
        assert runs[run_id].progress.step < 50 * 32
        assert store.checkpoint_path(run_id).is_file()  # a graceful stop, as locally
    poll(lambda: not ray_cluster.worker_pids(ACTOR), timeout=30, what="the actors to end")


def test_a_killed_worker_or_driver_interrupts_runs_which_can_be_relaunched(ray_cluster, store):
    ids = [store.create(QUICK.replace(epochs=50, seed=k), f"fault {k}", executor="ray")
           for k in range(2)]
    executor = RayExecutor(ray_cluster.address)
    executor.launch(ids, store)
    poll(lambda: all(running_with_points(store, i) for i in ids), timeout=120,
         what="both runs training")
    seen = {i: len(store.metrics(i)) for i in ids}

    # A task's worker process is killed: its run is interrupted with Ray's reason.
    os.kill(poll(lambda: ray_cluster.worker_pids(ACTOR + ".train"))[0], signal.SIGKILL)
    killed = poll(lambda: next((r for r in map(store.get, ids) if not r.active), None),
                  timeout=60, what="the run of the killed worker to end")
    assert killed.status == "interrupted"
    assert killed.error.startswith("the Ray worker ended unexpectedly")
    assert len(store.metrics(killed.id)) >= seen[killed.id]  # its curves so far are kept

    # The driver dies: its other run reads as interrupted, and its actor ends with it.
    [other] = set(ids) - {killed.id}
    assert store.get(other).status == "running"
    os.kill(store.get(other).pid, signal.SIGKILL)
    assert runner.wait(other, store, timeout=30).status == "interrupted"
    poll(lambda: not ray_cluster.worker_pids(ACTOR), timeout=60, what="the orphaned actor to end")

    # Relaunched, the run trains again under a new id; the interrupted record stays.
    [again] = relaunch([killed.id], store, executor)
    poll(lambda: running_with_points(store, again), timeout=120, what="the relaunched run")
    assert store.get(again).name == killed.name
    assert store.get(killed.id).status == "interrupted"
    executors.stop([again], store)
    assert runner.wait(again, store, timeout=60).status == "stopped"


def test_a_driver_without_the_token_fails_within_the_timeout_with_ray_s_reason(
        ray_cluster, store, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    run_id = store.create(QUICK, "no token", executor="ray")
    t0 = time.monotonic()
    with pytest.raises(ClusterError) as raised:
        RayExecutor(ray_cluster.address, connect_timeout=6).launch([run_id], store)
    # Without the timeout the driver would keep retrying; the bound leaves room for a loaded
    # machine (over 15 s seen at a load average of 6 on 2 cores), not a speed goal.
    assert time.monotonic() - t0 < 60
    message = str(raised.value)
    assert "\n" not in message and ray_cluster.address in message
    assert "token" in message.lower()
    assert store.get(run_id).status == "failed" and store.get(run_id).error == message


def test_cli_trains_on_the_cluster_and_lists_where_it_ran(ray_cluster, tmp_path):
    env = {**os.environ, "LENET_RUNS": str(tmp_path / "runs")}
    cli = [sys.executable, "-m", "lenet_core"]
    done = subprocess.run([*cli, "train", "--preset", "modern", "--dataset", "fashion-mnist",
                           "--epochs", "1", "--max-train-examples", "2048", "--json",
                           "--cluster", ray_cluster.address],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["status"] == "finished" and result["device"] == "cpu (1 thread)"
    assert f"on the Ray cluster at {ray_cluster.address}" in done.stderr
    assert "epoch 1 test acc" in done.stderr
    [listed] = json.loads(subprocess.run([*cli, "runs", "--json"], env=env, capture_output=True,
                                         text=True, check=True).stdout)
    assert (listed["executor"], listed["node"], listed["threads"]) == \
        ("ray", socket.gethostname(), 1)
    # The worker's environment; its shipped package has no .git: the commit is this checkout's.
    assert listed["environment"] == {**environment.current().to_dict(), "threads": "1"}


def test_a_capped_sweep_runs_on_the_cluster(ray_cluster, tmp_path):
    env = {**os.environ, "LENET_RUNS": str(tmp_path / "runs")}
    done = subprocess.run(
        [sys.executable, "-m", "lenet_core", "experiment", "sweep", "--preset", "d2l",
         "--grid", "activation=sigmoid,relu", "--grid", "lr=0.1", "--seeds", "1",
         "--epochs", "1", "--max-train-examples", "2048", "--json",
         "--cluster", ray_cluster.address],
        env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert len(report["runs"]) == 2
    for run in report["runs"]:
        assert run["status"] == "finished" and run["test_acc"] is not None
        assert (run["executor"], run["node"]) == ("ray", socket.gethostname())
    assert {row["variant"] for row in report["table"]} == \
        {"activation=sigmoid, lr=0.1", "activation=relu, lr=0.1"}


def test_the_clusters_token_is_in_a_tests_environment_only_while_it_runs(ray_head, request):
    """The session's head leaves os.environ alone, and ray_cluster's token is undone after each
    test: a later test never connects with it by accident (this one runs after the
    module's others, so it also sees that theirs was undone)."""
    auth = [k for k in ray_head.env if k.startswith("RAY_AUTH")]  # the mode and the token
    assert auth and not [k for k in auth if k in os.environ]
    cluster = request.getfixturevalue("ray_cluster")
    assert {k: os.environ.get(k) for k in cluster.env} == cluster.env
