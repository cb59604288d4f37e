"""A re-run longer than one sitting resumes: what ended is kept, what a dead process left is
trained again from scratch, the parts' wall times add up, and a re-run already going on in
another process is not joined by a second one."""

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time

import pytest

from lenet_core.cli import main
from lenet_core.experiments import rerun, results_doc
from lenet_core.runs import procs
from lenet_core.runs.executors import Executor, LocalExecutor
from lenet_core.runs.store import RunStore
from tests.support import fill_run

SMALL = {"epochs": 1, "seeds": 2, "max_train_examples": 512}


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


class Sitting(Executor):
    """Trains nothing: `finish` runs end at once with a made-up accuracy, and the process of
    the others dies (they read as interrupted), as when a session ends mid-experiment."""

    name = "local"

    def __init__(self, finish: int | None = None):
        self.finish, self.launched = finish, []

    def launch(self, run_ids, store):
        self.launched += run_ids
        dead = _dead_pid()
        for k, run_id in enumerate(run_ids):
            if self.finish is None or k < self.finish:
                fill_run(store, run_id, acc=0.85 + 0.01 * k, checkpoint_file=False)
            else:
                store.set_pid(run_id, dead)


def _runs(store, experiment_id):
    return [(r.variant, r.config.seed, r.status) for r in store.runs_of(experiment_id)]


def test_an_interrupted_rerun_resumes_keeping_what_ended_and_retraining_the_rest(store,
                                                                                monkeypatch):
    monkeypatch.setattr(rerun, "load_average", lambda: 0.5)
    rerun.run_one("qa-mlp-vs-cnn", store, overrides=SMALL, executor=Sitting(finish=1))
    progress = json.loads(rerun.progress_path(store, "qa-mlp-vs-cnn").read_text())
    (experiment_id,) = [e.id for e in store.experiments("qa-mlp-vs-cnn")]
    assert progress["experiment_id"] == experiment_id and len(progress["parts"]) == 1
    before = _runs(store, experiment_id)
    assert [s for _, _, s in before] == ["finished"] + ["interrupted"] * 3
    kept = store.runs_of(experiment_id)[0]
    # as a sitting of 10 minutes at load 1-3 would have left it
    progress["parts"][0].update(seconds=600.0, loads=[1.0, 3.0, 2.0])
    rerun.progress_path(store, "qa-mlp-vs-cnn").write_text(json.dumps(progress))

    lines, second = [], Sitting()
    result = rerun.run_one("qa-mlp-vs-cnn", store, say=lines.append, overrides=SMALL,
                           executor=second)
    assert [e.id for e in store.experiments("qa-mlp-vs-cnn")] == [experiment_id]
    runs = store.runs_of(experiment_id)
    assert runs[0].id == kept.id and runs[0].test_acc == kept.test_acc  # not trained again
    assert len(second.launched) == 3 and kept.id not in second.launched
    # the retrained runs are the interrupted ones' variants and seeds, in their order
    assert _runs(store, experiment_id) == [(v, s, "finished") for v, s, _ in before]
    assert result["settings"]["runs"] == 4
    assert result["ran"]["parts"] == 2
    parts = json.loads(rerun.progress_path(store, "qa-mlp-vs-cnn").read_text())["parts"]
    assert result["ran"]["seconds"] == pytest.approx(600.0 + parts[1]["seconds"], abs=0.1)
    assert (result["ran"]["load_before"], result["ran"]["load_max"]) == (1.0, 3.0)
    assert lines[0] == (f"qa-mlp-vs-cnn: resuming {experiment_id} (part 2): 1 of 4 runs "
                        "ended, 3 interrupted runs queued again")
    assert "over 2 parts" in lines[-1]


def test_other_overrides_start_a_fresh_launch_and_a_written_result_ends_the_rerun(store,
                                                                                  tmp_path):
    rerun.run_one("qa-mlp-vs-cnn", store, overrides=SMALL, executor=Sitting(finish=1))
    three = {**SMALL, "seeds": 3}
    rerun.run_one("qa-mlp-vs-cnn", store, overrides=three, executor=Sitting())
    assert len(store.experiments("qa-mlp-vs-cnn")) == 2
    # the second launch had ended: rerun() reports it without training, writes the result
    # and forgets the progress, so the next rerun starts afresh
    rerun.rerun(["qa-mlp-vs-cnn"], store, tmp_path / "results", overrides=three)
    assert len(store.experiments("qa-mlp-vs-cnn")) == 2
    assert json.loads((tmp_path / "results" / "qa-mlp-vs-cnn.json").read_text())["ran"][
        "parts"] == 2
    assert not rerun.progress_path(store, "qa-mlp-vs-cnn").exists()


def test_a_resumed_rerun_says_its_parts_beside_its_time(store, tmp_path):
    rerun.run_one("qa-mlp-vs-cnn", store, overrides=SMALL, executor=Sitting(finish=2))
    result = rerun.run_one("qa-mlp-vs-cnn", store, overrides=SMALL, executor=Sitting())
    (tmp_path / "qa-mlp-vs-cnn.json").write_text(json.dumps(result))
    text = results_doc.render(results_doc.load(tmp_path), "# Intro\n")
    minutes = f"{result['ran']['seconds'] / 60:.1f}"
    assert f"| `qa-mlp-vs-cnn` | 4 | {minutes} min in 2 parts |" in text


def test_a_second_rerun_of_one_going_on_is_refused(store, monkeypatch, capsys):
    rerun.run_one("qa-mlp-vs-cnn", store, overrides={"seeds": 2}, executor=Sitting(finish=1))
    path = rerun.progress_path(store, "qa-mlp-vs-cnn")
    progress = json.loads(path.read_text())

    def no_launch(*_):
        raise AssertionError("a second re-run launched runs")

    monkeypatch.setattr(LocalExecutor, "launch", no_launch)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        path.write_text(json.dumps({**progress, "pid": sleeper.pid, "since": time.time()}))
        with pytest.raises(rerun.Busy):
            rerun.run_one("qa-mlp-vs-cnn", store, overrides={"seeds": 2}, executor=Sitting())
        assert main(["experiment", "rerun", "qa-mlp-vs-cnn", "--seeds", "2"]) == 2
        assert [s for _, _, s in _runs(store, progress["experiment_id"])] == \
            ["finished"] + ["interrupted"] * 3
        # a process that took the number over after the re-run began is not the re-run
        path.write_text(json.dumps({**progress, "pid": sleeper.pid,
                                    "since": time.time() - 3600}))
        rerun.run_one("qa-mlp-vs-cnn", store, overrides={"seeds": 2}, executor=Sitting())
    finally:
        sleeper.kill()
        sleeper.wait()
    err = capsys.readouterr().err
    assert f"a re-run of qa-mlp-vs-cnn is already going on in this store (process " \
           f"{sleeper.pid})" in err


def _first_sitting(root: str) -> None:
    rerun.run_one("qa-mlp-vs-cnn", RunStore(root), overrides=SMALL, say=lambda _: None)


@pytest.mark.slow
def test_a_rerun_killed_with_its_runner_resumes_and_completes(store, tmp_path):
    """Real runs: the first sitting's process and its runner are killed once one run has
    finished; a second sitting trains the rest and writes the result."""
    child = multiprocessing.get_context("spawn").Process(target=_first_sitting,
                                                          args=(str(store.root),))
    child.start()
    try:
        path = rerun.progress_path(store, "qa-mlp-vs-cnn")
        while not (path.exists() and any(
                r.status == "finished"
                for r in store.runs_of(json.loads(path.read_text())["experiment_id"]))):
            assert child.is_alive(), "the first sitting ended before any run finished"
            child.join(0.5)
    finally:
        child.kill()
        child.join()
    experiment_id = json.loads(path.read_text())["experiment_id"]
    runners = {r.pid for r in store.runs_of(experiment_id) if r.active and r.pid}
    for pid in runners:
        os.killpg(pid, signal.SIGKILL)  # the runner leads its own session
    deadline = time.monotonic() + 30
    while any(procs.alive(pid) for pid in runners):  # the kill takes effect
        assert time.monotonic() < deadline, "the runner outlived SIGKILL"
        time.sleep(0.05)
    statuses = sorted(r.status for r in store.runs_of(experiment_id))
    assert "finished" in statuses and "interrupted" in statuses

    lines = []
    document = rerun.rerun(["qa-mlp-vs-cnn"], store, tmp_path / "results", overrides=SMALL,
                           say=lines.append)
    ended = sum(s == "finished" for s in statuses)
    # a line as each retrained run ends, counting on from the runs kept
    assert [line.split("]")[0] for line in lines if line.startswith("[")] == \
        [f"[{k}/4" for k in range(ended + 1, 5)]
    assert all(": finished, test acc " in line for line in lines if line.startswith("["))
    result = json.loads((tmp_path / "results" / "qa-mlp-vs-cnn.json").read_text())
    assert [s for _, _, s in _runs(store, experiment_id)] == ["finished"] * 4
    assert result["settings"]["runs"] == 4
    assert result["ran"]["parts"] == 2 and result["ran"]["seconds"] > 0
    assert not rerun.progress_path(store, "qa-mlp-vs-cnn").exists()
    assert "min in 2 parts |" in document.read_text()


def test_parallel_workers_take_the_runs_in_turn_each_on_its_share_of_threads(store,
                                                                             monkeypatch):
    from lenet_core.runs import executors
    spawned = []
    monkeypatch.setattr(executors, "spawn_runs",
                        lambda module, ids, store, *args: spawned.append((ids, args)))
    LocalExecutor(2, workers=2, threads=1).launch(["a", "b", "c", "d", "e"], store)
    assert spawned == [(["a", "c", "e"], ("--max-running", "2", "--threads", "1")),
                       (["b", "d"], ("--max-running", "2", "--threads", "1"))]
    spawned.clear()
    LocalExecutor().launch(["a", "b"], store)  # the default: one worker, torch's threads
    assert spawned == [(["a", "b"], ("--max-running", "1"))]
    with pytest.raises(ValueError):
        LocalExecutor(1, workers=2)  # more workers than slots would leave one idle


def test_a_timed_experiment_trains_one_run_at_a_time_whatever_parallel_says():
    assert rerun.side_by_side("qa-mlp-vs-cnn", 2, None) == 2
    assert rerun.side_by_side("speed-ladder", 2, None) == 1  # timed by definition
    assert rerun.side_by_side("qa-mlp-vs-cnn", 2, True) == 1  # timed for this re-run
    assert rerun.local_executor(2).max_running == 2
    assert rerun.local_executor(1).workers == 1
    with pytest.raises(ValueError):
        rerun.side_by_side("qa-mlp-vs-cnn", 0, None)


def test_runs_trained_side_by_side_are_said_beside_the_time(store, tmp_path):
    rerun.run_one("qa-mlp-vs-cnn", store, overrides=SMALL, executor=Sitting(finish=2))
    result = rerun.run_one("qa-mlp-vs-cnn", store, overrides=SMALL, executor=Sitting(),
                           parallel=2)
    assert result["ran"]["at_a_time"] == [1, 2]
    (tmp_path / "qa-mlp-vs-cnn.json").write_text(json.dumps(result))
    text = results_doc.render(results_doc.load(tmp_path), "# Intro\n")
    assert " min in 2 parts, up to 2 runs at a time |" in text
    one = rerun.run_one("qa-mlp-vs-cnn", store, overrides={**SMALL, "seeds": 1},
                        executor=Sitting())
    assert "at_a_time" not in one["ran"]


def test_the_cli_refuses_parallel_runs_that_are_timed_or_fewer_than_one(capsys):
    assert main(["experiment", "rerun", "qa-mlp-vs-cnn", "--parallel", "2", "--timed"]) == 2
    assert "--timed trains one run at a time" in capsys.readouterr().err
    assert main(["experiment", "rerun", "qa-mlp-vs-cnn", "--parallel", "0"]) == 2
    assert "--parallel must be 1 or more, got 0" in capsys.readouterr().err


@pytest.mark.slow
def test_a_parallel_rerun_trains_two_runs_at_once_in_two_workers(store, tmp_path):
    """Real runs, two at a time: each run on half the cores, and the runs' training overlaps,
    which one worker training its runs in turn cannot do (the queue keeps their order, so a
    worker whose next run is not first in line waits for the other's to start)."""
    rerun.rerun(["qa-mlp-vs-cnn"], store, tmp_path / "results", overrides=SMALL,
                say=lambda _: None, parallel=2)
    [experiment] = store.experiments("qa-mlp-vs-cnn")
    runs = store.runs_of(experiment.id)
    assert [r.status for r in runs] == ["finished"] * 4
    assert {r.threads for r in runs} == {max(1, (os.cpu_count() or 1) // 2)}
    spans = sorted((r.started_at, r.finished_at) for r in runs)
    assert any(b_start < a_end
               for (_, a_end), (b_start, _) in zip(spans, spans[1:], strict=False))
    result = json.loads((tmp_path / "results" / "qa-mlp-vs-cnn.json").read_text())
    assert result["ran"]["at_a_time"] == [2]


def test_a_rerun_carried_in_the_results_folder_resumes_on_a_fresh_machine(tmp_path,
                                                                          monkeypatch):
    """The store it began in is gone (a fresh checkout): the runs that ended come back from
    docs/results/partial/ as they ended, only the others train, and the sittings add up."""
    monkeypatch.setattr(rerun, "load_average", lambda: 0.5)
    folder = tmp_path / "results"
    first = RunStore(tmp_path / "first machine")
    rerun.run_one("qa-mlp-vs-cnn", first, overrides=SMALL, executor=Sitting(finish=3),
                  folder=folder)
    (old,) = first.experiments("qa-mlp-vs-cnn")
    ended = [r for r in first.runs_of(old.id) if r.status == "finished"]
    carried_file = folder / "partial" / "qa-mlp-vs-cnn.json"
    saved = json.loads(carried_file.read_text())
    assert len(saved["runs"]) == 3 and saved["planned"] == 4 and len(saved["parts"]) == 1
    assert "points" not in saved["runs"][0]  # an accuracy measure reads the finals only
    # while it is under way the document names it with its progress, and claims nothing
    (folder / "qa-pooling.json").write_text((results_doc.RESULTS / "qa-pooling.json").read_text())
    text = results_doc.rendered(folder, _intro(tmp_path))
    assert "`qa-mlp-vs-cnn`: MLP or CNN?" not in text and "| MLP or CNN?" not in text
    assert "`qa-mlp-vs-cnn` (re-run under way: 3 of 4 runs ended, kept in " \
           "docs/results/partial/)" in text
    saved["parts"][0].update(seconds=600.0, loads=[1.0, 3.0])  # as a 10-minute sitting
    carried_file.write_text(json.dumps(saved))

    fresh, second, lines = RunStore(tmp_path / "second machine"), Sitting(), []
    result = rerun.run_one("qa-mlp-vs-cnn", fresh, overrides=SMALL, executor=second,
                           folder=folder, say=lines.append)
    (new,) = fresh.experiments("qa-mlp-vs-cnn")
    assert new.spec == old.spec
    # the one run that had not ended is queued, and only it; the others come back as they
    # ended, with their configs
    (retrained,) = second.launched
    runs = fresh.runs_of(new.id)
    assert {(r.variant, r.config, r.status, r.test_acc, r.train_acc, r.train_loss)
            for r in runs if r.id != retrained} == \
        {(r.variant, r.config, r.status, r.test_acc, r.train_acc, r.train_loss) for r in ended}
    assert sorted((r.variant, r.config.seed) for r in runs) == \
        sorted((r.variant, r.config.seed) for r in first.runs_of(old.id))
    assert result["ran"]["parts"] == 2 and result["ran"]["seconds"] >= 600.0
    assert (result["ran"]["load_before"], result["ran"]["load_max"]) == (1.0, 3.0)
    assert result["settings"]["runs"] == 4
    assert lines[0] == ("qa-mlp-vs-cnn: resuming the re-run carried in "
                        f"{carried_file} (part 2): 3 of 4 runs kept, 1 queued")


def _intro(tmp_path):
    intro = tmp_path / "INTRO.md"
    intro.write_text("# Intro\n")
    return intro


def test_a_finished_carried_rerun_writes_its_result_and_forgets_what_it_carried(tmp_path,
                                                                             monkeypatch):
    folder = tmp_path / "results"
    rerun.run_one("qa-mlp-vs-cnn", RunStore(tmp_path / "a"), overrides=SMALL,
                  executor=Sitting(finish=2), folder=folder)
    monkeypatch.setattr(rerun, "local_executor", lambda _: Sitting())
    rerun.rerun(["qa-mlp-vs-cnn"], RunStore(tmp_path / "b"), folder, overrides=SMALL)
    assert json.loads((folder / "qa-mlp-vs-cnn.json").read_text())["settings"]["runs"] == 4
    assert not (folder / "partial" / "qa-mlp-vs-cnn.json").exists()
    assert "re-run under way" not in (tmp_path / "EXPERIMENTS.md").read_text()


def test_a_carried_rerun_with_other_overrides_is_not_resumed_and_curves_travel(tmp_path):
    folder = tmp_path / "results"
    small_overfit = {"epochs": 2, "seeds": 2, "max_train_examples": 256}
    first = RunStore(tmp_path / "a")
    rerun.run_one("qa-channels", first, overrides=small_overfit, executor=Sitting(finish=3),
                  folder=folder)
    (old,) = first.experiments("qa-channels")
    # an overfitting measure reads the curves: they travel with the runs, point for point
    fresh = RunStore(tmp_path / "b")
    rerun.run_one("qa-channels", fresh, overrides=small_overfit, executor=Sitting(),
                  folder=folder)
    (new,) = fresh.experiments("qa-channels")
    curves = {(r.variant, r.config.seed): first.metrics(r.id) for r in first.runs_of(old.id)
              if r.status == "finished"}
    assert len(curves) == 3
    assert all(fresh.metrics(r.id) == curves[(r.variant, r.config.seed)]
               for r in fresh.runs_of(new.id) if (r.variant, r.config.seed) in curves)
    # other overrides: a fresh launch, every run queued (and the carried file is now its)
    other, third = RunStore(tmp_path / "c"), Sitting(finish=0)
    rerun.run_one("qa-channels", other, overrides={**small_overfit, "seeds": 3},
                  executor=third, folder=folder)
    (launched,) = other.experiments("qa-channels")
    assert len(third.launched) == len(other.runs_of(launched.id)) == 3 * len(old.spec[
        "variants"])
    assert json.loads((folder / "partial" / "qa-channels.json").read_text())["overrides"][
        "seeds"] == 3


def test_an_experiment_whose_verdict_reads_diagnostics_is_not_carried(store, tmp_path):
    rerun.run_one("qa-activation", store, overrides=SMALL, executor=Sitting(finish=1),
                  folder=tmp_path)
    assert not (tmp_path / "partial" / "qa-activation.json").exists()
