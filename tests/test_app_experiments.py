"""AppTest: the Experiments page and Compare's experiment groups (runs made through lenet_core;
only the worker launch is replaced, by an executor that records what it was given)."""

from __future__ import annotations

import json

import pytest

from lenet_core import experiments
from lenet_core.cli import main
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
        elif definition.measure == "view-reshape":  # measured when asked
            assert any("press **Measure**" in i.value for i in at.info)
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


def _finished(store, name="qa-activation", seeds=2):
    experiment_id = experiments.launch(EXPERIMENTS[name], store, seeds=seeds, epochs=1)
    for run in store.runs_of(experiment_id):
        acc = {"ReLU, lr 0.1": 0.89, "sigmoid, lr 0.9": 0.80}.get(run.variant, 0.11)
        fill_run(store, run.id, acc=acc + 0.003 * run.config.seed ** 2, checkpoint_file=False)
    return experiment_id


def test_a_finished_experiment_shows_its_verdict_figure_and_table(store, no_workers):
    _finished(store)
    at = _pick(open_page("experiments"), "qa-activation")
    (verdict,) = [i.value for i in at.info]
    assert verdict.startswith("ReLU, lr 0.9 learned in 0 of 2 seeds")
    assert "ReLU, lr 0.1 against sigmoid, lr 0.9, test accuracy: +9.0 points" in verdict
    table = at.dataframe[1].value  # after the variants' table
    assert list(table["Variant"]) == ["sigmoid, lr 0.9", "ReLU, lr 0.9", "ReLU, lr 0.1"]
    assert list(table["Learned"]) == ["2/2 (34-100 %)", "0/2 (0-66 %)", "2/2 (34-100 %)"]
    assert list(table["Did not learn"]) == ["", "at chance in 2", ""]  # short: never cut off
    assert len(at.get("plotly_chart")) >= 4  # the bars, the differences, the mean curves


def _numbers(cell: str) -> list[float]:
    return [float(x) for x in cell.replace("±", " ").split()] if cell != "–" else []


def test_the_pages_table_is_the_cli_report(store, no_workers, capsys):
    experiment_id = _finished(store, seeds=3)
    at = _pick(open_page("experiments"), "qa-activation")
    page = at.dataframe[1].value
    assert main(["experiment", "show", experiment_id, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    for k, row in enumerate(report["table"]):
        assert page["Variant"][k] == row["variant"]
        for column, key, scale in (("Test acc (%)", "test_acc", 100),
                                   ("Train acc (%)", "train_acc", 100),
                                   ("Gap (points)", "gap", 100),
                                   ("Train time (s)", "train_time", 1)):
            stat = row[key]
            want = [] if stat is None else [round(stat["mean"] * scale, 1),
                                            round(stat["std"] * scale, 1)]
            assert _numbers(page[column][k]) == pytest.approx(want, abs=0.051), (column, k)
        assert page["Parameters"][k] == row["params"]
        assert page["Learned"][k].startswith(f"{row['learned']}/{row['counted']} "
                                             f"({100 * row['success_low']:.0f}-")


def test_the_variants_are_listed_before_a_launch(store, no_workers):
    at = _pick(open_page("experiments"), "qa-pooling")
    variants = at.dataframe[0].value
    assert list(variants["Variant"]) == [v.label for v in EXPERIMENTS["qa-pooling"].variants]
    assert variants["Compared with"][1] == "avg-pool, sigmoid"
    assert any("9 seeds per variant resolve a difference of about 1.4 points" in c.value
               for c in at.caption)


def test_the_cluster_address_is_disabled_on_this_machine(store, no_workers):
    at = _pick(open_page("experiments"), "qa-channels")
    address = at.text_input(key="addr-qa-channels")
    assert at.radio(key="on-qa-channels").value == "This machine" and address.disabled
    at.radio(key="on-qa-channels").set_value("Ray cluster at").run()
    assert not at.text_input(key="addr-qa-channels").disabled


def test_no_call_to_add_seeds_while_seeds_are_queued(store, no_workers):
    experiment_id = experiments.launch(EXPERIMENTS["qa-mlp-vs-cnn"], store, seeds=2, epochs=1)
    first = [r for r in store.runs_of(experiment_id) if r.config.seed == 0]
    for run in first:
        fill_run(store, run.id, checkpoint_file=False)
    at = _pick(open_page("experiments"), "qa-mlp-vs-cnn")
    (verdict,) = [i.value for i in at.info]
    assert "launch again" not in verdict and "still queued or training" in verdict


def test_view_and_reshape_are_measured_when_asked(store, no_workers):
    at = _pick(open_page("experiments"), "qa-view-reshape")
    next(b for b in at.button if b.label == "Measure").click().run()
    assert not at.exception, at.exception
    (verdict,) = [i.value for i in at.info]
    assert "view refuses" in verdict and "reshape against view" in verdict
    cases = at.dataframe[0].value
    assert len(cases) == 3 * 6 and set(cases["Op"]) == {"view", "reshape", "contiguous().view"}
    assert no_workers == []


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
