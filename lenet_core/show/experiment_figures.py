"""An experiment's figures and table, built without Streamlit: each variant's mean ± std over
seeds, lines against training-set size, times to a target, values per layer, mean curves."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from ..experiments import computed, verdict_text, verdicts
from . import fmt
from .figures import METRICS, layout, run_color

NOT_LEARNED = "#E03131"
WORD_COLORS = {"higher": "#2F9E44", "lower": "#E8590C", "equivalent": "#1971C2",
               "inconclusive": "#868E96"}


def _bars(labels: list[str], means: list[float | None], stds: list[float | None],
          colors: list[str], *, title: str, tickformat: str | None, hover: str,
          values: list[str]) -> go.Figure:
    """Horizontal bars with their error bars; each value is written in its row's label, so no
    text sits on an error bar."""
    ticks = [f"{label}  ·  {value}" if value else label
             for label, value in zip(labels, values, strict=True)]
    fig = go.Figure(go.Bar(
        y=labels, x=[m or 0 for m in means], orientation="h", marker_color=colors,
        error_x=dict(type="data", array=[s or 0 for s in stds], visible=True),
        hovertemplate=hover))
    fig.update_yaxes(autorange="reversed", automargin=True, tickmode="array", tickvals=labels,
                     ticktext=ticks)
    fig.update_xaxes(title_text=title, tickformat=tickformat, showgrid=True,
                     rangemode="tozero")
    return layout(fig, height=90 + 34 * len(labels), uirevision=title, legend=False)


def arms_figure(arms: Sequence[verdicts.Arm], key: str = "test_acc") -> go.Figure:
    """Each variant's mean ± std (test accuracy over every run by default) as horizontal bars;
    a variant that does not learn is drawn red at its (chance) accuracy."""
    labels, means, stds, colors, values = [], [], [], [], []
    for k, arm in enumerate(arms):
        stat = arm.stats.get(key)
        labels.append(arm.label)
        means.append(stat.mean if stat else None)
        stds.append(stat.std if stat else None)
        colors.append(NOT_LEARNED if arm.fails else run_color(k))
        values.append("" if stat is None else
                      f"{stat.mean:.1%}" + (" (did not learn)" if arm.fails else "")
                      if key.endswith("acc") else f"{100 * stat.mean:.1f} points"
                      if key == "gap" else f"{stat.mean:,.3g}")
    title = {"test_acc": "test accuracy, mean ± std over seeds",
             "gap": "train - test accuracy (runs that learned)",
             "train_time": "training seconds", "examples_per_sec": "examples/s"}.get(key, key)
    return _bars(labels, means, stds, colors, title=title,
                 tickformat=".0%" if key.endswith("acc") or key == "gap" else None,
                 hover="%{y}: %{x:.4g}<extra></extra>", values=values)


def comparisons_figure(compared: Sequence[verdicts.Compared]) -> go.Figure:
    """Each comparison as its difference with the Holm-adjusted interval, against 0, over a
    grey band of +- the difference its seeds can resolve."""
    done = [c for c in compared if c.result.diff is not None]
    rows = [f"{c.a} vs {c.b} · {verdicts.QUANTITIES[c.quantity].label}" for c in done]
    scale = [verdicts.QUANTITIES[c.quantity].scale for c in done]
    fig = go.Figure()
    fig.add_trace(go.Bar(
        y=rows, x=[2 * c.result.resolvable * k for c, k in zip(done, scale, strict=True)],
        base=[-c.result.resolvable * k for c, k in zip(done, scale, strict=True)],
        orientation="h", marker_color="#E9ECEF", name="what the seeds resolve (±)",
        hovertemplate="resolvable: ±%{x:.2f}<extra></extra>"))
    fig.add_trace(go.Scatter(
        y=rows, x=[c.result.diff * k for c, k in zip(done, scale, strict=True)], mode="markers",
        marker=dict(size=10, color=[WORD_COLORS[c.result.word] for c in done]),
        error_x=dict(type="data", symmetric=False,
                     array=[(c.result.high - c.result.diff) * k for c, k in zip(done, scale,
                                                                                strict=True)],
                     arrayminus=[(c.result.diff - c.result.low) * k for c, k in
                                 zip(done, scale, strict=True)]),
        name="difference, Holm-adjusted interval", text=[c.result.word for c in done],
        hovertemplate="%{y}: %{x:+.2f} (%{text})<extra></extra>"))
    fig.add_vline(x=0, line_color="#495057", line_width=1)
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(title_text="difference (points for accuracies)", showgrid=True,
                     zeroline=False)
    return layout(fig, height=110 + 34 * max(1, len(rows)), uirevision="comparisons")


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
    """Seconds to the target for each step of the ladder (test scoring included), over the
    seeds that reached it; a step that not every seed reached is drawn red, with how many did."""
    labels, means, stds, colors, text = [], [], [], [], []
    for arm in arms:
        times, k, n = arm.stats.get("time_to_target"), len(arm.values("time_to_target")), \
            len(arm.counted)
        labels.append(arm.label)
        means.append(times.mean if times else None)
        stds.append(times.std if times else None)
        missed = k < n
        colors.append(NOT_LEARNED if missed else run_color(0 if arm.series == arms[0].series
                                                            else 1))
        text.append(("" if times is None else f"{times.mean:.1f} s") +
                    (f" ({k} of {n} reached it)" if missed else ""))
    return _bars(labels, means, stds, colors, title="seconds to the target (scoring included)",
                 tickformat=None, hover="%{y}: %{x:.1f} s<extra></extra>", values=text)


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
    """One row per variant: runs that learned (with the rate's interval), mean ± std of what was
    measured (test accuracy over every run, the rest over the runs that learned), failures."""
    def cell(arm: verdicts.Arm, key: str, scale: float, digits: int) -> str:
        s = arm.stats.get(key)
        return "–" if s is None else s.text(scale, digits)

    rows = []
    for a in arms:
        k, n, low, high = a.success
        rows.append({"Variant": a.label,
                     "Learned": f"{k}/{n} ({100 * low:.0f}-{100 * high:.0f} %)" if n else "–",
                     "Test acc (%)": cell(a, "test_acc", 100, 1),
                     "Train acc (%)": cell(a, "train_acc", 100, 1),
                     "Gap (points)": cell(a, "gap", 100, 1)})
        if any(x.stats.get("peak_test_acc") for x in arms):
            rows[-1]["Peak test acc (%)"] = cell(a, "peak_test_acc", 100, 1)
        if any(x.stats.get("test_loss") for x in arms):
            rows[-1]["Test loss, end"] = cell(a, "test_loss", 1, 3)
            rows[-1]["Test loss, lowest"] = cell(a, "test_loss_min", 1, 3)
        rows[-1] |= {"Parameters": a.params, "Examples/s": cell(a, "examples_per_sec", 1, 0),
                     "Train time (s)": cell(a, "train_time", 1, 1),
                     "Did not learn": verdict_text.failure_short(a)}
    return rows


def variant_rows(definition) -> list[dict[str, str]]:
    """What a launch will train, before it is launched: each variant and what it changes."""
    against: dict[str, list[str]] = {}
    for a, b in definition.comparisons():
        against.setdefault(a, []).append(b)
    return [{"Variant": v.label,
             "Changes from the base": ", ".join(f"{k}={fmt.value(x)}" for k, x in
                                                v.changes.items()) or "none",
             "Compared with": "; ".join(against.get(v.label, []))} for v in definition.variants]


def case_table(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The view/reshape cases: what each op returned, and its time per call."""
    return [{"Case": r["case"], "Op": r["op"],
             "Result": r["error"] or ("a view (same storage)" if r["shares"] else "a copy"),
             "Time per call (ns)": r["time"] or "not timed"} for r in computed.case_rows(rows)]
