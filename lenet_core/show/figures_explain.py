"""The figures of "how one value is computed" (lenet_core.conv_explain), built without Streamlit:
the feature map to pick a cell on, each input channel with the kernel's patch on it, the
arithmetic (patch × weights = products, each channel's sum), the receptive field on the input,
and the computation's lines of text.

The pickable map is a heatmap for the eye plus a scatter of invisible square markers, one per
cell, that carries clicks (as the confusion matrix's, lenet_core.figures_eval: Plotly heatmaps
do not report single clicks as selections reliably). Each marker's customdata is [row, col].
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from ..explain.conv_explain import Computation
from .figures import RUN_COLORS, tile

CELL_TRACE = 1  # the scatter trace whose points are the map's cells
SELECTED = RUN_COLORS[1]  # the chosen cell and its patch
WINDOW = RUN_COLORS[2]  # the pooling window


def _image_axes(fig: go.Figure, shape: tuple[int, int], height: int, title: str) -> go.Figure:
    h, w = shape
    fig.update_xaxes(visible=False, range=[-0.5, w - 0.5], constrain="domain", fixedrange=True)
    fig.update_yaxes(visible=False, range=[h - 0.5, -0.5], scaleanchor="x", constrain="domain",
                     fixedrange=True)
    fig.update_layout(height=height, margin=dict(l=0, r=0, t=30, b=0), showlegend=False,
                      title=dict(text=title, font=dict(size=13)), plot_bgcolor="rgba(0,0,0,0)",
                      dragmode=False, hovermode="closest", clickmode="event+select")
    return fig


def _box(fig: go.Figure, top: float, left: float, bottom: float, right: float, color: str,
         dash: str = "solid", width: float = 2.5) -> None:
    """An outline around cells top..bottom, left..right (inclusive)."""
    fig.add_shape(type="rect", x0=left - 0.5, x1=right + 0.5, y0=top - 0.5, y1=bottom + 0.5,
                  line=dict(color=color, width=width, dash=dash))


def pick_figure(c: Computation, fmap: np.ndarray, height: int = 330) -> go.Figure:
    """The conv layer's output channel (`fmap`, (H, W)) with the chosen cell outlined and its
    pooling window dashed; a click on any cell selects it."""
    h, w = fmap.shape
    fig = go.Figure(go.Heatmap(z=fmap, colorscale="Viridis", showscale=False, hoverinfo="skip"))
    rows, cols = np.indices((h, w)).reshape(2, -1)
    fig.add_trace(go.Scatter(
        x=cols.tolist(), y=rows.tolist(), mode="markers",
        customdata=np.stack([rows, cols], 1).tolist(),
        hovertext=[f"cell ({r}, {q}): {fmap[r, q]:.4f}" for r, q in zip(rows, cols, strict=True)],
        hovertemplate="%{hovertext}<br>click to see how it is computed<extra></extra>",
        marker=dict(symbol="square", size=max(4, (height - 30) / h), color="rgba(0,0,0,0)"),
        selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=1))))
    if c.window is not None:
        _box(fig, c.window_top, c.window_left, c.window_top + 1, c.window_left + 1, WINDOW, "dot")
    _box(fig, c.row, c.col, c.row, c.col, SELECTED)
    return _image_axes(fig, (h, w), height, f"<b>{c.layer}</b> · channel {c.channel} · "
                                            f"{h}×{w} · cell ({c.row}, {c.col})")


def inputs_figure(c: Computation, width: int = 330) -> go.Figure:
    """Each input channel the conv reads, with the kernel's k×k patch outlined on it."""
    maps = c.inputs
    n, h, w = maps.shape
    ncols = math.ceil(math.sqrt(n))
    grid, index = tile(maps, ncols)
    fig = go.Figure(go.Heatmap(z=grid, customdata=index, colorscale="Gray", showscale=False,
                               zmin=0, zmax=1, hoverongaps=False,
                               hovertemplate="channel %{customdata}<extra></extra>"))
    k = c.kernel_size
    for ch in range(n):
        r, q = divmod(ch, ncols)
        y0, x0 = r * (h + 1), q * (w + 1)
        # the patch, clipped to the map: padding lies outside it
        top, left = max(c.top, 0), max(c.left, 0)
        bottom, right = min(c.top + k - 1, h - 1), min(c.left + k - 1, w - 1)
        _box(fig, y0 + top, x0 + left, y0 + bottom, x0 + right, SELECTED, width=2)
    height = 30 + round(width * grid.shape[0] / grid.shape[1])
    return _image_axes(fig, grid.shape, height, f"<b>{c.input_name}</b> · the {k}×{k} patch in "
                                                f"{'each of its' if n > 1 else 'its'} {n} "
                                                f"channel{'s' * (n > 1)}")


def shown_channels(c: Computation, most: int = 6) -> list[int]:
    """The input channels whose arithmetic is drawn: all, or the `most` with the largest
    |sum| (the ones that move the result most), in order."""
    n = len(c.channel_sums)
    return list(range(n)) if n <= most else \
        sorted(np.argsort(-np.abs(c.channel_sums))[:most].tolist())


def arithmetic_figure(c: Computation, channels: list[int], cell_px: int = 24) -> go.Figure:
    """For each of these input channels: patch × weights = products, written in the cells,
    and the channel's sum at the end of its row."""
    n, k = len(channels), c.kernel_size
    gap, col_w = 1, k + 2  # a block and the space for "×" or "="
    height_cells = n * (k + gap) - gap
    fig = go.Figure()
    peak_w = float(np.abs(c.weights).max()) or 1.0
    peak_p = float(np.abs(c.products).max()) or 1.0
    lo, hi = float(c.inputs.min()), float(c.inputs.max())
    for j, (values, scale, zmin, zmax) in enumerate((
            (c.patch, "Gray", lo, hi if hi > lo else lo + 1),
            (c.weights, "RdBu_r", -peak_w, peak_w), (c.products, "RdBu_r", -peak_p, peak_p))):
        z = np.full((height_cells, k), np.nan)
        for i, ch in enumerate(channels):
            z[i * (k + gap):i * (k + gap) + k] = values[ch]
        text = np.where(np.isnan(z), "", np.vectorize(lambda v: f"{v:.2f}")(np.nan_to_num(z)))
        fig.add_trace(go.Heatmap(z=z, x0=j * col_w, dx=1, text=text, texttemplate="%{text}",
                                 textfont=dict(size=9), colorscale=scale, zmin=zmin, zmax=zmax,
                                 showscale=False, hoverongaps=False,
                                 hovertemplate="%{z:.5f}<extra></extra>"))
    notes = [("patch", 0), ("weights", col_w), ("products", 2 * col_w)]
    for label, x in notes:
        fig.add_annotation(x=x + (k - 1) / 2, y=-1.2, text=f"<b>{label}</b>", showarrow=False,
                           font=dict(size=12))
    for i, ch in enumerate(channels):
        mid = i * (k + gap) + (k - 1) / 2
        for x, sign in ((k + 0.5, "×"), (col_w + k + 0.5, "=")):
            fig.add_annotation(x=x, y=mid, text=sign, showarrow=False, font=dict(size=16))
        fig.add_annotation(x=3 * col_w - 1, y=mid, xanchor="left", showarrow=False,
                           text=f"channel {ch}: Σ = <b>{c.channel_sums[ch]:.4f}</b>",
                           font=dict(size=12))
    width_cells = 3 * col_w + 5
    fig.update_xaxes(visible=False, range=[-0.5, width_cells], fixedrange=True)
    fig.update_yaxes(visible=False, range=[height_cells - 0.5, -2.4], fixedrange=True)
    fig.update_layout(width=round(cell_px * (width_cells + 0.5)),
                      height=round(cell_px * (height_cells + 1.5)) + 10,
                      margin=dict(l=0, r=0, t=10, b=0), showlegend=False,
                      plot_bgcolor="rgba(0,0,0,0)", dragmode=False)
    return fig


def receptive_field_image(image: np.ndarray, c: Computation, factor: int = 6) -> np.ndarray:
    """The 28×28 input in gray, (28 * factor, 28 * factor, 3) uint8, with the cell's
    receptive field outlined and everything outside it dimmed."""
    a = np.asarray(image, np.float64)
    a = np.clip(a / 255 if a.max() > 1 else a, 0, 1)
    top, left, bottom, right = c.field
    rgb = np.repeat(a[..., None], 3, -1) * 0.35
    rgb[top:bottom + 1, left:right + 1] = a[top:bottom + 1, left:right + 1, None]
    big = np.kron(rgb, np.ones((factor, factor, 1)))
    color = np.array([int(SELECTED[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    y0, x0, y1, x1 = top * factor, left * factor, (bottom + 1) * factor - 1, (right + 1) * factor - 1
    for ys, xs in ((slice(y0, y0 + 2), slice(x0, x1 + 1)), (slice(y1 - 1, y1 + 1), slice(x0, x1 + 1)),
                   (slice(y0, y1 + 1), slice(x0, x0 + 2)), (slice(y0, y1 + 1), slice(x1 - 1, x1 + 1))):
        big[ys, xs] = color
    return (big * 255).round().astype(np.uint8)


def computation_lines(c: Computation) -> list[str]:
    """The computation in words and numbers, one Markdown line per step (numbers only: no
    user text goes in)."""
    n = len(c.channel_sums)
    lines = [f"Σ of the {n} channel sums = {c.channel_sums.sum():.4f}; + bias {c.bias:.4f} = "
             f"**{c.pre_activation:.4f}**: {c.layer}'s output at channel {c.channel}, cell "
             f"({c.row}, {c.col})"]
    for s in c.before_pool:
        lines.append(f"{s.type}({s.value_in:.4f}) = **{s.value_out:.4f}** ({s.layer})")
    if c.window is not None:
        w = ", ".join(f"{v:.4f}" for v in c.window.ravel())
        how = "the largest" if c.pool == "max" else "the mean"
        lines.append(f"{c.pool_layer}: {how} of the 2×2 window [{w}] = **{c.pooled:.4f}**, its "
                     f"cell ({c.window_top // 2}, {c.window_left // 2})")
        for s in c.after_pool:
            lines.append(f"{s.type}({s.value_in:.4f}) = **{s.value_out:.4f}** ({s.layer})")
    side = c.field[2] - c.field[0] + 1, c.field[3] - c.field[1] + 1
    clipped = "" if side == (c.field_size, c.field_size) else \
        f" ({side[0]}×{side[1]} of it inside the image)"
    lines.append(f"Receptive field: {c.field_size}×{c.field_size} pixels of the 28×28 input"
                 f"{clipped}, rows {c.field[0]}-{c.field[2]}, columns {c.field[1]}-{c.field[3]}")
    return lines
