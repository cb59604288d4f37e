"""AppTest: the Experiments page and Compare's experiment groups (runs made through lenet_core;
only the worker launch is replaced, by an executor that records what it was given)."""

from __future__ import annotations

from lenet_core import experiments
from lenet_core.experiments.catalog import EXPERIMENTS
from tests.support import fill_run
from tests.test_app import open_page


def _pick(at, name):
    next(s for s in at.selectbox if s.label == "Experiment").select(name).run()
    assert not at.exception, at.exception
    return at


def test_every_experiment_opens_with_its_question(store, no_workers):
    at = open_page("experiments")
    assert [t.value for t in at.title] == ["Experiments"]
    for name, definition in EXPERIMENTS.items():
        _pick(at, name)
        assert definition.title in [h.value for h in at.subheader]
        if definition.measure == "layer-sizes":  # answered at once, without training
            assert any("not amplified" in i.value for i in at.info)
        else:
            assert any("Not launched yet" in i.value for i in at.info)
    assert no_workers == []


def test_launch_queues_the_grid_and_shows_progress(store, no_workers):
    at = _pick(open_page("experiments"), "qa-channels")
    at.number_input(key="seeds-qa-channels").set_value(2)
    at.number_input(key="cap-qa-channels").set_value(2048)
    next(b for b in at.button if b.label == "Launch").click().run()
    assert not at.exception, at.exception
    (record,) = store.experiments("qa-channels")
    runs = store.runs_of(record.id)
    assert len(runs) == 3 * 2 == len(no_workers)
    assert {r.config.max_train_examples for r in runs} == {2048}
    assert any("0 of 6 runs done" in (p.proto.text or "") for p in at.get("progress"))
    assert "Stop all" in [b.label for b in at.button]


def test_a_finished_experiment_shows_its_verdict_figure_and_table(store, no_workers):
    experiment_id = experiments.launch(EXPERIMENTS["qa-activation"], store, seeds=2)
    for run in store.runs_of(experiment_id):
        acc = {"ReLU, lr 0.1": 0.89, "sigmoid, lr 0.9": 0.80}.get(run.variant, 0.11)
        fill_run(store, run.id, acc=acc + 0.003 * run.config.seed, checkpoint_file=False)
    at = _pick(open_page("experiments"), "qa-activation")
    (verdict,) = [i.value for i in at.info]
    assert verdict.startswith("ReLU, lr 0.1 reaches the highest test accuracy")
    assert "clearly above sigmoid, lr 0.9" in verdict and "ReLU, lr 0.9 does not learn" in verdict
    table = at.dataframe[0].value
    assert list(table["Variant"]) == ["sigmoid, lr 0.9", "ReLU, lr 0.9", "ReLU, lr 0.1"]
    assert list(table["Seeds"]) == ["2/2", "0/2", "2/2"]
    assert len(at.get("plotly_chart")) >= 3  # the bars, then the mean curves


def test_compare_picks_an_experiments_runs_as_a_group(store, no_workers):
    experiment_id = experiments.launch(EXPERIMENTS["qa-mlp-vs-cnn"], store, seeds=2)
    for run in store.runs_of(experiment_id):
        fill_run(store, run.id, checkpoint_file=False)
    at = open_page("compare")
    next(s for s in at.selectbox if s.label == "Experiment").select(experiment_id).run()
    assert not at.exception, at.exception
    assert set(at.multiselect[0].value) == {r.id for r in store.runs_of(experiment_id)}


def test_a_custom_sweep_launches_every_combination_and_names_bad_values(store, no_workers):
    at = _pick(open_page("experiments"), "sweep")
    at.multiselect(key="sw_fields").set_value(["lr", "activation"]).run()
    at.text_input(key="sw-lr").input("0.01, ![p](http://127.0.0.1:9/leak.png)")
    at.text_input(key="sw-activation").input("sigmoid,relu")
    next(b for b in at.button if b.label == "Launch sweep").click().run()
    assert any("cannot read" in e.value for e in at.error) and not store.experiments()
    # The typed text is in its box already; the message (Markdown) never echoes it.
    assert not any("](" in e.value for e in at.error)
    at.text_input(key="sw-lr").input("0.01,0.1")
    at.number_input(key="sw_seeds").set_value(2)
    next(b for b in at.button if b.label == "Launch sweep").click().run()
    assert not at.exception, at.exception
    (record,) = store.experiments("sweep")
    configs = {(r.config.lr, r.config.activation, r.config.seed) for r in store.runs_of(record.id)}
    assert configs == {(lr, act, seed) for lr in (0.01, 0.1) for act in ("sigmoid", "relu")
                       for seed in (0, 1)}
