"""AppTest smoke tests: every page runs without an exception and shows its key widgets.

State is set up through lenet_core (a temporary run store); AppTest runs no JavaScript, so
live refresh and the canvas are covered by the browser tests in test_e2e.py.
"""

from __future__ import annotations

import json

import pytest
import torch
from streamlit.testing.v1 import AppTest

from lenet_core import data
from lenet_core.config import MODERN, PRESETS, SPECS
from lenet_core.runs import checkpoint, diagnostics_store, runner
from tests.support import TWO_EPOCHS, add_run, form_field

TIMEOUT = 60  # the first run imports torch and loads a dataset


def open_page(page: str | None = None) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    at.run()
    if page:
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def labels(widgets) -> list[str]:
    return [w.label for w in widgets]


# --- app and Train ------------------------------------------------------------------------

def test_home_is_the_train_page_with_the_full_form(store):
    at = open_page()
    assert [t.value for t in at.title] == ["Train"]
    assert labels(at.selectbox) == ["Preset", "Dataset", "Augment", "Architecture", "Activation",
                                    "Pooling", "Kernel size", "Init", "Start from", "Optimizer",
                                    "Schedule", "Device", "Compile", "Data loader"]
    assert labels(at.number_input) == ["Max train examples", "Dropout", "Seed", "Learning rate",
                                       "Weight decay", "Epochs", "Batch size",
                                       "Stop at test accuracy"]
    assert labels(at.text_input) == ["Conv channels", "Hidden", "Adam betas", "Run name"]
    assert form_field(at, "conv_channels").value == "6, 16"
    assert form_field(at, "preset").value == next(iter(PRESETS)) == "d2l"  # the seed's recipe
    assert form_field(at, "lr").value == 0.9
    assert "Start training" in labels(at.button)
    assert any("No runs yet" in i.value for i in at.info)
    assert any("Device:" in m.value for m in at.sidebar.markdown)
    assert any("None. Start one" in c.value for c in at.sidebar.caption)


def _shown(at: AppTest, name: str):
    """What the form's field shows, as a config value (a list box's text parsed)."""
    value = form_field(at, name).value
    return SPECS[name].parse(value) if SPECS[name].is_list else value


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_field_shows_its_preset_on_first_load(store, preset):
    at = open_page()
    if preset != next(iter(PRESETS)):
        form_field(at, "preset").select(preset).run()
    assert form_field(at, "preset").value == preset
    recipe = PRESETS[preset]
    for name in SPECS:  # each field's value, checked against the preset's own
        assert _shown(at, name) == getattr(recipe, name), name
    assert at.text_input(key="run_name").value == ""


def test_a_preset_fills_the_form(store):
    at = open_page()
    form_field(at, "preset").select("modern").run()
    assert form_field(at, "optimizer").value == "adam"
    assert form_field(at, "activation").value == "relu"
    assert form_field(at, "lr").value == pytest.approx(2e-3)
    assert form_field(at, "batch_size").value == 128


def _start(at: AppTest) -> AppTest:
    next(b for b in at.button if b.label == "Start training").click()
    return at.run()


def test_bad_values_get_messages_next_to_their_fields_and_start_nothing(store):
    at = open_page()
    form_field(at, "epochs").set_value(0)
    form_field(at, "lr").set_value(-1.0)
    form_field(at, "conv_channels").input("6, 0")
    at = _start(at)
    fields = [c.value for c in at.caption if c.value.startswith(":red[")]
    assert len(fields) == 3  # one message under each bad field
    assert any("must be a whole number from 1 to 1000, got 0" in m for m in fields)
    assert any("must be a number in (0, 10\\], got -1.0" in m for m in fields)
    assert any("from 1 to 256" in m for m in fields)
    assert any("nothing was started" in e.value for e in at.error)
    assert store.list() == []


def test_a_tiny_training_set_is_allowed_but_said_before_it_trains(store, no_workers):
    at = open_page()
    form_field(at, "max_train_examples").set_value(5).run()
    notes = [c.value for c in at.caption if c.value.startswith(":orange[")]
    assert len(notes) == 1 and "5 examples, fewer than 10 a class" in notes[0]
    form_field(at, "max_train_examples").set_value(1000).run()
    assert not [c for c in at.caption if c.value.startswith(":orange[")]
    form_field(at, "max_train_examples").set_value(5).run()
    at = _start(at)
    (run,) = store.list()
    assert run.config.max_train_examples == 5  # a word, not a refusal


def test_the_seeds_message_fits_a_narrow_field(store):
    at = open_page()
    form_field(at, "seed").set_value(-1)
    at = _start(at)
    (message,) = [c.value for c in at.caption if c.value.startswith(":red[")]
    assert "from 0 to 2^63 - 1" in message
    text = message.removeprefix(":red[:material/error:").removesuffix("]")
    assert max(map(len, text.split())) <= 12  # no 19-digit number to wrap over lines


def test_unavailable_device_is_refused_at_the_field(store, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    at = open_page()
    form_field(at, "device").select("cuda")
    at = _start(at)
    assert any("no CUDA GPU is available" in c.value for c in at.caption)
    assert store.list() == []


def test_start_hands_the_form_config_to_the_runner(store, monkeypatch):
    started = []

    def fake_start(config, name=None, store=None, max_running=1):
        started.append(config)
        return store.create(config, name)  # queued, as runner.start leaves it

    monkeypatch.setattr(runner, "start", fake_start)
    at = open_page()
    form_field(at, "preset").select("modern").run()
    form_field(at, "epochs").set_value(2)
    form_field(at, "max_train_examples").set_value(2048)
    at.text_input(key="run_name").input("smoke")
    at = _start(at)
    assert not at.exception, at.exception
    assert started == [MODERN.replace(epochs=2, max_train_examples=2048)]
    (run,) = store.list()
    assert run.name == "smoke" and run.status == "queued"
    assert at.selectbox(key="run_pick").value == run.id
    # Nothing ahead of it: it is starting, not waiting ("Queued" flashed until the worker took it).
    assert any((p.proto.text or "").startswith("Starting") for p in at.get("progress"))
    assert "Stop" in labels(at.button)
    assert "smoke" in [t.value for t in at.sidebar.text]  # the active runs
    assert [t.value for t in at.toast] == [f"Run {run.id} queued: it trains in the background."]


@pytest.mark.slow
def test_start_launches_a_background_run_that_trains_with_the_form_values(store):
    at = open_page()
    form_field(at, "preset").select("modern").run()
    form_field(at, "epochs").set_value(1)
    form_field(at, "max_train_examples").set_value(1024)
    form_field(at, "lr").set_value(0.0037)
    form_field(at, "device").select("cpu")
    at = _start(at)
    assert not at.exception, at.exception
    (run,) = store.list()
    done = runner.wait(run.id, store, timeout=300)  # a real worker process trains it
    assert done.status == "finished", done.error
    # The worker wrote its checkpoint with the config it trained: the form's values.
    trained = checkpoint.load(store.checkpoint_path(run.id)).config
    assert trained == MODERN.replace(epochs=1, max_train_examples=1024, lr=0.0037, device="cpu")
    assert max(p["step"] for p in store.metrics(run.id)) == 1024 // 128  # one epoch's steps


def test_queued_runs_wait_in_the_sidebar_in_queue_order(store):
    first = store.create(MODERN, "first in line")
    store.create(MODERN, "second in line")
    at = open_page()
    names = [t.value for t in at.sidebar.text if "in line" in t.value]
    assert names == ["first in line", "second in line"]
    assert at.selectbox(key="run_pick").value == store.list()[0].id != first  # the newest


def test_finished_run_shows_curves_final_metrics_and_downloads(store):
    add_run(store, name="done")
    at = open_page()
    assert len(at.get("plotly_chart")) == 2  # its curves, and the network the form builds
    assert [m.label for m in at.metric] == ["Test acc", "Train acc", "Train loss", "Examples/s",
                                            "Train time"]
    assert at.metric[0].value == "94.0%"
    downloads = [d.proto.label for d in at.get("download_button")]
    assert downloads == ["Checkpoint (.pt)", "Metrics (.csv)", "SVG", "PNG"]  # then the figure's


def test_diverged_run_shows_where_and_the_hint(store):
    add_run(store, config=PRESETS["d2l"].replace(activation="relu", epochs=1), name="boom",
            status="diverged", checkpoint_file=False, diverged_step=30)
    at = open_page()
    (error,) = at.error
    assert "Diverged** at step 30" in error.value
    assert "Lower the learning rate" in error.value and "lr 0.1" in error.value
    assert at.get("download_button")[0].proto.label == "Metrics (.csv)"


def test_run_stuck_at_chance_gets_the_qa_hint(store):
    add_run(store, config=PRESETS["d2l"].replace(activation="relu", epochs=1), name="dead relu",
            acc=0.11)
    at = open_page()
    (warning,) = at.warning
    assert "did not learn" in warning.value and "lr 0.1" in warning.value
    assert "ReLU units output 0" not in warning.value  # nothing measured it


def test_the_at_chance_hint_states_the_dead_fraction_its_diagnostics_measured(store):
    run_id = add_run(store, config=PRESETS["d2l"].replace(activation="relu", epochs=1),
                     name="dead relu", acc=0.11)
    # 3 of conv1's 6 channels and all 16 of conv2's: 19 of 22 units, 86 %
    layers = [{"name": "act1", "fn": "relu", "dead": 0.5, "units": 6},
              {"name": "act2", "fn": "relu", "dead": 1.0, "units": 16}]
    diagnostics_store.add(store, run_id, {"step": 40, "x": 0.2, "finite": True,
                                          "layers": layers})
    (warning,) = open_page().warning
    assert "86% of its ReLU units output 0" in warning.value


# --- Draw -------------------------------------------------------------------------------

def test_draw_page_prompts_before_anything_is_drawn(store):
    at = open_page("draw")
    assert [t.value for t in at.title] == ["Draw"]
    assert at.selectbox[0].label == "Model"
    assert at.selectbox[0].options == ["Default MNIST model (shipped)"]
    assert "Clear" in labels(at.button)
    assert any("Draw a digit from 0 to 9" in i.value for i in at.info)
    assert not [m for m in at.metric if m.label == "Prediction"]


def test_draw_opens_on_the_newest_finished_mnist_run_and_offers_clothing_models(store):
    digits = add_run(store, name="digits")
    clothes = add_run(store, config=PRESETS["d2l"].replace(epochs=1), name="clothes")
    add_run(store, name="cut short", status="stopped")
    at = open_page("draw")
    model = at.selectbox[0]
    # Your runs first (not the stopped one), then the shipped model.
    assert model.options[-1].startswith("Default") and len(model.options) == 3
    assert model.value == digits  # the newest finished MNIST run, not the newer clothing one
    model.select(clothes).run()
    assert not at.exception, at.exception
    assert any("Draw a piece of clothing" in i.value for i in at.info)
    assert at.selectbox[0].value == clothes  # kept: the user chose it


def test_inspect_and_evaluate_open_on_the_newest_finished_run_else_the_shipped_model(store):
    for page in ("inspect", "evaluate"):
        assert open_page(page).selectbox[0].value == checkpoint.DEFAULT_MODEL
    add_run(store, name="digits")
    clothes = add_run(store, config=PRESETS["d2l"].replace(epochs=1), name="clothes")
    add_run(store, name="cut short", status="stopped")
    for page in ("inspect", "evaluate"):
        assert open_page(page).selectbox[0].value == clothes


def test_without_any_model_draw_and_inspect_say_how_to_get_one(store, monkeypatch, tmp_path):
    monkeypatch.setattr(checkpoint, "DEFAULT_MODEL_PATH", tmp_path / "missing.pt")
    for page in ("draw", "inspect"):
        at = open_page(page)
        assert any("make default-model" in w.value for w in at.warning)


# --- Inspect ----------------------------------------------------------------------------

def test_inspect_shows_layers_feature_maps_kernels_and_prediction(store):
    at = open_page("inspect")
    assert [t.value for t in at.title] == ["Inspect"]
    table = at.dataframe[0].value
    assert list(table["Layer"]) == ["conv1", "act1", "pool1", "conv2", "act2", "pool2",
                                    "flatten", "fc1", "act3", "fc2", "act4", "fc3"]
    assert table["Parameters"].sum() == 61_706
    assert table["Output shape"][0] == "1 × 6 × 28 × 28"
    # the network, probabilities, 6 feature-map grids, the dense layers, how one value is
    # computed (the map to pick on, the input channels, the arithmetic), two inputs side by
    # side (A, B and their difference for two conv stages), 2 kernel grids
    assert len(at.get("plotly_chart")) == 1 + 1 + 6 + 1 + 3 + 3 * 2 + 2
    prediction = next(m for m in at.metric if m.label == "Prediction")
    assert prediction.value == "7"  # test image 0 is a 7


def test_inspect_shows_every_conv_stage_of_a_grown_model(store):
    grown = TWO_EPOCHS.replace(conv_channels=(6, 16, 32), kernel_size=3, hidden=(64,))
    add_run(store, grown, name="three stages")
    at = open_page("inspect")
    assert not at.exception, at.exception
    titles = [json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "")
              for c in at.get("plotly_chart")]
    kernel_titles = [t for t in titles if "kernels of 3×3" in t]
    assert len(kernel_titles) == 3  # conv1, conv2 and conv3, each 3×3
    assert any("Each 3×3 kernel" in c.value for c in at.caption)


def test_inspect_inputs_by_class_and_last_drawing(store):
    at = open_page("inspect")
    at.get("button_group")[0].set_value("By class").run()
    class_box = next(s for s in at.selectbox if s.label == "Class")
    class_box.select(3).run()
    assert not at.exception, at.exception
    assert next(m for m in at.metric if m.label == "Prediction").value == "3"

    at.get("button_group")[0].set_value("Last drawing").run()
    assert any("Nothing drawn yet" in i.value for i in at.info)
    digit = data.load("mnist").test_x[1].float().numpy() / 255  # a 2
    at.session_state["last_drawn_digit"] = digit
    at.run()
    assert next(m for m in at.metric if m.label == "Prediction").value == "2"


def test_inspect_an_mlp_run_has_no_feature_map_grids(store):
    run_id = add_run(store, config=MODERN.replace(arch="mlp", epochs=1), name="mlp")
    at = open_page("inspect")
    at.selectbox[0].select(run_id).run()
    assert not at.exception, at.exception
    assert any("MLP" in i.value for i in at.info)
    assert len(at.dataframe[0].value) == 6


# --- Compare ----------------------------------------------------------------------------

def test_compare_needs_two_runs(store):
    add_run(store, name="alone")
    at = open_page("compare")
    assert any("at least two runs" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_compare_overlays_diffs_sorts_and_deletes(store):
    a = add_run(store, name="fast", acc=0.97)
    b = add_run(store, config=MODERN.replace(epochs=2, optimizer="sgd", lr=0.1), name="slow",
                acc=0.90)
    at = open_page("compare")
    assert set(at.multiselect[0].value) == {a, b}
    assert len(at.get("plotly_chart")) == 3 + 2  # one per metric, one per run's panel
    diff = at.dataframe[0].value  # a Styler: the highlighted rows differ
    differs = set(diff.loc[diff["Differs"], "Hyperparameter"])
    assert differs == {"optimizer", "lr"}

    at.toggle(key="only_diff").set_value(True).run()
    assert len(at.dataframe[0].value) == 2

    sort_by = next(s for s in at.selectbox if s.label == "Sort by")
    sort_by.select("Test acc (%)").run()
    assert [r.startswith("fast") for r in at.dataframe[1].value["Run"]] == [True, False]
    next(t for t in at.toggle if t.label == "Descending").set_value(False).run()
    assert [r.startswith("slow") for r in at.dataframe[1].value["Run"]] == [True, False]

    delete = next(m for m in at.multiselect if m.label == "Runs to delete")
    delete.set_value([b]).run()
    next(x for x in at.button if x.label.startswith("Delete 1 run")).click().run()
    assert not at.exception, at.exception
    assert [r.id for r in store.list()] == [a]
    assert not store.checkpoint_path(b).exists()


def test_active_runs_cannot_be_deleted(store):
    add_run(store, name="old")
    store.create(MODERN, "waiting")  # queued
    at = open_page("compare")
    delete = next(m for m in at.multiselect if m.label == "Runs to delete")
    assert len(delete.options) == 1 and delete.options[0].startswith("old")
