"""LeNet-5 as the book draws it, grown as its exercises ask (kernel size, conv stages, hidden
layers), every layer explicit, plus the per-layer shape/parameter table."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from .config import INPUT_SIZE, TrainConfig, conv_padding, feature_sizes

_ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}
_POOLS = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}
# Layers that move or mix values (a shape or a meaning changes); every other layer here
# (activation, batch norm, dropout) works value by value and keeps its input's shape.
STRUCTURAL = (nn.Conv2d, nn.AvgPool2d, nn.MaxPool2d, nn.Flatten, nn.Linear)


def build_lenet(config: TrainConfig) -> nn.Sequential:
    """The network for `config`: logits out, softmax belongs to inference and the loss.

    lenet: conv stages (conv, activation, 2x2 pooling; or the pooling first), flatten, hidden
    layers, 10 outputs. The book's config gives its LeNet-5 exactly: conv1 6@5x5 pad 2
    (28x28), pool (14x14), conv2 16@5x5 (10x10), pool (5x5), flatten (400), fc 120, fc 84,
    fc 10. mlp: flatten, hidden layers, 10 outputs.

    batch_norm puts a BatchNorm (bnK, 2 parameters per channel or unit) between each conv or
    hidden layer and its activation actK, as the book's batch-norm chapter does; dropout > 0
    follows each hidden layer's activation with dropK. The book's recipe has neither."""
    act = _ACTIVATIONS[config.activation]
    layers: list[tuple[str, nn.Module]] = []
    acts = 0

    def norm(width: int, conv: bool) -> None:  # before the activation it feeds
        if config.batch_norm:
            layers.append((f"bn{acts + 1}", (nn.BatchNorm2d if conv else nn.BatchNorm1d)(width)))

    def activation() -> None:
        nonlocal acts
        acts += 1
        layers.append((f"act{acts}", act()))

    width = 1  # channels, then features, flowing through
    if config.arch == "mlp":
        width = INPUT_SIZE * INPUT_SIZE
    else:
        k = config.kernel_size
        sizes = feature_sizes(k, len(config.conv_channels))  # [(conv side, pooled side), ...]
        for stage, c in enumerate(config.conv_channels):
            layers.append((f"conv{stage + 1}", nn.Conv2d(width, c, kernel_size=k,
                                                         padding=conv_padding(stage, k))))
            norm(c, conv=True)  # (N, c, sizes[stage][0], sizes[stage][0]): per channel
            pool = (f"pool{stage + 1}", _POOLS[config.pooling](kernel_size=2, stride=2))
            if config.pool_first:  # max-pool then ReLU: the same numbers, on 4x fewer values
                layers.append(pool)
                activation()
            else:  # the book: (N, c, sizes[stage][0], sizes[stage][0]), then pooled
                activation()
                layers.append(pool)
            width = c  # (N, c, sizes[stage][1], sizes[stage][1])
        width *= sizes[-1][1] ** 2
    layers.append(("flatten", nn.Flatten()))  # (N, width)
    for i, h in enumerate(config.hidden):
        layers.append((f"fc{i + 1}", nn.Linear(width, h)))  # (N, h)
        norm(h, conv=False)
        activation()
        if config.dropout > 0:
            layers.append((f"drop{i + 1}", nn.Dropout(config.dropout)))
        width = h
    layers.append((f"fc{len(config.hidden) + 1}", nn.Linear(width, 10)))  # (N, 10) logits
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

