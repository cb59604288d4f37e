"""An experiment's figures and table, built without Streamlit: each variant's mean ± std over
seeds, lines against training-set size, times to a target, values per layer, mean curves."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from ..experiments import verdicts
from .figures import METRICS, layout, run_color

NOT_LEARNED = "#E03131"


def _bars(labels: list[str], means: list[float | None], stds: list[float | None],
          colors: list[str], *, title: str, tickformat: str | None, hover: str,
          text: list[str]) -> go.Figure:
    fig = go.Figure(go.Bar(
        y=labels, x=[m or 0 for m in means], orientation="h", marker_color=colors,
        error_x=dict(type="data", array=[s or 0 for s in stds], visible=True),
        text=text, textposition="outside", cliponaxis=False, hovertemplate=hover))
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(title_text=title, tickformat=tickformat, showgrid=True,
                     rangemode="tozero")
    return layout(fig, height=90 + 34 * len(labels), uirevision=title, legend=False)


def arms_figure(arms: Sequence[verdicts.Arm], key: str = "test_acc") -> go.Figure:
    """Each variant's mean ± std (test accuracy by default) as horizontal bars; a variant that
    does not learn is drawn red at its (chance) accuracy."""
    labels, means, stds, colors, text = [], [], [], [], []
    for k, arm in enumerate(arms):
        stat = arm.stats.get(key)
        if arm.fails and key == "test_acc":
            stat = verdicts.Stat.of([r.test_acc for r in arm.chance])
        labels.append(arm.label)
        means.append(stat.mean if stat else None)
        stds.append(stat.std if stat else None)
        colors.append(NOT_LEARNED if arm.fails else run_color(k))
        text.append("does not learn" if arm.fails else
                    "" if stat is None else f"{stat.mean:.1%}" if key.endswith("acc")
                    else f"{stat.mean:,.3g}")
    title = {"test_acc": "test accuracy (mean ± std over seeds)",
             "gap": "train - test accuracy", "train_time": "training seconds",
             "examples_per_sec": "examples/s"}.get(key, key)
    return _bars(labels, means, stds, colors, title=title,
                 tickformat=".0%" if key.endswith("acc") or key == "gap" else None,
                 hover="%{y}: %{x:.4g}<extra></extra>", text=text)


def series_figure(arms: Sequence[verdicts.Arm], x_name: str) -> go.Figure:
    """Test accuracy against x (training-set size), one line per series, log x."""
    fig = go.Figure()
    for k, series in enumerate(sorted({a.series for a in arms if a.series})):
        line = sorted((a for a in arms if a.series == series and a.stats.get("test_acc")),
                      key=lambda a: a.x)
        fig.add_trace(go.Scatter(
            x=[a.x for a in line], y=[a.stats["test_acc"].mean for a in line], name=series,
            mode="lines+markers", line=dict(width=2, color=run_color(k)),
            error_y=dict(type="data", array=[a.stats["test_acc"].std for a in line]),
            hovertemplate="%{x:,} examples: %{y:.2%}<extra>" + series + "</extra>"))
    fig.update_xaxes(type="log", title_text=x_name, showgrid=True)
    fig.update_yaxes(title_text="test accuracy", tickformat=".0%", showgrid=True)
    return layout(fig, height=360, uirevision="series")


def time_figure(arms: Sequence[verdicts.Arm]) -> go.Figure:
    """Seconds of training to the target for each step of the ladder; a step whose runs did
    not all reach it is drawn red at its full training time, marked "not reached"."""
    labels, means, stds, colors, text = [], [], [], [], []
    for arm in arms:
        hit = [r for r in arm.runs if verdicts.reached(r)]
        ended = [r for r in arm.ended if r.status in ("finished", "diverged")]
        times = verdicts.Stat.of([r.train_time for r in (hit if len(hit) == len(ended) else
                                                        ended)])
        labels.append(arm.label)
        means.append(times.mean if times else None)
        stds.append(times.std if times else None)
        missed = bool(ended) and len(hit) < len(ended)
        colors.append(NOT_LEARNED if missed else run_color(0 if arm.series == arms[0].series
                                                            else 1))
        text.append("not reached" if missed else "" if times is None else f"{times.mean:.1f} s")
    return _bars(labels, means, stds, colors, title="seconds of training to the target",
                 tickformat=None, hover="%{y}: %{x:.1f} s<extra></extra>", text=text)


def layers_figure(rows: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Values per example (C x H x W) after each layer."""
    fig = go.Figure(go.Bar(
        x=[r["layer"] for r in rows], y=[r["values"] for r in rows],
        marker_color=[run_color(0) if r["type"] == "Conv2d" else "#ADB5BD" for r in rows],
        text=[" x ".join(map(str, r["shape"])) for r in rows], textposition="outside",
        cliponaxis=False, hovertemplate="%{x}: %{y:,} values (%{text})<extra></extra>"))
    fig.update_yaxes(title_text="values per example", showgrid=True)
    fig.update_xaxes(type="category")
    return layout(fig, height=360, uirevision="layers", legend=False)


def field_figure(arms: Sequence[verdicts.Arm], field: str) -> go.Figure:
    """A sweep's test accuracy against one swept field: mean ± std over every run (all seeds,
    all values of the other fields) that has each value."""
    groups: dict[str, list[float]] = {}
    for arm in arms:
        value = arm.changes.get(field)
        label = "/".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
        groups.setdefault(label, []).extend(r.test_acc for r in arm.learned)
    stats = {k: verdicts.Stat.of(v) for k, v in groups.items()}
    fig = go.Figure(go.Scatter(
        x=list(stats), y=[s.mean if s else None for s in stats.values()], mode="lines+markers",
        error_y=dict(type="data", array=[s.std if s else 0 for s in stats.values()]),
        line=dict(width=2, color=run_color(0)), hovertemplate="%{x}: %{y:.2%}<extra></extra>"))
    fig.update_xaxes(type="category", title_text=field)
    fig.update_yaxes(title_text="test accuracy", tickformat=".0%", showgrid=True)
    return layout(fig, height=300, uirevision=field, legend=False)


def mean_curve(points_per_run: Sequence[Sequence[Mapping[str, Any]]], key: str) -> list[dict]:
    """The mean over seeds of one metric at each x where every seed has it."""
    by_x: dict[float, list[float]] = {}
    for points in points_per_run:
        for p in points:
            if p.get(key) is not None:
                by_x.setdefault(round(p["x"], 6), []).append(p[key])
    n = len(points_per_run)
    return [{"x": x, key: statistics.fmean(v)} for x, v in sorted(by_x.items()) if len(v) == n]


def curves_figure(arms: Sequence[verdicts.Arm],
                  points: Mapping[str, Sequence[Mapping[str, Any]]], key: str) -> go.Figure:
    """One metric against epoch, one line per variant: the mean over its seeds."""
    fig = go.Figure()
    for k, arm in enumerate(arms):
        mean = mean_curve([points[r.id] for r in arm.runs if r.id in points], key)
        fig.add_trace(go.Scatter(x=[p["x"] for p in mean], y=[p[key] for p in mean],
                                 name=arm.label, mode="lines+markers",
                                 line=dict(width=2, color=run_color(k)), marker=dict(size=4),
                                 hovertemplate="%{y:.4f}"))
    fig.update_xaxes(title_text="epoch", showgrid=True)
    fig.update_yaxes(title_text=METRICS[key], showgrid=True,
                     tickformat=".0%" if key.endswith("acc") else None)
    return layout(fig, height=340, uirevision=key)


def table(arms: Sequence[verdicts.Arm]) -> list[dict[str, Any]]:
    """One row per variant: seeds done, mean ± std of what was measured, and what failed."""
    def cell(arm: verdicts.Arm, key: str, scale: float, digits: int) -> str:
        s = arm.stats.get(key)
        return "–" if s is None else s.text(scale, digits)

    return [{"Variant": a.label, "Seeds": f"{len(a.learned)}/{len(a.runs)}",
             "Test acc (%)": cell(a, "test_acc", 100, 1),
             "Train acc (%)": cell(a, "train_acc", 100, 1),
             "Gap (points)": cell(a, "gap", 100, 1), "Parameters": a.params,
             "Examples/s": cell(a, "examples_per_sec", 1, 0),
             "Train time (s)": cell(a, "train_time", 1, 1),
             "Did not learn": verdicts.failure(a) or ""} for a in arms]
