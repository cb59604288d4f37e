"""How one value is computed (lenet_core.conv_explain), held against the model's own forward
pass: every number within 1e-5, for every conv layer of several configs; the patch against
torch's unfold; the receptive field against autograd."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lenet_core import data
from lenet_core.config import D2L, MODERN
from lenet_core.explain import conv_explain
from lenet_core.model import build_lenet
from lenet_core.runs.checkpoint import LoadedModel
from tests.support import layer_io

TOL = 1e-5
CONFIGS = {
    "book": D2L,
    "kernel 3": D2L.replace(kernel_size=3),
    "3 stages": D2L.replace(conv_channels=(6, 16, 32), kernel_size=3, hidden=(64,)),
    "pool first, max": MODERN.replace(pool_first=True),  # relu, max-pool, normalised input
    "max, tanh, kernel 7": D2L.replace(pooling="max", activation="tanh", kernel_size=7),
    "gelu, avg": D2L.replace(activation="gelu", normalize=True),
    "batch norm": D2L.replace(batch_norm=True),  # its running statistics are used
    "batch norm, pool first": MODERN.replace(batch_norm=True, pool_first=True),
}


def model_for(config) -> LoadedModel:
    torch.manual_seed(0)
    net = build_lenet(config)
    with torch.no_grad():  # biases and batch-norm statistics away from their defaults
        for name, p in net.named_parameters():
            if name.endswith("bias"):
                p.uniform_(-0.5, 0.5)
        for m in net.modules():
            if hasattr(m, "running_mean"):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return LoadedModel(net.eval(), config, data.class_names(config.dataset), "test")


def cells(side: int, rng: np.random.Generator, n: int = 3) -> list[tuple[int, int]]:
    corners = [(0, 0), (0, side - 1), (side - 1, 0), (side - 1, side - 1)]
    return corners + [tuple(int(v) for v in rng.integers(0, side, 2)) for _ in range(n)]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_number_equals_the_forward_pass(name):
    model = model_for(CONFIGS[name])
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (28, 28), dtype=np.uint8)
    layers = layer_io(model, image)
    names = list(layers)
    convs = conv_explain.conv_layers(model)
    assert list(convs) == [n for n in names if n.startswith("conv")]
    for layer, (channels, side) in convs.items():
        conv = dict(model.net.named_children())[layer]
        x, y = layers[layer]
        k, pad = conv.kernel_size[0], conv.padding[0]
        columns = F.unfold(x[None], k, padding=pad)[0]  # (C_in * k * k, side * side)
        for ch in range(channels):
            for r, c in cells(side, rng):
                e = conv_explain.explain(model, image, layer, ch, r, c)
                assert np.allclose(e.patch.ravel(), columns[:, r * side + c].numpy(), atol=TOL)
                assert np.allclose(e.weights, conv.weight[ch].detach().numpy(), atol=TOL)
                assert np.allclose(e.channel_sums, e.products.sum((1, 2)), atol=TOL)
                assert e.pre_activation == pytest.approx(float(y[ch, r, c]), abs=TOL)
                for step in e.before_pool:  # the activation (and batch norm) at this cell
                    assert step.value_out == pytest.approx(float(layers[step.layer][1][ch, r, c]),
                                                           abs=TOL)
                assert e.pool_layer is not None  # every map of these configs has even sides
                pin, pout = layers[e.pool_layer]
                t, left = e.window_top, e.window_left
                assert np.allclose(e.window, pin[ch, t:t + 2, left:left + 2].numpy(), atol=TOL)
                assert e.pooled == pytest.approx(float(pout[ch, t // 2, left // 2]), abs=TOL)
                for step in e.after_pool:  # pooling first: the activation of the pooled value
                    assert step.value_out == pytest.approx(
                        float(layers[step.layer][1][ch, t // 2, left // 2]), abs=TOL)
                assert bool(e.after_pool) == CONFIGS[name].pool_first


def grad_box(model: LoadedModel, layer: str, ch: int, r: int, c: int) -> tuple[int, ...]:
    """The bounding box of the input pixels the cell's value depends on, by autograd."""
    x = torch.rand(1, 1, 28, 28, requires_grad=True)
    y = x
    for name, m in model.net.named_children():
        y = m(y)
        if name == layer:
            break
    y[0, ch, r, c].backward()
    rows, cols = np.nonzero(x.grad[0, 0].abs().numpy() > 0)
    return rows.min(), cols.min(), rows.max(), cols.max()


def test_the_receptive_field_is_what_the_value_depends_on():
    book = model_for(D2L)
    image = np.zeros((28, 28), np.uint8)
    assert conv_explain.explain(book, image, "conv1", 0, 10, 10).field_size == 5
    e = conv_explain.explain(book, image, "conv2", 0, 4, 4)
    assert e.field_size == 14  # 5x5 on pool1 = 10x10 of conv1, + 4 for conv1's own kernel
    assert e.field == (6, 6, 19, 19)
    three = model_for(CONFIGS["3 stages"])
    for model, layer, cell in ((book, "conv1", (0, 0)), (book, "conv1", (13, 20)),
                               (book, "conv2", (4, 4)), (book, "conv2", (0, 9)),
                               (three, "conv2", (5, 7)), (three, "conv3", (1, 2))):
        e = conv_explain.explain(model, image, layer, 1, *cell)
        assert e.field == grad_box(model, layer, 1, *cell), (layer, cell)


def test_refuses_what_is_not_a_conv_cell():
    model = model_for(D2L)
    image = np.zeros((28, 28), np.uint8)
    with pytest.raises(ValueError, match="not a conv layer"):
        conv_explain.explain(model, image, "pool1", 0, 0, 0)
    with pytest.raises(ValueError, match="16 channels of 10x10"):
        conv_explain.explain(model, image, "conv2", 0, 10, 0)
    assert conv_explain.conv_layers(model_for(D2L.replace(arch="mlp"))) == {}
