"""Every layer on one drawing (lenet_core.network_view): each panel is its layer's output for
the input, against the network's own forward pass; the output panel is predict_proba."""

import math

import numpy as np
import pytest
import torch

from lenet_core import data
from lenet_core.config import D2L
from lenet_core.explain import inference
from lenet_core.model import build_lenet
from lenet_core.runs import checkpoint
from lenet_core.runs.checkpoint import LoadedModel
from lenet_core.show import architecture, network_view
from tests.support import layer_io


def scaled(v: np.ndarray) -> np.ndarray:
    return (v - v.min()) / (v.max() - v.min())


def test_each_panel_is_its_layers_output(mnist):
    model = checkpoint.load_default()
    image = mnist.test_x[0]
    ps = network_view.panels(model, image)
    boxes = architecture.boxes(model.config)
    assert [b.tag for b, _, _ in ps] == [b.tag for b in boxes] == [
        "INPUT", "C1", "S2", "C3", "S4", "F5", "F6", "OUTPUT"]
    assert np.allclose(ps[0][1], image.numpy() / 255)
    ref = {name: y for name, (_, y) in layer_io(model, image).items()}
    for box, grid, index in ps[1:-1]:
        y = ref[box.layers[-1]].numpy()
        if y.ndim == 3:  # channel c's map sits where `index` says, scaled to its own range
            for c in range(y.shape[0]):
                rows, cols = np.nonzero(index == c)
                block = grid[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
                assert block.shape == y.shape[1:]
                assert np.allclose(block, scaled(y[c]), atol=1e-6), (box.tag, c)
        else:  # unit k of the layer, scaled to the layer's range
            k = index[index >= 0]
            assert sorted(k.tolist()) == list(range(len(y)))
            assert np.allclose(grid[index >= 0], scaled(y)[k], atol=1e-6)
    probs = inference.predict_proba(model, image)[0].numpy()
    assert np.allclose(ps[-1][1][:, 0], probs, atol=1e-6)


def test_the_figure_has_one_panel_per_box_and_names_the_answer(mnist):
    model = checkpoint.load_default()
    fig = network_view.network_figure(model, mnist.test_x[0])
    assert [t.type for t in fig.data] == ["heatmap"] * 7 + ["bar"]
    bar = fig.data[-1]
    assert list(bar.y) == [str(k) for k in range(10)]
    assert bar.marker.color[7] != bar.marker.color[0]  # the answer, 7, is marked
    titles = [a.text for a in fig.layout.annotations]
    assert titles[1] == "<b>C1</b><br>6@28×28" and titles[-1] == "<b>OUTPUT</b><br>10"
    domains = [fig.layout[f"xaxis{'' if k == 0 else k + 1}"].domain for k in range(8)]
    assert all(a[1] <= b[0] for a, b in zip(domains, domains[1:], strict=False))  # side by side


@pytest.mark.parametrize("config", [
    D2L.replace(conv_channels=(6, 16, 32), kernel_size=3, hidden=(64,)),
    D2L.replace(arch="mlp", hidden=(256, 64)),
    D2L.replace(pool_first=True, pooling="max", activation="relu", hidden=()),
    D2L.replace(conv_channels=(256,), kernel_size=7, hidden=(4096,)),
])
def test_every_network_is_drawn(config):
    torch.manual_seed(0)
    model = LoadedModel(build_lenet(config).eval(), config, data.class_names(config.dataset),
                        "test")
    image = np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)
    fig = network_view.network_figure(model, image)
    boxes = architecture.boxes(config)
    assert len(fig.data) == len(boxes)
    for trace, box in zip(fig.data[1:-1], boxes[1:-1], strict=True):
        units = math.prod(box.shape)
        assert np.count_nonzero(~np.isnan(np.asarray(trace.z, float))) == units
