"""Streamlit glue the pages share: the run store, cached datasets and models, small widgets.

Not a page itself (app.py lists the pages explicitly). Computations live in lenet_core
(figures, tables, fmt); what is here only lays them out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

from lenet_core import checkpoint, data, device, fmt, tables
from lenet_core.store import Run, RunStore

if TYPE_CHECKING:
    import plotly.graph_objects as go

# st.badge colours of the run statuses.
STATUS_COLORS = {"queued": "gray", "running": "blue", "finished": "green", "stopped": "orange",
                 "diverged": "red", "failed": "red", "interrupted": "orange"}
ROW_PX = 35  # st.dataframe's row height
# Watching a run must not slow it down (docs/BENCHMARKS.md, "watched run vs CLI"): a live view
# is one fragment whose cheap parts (status, progress) rerun every LIVE_REFRESH_S, while its
# charts are rebuilt only when points arrived, at most every CHART_REFRESH_S (a new point is on
# screen within about 2 s of being written).
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
  const report = () => setStateValue("visible", document.visibilityState !== "hidden");
  document.addEventListener("visibilitychange", report);
  report();
  return () => document.removeEventListener("visibilitychange", report);
}
""")
_ROUTED = "_routed_by_app"  # set by app.py on each run, taken by the page it runs


def router_ran() -> None:
    """app.py calls this on every run, just before it runs the page."""
    st.session_state[_ROUTED] = True


def through_router() -> None:
    """Every page calls this first: it makes sure the page runs inside app.py.

    Until some session has called st.navigation, Streamlit treats a `pages/` folder as a
    legacy auto-discovered app: a deep link such as /draw on a fresh server runs the page
    alone, without app.py (no sidebar, no layout, a navigation list with common.py in it),
    and AppTest does so on every run. Calling st.navigation switches to the router, and the
    rerun then goes through app.py to this same page (the URL path is the same in both)."""
    if not st.session_state.pop(_ROUTED, False):
        navigation()
        st.rerun()


def navigation():
    """The app's pages and their URL paths. "/" opens Train at /train: Streamlit serves its
    default page at "/" only, so a hidden default page forwards to Train."""
    train = st.Page("pages/train.py", title="Train", icon=":material/model_training:",
                    url_path="train")
    return st.navigation([
        st.Page(lambda: st.switch_page(train), title="LeNet Lab", url_path="home",
                default=True, visibility="hidden"),
        train,
        st.Page("pages/inspect.py", title="Inspect", icon=":material/layers:",
                url_path="inspect"),
        st.Page("pages/draw.py", title="Draw", icon=":material/draw:", url_path="draw"),
        st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:",
                url_path="compare"),
    ])


def store() -> RunStore:
    # Cheap to open (one SQLite connection per call), and $LENET_RUNS is read each time.
    return RunStore()


@st.cache_resource(show_spinner="Finding the device…")
def device_label() -> str:
    return device.describe(device.resolve("auto"))


@st.cache_resource(show_spinner="Loading the dataset…", max_entries=2)
def dataset(name: str, root: str) -> data.Dataset:
    return data.load(name, root)


def test_set(name: str) -> data.Dataset:
    return dataset(name, str(data.data_root().resolve()))


@st.cache_resource(show_spinner="Loading the model…", max_entries=8)
def _checkpoint(path: str, mtime: float, label: str) -> checkpoint.LoadedModel:
    return checkpoint.load(path, label=label)  # mtime: a retrained file reloads


def model_choices(*, dataset: str | None = None,
                  statuses: tuple[str, ...] = ("finished", "stopped")) -> dict[str, str]:
    """{model reference: label} for the model pickers: the shipped model, then runs with a
    checkpoint, newest first."""
    choices = {}
    if checkpoint.DEFAULT_MODEL_PATH.is_file() and dataset in (None, "mnist"):
        choices[checkpoint.DEFAULT_MODEL] = checkpoint.DEFAULT_MODEL_LABEL
    s = store()
    for run in s.list():
        if run.status in statuses and s.checkpoint_path(run.id).is_file() \
                and dataset in (None, run.config.dataset):
            choices[run.id] = f"{fmt.short_label(run)} · {fmt.percent(run.test_acc)} test acc"
    return choices


def load_model(ref: str) -> checkpoint.LoadedModel:
    path, label = checkpoint.locate(ref, store())
    return _checkpoint(str(path), path.stat().st_mtime, label)


def pick_model(page: str, *, dataset: str | None = None,
               statuses: tuple[str, ...] = ("finished", "stopped"),
               help: str | None = None) -> checkpoint.LoadedModel:
    """The "Model" picker at the top of a page, remembered per page; stops the page with a
    message when there is no model at all."""
    choices = model_choices(dataset=dataset, statuses=statuses)
    if not choices:
        st.warning("No model to use yet. The shipped default model is missing "
                   f"(`{checkpoint.DEFAULT_MODEL_PATH.name}`: run `make default-model`), and no "
                   "run has finished. Train one on the **Train** page.", icon=":material/warning:")
        st.stop()
    kept = recall(f"{page}_model")
    ref = st.selectbox("Model", list(choices), format_func=choices.get, help=help,
                       index=list(choices).index(kept) if kept in choices else 0)
    remember(f"{page}_model", ref)
    return load_model(ref)


def prediction_tile(name: str, confidence: float) -> None:
    """The model's answer as a bordered metric: the class and how sure it is."""
    st.metric("Prediction", name, border=True, delta=f"{confidence:.1%} confident",
              delta_color="off", delta_arrow="off")


def table_height(rows: int) -> int:
    """The st.dataframe height that shows `rows` rows and the header, with no scrolling."""
    return ROW_PX * (rows + 1) + 3


def status_badge(run: Run) -> None:
    st.badge(run.status, color=STATUS_COLORS[run.status])


def show_key_figures(run: Run, *, columns: int = 5) -> None:
    """The run's final numbers as st.metric tiles."""
    cols = st.columns(columns)
    for i, (label, value) in enumerate(tables.key_figures(run)):
        cols[i % columns].metric(label, value)


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


def remember(key: str, value):
    """Keep a choice across page switches: Streamlit forgets the state of widgets not shown."""
    st.session_state[f"_kept_{key}"] = value
    return value


def recall(key: str, default=None):
    return st.session_state.get(f"_kept_{key}", default)
