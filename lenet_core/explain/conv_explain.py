"""How one value of a feature map is computed, on the learner's own model (CNN Explainer's view).

For a conv layer, an output channel and a cell of one input: the k x k patch of every input
channel under the kernel (padding as zeros), the kernel's weights, their element-wise products
and each channel's sum, the sum plus the bias (the conv's output there), the element-wise
layers that follow (the activation; batch norm where the model has it), the 2x2 pooling window
that holds the cell and its pooled value, and the cell's receptive field on the 28x28 input.

The patch, weights and bias are read from the model and its own forward pass; the products,
sums, activation and pooling are computed here, so that a test can hold every number against
the forward pass (tests/test_conv_explain.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .. import data
from ..config import INPUT_SIZE
from ..model import STRUCTURAL
from ..runs.checkpoint import LoadedModel

_POOLS = (nn.AvgPool2d, nn.MaxPool2d)
_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


@dataclass(frozen=True)
class Step:
    """One element-wise layer (activation, batch norm) applied to one value."""

    layer: str  # "act1"
    type: str  # "Sigmoid"
    value_in: float
    value_out: float


@dataclass(frozen=True)
class Computation:
    layer: str  # the conv layer, "conv2"
    channel: int  # its output channel
    row: int  # the cell, in the conv's output
    col: int
    input_name: str  # what the conv reads: "the input" or the layer before it, "pool1"
    inputs: np.ndarray  # (C_in, H, W) what the conv reads, for drawing the patch on
    kernel_size: int
    padding: int
    top: int  # the patch's top-left corner in `inputs` (negative: in the padding)
    left: int
    patch: np.ndarray  # (C_in, k, k) the values under the kernel, padding as 0
    weights: np.ndarray  # (C_in, k, k) the kernel of this output channel
    products: np.ndarray  # (C_in, k, k) patch * weights
    channel_sums: np.ndarray  # (C_in,) each input channel's sum of products
    bias: float
    pre_activation: float  # sum of channel_sums + bias: the conv's output at the cell
    before_pool: tuple[Step, ...]  # what follows the conv at this cell, before the pooling
    pool_layer: str | None  # "pool2"; None when no pooling window holds the cell
    pool: str | None  # "max" or "avg"
    window: np.ndarray | None  # (2, 2) the values pooled: this map after before_pool
    window_top: int  # the window's top-left corner in the conv's output
    window_left: int
    pooled: float | None
    after_pool: tuple[Step, ...]  # pooling first: the activation of the pooled value
    field: tuple[int, int, int, int]  # the receptive field on the 28x28 input: top, left,
    # bottom, right (inclusive, clipped to the image)
    field_size: int  # its side before clipping: 5 for the book's conv1, 14 for its conv2

    @property
    def value(self) -> float:
        """The cell's value as the pooling sees it."""
        return self.before_pool[-1].value_out if self.before_pool else self.pre_activation

    @property
    def result(self) -> float:
        """What the stage passes on for this window: pooled, then activated if pooling first."""
        if self.pooled is None:
            return self.value
        return self.after_pool[-1].value_out if self.after_pool else self.pooled


def conv_layers(model: LoadedModel) -> dict[str, tuple[int, int]]:
    """{conv layer: (output channels, output side)} for one 28x28 input, in order."""
    out, x = {}, torch.zeros(1, 1, 28, 28)
    with torch.inference_mode():
        for name, m in model.net.named_children():
            x = m(x)
            if isinstance(m, nn.Conv2d):
                out[name] = (x.shape[1], x.shape[2])
    return out


def _elementwise(m: nn.Module, value: float, channel: int) -> float:
    """An activation or batch norm (in eval mode) applied to one value of `channel`."""
    if isinstance(m, _BATCH_NORMS):
        mean, var = float(m.running_mean[channel]), float(m.running_var[channel])
        w = float(m.weight[channel].detach()) if m.affine else 1.0
        b = float(m.bias[channel].detach()) if m.affine else 0.0
        return float((value - mean) / np.sqrt(var + m.eps) * w + b)
    with torch.inference_mode():
        return float(m(torch.tensor([value], dtype=torch.float64)))


def _receptive_field(layers: list[nn.Module], row: int, col: int) -> tuple[tuple, int]:
    """The input pixels that `layers` (the input up to a conv, inclusive) read to make one
    cell of the last one's output: walk back one layer at a time."""
    (r0, r1), (c0, c1) = (row, row), (col, col)
    for m in reversed(layers):
        if isinstance(m, (nn.Conv2d, *_POOLS)):
            k, s, p = (v if isinstance(v, int) else v[0] for v in (m.kernel_size, m.stride,
                                                                  m.padding))
            r0, r1, c0, c1 = r0 * s - p, r1 * s - p + k - 1, c0 * s - p, c1 * s - p + k - 1
    size = r1 - r0 + 1
    r0, c0, r1, c1 = (min(max(v, 0), INPUT_SIZE - 1) for v in (r0, c0, r1, c1))
    return (r0, c0, r1, c1), size


def _chain(mods: dict[str, nn.Module], names: list[str], i: int, value: float,
           channel: int) -> tuple[list[Step], int]:
    """The element-wise layers from names[i] on applied to one value; and where they end."""
    steps = []
    while i < len(names) and not isinstance(mods[names[i]], STRUCTURAL):
        out = _elementwise(mods[names[i]], value, channel)
        steps.append(Step(names[i], type(mods[names[i]]).__name__, value, out))
        value, i = out, i + 1
    return steps, i


def _forward(model: LoadedModel, image: np.ndarray | torch.Tensor, layer: str
             ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every layer's input for one image (batch dimension dropped), and `layer`'s output."""
    x = data.prepare(torch.as_tensor(image).reshape(1, 28, 28), model.config.dataset,
                     model.config.normalize)
    inputs, out = {}, None
    with torch.inference_mode():
        for name, m in model.net.named_children():
            inputs[name] = x[0].double().numpy()
            x = m(x)
            if name == layer:
                out = x[0].double().numpy()
    return inputs, out


def explain(model: LoadedModel, image: np.ndarray | torch.Tensor, layer: str, channel: int,
            row: int, col: int) -> Computation:
    """How `layer`'s output `channel` at (row, col) is computed for one 28x28 image (uint8 or
    float in [0, 1]). Raises ValueError for a layer that is not a conv, or a cell off its map."""
    mods = dict(model.net.named_children())
    names = list(mods)
    conv = mods.get(layer)
    if not isinstance(conv, nn.Conv2d):
        raise ValueError(f"{layer!r} is not a conv layer of this model")
    maps, conv_out = _forward(model, image, layer)
    c_out, side = conv_out.shape[0], conv_out.shape[1]
    if not (0 <= channel < c_out and 0 <= row < side and 0 <= col < side):
        raise ValueError(f"{layer} has {c_out} channels of {side}x{side}: no channel {channel}, "
                         f"cell ({row}, {col})")
    k, pad, at = conv.kernel_size[0], conv.padding[0], names.index(layer)
    padded = np.pad(maps[layer], ((0, 0), (pad, pad), (pad, pad)))
    patch = padded[:, row:row + k, col:col + k]  # stride 1: output (r, c) reads padded (r, c)
    weights = conv.weight[channel].detach().double().numpy()
    products = patch * weights
    sums = products.sum(axis=(1, 2))
    bias = float(conv.bias[channel].detach()) if conv.bias is not None else 0.0
    pre = float(sums.sum() + bias)
    before, i = _chain(mods, names, at + 1, pre, channel)
    value = before[-1].value_out if before else pre
    pool_layer = names[i] if i < len(names) and isinstance(mods[names[i]], _POOLS) else None
    window, pooled, after, top, left = None, None, [], row // 2 * 2, col // 2 * 2
    if pool_layer is not None and top + 2 <= side and left + 2 <= side:  # floor pooling
        window = maps[pool_layer][channel, top:top + 2, left:left + 2].copy()  # the forward pass
        window[row - top, col - left] = value  # this cell: its chain, computed here
        is_max = isinstance(mods[pool_layer], nn.MaxPool2d)
        pooled = float(window.max() if is_max else window.mean())
        after, _ = _chain(mods, names, i + 1, pooled, channel)
    else:
        pool_layer = None
    field, size = _receptive_field([mods[n] for n in names[:at + 1]], row, col)
    return Computation(
        layer, channel, row, col, names[at - 1] if at else "the input", maps[layer], k, pad,
        row - pad, col - pad, patch, weights, products, sums, bias, pre, tuple(before),
        pool_layer, None if pool_layer is None else ("max" if is_max else "avg"), window, top,
        left, pooled, tuple(after), field, size)
