"""AppTest smoke tests of what explains a model: the Evaluate page and its gallery, Inspect's
unusual inputs, Compare's confusion matrices. Clicks on the matrix and uploads need a browser:
test_e2e_explain.py."""

from __future__ import annotations

from lenet_core.config import MODERN, PRESETS
from lenet_core.explain import images
from tests.support import add_run
from tests.test_app import open_page


def test_evaluate_the_default_model_and_the_images_of_a_confused_pair(store):
    at = open_page("evaluate")
    assert [t.value for t in at.title] == ["Evaluate"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test accuracy"] == "99.17%" and metrics["Errors"] == "83"
    assert metrics["Most confused"] == "5"
    assert next(m for m in at.metric if m.label == "Most confused").delta == "taken for 3: 7 images"
    assert len(at.get("plotly_chart")) == 2  # the confusion matrix and per-class accuracy
    assert any("Click a cell" in i.value for i in at.info)

    at.button(key="pair-5-3").click().run()  # the most confused pair, from the list
    assert not at.exception, at.exception
    tiles = [c.value for c in at.caption if c.value.startswith("#")]
    assert len(tiles) == 7
    assert all("true 5" in t and "predicted 3" in t for t in tiles)
    # Opening one in Inspect (a button, then st.switch_page) is a browser test: AppTest does
    # not follow a script's page switch.


def test_inspect_answers_inputs_unlike_the_training_data(store):
    at = open_page("inspect")
    at.get("button_group")[0].set_value("Unusual").run()
    for kind in images.ODD_INPUTS:
        at.selectbox(key="inspect_odd").select(kind).run()
        assert not at.exception, (kind, at.exception)
        assert next(m for m in at.metric if m.label == "Prediction").value in "0123456789"
        assert any("confident answer to nonsense" in c.value for c in at.caption)


def test_compare_shows_confusion_matrices_and_their_difference(store):
    add_run(store, MODERN.replace(epochs=1), "one")
    add_run(store, MODERN.replace(epochs=1, seed=1), "two")
    at = open_page("compare")
    assert not [c for c in at.get("plotly_chart") if c.key.startswith("confusion")]  # opt-in
    at.toggle(key="compare_confusion").set_value(True).run()
    assert not at.exception, at.exception
    keys = [c.key for c in at.get("plotly_chart")]
    assert sum(k.startswith("confusion-2") for k in keys) == 2  # one per run (ids are dates)
    assert "confusion-diff" in keys
    clothes = add_run(store, PRESETS["d2l"].replace(epochs=1), "clothes")
    at = open_page("compare")  # the two newest: clothes and two
    at.toggle(key="compare_confusion").set_value(True).run()
    at.selectbox(key="confusion_b").select(clothes).run()
    at.selectbox(key="confusion_a").select(next(i for i in at.multiselect[0].value
                                                 if i != clothes)).run()
    assert any("different datasets" in i.value for i in at.info)
