"""Shareable links in the app (AppTest): a link opens its page in the state it names, the page
keeps its state in the URL, and a bad or unknown parameter is one plain-text line (never
Markdown) while its field keeps the default."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from lenet_core.experiments.catalog import EXPERIMENTS
from tests.support import add_run, form_field

TIMEOUT = 90
HOSTILE = "![x](http://127.0.0.1:9/evil.png)"


def open_link(page: str, **params: str) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    at.run()
    at.switch_page(f"pages/{page}.py")
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def rendered_markdown(at: AppTest) -> str:
    """Everything the page put through Markdown (markdown, captions, info boxes, titles)."""
    return "\n".join(str(e.value) for kind in ("markdown", "caption", "info", "warning", "error",
                                               "title", "subheader") for e in at.get(kind))


def test_a_train_link_fills_the_form_and_the_form_fills_the_link(store):
    at = open_link("train", lr="0.05", epochs="3", conv_channels="8,24")
    assert form_field(at, "lr").value == 0.05
    assert form_field(at, "epochs").value == 3
    assert form_field(at, "conv_channels").value == "8, 24"
    assert form_field(at, "batch_size").value == 256  # the preset's, untouched
    assert [t.value for t in at.text if t.value.startswith("Link")] == []
    assert dict(at.query_params) == {"lr": "0.05", "epochs": "3", "conv_channels": "8,24"}
    form_field(at, "preset").set_value("modern").run()  # the link follows the form
    assert dict(at.query_params)["preset"] == "modern"


def test_a_train_link_with_a_preset_and_a_hostile_parameter(store):
    at = open_link("train", preset="modern", epochs="2", batch_size=HOSTILE,
                   **{"<img src=http://127.0.0.1:9/x.png>": "1"})
    assert form_field(at, "preset").value == "modern"
    assert form_field(at, "epochs").value == 2
    assert form_field(at, "batch_size").value == 128  # modern's default
    lines = [t.value for t in at.text if t.value.startswith("Link parameter")]
    assert len(lines) == 2
    assert lines[0].startswith("Link parameter 'batch_size' ignored: must be a whole number")
    assert repr(HOSTILE) in lines[0]
    assert lines[1].startswith("Link parameter '<img src=http://127.0.0.1:9/x.png>' ignored")
    shown = rendered_markdown(at)
    assert "127.0.0.1:9" not in shown  # never through Markdown
    assert "batch_size" not in dict(at.query_params)  # the page writes only what it holds


def test_an_inspect_link_opens_its_input_layer_channel_and_cell(store):
    at = open_link("inspect", model="default", source="index", index="4", layer="conv2",
                   channel="3", cell="2,5")
    index = next(w for w in at.number_input if w.label == "Test image index")
    assert index.value == 4
    assert at.selectbox(key="explain_layer").value == "conv2"
    assert at.number_input(key="explain_channel").value == 3
    assert (at.number_input(key="explain_row").value, at.number_input(key="explain_col").value) \
        == (2, 5)
    assert any("conv2's output at channel 3, cell (2, 5)" in m.value for m in at.markdown)
    assert dict(at.query_params) == {"model": "default", "source": "index", "index": "4",
                                     "layer": "conv2", "channel": "3", "cell": "2,5"}


def test_an_inspect_link_to_no_such_model_or_cell(store):
    at = open_link("inspect", model="nope", index="99999", cell="1")
    lines = [t.value for t in at.text if t.value.startswith("Link parameter")]
    assert [line.split("'")[1] for line in lines] == ["model", "index", "cell"]
    index = next(w for w in at.number_input if w.label == "Test image index")
    assert index.value == 0


def test_compare_and_experiments_links(store):
    a, b = add_run(store, name="a"), add_run(store, name="b")
    add_run(store, name="c")
    at = open_link("compare", runs=f"{b},{a}")
    assert at.multiselect(key="compare_pick").value == [b, a]
    assert dict(at.query_params) == {"runs": f"{b},{a}"}
    at = open_link("compare", runs=f"{a},zzz")
    assert any("no such item here: 'zzz'" in t.value for t in at.text)

    name = list(EXPERIMENTS)[1]
    at = open_link("experiments", experiment=name)
    assert at.selectbox(key="experiment").value == name
    assert dict(at.query_params)["experiment"] == name
