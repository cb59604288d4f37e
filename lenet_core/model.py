"""LeNet-5 as the book draws it, every layer explicit, plus the per-layer shape/parameter table."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from .config import TrainConfig

_ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}
_POOLS = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}


def build_lenet(config: TrainConfig) -> nn.Sequential:
    """The network for `config`: logits out, softmax belongs to inference and the loss."""
    act = _ACTIVATIONS[config.activation]
    h1, h2 = config.hidden
    if config.arch == "mlp":
        layers = [
            ("flatten", nn.Flatten()),  # (N, 784)
            ("fc1", nn.Linear(28 * 28, h1)), ("act1", act()),
            ("fc2", nn.Linear(h1, h2)), ("act2", act()),
            ("fc3", nn.Linear(h2, 10)),
        ]
    else:
        c1, c2 = config.conv_channels
        pool = _POOLS[config.pooling]
        layers = [
            ("conv1", nn.Conv2d(1, c1, kernel_size=5, padding=2)),  # (N, c1, 28, 28)
            ("act1", act()),
            ("pool1", pool(kernel_size=2, stride=2)),  # (N, c1, 14, 14)
            ("conv2", nn.Conv2d(c1, c2, kernel_size=5)),  # (N, c2, 10, 10)
            ("act2", act()),
            ("pool2", pool(kernel_size=2, stride=2)),  # (N, c2, 5, 5)
            ("flatten", nn.Flatten()),  # (N, c2 * 25)
            ("fc1", nn.Linear(c2 * 5 * 5, h1)), ("act3", act()),
            ("fc2", nn.Linear(h1, h2)), ("act4", act()),
            ("fc3", nn.Linear(h2, 10)),  # (N, 10) logits
        ]
    net = nn.Sequential(OrderedDict(layers))
    if config.init == "xavier":
        for m in net.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.xavier_uniform_(m.weight)
    return net


@dataclass(frozen=True)
class LayerRow:
    layer: str  # the layer's name in the Sequential, e.g. "conv1"
    type: str  # its class, as the seed prints it, e.g. "Conv2d"
    output_shape: tuple[int, ...]  # for one 1x28x28 input
    params: int


def summary(config: TrainConfig) -> list[LayerRow]:
    """One row per layer: the seed's "检查模型" printout, with parameter counts."""
    net = build_lenet(config).eval()
    x = torch.zeros(1, 1, 28, 28)
    rows = []
    with torch.no_grad():
        for name, layer in net.named_children():
            x = layer(x)
            rows.append(LayerRow(name, type(layer).__name__, tuple(x.shape),
                                 sum(p.numel() for p in layer.parameters())))
    return rows

