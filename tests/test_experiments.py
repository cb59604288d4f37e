"""Experiments: the shipped grids, honest verdicts on constructed numbers, and real runs."""

import json

import pytest

from lenet_core import experiments, stats
from lenet_core.cli import main
from lenet_core.config import D2L, MODERN, SPEEDRUN, TrainConfig
from lenet_core.experiments import launching, verdicts
from lenet_core.experiments.catalog import EXPERIMENTS, MLP_LIKE_LENET, sweep
from lenet_core.model import summary
from lenet_core.runs import runner
from lenet_core.runs.executors import Executor
from tests.support import poll


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
    # Every run sees 2 epochs of 60k examples' worth, however small its set: LeNet from scratch,
    # LeNet from the shipped MNIST model, and logistic regression (no hidden layer).
    assert {(c.arch, c.init_from, c.hidden, c.max_train_examples, c.epochs)
            for c in size.values()} == {
        (arch, start, hidden, n, 120_000 // n) for arch, start, hidden in (
            ("lenet", "scratch", (120, 84)), ("lenet", "default", (120, 84)), ("mlp", "scratch", ()))
        for n in (1000, 5000, 20000, 60000)}


def test_the_speed_ladder_adds_one_trick_per_step(store):
    ladder = [r.config for r in _launch(store, "speed-ladder")[1] if r.config.seed == 0]
    mnist = [c for c in ladder if c.dataset == "mnist"]
    assert mnist[0].data_loader == "torchvision" and mnist[0].compile == "off"
    assert mnist[-1].replace(stop_at=None) == SPEEDRUN.replace(compile="on")  # the last rung
    assert all(c.stop_at == 0.99 for c in mnist)
    changed = [{f for f in D2L.__dataclass_fields__ if getattr(a, f) != getattr(b, f)}
               for a, b in zip(mnist, mnist[1:], strict=False)]
    assert all(changed), "every step changes something"


def test_every_declared_comparison_names_two_of_its_variants():
    for name, definition in EXPERIMENTS.items():
        labels = {v.label for v in definition.variants}
        for a, b in definition.comparisons():
            assert a in labels and b in labels and a != b, (name, a, b)


def test_every_default_seed_count_resolves_what_its_plan_asks():
    for name, definition in EXPERIMENTS.items():
        plan = definition.plan
        if definition.measure in experiments.COMPUTED:
            assert plan is None and definition.seeds == 0, name
            continue
        assert definition.seeds == stats.seeds_needed(plan.effect, plan.pilot_sd,
                                                      plan.comparisons), name
        assert plan.comparisons == len(definition.comparisons()) * len(
            [q for q in experiments.QUANTITIES[definition.measure]
             if definition.timed or not verdicts.QUANTITIES[q].timing]), name


def test_only_a_local_launch_is_timed_side_by_side(store):
    class Cluster(Recorder):
        name = "ray"
    ladder = EXPERIMENTS["speed-ladder"]
    on_cluster = experiments.launch(ladder, store, seeds=1, executor=Cluster())
    here = experiments.launch(ladder, store, seeds=1, executor=Recorder())
    assert store.experiment(on_cluster).spec["timed"] is False
    assert store.experiment(here).spec["timed"] is True


def test_launching_again_adds_seeds(store):
    experiment_id, runs = _launch(store, "qa-channels", seeds=1)
    assert {r.config.seed for r in runs} == {0}
    experiments.add_seeds(experiment_id, store, 2, Recorder())
    seeds = sorted(r.config.seed for r in store.runs_of(experiment_id))
    assert seeds == [0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_info_amplified_is_answered_from_the_layer_table(store):
    experiment_id, _ = _launch(store, "qa-info-amplified")
    report = experiments.report(experiment_id, store)
    values = {r["layer"]: r["values"] for r in report["layers"]}
    assert values["input"] == 784 and values["conv1"] == 6 * 28 * 28
    assert values["conv2"] == 16 * 10 * 10
    assert "2.9x fewer values" in report["verdict"] and "not amplified" in report["verdict"]


def test_a_seed_grid_offsets_each_variants_replicas(store):
    definition = sweep(experiments.parse_grid(["seed=0,100"]), D2L, epochs=1)
    experiment_id = experiments.launch(definition, store, seeds=3, executor=Recorder())
    seeds = {v: sorted(r.config.seed for r in store.runs_of(experiment_id) if r.variant == v)
             for v in ("seed=0", "seed=100")}
    assert seeds == {"seed=0": [0, 1, 2], "seed=100": [100, 101, 102]}
    experiments.add_seeds(experiment_id, store, 1, Recorder())
    assert sorted(r.config.seed for r in store.runs_of(experiment_id)) == [0, 1, 2, 3, 100, 101,
                                                                          102, 103]


def test_a_sweep_takes_trains_config_flags(store, monkeypatch, capsys):
    launched, real = {}, experiments.launch

    def launch(definition, store, **kw):
        launched.update(definition=definition, **kw)
        return real(definition, store, **{**kw, "executor": Recorder()})
    monkeypatch.setattr(launching, "launch", launch)  # what the CLI calls
    monkeypatch.setattr("lenet_core.cli.experiment._wait", lambda *a: None)
    assert main(["experiment", "sweep", "--grid", "lr=0.01,0.1", "--dataset", "mnist",
                 "--epochs", "2", "--max-train-examples", "512", "--channels", "8", "16",
                 "--seeds", "2", "--json"]) == 0
    base = launched["definition"].base
    assert (base.dataset, base.epochs, base.max_train_examples, base.conv_channels) == (
        "mnist", 2, 512, (8, 16))
    report = json.loads(capsys.readouterr().out)
    assert {(r["config"]["lr"], r["config"]["dataset"], r["config"]["epochs"])
            for r in report["runs"]} == {(0.01, "mnist", 2), (0.1, "mnist", 2)}
    assert main(["experiment", "sweep", "--grid", "lr=0.1", "--epochs", "0"]) == 2


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
    assert "ReLU, lr 0.9 learned in 0 of 1 seeds" in report["verdict"]
    # the why, measured by the diagnostics stored with each run
    why = report["verdict"].split("Why, from the per-layer diagnostics: ", 1)[1]
    assert why.startswith("sigmoid, lr 0.9: the gradient norm shrinks from the last layer")
    assert "at conv1 than at fc3" in why
    assert "ReLU, lr 0.9: " in why and "ReLU, lr 0.1: " in why
    assert why.count("of its ReLU units dead at the end") + why.count("non-finite") >= 2
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


@pytest.mark.slow
def test_a_real_aa_sweep_calls_no_difference(tmp_path, monkeypatch, capsys):
    # Two variants that differ only in their seed range: whatever the interval says, it may
    # not say higher or lower.
    monkeypatch.setenv("LENET_RUNS", str(tmp_path / "runs"))
    assert main(["experiment", "sweep", "--grid", "seed=0,100", "--seeds", "3", "--preset",
                 "modern", "--epochs", "1", "--max-train-examples", "1024", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert sorted(r["config"]["seed"] for r in report["runs"]) == [0, 1, 2, 100, 101, 102]
    (c,) = report["comparisons"]
    assert (c["a"], c["b"], c["method"], c["n_a"]) == ("seed=100", "seed=0", "welch", 3)
    assert c["word"] in ("inconclusive", "equivalent") and c["low"] < 0 < c["high"]
