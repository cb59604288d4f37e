"""The Evaluate page's and Compare's figures, built without Streamlit: the confusion matrix
(clickable cells), the difference of two, and per-class accuracy.

The confusion matrix is a heatmap for the eye plus a scatter of invisible square markers, one
per cell, that carries clicks: Plotly heatmaps do not report single clicks as selections
reliably (plotly.js issue 7685), scatter points do. Each marker's customdata is [true,
predicted].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ..explain.evaluation import Evaluation
from .figures import RUN_COLORS

CELL_TRACE = 1  # the index of the scatter trace whose points are the cells
_MARGIN = dict(l=110, r=10, t=30, b=100)  # room for Fashion-MNIST's class names


def _square_axes(fig: go.Figure, names: Sequence[str], size: int, title: str | None) -> go.Figure:
    ticks = dict(tickmode="array", tickvals=list(range(len(names))), ticktext=list(names),
                 showgrid=False, zeroline=False, fixedrange=True, constrain="domain")
    n = len(names)
    fig.update_xaxes(title_text="predicted", range=[-0.5, n - 0.5], side="bottom",
                     tickangle=-40 if max(map(len, names)) > 2 else 0, **ticks)
    fig.update_yaxes(title_text="true", range=[n - 0.5, -0.5], scaleanchor="x", **ticks)
    fig.update_layout(height=_plot_px(size) + _MARGIN["t"] + _MARGIN["b"],
                      margin=_MARGIN, showlegend=False,
                      title=dict(text=title, font=dict(size=14)) if title else None,
                      plot_bgcolor="rgba(0,0,0,0)")
    return fig


def _plot_px(size: int) -> int:
    """The side of the square plot area of a confusion figure `size` pixels wide or more (it is
    as tall as that; a narrower container shrinks it)."""
    return size - _MARGIN["l"] - _MARGIN["r"]


def confusion_figure(ev: Evaluation, *, normalized: bool = False,
                     selected: tuple[int, int] | None = None, size: int = 560,
                     title: str | None = None, clickable: bool = True) -> go.Figure:
    """The 10x10 confusion matrix: rows true, columns predicted, counts (or row fractions)
    written in the cells. Colour is log-scaled so that a handful of errors still shows next
    to a diagonal of ~1,000. `selected` is outlined."""
    counts = ev.confusion
    shown = ev.normalized() if normalized else counts
    n = len(ev.class_names)
    text = [[("" if counts[t, p] == 0 else f"{shown[t, p]:.1%}" if normalized
              else f"{counts[t, p]:,}") for p in range(n)] for t in range(n)]
    fig = go.Figure(go.Heatmap(
        z=np.log1p(ev.normalized() * 1000 if normalized else counts), text=text,
        texttemplate="%{text}", textfont=dict(size=11), colorscale="Blues", showscale=False,
        hoverinfo="skip", xgap=1, ygap=1))
    t, p = np.indices((n, n)).reshape(2, -1)
    names = ev.class_names
    hover = [f"true {names[a]}, predicted {names[b]}: {counts[a, b]:,} images "
             f"({ev.normalized()[a, b]:.1%} of the {names[a]}s)" for a, b in zip(t, p, strict=True)]
    cell_px = _plot_px(size) / n
    fig.add_trace(go.Scatter(  # the cells' click targets, invisible (see the module docstring)
        # Plain lists: Plotly would send numpy arrays as typed arrays, and a selected point's
        # customdata must come back as the pair.
        x=p.tolist(), y=t.tolist(), mode="markers", customdata=np.stack([t, p], 1).tolist(),
        hovertext=hover,
        hovertemplate="%{hovertext}" + ("<br>click to see them" if clickable else "")
        + "<extra></extra>",
        # Markers as large as the cells at most: a click anywhere in a cell picks its marker
        # (the closest centre wins where neighbours overlap, in a narrower figure).
        marker=dict(symbol="square", size=cell_px, color="rgba(0,0,0,0)"),
        selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=1))))
    if selected is not None:
        a, b = selected
        fig.add_shape(type="rect", x0=b - 0.5, x1=b + 0.5, y0=a - 0.5, y1=a + 0.5,
                      line=dict(color=RUN_COLORS[1], width=3))
    fig.update_layout(clickmode="event+select", dragmode=False, hovermode="closest")
    return _square_axes(fig, names, size, title)


def confusion_difference_figure(a: Evaluation, b: Evaluation, labels: tuple[str, str], *,
                                size: int = 560) -> go.Figure:
    """B's confusion counts minus A's, written in the cells. Colour says which is better in
    each cell: green where B has more right answers (diagonal) or fewer errors (elsewhere)."""
    diff = b.confusion - a.confusion
    n = len(a.class_names)
    better = np.where(np.eye(n, dtype=bool), diff, -diff)
    peak = max(1, int(np.abs(better).max()))
    names = a.class_names
    text = [[f"{d:+,}" if d else "" for d in row] for row in diff]
    hover = [[f"true {names[t]}, predicted {names[p]}: {b.confusion[t, p]:,} vs "
              f"{a.confusion[t, p]:,} ({diff[t, p]:+,})" for p in range(n)] for t in range(n)]
    fig = go.Figure(go.Heatmap(
        z=better, text=text, texttemplate="%{text}", textfont=dict(size=11), zmin=-peak,
        zmax=peak, colorscale=[[0, "#C92A2A"], [0.5, "#FFFFFF"], [1, "#2B8A3E"]],
        showscale=False, xgap=1, ygap=1, hovertext=hover,
        hovertemplate="%{hovertext}<extra></extra>"))
    title = f"{labels[1]} − {labels[0]}"
    return _square_axes(fig, a.class_names, size, title)


def per_class_figure(ev: Evaluation, height: int = 300) -> go.Figure:
    """Accuracy on each class's test images; the weakest class in the accent colour."""
    acc = ev.per_class_acc
    worst = int(acc.argmin())
    fig = go.Figure(go.Bar(
        x=list(ev.class_names), y=acc, text=[f"{a:.1%}" for a in acc], textposition="outside",
        cliponaxis=False, marker_color=[RUN_COLORS[1] if i == worst else RUN_COLORS[0]
                                        for i in range(len(acc))],
        customdata=ev.confusion.sum(1),
        hovertemplate="%{x}: %{y:.2%} of %{customdata:,} test images<extra></extra>"))
    fig.update_yaxes(range=[0, 1.1], tickformat=".0%", showgrid=True, title_text="accuracy")
    fig.update_xaxes(type="category", tickangle=-30 if max(map(len, ev.class_names)) > 2 else 0)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), showlegend=False)
    return fig
