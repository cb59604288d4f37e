"""Every layer on one drawing (Draw): the whole network's activity for one input in a single
Plotly figure, left to right as the book draws LeNet: the input, each conv and pool layer's
maps, each dense layer's units, the 10 outputs' probabilities. Adam Harley's draw-a-digit
visualisation, flat.

The panels are the boxes of the full notation (lenet_core.architecture.boxes), each showing
the output of the last layer it stands for (the conv's activation, the pooling, the dense
layer's activation). It is redrawn on every stroke, so it is kept cheap: one heatmap per panel,
each map scaled to its own range, and no per-cell text (`bench` measures it: draw_network_ms).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import plotly.graph_objects as go
import torch

from ..config import TrainConfig
from ..explain.inference import feature_maps
from ..runs.checkpoint import LoadedModel
from .architecture import Box, boxes
from .figures import RUN_COLORS, tile

GAP = 0.025  # between panels, as a share of the figure's width
HEIGHT = 240  # pixels: panels are as tall as the page's width lets them be, about 170 px


def _maps_grid(out: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(C, H, W) maps tiled in a tall block (about twice as many rows as columns)."""
    maps = out.float().numpy()
    return tile(maps, ncols=max(1, round(math.sqrt(maps.shape[0] / 2))))


def _units_grid(out: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(N,) units folded into a tall block (about four times as many rows as columns), each
    scaled to the layer's range."""
    v = out.float().numpy()
    lo, hi = v.min(), v.max()
    v = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
    cols = max(1, math.ceil(math.sqrt(len(v) / 4)))
    rows = math.ceil(len(v) / cols)
    grid = np.full(rows * cols, np.nan)
    grid[:len(v)] = v
    index = np.full(rows * cols, -1)
    index[:len(v)] = np.arange(len(v))
    return grid.reshape(cols, rows).T, index.reshape(cols, rows).T  # unit k: column k // rows


def panels(model: LoadedModel, image: np.ndarray | torch.Tensor
           ) -> list[tuple[Box, np.ndarray, np.ndarray]]:
    """(box, grid in [0, 1] with NaN gaps, index of the channel or unit in each cell) for
    every box but the output; and the output's probabilities as the last grid, (10, 1)."""
    acts = {a.layer: a.output for a in feature_maps(model, image)}
    a = np.asarray(image, np.float64)
    bs = _boxes(model.config)
    out = [(bs[0], np.clip(a / 255 if a.max() > 1 else a, 0, 1), np.zeros((28, 28), int))]
    for b in bs[1:]:
        y = acts[b.layers[-1]]
        if b.kind == "output":
            p = torch.softmax(y.float(), 0).numpy()
            out.append((b, p[:, None], np.arange(len(p))[:, None]))
        else:
            out.append((b, *(_maps_grid(y) if y.dim() == 3 else _units_grid(y))))
    return out


@lru_cache(maxsize=16)
def _boxes(config: TrainConfig) -> list[Box]:
    return boxes(config)


def network_figure(model: LoadedModel, image: np.ndarray | torch.Tensor,
                   height: int = HEIGHT) -> go.Figure:
    """One panel per box, side by side, each as tall as the figure with square cells; the
    output's panel names the classes and marks the answer. Built as one plain spec: Plotly
    checks it once instead of at every assignment."""
    ps = panels(model, image)
    aspects = [g.shape[1] / g.shape[0] for _, g, _ in ps]
    aspects[-1] = 0.9  # the output: a bar chart, not cells
    free = 1 - GAP * (len(ps) - 1)
    x = 0.0
    traces, layout, notes = [], {}, []
    for k, ((b, grid, index), aspect) in enumerate(zip(ps, aspects, strict=True)):
        w = free * aspect / sum(aspects)
        ax = "" if k == 0 else str(k + 1)
        xaxis = dict(domain=[x, min(1.0, x + w)], anchor=f"y{ax}", fixedrange=True)
        yaxis = dict(anchor=f"x{ax}", domain=[0, 0.84], fixedrange=True)
        if b.kind == "output":
            probs = grid[:, 0]
            top = int(probs.argmax())
            traces.append(dict(type="bar", x=probs.tolist(), y=list(model.class_names),
                               orientation="h", xaxis=f"x{ax}", yaxis=f"y{ax}",
                               marker=dict(color=[RUN_COLORS[0] if i == top else "#ADB5BD"
                                                  for i in range(len(probs))]),
                               hovertemplate="%{y}: %{x:.1%}<extra></extra>"))
            xaxis |= dict(range=[0, 1], visible=False)
            yaxis |= dict(autorange="reversed", side="right", type="category")
        else:
            what = "channel" if len(b.shape) == 3 else "unit"
            hover = "%{z:.2f}" if b.kind == "input" else f"{b.tag} · {what} %{{customdata}}"
            traces.append(dict(type="heatmap", z=grid, customdata=index, colorscale="Viridis",
                               zmin=0, zmax=1, showscale=False, hoverongaps=False,
                               xaxis=f"x{ax}", yaxis=f"y{ax}",
                               hovertemplate=hover + "<extra></extra>"))
            xaxis |= dict(visible=False, constrain="domain")
            yaxis |= dict(visible=False, autorange="reversed", scaleanchor=f"x{ax}",
                          constrain="domain")
        layout[f"xaxis{ax}"], layout[f"yaxis{ax}"] = xaxis, yaxis
        notes.append(dict(x=x + w / 2, y=1, xref="paper", yref="paper", showarrow=False,
                          yanchor="top", text=f"<b>{b.tag}</b><br>{b.caption}",
                          font=dict(size=11)))
        x += w + GAP
    layout |= dict(height=height, margin=dict(l=0, r=0, t=4, b=0), showlegend=False,
                   annotations=notes, plot_bgcolor="rgba(0,0,0,0)", bargap=0.15,
                   hovermode="closest", dragmode=False)
    return go.Figure(data=traces, layout=layout)
