"""lenet_core.figures: the dashboard's Plotly figures, as plain Python (no Streamlit)."""

import numpy as np
import pytest
import torch

from lenet_core.explain import evaluation, inference
from lenet_core.runs import checkpoint
from lenet_core.show import figures, figures_eval


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
    probs = inference.predict_proba(model, image)[0].numpy()
    bars = figures.probability_figure(probs, model.class_names)
    assert list(bars.data[0].x) == list(model.class_names)
    assert figures.upscale(image, 8).shape == (224, 224)


def _evaluation(confusion: np.ndarray) -> evaluation.Evaluation:
    """An Evaluation whose confusion matrix is `confusion` (one image per count)."""
    t, p = np.nonzero(confusion)
    reps = confusion[t, p]
    return evaluation.Evaluation("mnist", tuple(map(str, range(10))), np.repeat(t, reps),
                               np.repeat(p, reps), np.ones(reps.sum(), np.float32))


def test_confusion_figure_has_one_clickable_cell_per_pair_and_outlines_the_chosen():
    c = np.diag(np.full(10, 90))
    c[5, 3], c[4, 9] = 7, 3
    ev = _evaluation(c)
    fig = figures_eval.confusion_figure(ev, selected=(5, 3))
    heat, cells = fig.data[0], fig.data[figures_eval.CELL_TRACE]
    assert heat.type == "heatmap" and cells.type == "scatter" and len(cells.x) == 100
    for x, y, (t, p) in zip(cells.x, cells.y, cells.customdata, strict=True):
        assert (x, y) == (p, t)  # columns predicted, rows true
    assert heat.text[5][3] == "7" and heat.text[0][1] == ""  # counts; empty cells blank
    (outline,) = fig.layout.shapes
    assert (outline.x0, outline.x1, outline.y0, outline.y1) == (2.5, 3.5, 4.5, 5.5)
    shares = figures_eval.confusion_figure(ev, normalized=True).data[0].text
    assert shares[5][3] == f"{7 / 97:.1%}"


def test_confusion_difference_is_b_minus_a_coloured_by_which_is_better():
    a = np.diag(np.full(10, 90))
    b = a.copy()
    b[5, 5], b[5, 3] = 88, 2  # B gets two fives wrong that A got right
    fig = figures_eval.confusion_difference_figure(_evaluation(a), _evaluation(b), ("A", "B"))
    heat = fig.data[0]
    assert heat.text[5][3] == "+2" and heat.text[5][5] == "-2" and heat.text[0][0] == ""
    assert heat.z[5][3] < 0 and heat.z[5][5] < 0  # both worse for B
    per_class = figures_eval.per_class_figure(_evaluation(b)).data[0]
    assert list(per_class.y)[5] == pytest.approx(88 / 90) and per_class.text[5] == "97.8%"


def test_saliency_overlay_keeps_the_input_where_the_map_is_zero():
    image = np.zeros((28, 28), np.float32)
    image[10:18, 12:16] = 1
    smap = np.zeros((28, 28), np.float32)
    smap[0, 0], smap[27, 27] = 0.5, 1
    rgb = figures.saliency_overlay(image, smap, factor=2)
    assert rgb.shape == (56, 56, 3) and rgb.dtype == np.uint8
    assert (rgb[24, 28] == rgb[24, 28][0]).all() and rgb[24, 28][0] > 100  # gray ink, dimmed
    assert rgb[0, 0, 0] > rgb[0, 0, 1] > rgb[0, 0, 2]  # half-way up the heat scale: orange
    assert rgb[-1, -1].min() > 200  # its peak: near white


def test_activation_pair_figures_share_one_scale_per_channel():
    a = inference.Activation("act1", "ReLU", torch.ones(2, 4, 4))
    b = inference.Activation("act1", "ReLU", torch.zeros(2, 4, 4))
    fa, fb, diff = figures.activation_pair_figures(a, b, ("A", "B"))
    za, zb, zd = (np.asarray(f.data[0].z, float) for f in (fa, fb, diff))
    assert np.nanmax(za) == 1 and np.nanmax(zb) == 0  # not each rescaled to [0, 1] on its own
    assert np.nanmin(zd) == 1 and diff.data[0].colorscale[0][1] != fa.data[0].colorscale[0][1]


def test_an_overlaid_accuracy_axis_stays_within_0_and_100_percent():
    flat = [{"x": e, "step": e, "train_loss": 0.3, "train_acc": None, "test_acc": 0.89}
            for e in (1, 2)]  # identical runs: a flat line, which Plotly pads to ±50 %
    acc = figures.overlay_figure([("a", "#000000", flat), ("b", "#ffffff", flat)], "test_acc")
    assert (acc.layout.yaxis.autorangeoptions.clipmin, acc.layout.yaxis.autorangeoptions.clipmax) \
        == (0, 1)
    loss = figures.overlay_figure([("a", "#000000", flat)], "train_loss")
    assert loss.layout.yaxis.autorangeoptions.clipmax is None


def test_feature_maps_show_each_value_on_hover_and_a_colour_scale():
    maps = torch.arange(2 * 3 * 3, dtype=torch.float32).reshape(2, 3, 3) - 4
    fig = figures.feature_map_figure(inference.Activation("conv1", "Conv2d", maps))
    heat = fig.data[0]
    custom = np.asarray(heat.customdata, float)
    assert custom.shape[:2] == np.asarray(heat.z).shape
    assert custom[1, 2, 0] == 0 and custom[1, 2, 1] == maps[0, 1, 2].item()  # channel, value
    assert custom[0, 4, 0] == 1 and custom[0, 4, 1] == maps[1, 0, 0].item()
    assert "%{customdata[1]" in heat.hovertemplate
    assert heat.showscale and list(heat.colorbar.ticktext) == ["its min", "its max"]


def test_conv1s_kernels_are_a_grid_with_each_weight_on_hover():
    weight = checkpoint.load_default().net.conv1.weight.detach()  # (6, 1, 5, 5)
    fig = figures.kernel_figure("conv1", weight, width=260)
    heat = fig.data[0]
    assert np.asarray(heat.z).shape == (2 * 6 - 1, 3 * 6 - 1)  # 3 kernels a row, 2 rows
    custom = np.asarray(heat.customdata, float)
    assert custom[6 + 4, 6 + 3, 0] == 4  # second row, second kernel: output channel 4
    assert custom[6 + 4, 6 + 3, 2] == pytest.approx(weight[4, 0, 4, 3].item())
    # Each kernel cell is 16 px or more at the page's 260 px (it was ~15 px per kernel).
    assert (260 - figures.BAR_PX) / np.asarray(heat.z).shape[1] * 5 > 50


def test_each_fully_connected_layer_gets_its_own_row_and_units_axis():
    model = checkpoint.load_default()
    acts = inference.feature_maps(model, np.zeros((28, 28), np.float32))
    dense = [a for a in acts if a.output.dim() == 1 and a.type != "Flatten"]
    fig = figures.dense_figure(dense, model.class_names)
    assert len(fig.data) == len(dense)
    axes = [t.xaxis for t in fig.data]
    assert len(set(axes)) == len(dense)  # not one shared x axis
    for trace, act in zip(fig.data, dense, strict=True):
        assert list(trace.x) == list(range(len(act.output)))
        assert trace.customdata[0] == pytest.approx(act.output.numpy().tolist())
    titles = [a.text for a in fig.layout.annotations]
    assert [t.split("</b>")[0].removeprefix("<b>") for t in titles] == [a.layer for a in dense]
    last = fig.layout[axes[-1].replace("x", "xaxis")]
    assert list(last.ticktext) == list(model.class_names)  # fc3's units are the classes
    rows = sorted(fig.layout["yaxis" + t.yaxis[1:]].domain for t in fig.data)
    assert all(below[1] <= above[0] for below, above in zip(rows, rows[1:], strict=False))


def test_loss_and_accuracy_have_their_own_labelled_axes_and_one_test_point_shows():
    # A 1-epoch run at chance: loss 2.30 all along, one test point at 11.5 %.
    points = [{"x": k / 5, "train_loss": 2.30, "train_acc": 0.10} for k in range(1, 6)]
    points.append({"x": 1.0, "test_acc": 0.115})
    fig = figures.training_figure(points, epochs=1)
    axes = {t.name: t.yaxis for t in fig.data}
    assert axes == {"train loss": "y", "train acc": "y2", "test acc": "y2"}
    assert fig.layout.yaxis.title.text == "train loss"
    assert fig.layout.yaxis2.title.text == "accuracy" and fig.layout.yaxis2.side == "right"
    low, high = fig.layout.yaxis2.range
    assert (0.115 - low) / (high - low) > 0.1  # a tenth of the axis up, not on the x axis
    (test,) = [t for t in fig.data if t.name == "test acc"]
    assert list(test.x) == [1.0] and test.marker.size > 5 and test.cliponaxis is False
    assert fig.layout.xaxis.range[1] > 1.0  # the x axis reaches past it
