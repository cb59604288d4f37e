"""Choosing where runs go: the local queue by default, a Ray cluster by address or RAY_ADDRESS;
a bad or unreachable address is one line, in seconds (no cluster needed for these)."""

import socket
import time

import pytest

from lenet_core.bench.appserver import free_port
from lenet_core.cli import main
from lenet_core.cluster.executor import AddressError, ClusterError, RayExecutor, parse_address
from lenet_core.config import MODERN
from lenet_core.launch import executor_for
from lenet_core.runs.runner import LocalExecutor


def test_no_address_is_the_local_queue(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert isinstance(executor_for(), LocalExecutor)
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    assert isinstance(executor_for(""), LocalExecutor)  # "this machine", whatever the env says


@pytest.mark.parametrize("text, expected", [
    ("10.0.0.5:6379", ("10.0.0.5", 6379)),
    ("head.example.org", ("head.example.org", 6379)),
    (" 127.0.0.1:40123 ", ("127.0.0.1", 40123)),
    ("[::1]:7000", ("::1", 7000)),
])
def test_addresses(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["host:port", "host:0", ":6379", "a b:1", "http://x/y:1",
                                  "ray://head:10001"])
def test_bad_addresses_say_what_to_give(text):
    with pytest.raises(AddressError, match="HOST:PORT"):
        parse_address(text)


def test_an_unreachable_address_fails_at_once(monkeypatch):
    port = free_port()  # nothing listens there
    t0 = time.monotonic()
    with pytest.raises(ClusterError, match=f"cannot reach a Ray cluster at 127.0.0.1:{port}"):
        RayExecutor(f"127.0.0.1:{port}")
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    with pytest.raises(ClusterError, match="connection refused"):
        executor_for()
    assert time.monotonic() - t0 < 5


def test_cli_train_on_an_unreachable_cluster_is_one_line(capsys, store):
    port = free_port()
    assert main(["train", "--epochs", "1", "--cluster", f"127.0.0.1:{port}"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (f"lenet_core: error: cannot reach a Ray cluster at 127.0.0.1:{port}: "
                           "connection refused")
    assert store.list() == []  # refused before any run was made
    assert main(["train", "--cluster", "ray://head:10001"]) == 2  # a usage error


@pytest.mark.slow  # starts a driver process
def test_a_listener_that_is_not_ray_times_out_with_a_clear_error(store):
    with socket.socket() as server:  # accepts connections and never answers
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"127.0.0.1:{server.getsockname()[1]}"
        executor = RayExecutor(address, connect_timeout=0.5)
        run_id = store.create(MODERN)
        with pytest.raises(ClusterError, match=f"no answer from the Ray cluster at {address}"):
            executor.launch([run_id], store)
    assert store.get(run_id).status == "failed"


def test_stopping_an_experiment_needs_no_cluster(store, monkeypatch, capsys):
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{free_port()}")  # down, or unreachable
    experiment_id = store.create_experiment("sweep", 1, {}, "ray")
    run_id = store.create(MODERN, "on the cluster", experiment_id=experiment_id, executor="ray")
    assert main(["experiment", "stop", experiment_id]) == 0
    assert capsys.readouterr().out.strip() == "asked 1 runs to stop"
    assert store.get(run_id).stop_requested
