"""The network a config builds, as the book draws it: d2l's Fig. 7.6.1 (LeCun's full notation:
feature maps as stacks of squares, "C1: 6@28×28", "S2: 6@14×14", dense layers, OUTPUT 10) and
Fig. 7.6.2 (the compressed notation: one box per layer), laid out as plain shapes.

`layers` walks the network `build_lenet` makes for the config (on PyTorch's meta device: no
weights are allocated, so the widest config costs milliseconds) and works out each layer's
output shape from its own settings, arithmetically: no forward pass. `boxes` groups the layers
into the full notation's feature maps and layers of units. `full_drawing` and
`compressed_drawing` place them as rectangles, lines and texts in pixels (y down), which
lenet_core.architecture_render turns into a Plotly figure, SVG or PNG.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from ..config import INPUT_SIZE, TrainConfig
from ..model import build_lenet


@dataclass(frozen=True)
class Layer:
    """One layer of the network: one box of the compressed notation."""

    name: str  # its name in the Sequential: "conv1", "act1", "pool1", "flatten", "fc1"
    type: str  # its class: "Conv2d", "Sigmoid", "AvgPool2d", ...
    shape: tuple[int, ...]  # its output for one 1x28x28 input: (C, H, W) or (N,)
    params: int
    text: str  # what it does: "Convolution 5×5, pad 2, stride 1"


@dataclass(frozen=True)
class Box:
    """One box of the full notation: a stack of feature maps, or a layer of units."""

    tag: str  # "INPUT", "C1", "S2", "F5", "OUTPUT": LeCun's names, numbered in order
    kind: str  # "input", "conv", "pool", "dense" or "output"
    shape: tuple[int, ...]  # (C, H, W) or (N,)
    params: int  # of the layers it stands for
    op: tuple[str, ...]  # the arrow's words, a line each: ("conv 5×5", "pad 2, stride 1", "sigmoid")
    layers: tuple[str, ...] = ()  # the Sequential's layers it stands for

    @property
    def caption(self) -> str:
        """The book's numbers: "28×28", "6@28×28", "dense 120", "10"."""
        if len(self.shape) == 3:
            c, h, w = self.shape
            return f"{h}×{w}" if self.kind == "input" else f"{c}@{h}×{w}"
        return str(self.shape[0]) if self.kind == "output" else f"dense {self.shape[0]}"

    @property
    def label(self) -> str:
        return f"{self.tag} {self.caption}"


def _pair(v: int | tuple[int, ...]) -> int:
    return v if isinstance(v, int) else v[0]  # LeNet's kernels, paddings, strides are square


def _out_shape(m: nn.Module, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A layer's output shape from its input's and its own settings."""
    if isinstance(m, (nn.Conv2d, nn.AvgPool2d, nn.MaxPool2d)):
        k, s, p = _pair(m.kernel_size), _pair(m.stride), _pair(m.padding)
        side = (shape[1] + 2 * p - k) // s + 1
        return (m.out_channels if isinstance(m, nn.Conv2d) else shape[0], side, side)
    if isinstance(m, nn.Flatten):
        return (math.prod(shape),)
    if isinstance(m, nn.Linear):
        return (m.out_features,)
    return shape  # activations, batch norm, dropout


def _describe(m: nn.Module) -> str:
    if isinstance(m, nn.Conv2d):
        k, p, s = _pair(m.kernel_size), _pair(m.padding), _pair(m.stride)
        return f"Convolution {k}×{k}, pad {p}, stride {s}"
    if isinstance(m, (nn.AvgPool2d, nn.MaxPool2d)):
        k, s = _pair(m.kernel_size), _pair(m.stride)
        return f"{'Max' if isinstance(m, nn.MaxPool2d) else 'Average'} pool {k}×{k}, stride {s}"
    if isinstance(m, nn.Linear):
        return f"Dense {m.in_features} → {m.out_features}"
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return "Batch norm"
    if isinstance(m, nn.Dropout):
        return f"Dropout p={m.p:g}"
    if isinstance(m, nn.Flatten):
        return "Flatten"
    return type(m).__name__  # an activation: "Sigmoid", "ReLU", "Tanh", "GELU"


def layers(config: TrainConfig) -> list[Layer]:
    """Every layer `build_lenet(config)` makes, in order, with its output shape and parameters."""
    with torch.device("meta"):
        net = build_lenet(config)
    shape: tuple[int, ...] = (1, INPUT_SIZE, INPUT_SIZE)
    out = []
    for name, m in net.named_children():
        shape = _out_shape(m, shape)
        out.append(Layer(name, type(m).__name__, shape, sum(p.numel() for p in m.parameters()),
                         _describe(m)))
    return out


_STARTS = {"Conv2d": "conv", "AvgPool2d": "pool", "MaxPool2d": "pool", "Linear": "dense"}
_TAGS = {"conv": "C", "pool": "S", "dense": "F"}


def _short(layer: Layer) -> list[str]:
    """A layer's words on an arrow of the full notation, in short lines."""
    if layer.type == "Linear":
        return ["dense"]  # LeCun's "full connection"
    if layer.type not in ("Conv2d", "AvgPool2d", "MaxPool2d"):
        return [layer.text.lower()]  # "sigmoid", "flatten", "batch norm"
    # "Convolution 5×5, pad 2, stride 1" -> "conv 5×5", "pad 2", "stride 1"
    words = layer.text.replace("Convolution", "conv").replace("Average", "avg").replace("Max", "max")
    return words.split(", ")


def boxes(config: TrainConfig) -> list[Box]:
    """The full notation's boxes: the input, each conv and pool layer's maps, each layer of
    units, the output. A conv, pool or dense layer starts a box; the layers after it that
    keep its shape (activation, batch norm) join it and its arrow's words."""
    groups: list[dict] = []
    pending: list[Layer] = []  # a flatten: its words go on the next arrow
    for layer in layers(config):
        kind = _STARTS.get(layer.type)
        if kind is None and layer.type != "Flatten" and groups:
            groups[-1]["layers"].append(layer)
            continue
        if kind is None:
            pending.append(layer)
            continue
        groups.append({"kind": kind, "layers": [*pending, layer]})
        pending = []
    groups[-1]["kind"] = "output"
    out = [Box("INPUT", "input", (1, INPUT_SIZE, INPUT_SIZE), 0, ())]
    for n, g in enumerate(groups, start=1):
        ls = g["layers"]
        tag = "OUTPUT" if g["kind"] == "output" else f"{_TAGS[g['kind']]}{n}"
        out.append(Box(tag, g["kind"], ls[-1].shape, sum(x.params for x in ls),
                       tuple(s for x in ls for s in _short(x)), tuple(x.name for x in ls)))
    return out


# --- the drawing: shapes in pixels, y down ---------------------------------------------------

INK = "#343A40"
MUTED = "#868E96"
FILLS = {"input": "#E9ECEF", "conv": "#D0EBFF", "pool": "#D3F9D8", "dense": "#FFE8CC",
         "output": "#FFD8A8", "act": "#F3F0FF", "other": "#F8F9FA"}


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str
    line: str = INK
    hover: str = ""  # what a pointer over it is told (Plotly only)


@dataclass(frozen=True)
class Line:
    x0: float
    y0: float
    x1: float
    y1: float
    arrow: bool = True
    color: str = MUTED


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # the middle of the line
    text: str
    size: float = 11
    anchor: str = "middle"  # "start", "middle" or "end"
    bold: bool = False
    color: str = INK


@dataclass
class Drawing:
    width: float
    height: float
    title: str
    items: list = field(default_factory=list)

    def texts(self) -> list[str]:
        return [i.text for i in self.items if isinstance(i, Text)]


def text_width(text: str, size: float) -> float:
    """About how wide `text` is in a sans-serif font (no font metrics on the server)."""
    return 0.62 * size * len(text)


MAP_PX = 3  # pixels per feature-map pixel
STACK_STEP = 4  # offset between stacked maps
MAX_STACK = 16  # maps drawn per stack at most (the label says how many)
UNIT_BAR = 14  # width of a layer of units
MAX_BAR = 200  # its height at most (the label says how many units)


def _extent(b: Box) -> tuple[float, float]:
    """(width, height) of a box's picture."""
    if len(b.shape) == 3:
        c, h, _ = b.shape
        side, depth = max(h * MAP_PX, 4), (min(c, MAX_STACK) - 1) * STACK_STEP
        return side + depth, side + depth
    return UNIT_BAR, min(max(b.shape[0] * 0.9, 12), MAX_BAR)


def _picture(b: Box, x: float, cy: float) -> list:
    """A box's stack of maps (back to front) or its bar of units, centred on cy."""
    w, h = _extent(b)
    hover = f"{b.tag}: {b.caption} · {' → '.join(b.layers) or 'the image'} · {b.params:,} params"
    if len(b.shape) != 3:
        return [Rect(x, cy - h / 2, w, h, FILLS[b.kind], hover=hover)]
    n = min(b.shape[0], MAX_STACK)
    side = w - (n - 1) * STACK_STEP
    top = cy - h / 2
    return [Rect(x + i * STACK_STEP, top + (n - 1 - i) * STACK_STEP, side, side, FILLS[b.kind],
                 hover=hover) for i in reversed(range(n))]


def _rows(widths: list[float], gaps: list[float], pad: float,
          max_width: float | None) -> list[list[tuple[int, float]]]:
    """Boxes placed left to right, (index, x) each, a new row whenever the next one would
    pass max_width."""
    rows: list[list[tuple[int, float]]] = [[]]
    x = pad
    for i, w in enumerate(widths):
        gap = gaps[i - 1] if i else 0
        if max_width and rows[-1] and x + gap + w > max_width - pad:
            rows.append([])  # its first arrow comes from the row above
            x = pad
        x += gap
        rows[-1].append((i, x))
        x += w
    return rows


def full_drawing(config: TrainConfig, *, max_width: float | None = None) -> Drawing:
    """Fig. 7.6.1: the boxes left to right, each labelled above (its name, its numbers) and
    below (its parameters), the arrows between them labelled with the layers they stand for.
    max_width: wrap onto further rows to stay within it (the page's width); None: one row."""
    bs = boxes(config)
    size, pad, line = 11, 12, 12
    widths = [max(_extent(b)[0], text_width(b.caption, size), 1.15 * text_width(b.tag, size),
                  text_width(f"{b.params:,}", size)) for b in bs]  # bold is wider
    gaps = [max(56, *(text_width(s, size - 1) + 16 for s in b.op)) for b in bs[1:]]
    items: list = []
    top = pad
    rows = _rows(widths, gaps, pad, max_width)
    for r, row in enumerate(rows):
        ext = max(_extent(bs[i])[1] for i, _ in row)
        cy = top + 2 * line + 10 + ext / 2
        below = 0.0
        for k, (i, x0) in enumerate(row):
            b, w = bs[i], widths[i]
            pw, ph = _extent(b)
            left = x0 + (w - pw) / 2
            items += _picture(b, left, cy)
            items += [Text(x0 + w / 2, cy - ph / 2 - 2 * line, b.tag, size, bold=True),
                      Text(x0 + w / 2, cy - ph / 2 - line + 2, b.caption, size)]
            if b.params:
                items += [Text(x0 + w / 2, cy + ph / 2 + line, f"{b.params:,}", size - 1,
                               color=MUTED),
                          Text(x0 + w / 2, cy + ph / 2 + 2 * line, "params", size - 1, color=MUTED)]
            below = max(below, ph / 2 + 2 * line + 6 if b.params else ph / 2, line * (len(b.op) + 1))
            if i:  # the arrow in, and its words under it
                start = row[k - 1][1] + widths[row[k - 1][0]] if k else pad
                items.append(Line(start + 4, cy, left - 4, cy))
                items += [Text((start + left) / 2, cy + line + line * j, s, size - 1, color=MUTED)
                          for j, s in enumerate(b.op)]
        if r + 1 < len(rows):  # the row goes on below
            last = row[-1][1] + widths[row[-1][0]]
            items.append(Line(last + 4, cy, last + 16, cy, arrow=False))
        top = cy + below + line
    width = max(row[-1][1] + widths[row[-1][0]] for row in rows) + pad
    total = sum(b.params for b in bs)
    return Drawing(width, top + pad - line, f"{config.arch} · {total:,} parameters", items)


def compressed_drawing(config: TrainConfig) -> Drawing:
    """Fig. 7.6.2: one box per layer, top to bottom, each with what it does, its output shape
    and its parameters."""
    rows = [Layer("input", "Input", (1, INPUT_SIZE, INPUT_SIZE), 0, "Image")] + layers(config)
    size, pad, box_h, step = 11, 12, 26, 38
    name_w = max(text_width(r.text, size) for r in rows) + 16
    shape_w = max(text_width("×".join(map(str, r.shape)), size) for r in rows) + 16
    width = pad * 2 + name_w + shape_w + 90
    items: list = []
    for k, r in enumerate(rows):
        y = pad + k * step
        kind = {"Conv2d": "conv", "AvgPool2d": "pool", "MaxPool2d": "pool", "Linear": "dense",
                "Input": "input"}.get(r.type, "act" if r.params == 0 else "other")
        if k == len(rows) - 1:
            kind = "output"
        shape = "×".join(map(str, r.shape))
        items += [Rect(pad, y, name_w + shape_w, box_h, FILLS[kind],
                       hover=f"{r.name} · {r.type} · {shape} · {r.params:,} params"),
                  Text(pad + 8, y + box_h / 2, r.text, size, anchor="start"),
                  Text(pad + name_w + shape_w - 8, y + box_h / 2, shape, size, anchor="end",
                       bold=True)]
        if r.params:
            items.append(Text(pad + name_w + shape_w + 8, y + box_h / 2, f"{r.params:,} params",
                              size - 1, anchor="start", color=MUTED))
        if k:
            mid = pad + (name_w + shape_w) / 2
            items.append(Line(mid, y - step + box_h + 1, mid, y - 1))
    total = sum(r.params for r in rows)
    return Drawing(width, pad * 2 + len(rows) * step - (step - box_h),
                   f"{config.arch} · {total:,} parameters", items)


def drawing(config: TrainConfig, notation: str, *, max_width: float | None = None) -> Drawing:
    """notation: "full" (Fig. 7.6.1) or "compressed" (Fig. 7.6.2)."""
    if notation == "full":
        return full_drawing(config, max_width=max_width)
    return compressed_drawing(config)
