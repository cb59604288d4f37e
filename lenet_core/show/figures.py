"""Every Plotly figure the dashboard draws, built without Streamlit: curves, feature maps,
kernels, probabilities, and the small image helpers they share.

Each function takes plain lenet_core values (metric points, activations, tensors) and returns a
`go.Figure` or an array, so it is tested as ordinary Python.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import torch
from PIL import Image
from plotly.subplots import make_subplots

from ..explain.activation import Activation

# The seed's animator: legend, order and line styles ('-', 'm--', 'g-.') of train_ch6's plot.
METRICS = {"train_loss": "train loss", "train_acc": "train acc", "test_acc": "test acc"}
METRIC_STYLE = {
    "train_loss": dict(color="#3B5BDB", dash="solid"),
    "train_acc": dict(color="#C2255C", dash="dash"),
    "test_acc": dict(color="#2B8A3E", dash="dashdot"),
}
# One colour per run when runs are overlaid; distinct in hue and lightness. Every figure sets
# its colours from here, so the theme needs no copy of them.
RUN_COLORS = ("#3B5BDB", "#E8590C", "#2B8A3E", "#C2255C", "#7048E8", "#F08C00", "#0C8599",
              "#495057")
MAX_POINTS = 400  # per curve and redraw: every redraw ships the whole figure to the browser
FIXED_RANGE_EPOCHS = 20  # up to this many epochs, the x axis spans the whole run from the start


def literal(text: str) -> str:
    """User text (a run's name) for a Plotly label, shown as typed: Plotly reads a subset of
    HTML in labels (<b>, <a href>, <span style>), and decodes entities back to characters."""
    return html.escape(text, quote=False)


def run_color(k: int) -> str:
    """The k-th run's colour, cycling."""
    return RUN_COLORS[k % len(RUN_COLORS)]


# --- curves ---------------------------------------------------------------------------------

def downsample(seq: Sequence, max_points: int = MAX_POINTS) -> list:
    """At most max_points evenly spaced items, always keeping the first and the last."""
    n = len(seq)
    if n <= max_points:
        return list(seq)
    idx = np.unique(np.linspace(0, n - 1, max_points).round().astype(int))
    return [seq[i] for i in idx]


def curve(points: Iterable[dict[str, Any]], key: str,
          max_points: int = MAX_POINTS) -> tuple[list[float], list[float]]:
    """(x, y) of one metric, points without it skipped, downsampled."""
    xy = downsample([(p["x"], p[key]) for p in points if p.get(key) is not None], max_points)
    return [x for x, _ in xy], [y for _, y in xy]


def layout(fig: go.Figure, *, height: int, uirevision: str | None, title: str | None = None,
            legend: bool = True) -> go.Figure:
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        title=dict(text=title, font=dict(size=14)) if title else None,
        showlegend=legend, hovermode="x unified",
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
        uirevision=uirevision,  # keeps the user's zoom and hidden traces across redraws
    )
    return fig


def training_figure(points: Sequence[dict[str, Any]], epochs: int, *,
                    diverged_at: float | None = None, height: int = 380,
                    uirevision: str | None = None, title: str | None = None,
                    legend: bool = True) -> go.Figure:
    """The seed's animator: train loss, train acc and test acc against epoch. Loss on the left
    axis, accuracy on its own 0-100 % axis on the right: on one axis scaled to a loss of 2.3, an
    accuracy near chance lay on the x axis."""
    fig = go.Figure()
    for key, label in METRICS.items():
        xs, ys = curve(points, key)
        acc = key.endswith("acc")
        # Test accuracy comes once an epoch: a bigger marker, so that a 1-epoch run's single
        # point shows, drawn over the axis line at the range's end.
        fig.add_trace(go.Scatter(x=xs, y=ys, name=label, mode="lines+markers",
                                 line=dict(width=2, **METRIC_STYLE[key]),
                                 marker=dict(size=9 if key == "test_acc" else 5),
                                 cliponaxis=False, yaxis="y2" if acc else "y",
                                 hovertemplate="%{y:.1%}" if acc else "%{y:.4f}"))
    # The animator's fixed x range, as long as the points stay readable in it; long runs
    # follow the data instead.
    last = max((p["x"] for p in points), default=0.0)
    span = epochs if epochs <= FIXED_RANGE_EPOCHS else max(1, math.ceil(last))
    fig.update_xaxes(title_text="epoch", range=[0, span * 1.02], showgrid=True)  # room for the end marker
    fig.update_layout(
        yaxis=dict(title_text="train loss", rangemode="tozero", showgrid=True),
        yaxis2=dict(title_text="accuracy", overlaying="y", side="right", range=[0, 1],
                    dtick=0.2, tickformat=".0%", showgrid=False))
    if diverged_at is not None:
        fig.add_vline(x=diverged_at, line=dict(color="#E03131", dash="dot", width=2),
                      annotation_text="diverged", annotation_font_color="#E03131")
    return layout(fig, height=height, uirevision=uirevision, title=title, legend=legend)


def overlay_figure(runs: Sequence[tuple[str, str, Sequence[dict[str, Any]]]], key: str, *,
                   height: int = 320, legend: bool = True) -> go.Figure:
    """One metric, one line per run: runs are (label, colour, metrics points); labels are
    plain text. legend=False where one colour key serves several charts."""
    fig = go.Figure()
    for label, color, points in runs:
        xs, ys = curve(points, key)
        fig.add_trace(go.Scatter(x=xs, y=ys, name=literal(label), mode="lines+markers",
                                 line=dict(width=2, color=color), marker=dict(size=4),
                                 hovertemplate="%{y:.4f}"))
    fig.update_xaxes(title_text="epoch", showgrid=True)
    if key.endswith("acc"):  # an accuracy axis never runs past 0-100 %, however flat the lines
        fig.update_yaxes(tickformat=".0%", autorangeoptions=dict(clipmin=0, clipmax=1))
    fig.update_yaxes(showgrid=True)
    return layout(fig, height=height, uirevision=key, legend=legend)


# --- images ---------------------------------------------------------------------------------

EMPTY_DIGIT = np.zeros((28, 28), np.float32)  # what the model sees before anything is drawn


def upscale(image: np.ndarray | torch.Tensor, factor: int = 8) -> np.ndarray:
    """A [0, 1] or uint8 image -> uint8, each pixel a crisp factor x factor block."""
    a = torch.as_tensor(image).float().numpy()
    if a.max() > 1:
        a = a / 255
    return (np.kron(np.clip(a, 0, 1), np.ones((factor, factor))) * 255).astype(np.uint8)


def png_url(image: np.ndarray) -> str:
    """A uint8 image (H, W) or (H, W, 3) as a data: URL, for st.image. Streamlit serves an
    array from /media under a URL that a later run of the page deletes (an interrupted rerun
    deletes it before re-adding the same URL), and the browser, already holding that URL,
    shows a broken image; a data: URL travels inside the page and cannot go missing."""
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, np.uint8)).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def saliency_overlay(image: np.ndarray | torch.Tensor, saliency: np.ndarray,
                     factor: int = 8) -> np.ndarray:
    """A saliency map in [0, 1] over its gray input: (28 * factor, 28 * factor, 3) uint8, the
    input dimmed and the map in a black-red-yellow-white heat scale on top."""
    gray = torch.as_tensor(image).float().numpy()
    gray = np.clip(gray / 255 if gray.max() > 1 else gray, 0, 1)
    s = np.clip(np.asarray(saliency, np.float64), 0, 1)
    heat = np.stack([np.clip(3 * s, 0, 1), np.clip(3 * s - 1, 0, 1), np.clip(3 * s - 2, 0, 1)], -1)
    alpha = (0.85 * s)[..., None]
    rgb = (1 - alpha) * 0.6 * gray[..., None] + alpha * heat
    return (np.kron(rgb, np.ones((factor, factor, 1))) * 255).round().astype(np.uint8)


def tile(maps: np.ndarray, ncols: int, *, symmetric: bool = False, rescale: bool = True,
         gap: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(C, H, W) maps -> one 2-D grid, each map scaled on its own, NaN between maps (drawn as
    background), plus the map index of every cell (for hover).

    symmetric scales each map to [-1, 1] by its largest |value| (weights: the sign matters);
    otherwise each map spans [0, 1] (activations: where it fires matters); rescale=False keeps
    the values as they are (maps the caller has put on a common scale)."""
    c, h, w = maps.shape
    nrows = math.ceil(c / ncols)
    grid = np.full((nrows * (h + gap) - gap, ncols * (w + gap) - gap), np.nan)
    index = np.full(grid.shape, -1)
    for k in range(c):
        m = maps[k].astype(np.float64)
        if rescale and symmetric:
            peak = np.abs(m).max()
            m = m / peak if peak > 0 else m
        elif rescale:
            lo, hi = m.min(), m.max()
            m = (m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)
        r, q = divmod(k, ncols)
        ys, xs = r * (h + gap), q * (w + gap)
        grid[ys:ys + h, xs:xs + w] = m
        index[ys:ys + h, xs:xs + w] = k
    return grid, index


BAR_PX = 60  # what a colour bar and its tick labels take from a grid figure's width


def _grid_figure(grid: np.ndarray, index: np.ndarray, *, title: str, colorscale: str,
                 zmin: float, zmax: float, hover: str, height: int,
                 colorbar: dict | None = None) -> go.Figure:
    fig = go.Figure(go.Heatmap(z=grid, customdata=index, colorscale=colorscale, zmin=zmin,
                               zmax=zmax, showscale=colorbar is not None,
                               colorbar=dict(thickness=10, len=0.9, **(colorbar or {})),
                               hovertemplate=hover, hoverongaps=False))
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", constrain="domain")
    fig.update_layout(height=height, margin=dict(l=0, r=0, t=30, b=0),
                      title=dict(text=title, font=dict(size=13)),
                      plot_bgcolor="rgba(0,0,0,0)")
    return fig


def grid_height(grid: np.ndarray, width: int, title_px: int = 30) -> int:
    """The figure height that shows a grid at `width` pixels wide with square pixels."""
    return title_px + round(width * grid.shape[0] / grid.shape[1])


# Colour bars of maps scaled one by one: the colours mean "low" and "high" for that map only.
OWN_RANGE_BAR = dict(tickvals=[0, 1], ticktext=["its min", "its max"])
OWN_PEAK_BAR = dict(tickvals=[-1, 0, 1], ticktext=["−its peak", "0", "+its peak"])


def feature_map_figure(act: Activation, width: int = 330) -> go.Figure:
    """A layer's (C, H, W) output as a grid of C images, each on its own scale; hover shows
    the channel and the value itself."""
    maps = act.output.float().numpy()
    c, h, w = maps.shape
    ncols = math.ceil(math.sqrt(c))
    grid, index = tile(maps, ncols=ncols)
    values, _ = tile(maps, ncols=ncols, rescale=False)
    title = f"<b>{act.layer}</b> · {act.type} · {c}×{h}×{w}"
    return _grid_figure(grid, np.dstack([index, values]), title=title, colorscale="Viridis",
                        zmin=0, zmax=1, colorbar=OWN_RANGE_BAR,
                        hover="channel %{customdata[0]}: %{customdata[1]:.3f}<extra></extra>",
                        height=grid_height(grid, width - BAR_PX))


def activation_pair_figures(a: Activation, b: Activation, labels: tuple[str, str],
                            width: int = 330) -> tuple[go.Figure, go.Figure, go.Figure]:
    """One layer's (C, H, W) output for two inputs, each channel on one scale shared by both
    (so brighter means stronger in either), and their difference A - B on that scale."""
    ma, mb = a.output.float().numpy(), b.output.float().numpy()
    lo = np.minimum(ma.min((1, 2)), mb.min((1, 2)))[:, None, None]
    span = np.maximum(ma.max((1, 2)), mb.max((1, 2)))[:, None, None] - lo
    span = np.where(span > 0, span, 1)
    ncols = math.ceil(math.sqrt(ma.shape[0]))
    shape = "×".join(map(str, ma.shape))
    figs = []
    for title, maps, scale, lo_hi in (
            (f"<b>{a.layer}</b> · {labels[0]}", (ma - lo) / span, "Viridis", (0, 1)),
            (f"<b>{a.layer}</b> · {labels[1]}", (mb - lo) / span, "Viridis", (0, 1)),
            (f"<b>{a.layer}</b> · difference A − B", (ma - mb) / span,
             "RdBu_r", (-1, 1))):
        grid, index = tile(maps, ncols, rescale=False)
        figs.append(_grid_figure(grid, index, title=f"{title} · {shape}", colorscale=scale,
                                 zmin=lo_hi[0], zmax=lo_hi[1],
                                 hover="channel %{customdata}: %{z:.2f}<extra></extra>",
                                 height=grid_height(grid, width)))
    return figs[0], figs[1], figs[2]


def kernel_figure(name: str, weight: torch.Tensor, width: int = 800) -> go.Figure:
    """A conv layer's (out, in, k, k) kernels: one column per output channel, one row per
    input; a layer with one input channel is a square-ish grid of its kernels. Hover shows
    each weight."""
    w = weight.float().numpy()
    out_c, in_c, k, _ = w.shape
    ncols = math.ceil(math.sqrt(out_c)) if in_c == 1 else out_c
    flat = w.transpose(1, 0, 2, 3).reshape(in_c * out_c, k, k)
    grid, index = tile(flat, ncols=ncols, symmetric=True)
    values, _ = tile(flat, ncols=ncols, rescale=False)
    out_idx = np.where(index >= 0, index % out_c, -1)
    in_idx = np.where(index >= 0, index // out_c, -1)
    what = f"{out_c} kernels" if in_c == 1 else f"{out_c} × {in_c} kernels"
    return _grid_figure(grid, np.dstack([out_idx, in_idx, values]), colorscale="RdBu_r",
                        zmin=-1, zmax=1, colorbar=OWN_PEAK_BAR,
                        title=f"<b>{name}</b> · {what} of {k}×{k}",
                        hover="out %{customdata[0]}, in %{customdata[1]}: "
                              "%{customdata[2]:.3f}<extra></extra>",
                        height=grid_height(grid, width - BAR_PX))


def dense_figure(acts: Sequence[Activation], class_names: Sequence[str] | None = None,
                 row_px: int = 56) -> go.Figure:
    """1-D layer outputs (fully connected layers), one row each with its own units axis,
    each scaled on its own; the output layer's units are labelled with the class names."""
    n = max(1, len(acts))
    gap_px = 48  # between rows: the units' tick labels, then the next row's title
    height = n * row_px + (n - 1) * gap_px + 50
    fig = make_subplots(rows=n, cols=1, vertical_spacing=gap_px / (height - 50),
                        subplot_titles=[f"<b>{a.layer}</b> · {a.type} · {len(a.output)} units"
                                        for a in acts] or None)
    for i, act in enumerate(acts, start=1):
        v = act.output.float().numpy()
        lo, hi = v.min(), v.max()
        z = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
        units = list(range(len(v)))
        fig.add_trace(go.Heatmap(z=[z], x=units, customdata=[v], colorscale="Viridis", zmin=0,
                                 zmax=1, showscale=i == 1, xgap=1 if len(v) <= 16 else 0,
                                 colorbar=dict(thickness=10, len=0.9, **OWN_RANGE_BAR),
                                 hovertemplate="unit %{x}: %{customdata:.3f}<extra></extra>"),
                      row=i, col=1)
        fig.update_yaxes(visible=False, row=i, col=1)
        if class_names is not None and len(v) == len(class_names):
            fig.update_xaxes(tickvals=units, ticktext=list(class_names), row=i, col=1)
    fig.update_annotations(font_size=12)
    fig.update_layout(height=height, margin=dict(l=0, r=0, t=24, b=26))
    return fig


def probability_figure(probs: Sequence[float], class_names: Sequence[str],
                       height: int = 300) -> go.Figure:
    """The 10 class probabilities, the top one in the accent colour."""
    p = np.asarray(probs, dtype=float)
    top = int(p.argmax())
    colors = [RUN_COLORS[0] if i == top else "#ADB5BD" for i in range(len(p))]
    fig = go.Figure(go.Bar(x=list(class_names), y=p, marker_color=colors,
                           text=[f"{v:.0%}" if v >= 0.01 else "" for v in p],
                           textposition="outside", cliponaxis=False,
                           hovertemplate="%{x}: %{y:.2%}<extra></extra>"))
    fig.update_yaxes(range=[0, 1.08], tickformat=".0%", showgrid=True)
    fig.update_xaxes(type="category", tickangle=-30 if max(map(len, class_names)) > 2 else 0)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), showlegend=False)
    return fig
