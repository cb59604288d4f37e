"""The CLI as a user runs it: `python -m lenet_core ...` in a fresh process (usage errors and
help in-process, through the same `main`)."""

import json
import socket
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from lenet_core.bench.appserver import browser_missing
from lenet_core.cli import main

from .test_model import SEED_SHAPES


def cli(*args, env=None, check=True, timeout=600):
    proc = subprocess.run([sys.executable, "-m", "lenet_core", *args], capture_output=True,
                          text=True, env=env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


def test_summary_json_matches_the_seed():
    rows = json.loads(cli("summary", "--json").stdout)
    assert [(r["type"], r["output_shape"]) for r in rows] == SEED_SHAPES
    assert sum(r["params"] for r in rows) == 61_706
    assert set(rows[0]) == {"layer", "type", "output_shape", "params"}


@pytest.mark.parametrize("args", [
    ["summary", "--lr", "-1"],
    ["summary", "--activation", "swish"],
    ["train", "--epochs", "0"],
    ["train", "--bogus"],
    ["predict", "--checkpoint", "/nonexistent.pt", "x.png"],
    ["frobnicate"],
    [],
])
def test_bad_usage_is_one_line_and_exit_2(args, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and err.startswith("lenet_core: error:")


def test_bad_values_of_several_flags_are_named_together(capsys):
    assert main(["train", "--lr", "-1", "--epochs", "0"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "lr:" in err and "epochs:" in err


def test_help_everywhere(capsys):
    for cmd in ([], ["summary"], ["train"], ["runs"], ["data"], ["predict"], ["evaluate"],
                ["bench"]):
        with pytest.raises(SystemExit) as done:
            main([*cmd, "--help"])
        assert done.value.code == 0
        assert capsys.readouterr().out.startswith("usage:")


def test_data_shows_both_datasets_ready():
    out = cli("data").stdout
    assert "mnist" in out and "fashion-mnist" in out
    assert out.count("ready") == 2


@pytest.mark.slow
def test_train_modern_reaches_97_percent_on_mnist_in_one_epoch(tmp_path, monkeypatch):
    monkeypatch.setenv("LENET_RUNS", str(tmp_path / "runs"))
    proc = cli("train", "--preset", "modern", "--dataset", "mnist", "--epochs", "1", "--json")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == "finished"
    assert result["test_acc"] >= 0.97
    assert result["examples_per_sec"] > 0 and result["device"].startswith("cpu")
    assert set(result) >= {"run_id", "status", "train_loss", "train_acc", "test_acc",
                           "examples_per_sec", "device"}

    listed = json.loads(cli("runs", "--json").stdout)
    assert [r["id"] for r in listed] == [result["run_id"]]
    assert listed[0]["executor"] == "local" and listed[0]["node"] == socket.gethostname()
    assert listed[0]["threads"] >= 1

    # predict with that run on a real MNIST digit saved as a PNG (dark on light, as on paper).
    from lenet_core import data
    ds = data.load("mnist")
    paths = []
    for i in range(3):
        p = tmp_path / f"digit{i}.png"
        Image.fromarray(255 - ds.test_x[i].numpy()).resize((112, 112)).save(p)
        paths.append(str(p))
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((50, 50), 255, np.uint8)).save(blank)
    out = cli("predict", "--run", result["run_id"], *paths, str(blank)).stdout.splitlines()
    assert [line.split(": ")[1].split(" ")[0] for line in out[:3]] == ["7", "2", "1"]
    assert out[3].endswith("nothing drawn")


@pytest.mark.slow
def test_relu_at_lr_09_reports_divergence(tmp_path, monkeypatch):
    monkeypatch.setenv("LENET_RUNS", str(tmp_path / "runs"))
    proc = cli("train", "--activation", "relu", "--lr", "0.9", "--epochs", "1", "--normalize",
               "--json", check=False)
    assert proc.returncode == 1
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == "diverged" and result["diverged_step"] >= 1


def test_bench_names_a_timed_run_that_did_not_finish(monkeypatch, capsys):
    from lenet_core import bench
    from lenet_core.bench import watched
    from lenet_core.runs import runner

    def failing_start(config, name, store):
        run_id = store.create(config, name)
        store.finish(run_id, "failed", error="RuntimeError: out of memory")
        return run_id

    monkeypatch.setattr(watched, "cli_run", lambda config, runs: {"examples_per_sec": 1000.0})
    monkeypatch.setattr(runner, "start", failing_start)
    with pytest.raises(bench.BenchError,
                       match=r"the runner run \S+ ended failed: RuntimeError: out of memory"):
        bench.runner_vs_cli(256, repeats=1)
    monkeypatch.setattr(bench, "collect", lambda quick: bench.runner_vs_cli(256, repeats=1))
    assert main(["bench"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("lenet_core: error: bench: the runner run ") and err.count("\n") == 1


@pytest.mark.slow
def test_bench_quick_reports_every_figure(tmp_path, monkeypatch):
    # The machinery only: speed goals are judged by the full `bench`, never by a test.
    monkeypatch.setenv("LENET_RUNS", str(tmp_path / "runs"))
    # it ran past 600 s twice at a load average of about 6 on the 2-core machine
    report = json.loads(cli("bench", "--quick", "--json", timeout=1800).stdout)
    t = report["throughput"]
    assert t["seed_loop"]["examples_per_sec"] > 0 and t["engine"]["examples_per_sec"] > 0
    assert t["speedup"] == pytest.approx(t["engine"]["examples_per_sec"]
                                         / t["seed_loop"]["examples_per_sec"])
    assert report["time_to_accuracy"]["mnist_99"]["preset"] == "fast"
    assert report["draw_latency"]["median_ms"] > 0
    assert report["draw_network"]["median_ms"] > 0
    assert report["runner"]["runner_examples_per_sec"] > 0
    watched = report["watched"]
    if reason := browser_missing():  # said in the report, never silently left out
        assert watched == {"skipped": reason}
        assert report["goals"]["watched_vs_cli"]["skipped"] == reason
    else:
        arms = watched["arms"]
        assert set(arms) == {"cli", "dashboard"}
        assert watched["watched_vs_cli"] == pytest.approx(
            arms["dashboard"]["examples_per_sec"] / arms["cli"]["examples_per_sec"])
        assert arms["dashboard"]["cpu_s"]["worker"] > 0
        assert {"server", "browser", "others"} <= set(arms["dashboard"]["cpu_s"])
        assert arms["dashboard"]["watch_cost"]["browser"] > 0
    assert set(report["goals"]) >= {"engine_speedup", "epoch_speedup", "fashion_90_seconds",
                                    "mnist_99_seconds", "draw_latency_ms", "draw_network_ms",
                                    "runner_vs_cli",
                                    "watched_vs_cli", "speedrun_fashion_90_seconds",
                                    "speedrun_mnist_99_seconds"}
    assert report["time_to_accuracy"]["speedrun_mnist_99"]["preset"] == "speedrun"
    assert not list((tmp_path / "runs").glob("*.pt"))  # the bench leaves the user's runs alone
