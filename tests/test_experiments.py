"""Experiments: the shipped grids, honest verdicts on constructed numbers, and real runs."""

import dataclasses
import json

import pytest

from lenet_core import experiments
from lenet_core.cli import main
from lenet_core.config import D2L, MODERN, SPEEDRUN, TrainConfig
from lenet_core.experiments import verdicts
from lenet_core.experiments.catalog import EXPERIMENTS, MLP_LIKE_LENET, sweep
from lenet_core.model import summary
from lenet_core.runs import runner
from lenet_core.runs.executors import Executor
from tests.support import add_run, poll


class Recorder(Executor):
    """Queues nothing: it only records what it was asked to launch (grids are checked here;
    the real executors are exercised by the slow tests below)."""

    name = "local"

    def __init__(self):
        self.launched: list[str] = []

    def launch(self, run_ids, store):
        self.launched += run_ids


def _launch(store, name, **kw):
    rec = Recorder()
    experiment_id = experiments.launch(EXPERIMENTS[name], store, executor=rec, **kw)
    runs = store.runs_of(experiment_id)
    assert [r.id for r in runs] == rec.launched
    return experiment_id, runs


def _by_variant(runs, seed=0):
    return {r.variant: r.config for r in runs if r.config.seed == seed}


def test_every_grid_is_what_its_definition_says(store):
    for name, definition in EXPERIMENTS.items():
        experiment_id, runs = _launch(store, name)
        if definition.measure == "layer-sizes":
            assert runs == []
            continue
        assert len(runs) == len(definition.variants) * definition.seeds, name
        assert sorted({r.config.seed for r in runs}) == list(range(definition.seeds))
        for variant in definition.variants:
            config = _by_variant(runs)[variant.label]
            for field, value in variant.changes.items():
                if field != "epochs" or not definition.equal_budget:
                    assert getattr(config, field) == value, (name, variant.label, field)
        assert all(r.experiment_id == experiment_id and r.status == "queued" for r in runs)


def test_the_qa_grids_ask_the_seeds_questions(store):
    act = _by_variant(_launch(store, "qa-activation")[1])
    assert {(c.activation, c.lr) for c in act.values()} == {("sigmoid", 0.9), ("relu", 0.9),
                                                          ("relu", 0.1)}
    assert all(not c.normalize and c.dataset == "fashion-mnist" for c in act.values())  # book
    pool = _by_variant(_launch(store, "qa-pooling")[1])
    assert {(c.pooling, c.activation) for c in pool.values()} == {
        ("avg", "sigmoid"), ("max", "sigmoid"), ("avg", "relu"), ("max", "relu")}
    chans = _by_variant(_launch(store, "qa-channels")[1])
    assert {c.conv_channels for c in chans.values()} == {(6, 16), (5, 15), (12, 32)}
    mlp = TrainConfig(**MLP_LIKE_LENET)
    lenet_params = sum(r.params for r in summary(D2L))
    assert abs(sum(r.params for r in summary(mlp)) - lenet_params) / lenet_params < 0.01
    size = _by_variant(_launch(store, "qa-data-size")[1])
    # Every run sees 2 epochs of 60k examples' worth, however small its set.
    assert {(c.arch, c.max_train_examples, c.epochs) for c in size.values()} == {
        (arch, n, 120_000 // n) for arch in ("lenet", "mlp") for n in (1000, 5000, 20000, 60000)}


def test_the_speed_ladder_adds_one_trick_per_step(store):
    ladder = [r.config for r in _launch(store, "speed-ladder")[1] if r.config.seed == 0]
    mnist = [c for c in ladder if c.dataset == "mnist"]
    assert mnist[0].data_loader == "torchvision" and mnist[0].compile == "off"
    assert mnist[-1].replace(stop_at=None) == SPEEDRUN.replace(compile="on")  # the last rung
    assert all(c.stop_at == 0.99 for c in mnist)
    changed = [{f for f in D2L.__dataclass_fields__ if getattr(a, f) != getattr(b, f)}
               for a, b in zip(mnist, mnist[1:], strict=False)]
    assert all(changed), "every step changes something"


def test_launching_again_adds_seeds(store):
    experiment_id, runs = _launch(store, "qa-channels", seeds=1)
    assert {r.config.seed for r in runs} == {0}
    experiments.add_seeds(experiment_id, store, 2, Recorder())
    seeds = sorted(r.config.seed for r in store.runs_of(experiment_id))
    assert seeds == [0, 0, 0, 1, 1, 1, 2, 2, 2]


def _arm(store, label, accs, **kw):
    runs = [store.get(add_run(store, name=label, acc=a + 0.01, checkpoint_file=False, **kw))
            for a in accs]
    return verdicts.summarize(verdicts.Arm(label, {}, runs))


def test_a_clear_difference_is_called_clear(store):
    a = _arm(store, "A", [0.90, 0.91, 0.92])
    b = _arm(store, "B", [0.80, 0.81, 0.82])
    text = verdicts.accuracy_verdict([b, a])
    assert text.startswith("A reaches the highest test accuracy, 91.0 ± 1.0 %, clearly above B")
    assert verdicts.compare(a.stats["test_acc"], b.stats["test_acc"]) == "higher"


def test_a_difference_within_the_spread_is_no_clear_difference(store):
    a = _arm(store, "A", [0.85, 0.90, 0.95])  # 90 ± 5
    b = _arm(store, "B", [0.84, 0.87, 0.90])  # 87 ± 3: the gap (3) is within 5 + 3
    text = verdicts.accuracy_verdict([a, b])
    assert "no clear difference" in text and "clearly" not in text


def test_one_seed_never_says_better(store):
    a = _arm(store, "A", [0.95])
    b = _arm(store, "B", [0.50])
    text = verdicts.accuracy_verdict([a, b])
    assert "no verdict yet" in text and "highest" not in text and "clearly" not in text
    assert verdicts.compare(a.stats["test_acc"], b.stats["test_acc"]) == "too few seeds"


def test_what_happened_is_named(store):
    dead = _arm(store, "ReLU, lr 0.9", [0.09, 0.09], config=D2L.replace(activation="relu"))
    boom = verdicts.summarize(verdicts.Arm("boom", {}, [store.get(add_run(
        store, status="diverged", diverged_step=30, checkpoint_file=False)) for _ in range(2)]))
    ok = _arm(store, "ReLU, lr 0.1", [0.88, 0.89])
    text = verdicts.accuracy_verdict([dead, boom, ok])
    assert "ReLU, lr 0.9 does not learn: it ended at chance accuracy (9.0 ± 0.0 %, its ReLUs " \
           "dead) in 2 of 2 seeds." in text
    assert "boom does not learn: it diverged in 2 of 2 seeds (first non-finite loss at step " \
           "30)" in text


def test_info_amplified_is_answered_from_the_layer_table(store):
    experiment_id, _ = _launch(store, "qa-info-amplified")
    report = experiments.report(experiment_id, store)
    values = {r["layer"]: r["values"] for r in report["layers"]}
    assert values["input"] == 784 and values["conv1"] == 6 * 28 * 28
    assert values["conv2"] == 16 * 10 * 10
    assert "2.9x fewer values" in report["verdict"] and "not amplified" in report["verdict"]


def test_cli_list_and_bad_names(store, capsys):  # the store fixture: never ./runs
    assert main(["experiment", "list", "--json"]) == 0
    names = [e["name"] for e in json.loads(capsys.readouterr().out)]
    assert names == list(EXPERIMENTS)
    for argv in (["experiment", "run", "nope"], ["experiment", "show", "nope"],
                 ["experiment", "run", "qa-activation", "--seeds", "0"],
                 ["experiment", "sweep", "--grid", "lr=0.1,abc", "--grid", "colour=red"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and err.startswith("lenet_core: error:")


def test_a_sweep_is_every_combination(store):
    fields = experiments.parse_grid(["lr=0.01,0.1", "activation=sigmoid,relu", "channels=6/16,12/32"])
    assert fields == {"lr": (0.01, 0.1), "activation": ("sigmoid", "relu"),
                      "conv_channels": ((6, 16), (12, 32))}
    definition = sweep(fields, MODERN, epochs=1)
    assert len(definition.variants) == 8
    assert definition.variants[0].label == "lr=0.01, activation=sigmoid, conv_channels=6/16"


@pytest.mark.slow
def test_qa_activation_end_to_end_on_capped_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LENET_RUNS", str(tmp_path / "runs"))
    assert main(["experiment", "run", "qa-activation", "--epochs", "2", "--seeds", "1",
                 "--max-train-examples", "8192", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(report) >= {"experiment", "id", "verdict", "runs", "table"}
    runs = {r["variant"]: r for r in report["runs"]}
    dead = runs["ReLU, lr 0.9"]
    assert dead["status"] == "diverged" or dead["test_acc"] < 0.2  # does not learn
    assert runs["ReLU, lr 0.1"]["status"] == "finished" and runs["ReLU, lr 0.1"]["test_acc"] > 0.3
    assert "ReLU, lr 0.9 does not learn" in report["verdict"]
    assert set(report["runs"][0]) >= {"run_id", "status", "config", "test_acc", "train_acc",
                                      "train_loss", "examples_per_sec", "train_time"}


@pytest.mark.slow
def test_stop_stops_every_run_of_an_experiment(store):
    experiment_id = experiments.launch(EXPERIMENTS["qa-channels"], store, epochs=50, seeds=1,
                                       max_train_examples=2048)
    first = store.runs_of(experiment_id)[0].id
    poll(lambda: store.metrics(first), 120, "the first run to train in its worker process")
    assert experiments.stop(experiment_id, store) == 3
    for run in store.runs_of(experiment_id):
        assert runner.wait(run.id, store, timeout=60).status == "stopped"


def _timed(store, label, seconds, series="MNIST"):
    """A speed-ladder step whose runs reached their 99 % target in these seconds."""
    config = D2L.replace(dataset="mnist", stop_at=0.99)
    runs = [dataclasses.replace(store.get(add_run(store, config, label, acc=0.99,
                                                  checkpoint_file=False)),
                                test_acc=0.992, train_time=t) for t in seconds]
    return verdicts.summarize(verdicts.Arm(label, {}, runs, series=series))


def test_the_fastest_step_is_only_called_ahead_when_the_spread_allows(store):
    slow = _timed(store, "slow", [20.0, 21.0, 22.0])
    fast = _timed(store, "fast", [4.2, 4.7, 5.2])  # 4.7 ± 0.5
    close = _timed(store, "close", [4.5, 5.0, 5.5])  # 5.0 ± 0.5: within the spread
    text = verdicts.time_verdict([slow, fast, close])
    assert "Fastest: fast, 4.7 ± 0.5 s; no clear difference from close." in text
    assert "slow" not in text.split("Fastest")[1]
    alone = verdicts.time_verdict([slow, fast])
    assert "Fastest: fast, 4.7 ± 0.5 s, clearly ahead of every other step." in alone
