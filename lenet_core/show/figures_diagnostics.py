"""The figures of "why it learns or doesn't", built without Streamlit: a run's per-layer
diagnostics over its steps (lenet_core.explain.diagnostics records), its histograms at one
step, one diagnostic for several runs, and the learning-rate finder's curves
(lenet_core.explain.lr_find).

Steps are on a log axis: every one of the first 50 is recorded, where failures happen, and
on a linear axis they would fill a sliver of it. A step whose numbers are not finite is shaded
and marked "non-finite", and its layers' values are left out: a NaN network has no dead units
to count, so it is never drawn as dead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..explain.diagnostics import NON_FINITE
from ..explain.lr_find import LrCurve, where
from .figures import RUN_COLORS, downsample, layout, literal

Record = dict[str, Any]
# The update-to-weight ratio's rule of thumb (CS231n): about 1e-3 per step; much lower learns
# slowly, much higher changes the weights too much at once. The band: half a decade each side.
UPDATE_RATIO = 1e-3
RATIO_BAND = (10 ** -3.5, 10 ** -2.5)
NON_FINITE_COLOR = "#E03131"
BAND_COLOR = "#2B8A3E"
# What an activation layer's "inactive" share is: dead units for ReLU, saturated outputs for
# sigmoid and tanh (GELU has neither).
INACTIVE = {"relu": ("dead", "dead units"), "sigmoid": ("saturated", "saturated outputs"),
            "tanh": ("saturated", "saturated outputs")}
# Compare's choices: {key: (label, layer kind, log axis)}.
DIAGNOSTICS = {"grad_norm": ("gradient norm", "weight", True),
               "update_ratio": ("update ratio ||Δw|| / ||w||", "weight", True),
               "dead": ("dead units (ReLU)", "activation", False),
               "saturated": ("saturated outputs (sigmoid, tanh)", "activation", False)}
HIST_QUANTITIES = {"activation": "activations", "weight": "weights", "grad": "gradients"}


def layer_names(records: Sequence[Record], kind: str) -> list[str]:
    """The names of the layers of this kind ("weight" or "activation"), in network order."""
    return [e["name"] for e in records[0]["layers"] if e["kind"] == kind] if records else []


def _entry(record: Record, name: str) -> Record | None:
    return next((e for e in record["layers"] if e["name"] == name), None)


def series(records: Sequence[Record], name: str, key: str) -> tuple[list[int], list[float | None]]:
    """(steps, values) of one layer's number; None where the layer is non-finite (or lacks
    it), which Plotly draws as a gap."""
    steps, values = [], []
    for r in records:
        e = _entry(r, name)
        steps.append(r["step"])
        values.append(e.get(key) if e is not None and e.get("finite", True) else None)
    return steps, values


def non_finite_steps(records: Sequence[Record]) -> list[int]:
    return [r["step"] for r in records if not r.get("finite", True)]


def step_ticks(last: int) -> list[int]:
    """1, 2, 5, 10, 20, 50, ... up to the last step: Plotly's own log ticks label 20 and 50
    as "2" and "5"."""
    ticks, k = [], 1
    while k <= max(1, last):
        ticks += [t for t in (k, 2 * k, 5 * k) if t <= max(1, last)]
        k *= 10
    return ticks


def _step_axis(fig: go.Figure, last: int) -> None:
    fig.update_xaxes(type="log", title_text="step (log scale)", showgrid=True,
                     tickvals=step_ticks(last), ticktext=[f"{t:,}" for t in step_ticks(last)])


def _mark_non_finite(fig: go.Figure, records: Sequence[Record], y: float) -> None:
    """Shade the steps that are not finite, with a legend entry and hover that say so."""
    steps = non_finite_steps(records)
    if not steps:
        return
    fig.add_vrect(x0=steps[0], x1=max(steps[-1], records[-1]["step"]) * 1.05,
                  fillcolor=NON_FINITE_COLOR, opacity=0.08, line_width=0, layer="below")
    fig.add_trace(go.Scatter(x=steps, y=[y] * len(steps), name=NON_FINITE, mode="markers",
                             marker=dict(symbol="x", size=9, color=NON_FINITE_COLOR),
                             hovertemplate=f"step %{{x}}: {NON_FINITE}<extra></extra>"))


def _color(k: int) -> str:
    return RUN_COLORS[k % len(RUN_COLORS)]


def _finite_max(values: Sequence[float | None], default: float) -> float:
    return max((v for v in values if v is not None and math.isfinite(v)), default=default)


def inactive_figure(records: Sequence[Record], *, height: int = 300,
                    uirevision: str | None = None) -> go.Figure:
    """Per activation layer, over steps: the share of dead units (ReLU) or of saturated outputs
    (sigmoid, tanh), 0-100 %."""
    fig = go.Figure()
    records = downsample(records)
    for k, name in enumerate(layer_names(records, "activation")):
        fn = _entry(records[0], name).get("fn")
        if fn not in INACTIVE:
            continue
        key, what = INACTIVE[fn]
        steps, values = series(records, name, key)
        fig.add_trace(go.Scatter(x=steps, y=values, name=f"{name} ({fn})", mode="lines+markers",
                                 line=dict(width=2, color=_color(k)), marker=dict(size=4),
                                 connectgaps=False,
                                 hovertemplate=f"%{{y:.1%}} {what}<extra>{name}</extra>"))
    if not fig.data:
        fig.add_annotation(text="no dead or saturated measure for this activation",
                           showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    _mark_non_finite(fig, records, 1.0)
    _step_axis(fig, records[-1]["step"] if records else 1)
    fig.update_yaxes(title_text="dead / saturated", tickformat=".0%", range=[-0.02, 1.05],
                     showgrid=True)
    return layout(fig, height=height, uirevision=uirevision)


def _log_lines(records: Sequence[Record], key: str, title: str, *, height: int,
               uirevision: str | None) -> go.Figure:
    """One line per weight layer of a positive number, on a log y axis."""
    fig = go.Figure()
    records = downsample(records)
    top = 0.0
    for k, name in enumerate(layer_names(records, "weight")):
        steps, values = series(records, name, key)
        values = [v if v is not None and v > 0 else None for v in values]  # log: 0 has no place
        top = max(top, _finite_max(values, 0.0))
        fig.add_trace(go.Scatter(x=steps, y=values, name=name, mode="lines+markers",
                                 line=dict(width=2, color=_color(k)), marker=dict(size=4),
                                 hovertemplate="%{y:.3g}<extra>" + name + "</extra>"))
    _mark_non_finite(fig, records, top or 1.0)
    _step_axis(fig, records[-1]["step"] if records else 1)
    fig.update_yaxes(type="log", title_text=title, exponentformat="power", showgrid=True)
    return layout(fig, height=height, uirevision=uirevision)


def grad_norm_figure(records: Sequence[Record], *, height: int = 300,
                     uirevision: str | None = None) -> go.Figure:
    """Per weight layer, over steps: the norm of its weight's gradient, on a log scale (a
    sigmoid net's gradient shrinks layer by layer towards the input: the lines part)."""
    return _log_lines(records, "grad_norm", "gradient norm", height=height,
                      uirevision=uirevision)


def update_ratio_figure(records: Sequence[Record], *, height: int = 300,
                        uirevision: str | None = None) -> go.Figure:
    """Per weight layer, over steps: ||Δw|| / ||w|| on a log scale, over a shaded band around
    the rule of thumb UPDATE_RATIO."""
    fig = _log_lines(records, "update_ratio", "update ratio", height=height,
                     uirevision=uirevision)
    lo, hi = RATIO_BAND
    fig.add_hrect(y0=lo, y1=hi, fillcolor=BAND_COLOR, opacity=0.12, line_width=0, layer="below")
    fig.add_hline(y=UPDATE_RATIO, line=dict(color=BAND_COLOR, dash="dot", width=1.5),
                  annotation_text="≈1e-3", annotation_position="bottom right",
                  annotation_font_color=BAND_COLOR)
    return fig


def histogram_figure(record: Record, quantity: str, *, columns: int = 3,
                     height_per_row: int = 170) -> go.Figure:
    """One record's histograms of `quantity` ("activation", "weight" or "grad"), one panel per
    layer that has it; a non-finite layer's panel says so."""
    panels = [e for e in record["layers"] if quantity in e.get("hist", {})]
    columns = max(1, min(columns, len(panels)))
    rows = max(1, math.ceil(len(panels) / columns))
    titles = [e["name"] + ("" if e.get("finite", True) else f" ({NON_FINITE})") for e in panels]
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=titles or None,
                        horizontal_spacing=0.08, vertical_spacing=0.22 if rows > 1 else 0.1)
    for k, e in enumerate(panels):
        row, col = divmod(k, columns)
        h = e["hist"][quantity]
        counts = h["counts"]
        if h["lo"] is None or not e.get("finite", True) or not any(counts):
            fig.add_annotation(text=NON_FINITE if h["lo"] is None or not e.get("finite", True)
                               else "all zero", showarrow=False, font_color=NON_FINITE_COLOR,
                               xref="x domain" if k == 0 else f"x{k + 1} domain",
                               yref="y domain" if k == 0 else f"y{k + 1} domain", x=0.5, y=0.5)
        if h["lo"] is not None:
            width = (h["hi"] - h["lo"]) / len(counts) or 1e-12
            centers = [h["lo"] + (i + 0.5) * width for i in range(len(counts))]
            fig.add_trace(go.Bar(x=centers, y=counts, width=width, name=e["name"],
                                 marker_color=_color(k), showlegend=False,
                                 hovertemplate="%{x:.3g}: %{y}<extra>" + e["name"] + "</extra>"),
                          row=row + 1, col=col + 1)
    fig.update_xaxes(exponentformat="e", nticks=4, tickfont=dict(size=10))
    fig.update_yaxes(showticklabels=False)
    fig.update_annotations(font_size=12)
    fig.update_layout(height=rows * height_per_row + 40, margin=dict(l=10, r=10, t=30, b=10),
                      bargap=0, showlegend=False)
    return fig


def overlay_diagnostic_figure(runs: Sequence[tuple[str, str, Sequence[Record]]], key: str,
                              layer: str, *, height: int = 320) -> go.Figure:
    """One diagnostic (a DIAGNOSTICS key) of one layer, one line per run: runs are (label,
    colour, records); labels are plain text. Each run's non-finite steps are marked."""
    label, _, log = DIAGNOSTICS[key]
    fig = go.Figure()
    top = 1.0 if not log else 0.0
    for run_label, color, records in runs:
        records = downsample(records)
        steps, values = series(records, layer, key)
        if log:
            values = [v if v is not None and v > 0 else None for v in values]
            top = max(top, _finite_max(values, 0.0))
        fig.add_trace(go.Scatter(x=steps, y=values, name=literal(run_label),
                                 mode="lines+markers", line=dict(width=2, color=color),
                                 marker=dict(size=4),
                                 hovertemplate=("%{y:.3g}" if log else "%{y:.1%}")))
    if not any(v is not None for t in fig.data for v in t.y):
        fig.add_annotation(text=f"no {label.split(' (')[0]} in {layer} for these runs",
                           showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    for run_label, color, records in runs:
        bad = non_finite_steps(records)
        if bad:
            fig.add_trace(go.Scatter(x=bad, y=[top or 1.0] * len(bad), mode="markers",
                                     name=f"{literal(run_label)}: {NON_FINITE}",
                                     marker=dict(symbol="x", size=9, color=color),
                                     hovertemplate=f"step %{{x}}: {NON_FINITE}<extra></extra>"))
    _step_axis(fig, max((r[-1]["step"] for _, _, r in runs if r), default=1))
    if log:
        fig.update_yaxes(type="log", exponentformat="power")
    else:
        fig.update_yaxes(tickformat=".0%", range=[-0.02, 1.05])
    fig.update_yaxes(title_text=f"{layer}: {label.split(' (')[0]}", showgrid=True)
    return layout(fig, height=height, uirevision=f"{key}-{layer}", legend=False)


# --- the learning-rate finder ------------------------------------------------------------------

def test_key(label: str, c: dict) -> tuple:
    """What makes two range tests the same test (a result's label and config; not the rate,
    which the test sweeps, nor the epochs)."""
    return (label, c.get("dataset"), c.get("batch_size"), c.get("arch"),
            tuple(c.get("channels") or ()), tuple(c.get("hidden") or ()), c.get("batch_norm"),
            c.get("seed"), c.get("max_train_examples"))


def curve_label(curve: LrCurve) -> str:
    c = curve.config
    return f"{curve.label}, {c.get('dataset')}, batch {c.get('batch_size')}"


def latest_per_test(curves: Sequence[LrCurve], limit: int = 4) -> list[LrCurve]:
    """The newest result of each distinct test, newest first, at most `limit`."""
    seen, out = set(), []
    for c in reversed(curves):
        if (key := test_key(c.label, c.config)) not in seen:
            seen.add(key)
            out.append(c)
    return out[:limit]


def _loss_at(curve: LrCurve, lr: float) -> float | None:
    """The smoothed loss at a rate, interpolated on log lr; None outside the tested rates."""
    pts = [(math.log10(x), s) for x, s in zip(curve.lrs, curve.smoothed, strict=True)
           if s is not None]
    t = math.log10(lr)
    for (a, sa), (b, sb) in zip(pts, pts[1:], strict=False):
        if a <= t <= b:
            return sa + (sb - sa) * (t - a) / (b - a) if b > a else sa
    return None


def _label(fig: go.Figure, lr: float, y: float, text: str, color: str, anchor: str) -> None:
    """Text just right of a rate, at the plot's top (y=1) or bottom (y=0). An annotation's x
    on a log axis is log10 of the value; add_vline's own annotation takes the value itself,
    and would label lr 0.9 at 10^0.9 = 7.9."""
    fig.add_annotation(x=math.log10(lr), y=y, xref="x", yref="paper", text=text,
                       showarrow=False, xanchor="left", yanchor=anchor, xshift=3,
                       font=dict(color=color, size=11))


def lr_find_figure(curves: Sequence[LrCurve], lr: float | None, *, current: LrCurve | None = None,
                   height: int = 360) -> go.Figure:
    """Smoothed loss against learning rate (log axis), one line per result; `current` (the
    form's test) drawn solid with its suggested range shaded, the others dashed; the form's
    rate `lr` a vertical line, with a marker where it lands on each curve."""
    fig = go.Figure()
    for k, c in enumerate(curves):
        color = _color(k)
        mine = current is not None and c.id == current.id
        fig.add_trace(go.Scatter(x=c.lrs, y=c.smoothed, name=literal(curve_label(c)),
                                 mode="lines", line=dict(width=3 if mine else 2, color=color,
                                                         dash="solid" if mine else "dash"),
                                 hovertemplate="lr %{x:.3g}: loss %{y:.3f}"))
        if mine and c.low is not None:
            fig.add_vrect(x0=c.low, x1=c.high, fillcolor=color, opacity=0.15, line_width=0,
                          layer="below")
            _label(fig, c.low, 1, "suggested", color, "top")
        if lr is not None and (y := _loss_at(c, lr)) is not None:
            fig.add_trace(go.Scatter(x=[lr], y=[y], mode="markers", showlegend=False,
                                     marker=dict(size=11, color=color, line=dict(width=1.5,
                                                                                 color="white")),
                                     name=literal(curve_label(c)),
                                     hovertemplate=f"lr {lr:g}: {where(lr, c)}<extra></extra>"))
    if lr is not None:
        fig.add_vline(x=lr, line=dict(color="#212529", dash="dot", width=1.5))
        _label(fig, lr, 0, f"lr {lr:g}", "#212529", "bottom")
    fig.update_xaxes(type="log", title_text="learning rate (log scale)", exponentformat="power",
                     showgrid=True)
    fig.update_yaxes(title_text="smoothed loss", showgrid=True)
    fig = layout(fig, height=height, uirevision="lr-find")
    fig.update_layout(hovermode="closest",
                      legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0),
                      margin=dict(l=10, r=10, t=30, b=10))
    return fig
