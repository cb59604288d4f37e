"""Each run's environment: what it records (checked against the sources themselves: torch,
numpy, /proc/cpuinfo, git), where it is kept (the store, the checkpoint, `runs --json`,
Compare's table), and that runs and checkpoints from before it read "unknown"."""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

import lenet_core
from lenet_core import data
from lenet_core.cli import main
from lenet_core.cluster.worker import Placement, RemoteRun
from lenet_core.config import MODERN
from lenet_core.engine import TrainResult
from lenet_core.model import build_lenet
from lenet_core.runs import checkpoint, environment, runner
from lenet_core.runs.environment import UNKNOWN, Environment
from lenet_core.runs.store import RunStore
from lenet_core.show import tables

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
CONFIG = MODERN.replace(conv_channels=(4, 8), hidden=(16,))


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_this_process_environment_matches_each_source():
    env = environment.current()
    assert env.python == platform.python_version()
    assert env.torch == torch.__version__ and env.numpy == np.__version__
    import torchvision  # imported here only: the module reads the version without importing it
    assert env.torchvision == torchvision.__version__
    assert env.threads == str(torch.get_num_threads())
    assert env.lenet_lab == lenet_core.__version__
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        if names:
            assert env.device_name == names[0]
    assert env.device_name != UNKNOWN


def test_the_commit_is_the_checkouts_and_unknown_without_git(tmp_path, monkeypatch):
    if (ROOT / ".git").exists():
        assert environment.git_commit.__wrapped__(ROOT).split("+")[0] == \
            _git(ROOT, "rev-parse", "HEAD")
    # A checkout of its own: clean, then lenet_core changed ("+dirty"); other files do not count.
    repo = tmp_path / "repo"
    (repo / "lenet_core").mkdir(parents=True)
    (repo / "lenet_core" / "x.py").write_text("a = 1\n")
    (repo / "README.md").write_text("readme\n")
    _git(repo, "init", "-q")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    sha = _git(repo, "rev-parse", "HEAD")
    commit = environment.git_commit.__wrapped__
    assert commit(repo) == sha
    (repo / "README.md").write_text("changed\n")
    assert commit(repo) == sha
    (repo / "lenet_core" / "x.py").write_text("a = 2\n")
    assert commit(repo) == sha + "+dirty"
    # No git on the PATH, or no .git at all (an installed copy, a Ray worker's package).
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert commit(repo) == UNKNOWN
    monkeypatch.undo()
    shutil.rmtree(repo / ".git")
    assert commit(repo) == UNKNOWN


def test_values_from_a_file_are_kept_only_when_they_are_plain_text():
    env = Environment.from_dict({"torch": "2.14.1", "python": 3.11, "numpy": True,
                                 "threads": 4, "device_name": "x\x1b[31m", "evil": "y",
                                 "lenet_lab": "v" * 1000})
    assert (env.torch, env.python, env.numpy, env.threads, env.device_name) == \
        ("2.14.1", UNKNOWN, UNKNOWN, "4", UNKNOWN)
    assert len(env.lenet_lab) == 200 and not hasattr(env, "evil")
    for nothing in (None, "text", [1], {}):
        assert Environment.from_dict(nothing) == Environment() and not Environment().known
    assert Environment.from_json("{not json") == Environment()
    assert Environment.from_json(environment.current().to_json()) == environment.current()


def _recorded_run(store: RunStore, env: Environment) -> str:
    """A run that `runner.record` ends, as a trainer does, after its placement was set."""
    run_id = store.create(CONFIG, "recorded")
    store.claim(run_id, 1, max_running=None)
    store.set_placement(run_id, "node-1", 2, env)
    result = TrainResult("finished", "cpu", train_loss=0.5, train_acc=0.9, test_acc=0.89,
                         model=build_lenet(CONFIG))
    assert runner.record(store, run_id, CONFIG, result, data.class_names("mnist"), "cpu",
                         "test") == "finished"
    return run_id


def test_a_run_keeps_its_environment_in_the_store_the_checkpoint_and_runs_json(store, capsys):
    env = environment.current()
    run_id = _recorded_run(store, env)
    assert store.get(run_id).environment == env
    assert checkpoint.load_ref(run_id, store).environment == env
    assert main(["runs", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["environment"] == env.to_dict()
    # A placement without an environment (none known) keeps the one recorded.
    store.set_placement(run_id, "node-1", 2)
    assert store.get(run_id).environment == env


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("store-*")))
def test_old_runs_and_checkpoints_read_unknown(name, tmp_path, monkeypatch, capsys):
    shutil.copytree(FIXTURES / name / "runs", tmp_path / "runs")
    monkeypatch.setenv("LENET_RUNS", str(tmp_path / "runs"))
    store = RunStore(tmp_path / "runs")
    runs = store.list()
    assert runs and all(r.environment == Environment() for r in runs)
    assert main(["runs", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {v for r in listed for v in r["environment"].values()} == {UNKNOWN}
    for pt in (tmp_path / "runs").glob("*.pt"):
        assert checkpoint.load(pt).environment == Environment()
    assert checkpoint.load(FIXTURES / "default-mnist-42ae049.pt").environment == Environment()


def test_compare_rows_mark_environments_that_differ():
    here = environment.current()
    other = Environment(**{**here.to_dict(), "torch": "2.0.0"})
    rows = {r["Hyperparameter"]: r for r in tables.environment_diff(
        {"a": here, "b": other, "c": here})}
    assert rows["environment: torch"]["Differs"]
    assert (rows["environment: torch"]["a"], rows["environment: torch"]["b"]) == \
        (here.torch, "2.0.0")
    assert not any(r["Differs"] for k, r in rows.items() if k != "environment: torch")
    # An old run's "unknown" is not known to match.
    rows = tables.environment_diff({"new": here, "old": Environment()})
    assert all(r["Differs"] for r in rows)
    assert len(rows) == len(environment.FIELDS)


def test_compare_marks_the_environment_rows_of_runs_that_trained_apart(store):
    from streamlit.testing.v1 import AppTest

    from tests.support import add_run
    here = environment.current()
    for name, env in (("here", here), ("older torch", Environment(**{**here.to_dict(),
                                                                     "torch": "2.0.0"}))):
        store.set_placement(add_run(store, name=name), "node-1", 2, env)
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception, at.exception
    diff = at.dataframe[0].value
    assert set(diff.loc[diff["Differs"], "Hyperparameter"]) == {"environment: torch"}
    assert any("not known to have trained in the same environment" in c.value
               for c in at.caption)


def test_a_ray_worker_sends_its_environment_first_and_the_driver_adds_its_commit():
    threads = torch.get_num_threads()
    try:
        stream = RemoteRun().train(CONFIG.replace(device="cpu").to_dict(), 1)
        first = next(stream)
        stream.close()  # before training starts: the generator has not reached it
        assert isinstance(first, Placement)
        assert first.environment == environment.current()
        assert first.environment.threads == "1"  # the count the driver asked for
    finally:
        torch.set_num_threads(threads)
    from lenet_core.cluster.driver import _with_commit
    shipped = Environment(**{**first.environment.to_dict(), "git_commit": UNKNOWN})
    assert _with_commit(shipped).git_commit == environment.git_commit()
    assert _with_commit(first.environment) == first.environment


@pytest.mark.slow
def test_a_trained_run_records_the_environment_it_started_in(store, capsys):
    assert main(["train", "--preset", "modern", "--dataset", "mnist", "--device", "cpu",
                 "--epochs", "1", "--max-train-examples", "512", "--channels", "4", "8",
                 "--hidden", "16", "--json"]) == 0
    run_id = json.loads(capsys.readouterr().out.splitlines()[-1])["run_id"]
    env = environment.current()
    assert store.get(run_id).environment == env
    assert checkpoint.load_ref(run_id, store).environment == env
