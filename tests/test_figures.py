"""lenet_core.figures: the dashboard's Plotly figures, as plain Python (no Streamlit)."""

import numpy as np
import pytest

from lenet_core import checkpoint, figures, inference


def test_downsample_keeps_ends_and_caps_length():
    seq = list(range(10_000))
    out = figures.downsample(seq, 400)
    assert len(out) == 400 and out[0] == 0 and out[-1] == 9_999
    assert out == sorted(out)
    assert figures.downsample(seq[:50], 400) == seq[:50]


def test_curve_skips_missing_values():
    points = [{"x": 0.2, "train_loss": 2.0, "test_acc": None},
              {"x": 1.0, "train_loss": None, "test_acc": 0.9}]
    assert figures.curve(points, "train_loss") == ([0.2], [2.0])
    assert figures.curve(points, "test_acc") == ([1.0], [0.9])


def test_training_figure_is_the_animator_with_fixed_range_for_short_runs():
    points = [{"x": 0.2 * k, "train_loss": 1.0 / k, "train_acc": 0.1 * k, "test_acc": None}
              for k in range(1, 6)] + [{"x": 1.0, "train_loss": None, "train_acc": None,
                                        "test_acc": 0.8}]
    fig = figures.training_figure(points, epochs=10, diverged_at=0.5, uirevision="r")
    assert [t.name for t in fig.data] == ["train loss", "train acc", "test acc"]
    assert [len(t.x) for t in fig.data] == [5, 5, 1]
    assert tuple(fig.layout.xaxis.range) == pytest.approx((0, 10.2))
    assert fig.layout.uirevision == "r"
    assert fig.layout.shapes[0].x0 == 0.5  # the divergence marker
    long = figures.training_figure(points, epochs=500)
    assert tuple(long.layout.xaxis.range) == pytest.approx((0, 1.02))  # follows the data


def test_tile_scales_each_map_and_separates_them():
    maps = np.stack([np.arange(9.0).reshape(3, 3), np.full((3, 3), 5.0), -np.ones((3, 3))])
    grid, index = figures.tile(maps, ncols=2)
    assert grid.shape == (7, 7)
    assert np.isnan(grid[3]).all() and np.isnan(grid[:, 3]).all()
    assert grid[0, 0] == 0 and grid[2, 2] == 1  # first map spans [0, 1]
    assert (grid[:3, 4:] == 0).all()  # a constant map is flat, not NaN
    assert index[5, 1] == 2 and index[3, 3] == -1
    signed, _ = figures.tile(np.array([[[-2.0, 1.0]]]), ncols=1, symmetric=True)
    assert signed.tolist() == [[-1.0, 0.5]]


def test_figures_for_a_real_model():
    model = checkpoint.load_default()
    image = np.zeros((28, 28), np.float32)
    image[4:24, 13:16] = 1.0
    acts = inference.feature_maps(model, image)
    fig = figures.feature_map_figure(acts[0])
    assert fig.data[0].z.shape == (2 * 28 + 1, 3 * 28 + 2)  # 6 maps, 3 a row
    kernels = inference.conv_kernels(model)
    assert figures.kernel_figure("conv2", kernels["conv2"]).data[0].z.shape == (6 * 6 - 1, 16 * 6 - 1)
    dense = [a for a in acts if a.output.dim() == 1 and a.type != "Flatten"]
    assert len(figures.dense_figure(dense).data) == len(dense)
    probs = inference.predict_proba(model, image)[0].numpy()
    bars = figures.probability_figure(probs, model.class_names)
    assert list(bars.data[0].x) == list(model.class_names)
    assert figures.upscale(image, 8).shape == (224, 224)
