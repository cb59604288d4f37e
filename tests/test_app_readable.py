"""AppTest: what a learner reads on the pages. Model pickers list the learner's own runs
first, numbers in tables are formatted, Inspect's labels agree with what they count, Evaluate
says when a model is at chance, Draw's Upload tab says what to do, Compare opens on what
differs."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd

from lenet_core import data, experiments
from lenet_core.config import MODERN
from lenet_core.experiments.catalog import EXPERIMENTS
from lenet_core.runs import checkpoint
from tests.support import add_run, fill_run
from tests.test_app import open_page


def _experiment(store, name="qa-activation", acc=0.8) -> str:
    experiment_id = experiments.launch(EXPERIMENTS[name], store, seeds=1)
    for run in store.runs_of(experiment_id):
        fill_run(store, run.id, acc=acc)
    return experiment_id


def test_model_pickers_list_your_runs_then_the_shipped_model_then_experiments(store, no_workers):
    _experiment(store)  # 3 runs, finished after the learner's first run below
    mine = add_run(store, name="mine")
    dead = add_run(store, name="dead", acc=0.11)
    for page in ("inspect", "evaluate"):
        picker = open_page(page).selectbox[0]
        labels = picker.options
        assert labels[0].startswith("Your run · dead") and labels[0].endswith("· at chance")
        assert labels[1].startswith("Your run · mine") and not labels[1].endswith("at chance")
        assert labels[2] == checkpoint.DEFAULT_MODEL_LABEL
        assert len(labels) == 6 and all(x.startswith("qa-activation · ") for x in labels[3:])
        assert picker.value == dead  # the learner's newest finished run
        picker.select(mine)  # the options are references: the runs themselves


def test_with_only_experiment_runs_the_pages_open_on_the_shipped_model(store, no_workers):
    _experiment(store)
    assert open_page("inspect").selectbox[0].value == checkpoint.DEFAULT_MODEL


def test_evaluate_says_when_the_model_is_at_chance(store):
    at = open_page("evaluate")  # the shipped model: 99.17 %
    assert not [w for w in at.warning if "at chance" in w.value]
    add_run(store, MODERN.replace(epochs=1), name="untrained")  # an untrained checkpoint
    at = open_page("evaluate")
    shown = next(m for m in at.metric if m.label == "Test accuracy").value
    assert float(shown.rstrip("%")) < 20  # an untrained network guesses
    (warning,) = [w.value for w in at.warning if "at chance" in w.value]
    assert f"{shown} test accuracy" in warning  # the same figure as the tile, to the digit


def _raw_float_columns(at) -> list[str]:
    """Columns of the page's tables that would show a float as it is: a float column without
    a fixed-decimals format, or a "localized" one holding fractions."""
    bad = []
    for df in at.dataframe:
        value = df.value.data if hasattr(df.value, "data") else df.value  # a Styler's frame
        config = json.loads(df.proto.columns or "{}")
        for name in value.columns:
            fmt = config.get(name, {}).get("type_config", {}).get("format", "")
            column = pd.to_numeric(value[name], errors="coerce").dropna()
            if value[name].dtype.kind != "f" or column.empty:
                continue
            fixed = re.fullmatch(r"%\.\d+f", fmt)
            whole = fmt == "localized" and bool((column == column.round()).all())
            if not (fixed or whole):
                bad.append(f"{name} ({fmt or 'no format'}): {column.iloc[0]!r}")
    return bad


def test_no_table_shows_a_raw_float(store, no_workers):
    add_run(store, name="a")
    add_run(store, name="b", acc=0.9)
    record = _experiment(store, acc=0.83)
    for run in store.runs_of(record)[:1]:
        store.finish(run.id, "finished", examples_per_sec=8321.8278, train_time=23.057851)
    compare = open_page("compare")
    experiments_page = open_page("experiments")
    next(s for s in experiments_page.selectbox if s.label == "Experiment").select(
        "qa-activation").run()
    for at in (compare, experiments_page, open_page("inspect")):
        assert at.dataframe and not _raw_float_columns(at), _raw_float_columns(at)


def test_compare_shows_only_what_differs_at_first(store):
    add_run(store, name="fast")
    add_run(store, MODERN.replace(epochs=2, lr=0.01), name="slow")
    at = open_page("compare")
    table = at.dataframe[0].value
    assert list(table["Hyperparameter"]) == ["lr"]  # of 20-odd rows, the one that differs
    at.toggle(key="only_diff").set_value(False).run()
    assert len(at.dataframe[0].value) > 10


def test_compare_opened_on_an_experiments_runs_names_that_experiment(store, no_workers):
    record = _experiment(store)
    add_run(store, name="mine")
    at = open_page()
    # What Experiments' "Open these runs in Compare" leaves for Compare (its button is in a
    # fragment, which AppTest does not click through).
    at.session_state["_kept_compare_runs"] = [r.id for r in store.runs_of(record)]
    at.switch_page("pages/compare.py").run()
    assert not at.exception, at.exception
    assert next(s for s in at.selectbox if s.label == "Experiment").value == record
    assert set(at.multiselect[0].value) == {r.id for r in store.runs_of(record)}


def test_inspects_which_one_counts_from_1_as_its_caption(store, mnist):
    at = open_page("inspect")
    at.get("button_group")[0].set_value("By class").run()
    next(s for s in at.selectbox if s.label == "Class").select(3).run()
    which = at.number_input(key="inspect_nth")
    first_three = int(np.flatnonzero(mnist.test_y.numpy() == 3)[0])  # the test set's first 3
    assert which.value == 1 and which.proto.min == 1
    assert f"3 no. 1 · test image #{first_three}" in [c.value for c in at.caption]
    second_three = int(np.flatnonzero(mnist.test_y.numpy() == 3)[1])
    which.set_value(2).run()
    assert f"3 no. 2 · test image #{second_three}" in [c.value for c in at.caption]


def test_inspects_layer_table_shows_kernels_and_how_parameters_are_counted(store):
    table = open_page("inspect").dataframe[0].value
    conv1 = table.iloc[0]
    assert (conv1["Kernel"], conv1["Stride"], conv1["Padding"]) == ("5×5", "1", "2")
    assert conv1["How"] == "6 × (1×5×5) + 6 = 156"
    assert tuple(table.iloc[2][["Kernel", "Stride"]]) == ("2×2", "2")  # pool1
    for _, row in table.iterrows():  # every formula adds up to the count torch reports
        if row["How"]:
            terms, total = row["How"].split(" = ")
            numbers = [int(n) for n in re.findall(r"\d+", terms)]
            assert math.prod(numbers[:-1]) + numbers[-1] == int(total.replace(",", "")) \
                == row["Parameters"], row["How"]
        else:
            assert row["Parameters"] == 0


def test_inspect_reads_a_drawing_with_the_model_it_was_drawn_for(store):
    clothes = add_run(store, MODERN.replace(dataset="fashion-mnist", epochs=1), name="clothes")
    at = open_page("inspect")
    assert at.selectbox[0].value == clothes  # the newest run, a Fashion-MNIST one
    at.session_state["last_drawn_digit"] = data.load("mnist").test_x[0].float().numpy() / 255
    at.session_state["last_drawn_model"] = checkpoint.DEFAULT_MODEL  # drawn on Draw for it
    at.get("button_group")[0].set_value("Last drawing").run()
    assert at.selectbox[0].value == checkpoint.DEFAULT_MODEL
    assert next(m for m in at.metric if m.label == "Prediction").value == "7"
    assert not [w for w in at.warning if "another model" in w.value]
    at.selectbox[0].select(clothes).run()  # picked by hand: that model reads it, and says so
    assert at.selectbox[0].value == clothes
    assert [w for w in at.warning if "made on **Draw** for another model" in w.value]
    assert f"Drawn for: {checkpoint.DEFAULT_MODEL_LABEL}" in [t.value for t in at.text]


def test_draws_upload_tab_says_what_to_do_there(store):
    at = open_page("draw")
    at.get("button_group")[0].set_value("Upload").run()
    (prompt,) = [i.value for i in at.info]
    assert prompt.startswith("Upload a photo or a scan of a digit") and "black square" not in prompt
