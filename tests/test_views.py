"""lenet_core.views: the dashboard's figures and tables, as plain Python (no Streamlit)."""

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from lenet_core import inference, views
from lenet_core.config import D2L, MODERN, TrainConfig


def test_views_never_import_streamlit():
    code = "import lenet_core.views, sys; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_build_config_names_every_bad_field_at_once():
    values = MODERN.to_dict() | {"epochs": 0, "lr": -1.0, "hidden": (120, None), "device": "cpu"}
    config, errors = views.build_config(values)
    assert config is None
    assert set(errors) == {"epochs", "lr", "hidden"}
    assert errors["lr"].startswith("must be a number in (0, 10]")


def test_build_config_accepts_a_good_form_and_refuses_a_missing_device(monkeypatch):
    config, errors = views.build_config(MODERN.to_dict())
    assert (config, errors) == (MODERN, {})
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    config, errors = views.build_config(MODERN.to_dict() | {"device": "cuda"})
    assert config is None and "CUDA" in errors["device"]


def test_downsample_keeps_ends_and_caps_length():
    seq = list(range(10_000))
    out = views.downsample(seq, 400)
    assert len(out) == 400 and out[0] == 0 and out[-1] == 9_999
    assert out == sorted(out)
    assert views.downsample(seq[:50], 400) == seq[:50]


def test_curve_skips_missing_values():
    points = [{"x": 0.2, "train_loss": 2.0, "test_acc": None},
              {"x": 1.0, "train_loss": None, "test_acc": 0.9}]
    assert views.curve(points, "train_loss") == ([0.2], [2.0])
    assert views.curve(points, "test_acc") == ([1.0], [0.9])


def test_training_figure_is_the_animator_with_fixed_range_for_short_runs():
    points = [{"x": 0.2 * k, "train_loss": 1.0 / k, "train_acc": 0.1 * k, "test_acc": None}
              for k in range(1, 6)] + [{"x": 1.0, "train_loss": None, "train_acc": None,
                                        "test_acc": 0.8}]
    fig = views.training_figure(points, epochs=10, diverged_at=0.5, uirevision="r")
    assert [t.name for t in fig.data] == ["train loss", "train acc", "test acc"]
    assert [len(t.x) for t in fig.data] == [5, 5, 1]
    assert tuple(fig.layout.xaxis.range) == pytest.approx((0, 10.2))
    assert fig.layout.uirevision == "r"
    assert fig.layout.shapes[0].x0 == 0.5  # the divergence marker
    long = views.training_figure(points, epochs=500)
    assert tuple(long.layout.xaxis.range) == pytest.approx((0, 1.02))  # follows the data


def test_tile_scales_each_map_and_separates_them():
    maps = np.stack([np.arange(9.0).reshape(3, 3), np.full((3, 3), 5.0), -np.ones((3, 3))])
    grid, index = views.tile(maps, ncols=2)
    assert grid.shape == (7, 7)
    assert np.isnan(grid[3]).all() and np.isnan(grid[:, 3]).all()
    assert grid[0, 0] == 0 and grid[2, 2] == 1  # first map spans [0, 1]
    assert (grid[:3, 4:] == 0).all()  # a constant map is flat, not NaN
    assert index[5, 1] == 2 and index[3, 3] == -1
    signed, _ = views.tile(np.array([[[-2.0, 1.0]]]), ncols=1, symmetric=True)
    assert signed.tolist() == [[-1.0, 0.5]]


def test_config_diff_flags_only_what_differs():
    rows = views.config_diff({"a": D2L, "b": D2L.replace(lr=0.1, conv_channels=(6, 32))})
    assert {r["Hyperparameter"] for r in rows if r["Differs"]} == {"lr", "conv_channels"}
    lr = next(r for r in rows if r["Hyperparameter"] == "lr")
    assert (lr["a"], lr["b"]) == ("0.9", "0.1")
    assert len(rows) == len(TrainConfig.__dataclass_fields__)


def test_sort_rows_puts_missing_values_last_both_ways():
    rows = [{"k": 2}, {"k": None}, {"k": 3}, {"k": 1}]
    assert [r["k"] for r in views.sort_rows(rows, "k", True)] == [3, 2, 1, None]
    assert [r["k"] for r in views.sort_rows(rows, "k", False)] == [1, 2, 3, None]


@pytest.mark.parametrize(("seconds", "text"), [(None, "–"), (math.inf, "–"), (12.3, "12 s"),
                                               (83, "1:23"), (4000, "1:06:40")])
def test_duration(seconds, text):
    assert views.duration(seconds) == text


def test_progress_text_and_divergence_point(store):
    run_id = store.create(MODERN.replace(max_train_examples=2048), "p")
    frac, text = views.progress(store.get(run_id))
    assert frac == 0 and text.startswith("Queued")
    store.claim(run_id, 1, None)
    store.heartbeat(run_id, {"epoch": 1, "batch": 8, "num_batches": 16, "step": 24,
                             "total_steps": 80, "examples_per_sec": 12345.6, "elapsed": 3.0,
                             "eta": 70.0}, device="cpu (2 threads)")
    frac, text = views.progress(store.get(run_id))
    assert frac == pytest.approx(0.3)
    assert text == "Epoch 2/5 · batch 8/16 · 12,346 examples/s · ETA 1:10 · cpu (2 threads)"
    store.finish(run_id, "diverged", diverged_step=24)
    assert views.diverged_x(store.get(run_id)) == 1.5


def test_figures_for_a_real_model():
    model = inference.default_model()
    image = np.zeros((28, 28), np.float32)
    image[4:24, 13:16] = 1.0
    acts = inference.feature_maps(model, image)
    fig = views.feature_map_figure(acts[0])
    assert fig.data[0].z.shape == (2 * 28 + 1, 3 * 28 + 2)  # 6 maps, 3 a row
    kernels = inference.conv_kernels(model)
    assert views.kernel_figure("conv2", kernels["conv2"]).data[0].z.shape == (6 * 6 - 1, 16 * 6 - 1)
    dense = [a for a in acts if a.output.dim() == 1 and a.type != "Flatten"]
    assert len(views.dense_figure(dense).data) == len(dense)
    probs = inference.predict_proba(model, image)[0].numpy()
    bars = views.probability_figure(probs, model.class_names)
    assert list(bars.data[0].x) == list(model.class_names)
    assert views.upscale(image, 8).shape == (224, 224)
