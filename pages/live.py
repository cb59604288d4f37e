"""Live views: parts of a page that rerun on a timer while runs train, only while the browser
tab is on screen, and charts that are rebuilt only when their data changed.

Watching a run must not slow it down (docs/BENCHMARKS.md, "watched run vs CLI"): a live view
is one fragment whose cheap parts (status, progress) rerun every LIVE_REFRESH_S, while its
charts are rebuilt only when points arrived, at most every CHART_REFRESH_S (a new point is on
screen within about 2 s of being written). Not a page itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    import plotly.graph_objects as go

LIVE_REFRESH_S = 1.0
CHART_REFRESH_S = 2.0
_SENT_CHARTS = "_live_charts"  # session state: what each live chart sent last
_MAX_SENT_CHARTS = 32
_TAB = "_tab"  # session state: the tab-visibility component's state

# A component with nothing to show: it tells the server whether this browser tab is on screen.
# Browsers keep a hidden tab's timers going, so without it every live view in a tab in the
# background would go on rerunning and redrawing for nobody.
_TAB_VISIBILITY = st.components.v2.component("lenet_tab_visibility", js="""
export default function ({ setStateValue }) {
  const report = () => {
    window.lenetTabReportedAt = performance.now();  // browser tests wait for the rerun it causes
    setStateValue("visible", document.visibilityState !== "hidden");
  };
  document.addEventListener("visibilitychange", report);
  report();
  return () => document.removeEventListener("visibilitychange", report);
}
""")


def watch_tab() -> None:
    """app.py mounts this once per run. A tab put in the background or brought back reruns the
    app, so live views stop or restart their timers (tab_visible)."""
    _TAB_VISIBILITY(key=_TAB, default={"visible": True}, on_visible_change=lambda: None)


def tab_visible() -> bool:
    """Whether the user can see this tab (until the tab says otherwise, yes)."""
    return bool(st.session_state.get(_TAB, {}).get("visible", True))


def live_view(body: Callable[..., None], active: bool) -> Callable[..., None]:
    """`body` as a fragment that reruns every LIVE_REFRESH_S while `active` and the tab is on
    screen: one timer for a whole view, however many runs it shows. Draw its charts with
    live_chart."""
    return st.fragment(run_every=LIVE_REFRESH_S if active and tab_visible() else None)(body)


@dataclass
class _Sent:
    version: object
    at: float
    figure: go.Figure


def live_chart(key: str, version: object, figure: Callable[[], go.Figure], *, live: bool,
               config: dict | None = None) -> None:
    """st.plotly_chart for a chart that grows while runs train. `key` names what it shows (the
    runs in it): another choice of runs is another key, drawn at once.

    A chart whose figure changed is remounted, and the browser builds it anew (tenths of a
    CPU-second on a small machine). So the figure is rebuilt only when `version` changed (the
    runs' point counts and statuses, say: store.point_counts), and while `live` at most every
    CHART_REFRESH_S. In between, the figure sent last goes out again: the same spec, which the
    browser leaves as it is."""
    sent = st.session_state.setdefault(_SENT_CHARTS, {})
    last, now = sent.get(key), time.monotonic()
    # Half a period of slack: reruns come every LIVE_REFRESH_S, give or take a few ms.
    due = last is None or not live or now - last.at >= CHART_REFRESH_S - LIVE_REFRESH_S / 2
    if last is None or (last.version != version and due):
        sent.pop(key, None)
        sent[key] = last = _Sent(version, now, figure())
        while len(sent) > _MAX_SENT_CHARTS:  # the oldest first
            sent.pop(next(iter(sent)))
    st.plotly_chart(last.figure, key=key, config=config)


def lazy_points(read: Callable[[str], list]) -> Callable[[str], list]:
    """A run's curve points by its id, read (`read`: store.metrics) on first use only: a live
    view's rerun reads the points of the charts it rebuilds, not of the others."""
    points: dict[str, list] = {}

    def points_of(run_id: str) -> list:
        if run_id not in points:
            points[run_id] = read(run_id)
        return points[run_id]
    return points_of
