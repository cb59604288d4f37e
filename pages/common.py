"""Streamlit glue the pages share: the run store, cached datasets and models, small widgets.

Not a page itself (app.py lists the pages explicitly). Computations live in lenet_core
(figures, tables, fmt); what is here only lays them out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from lenet_core import data, device
from lenet_core.explain import images, saliency
from lenet_core.runs import checkpoint
from lenet_core.runs.errors import NoSuchRun, StoreError
from lenet_core.runs.records import Run
from lenet_core.runs.store import RunStore
from lenet_core.show import choices, figures, tables

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
  const report = () => {
    window.lenetTabReportedAt = performance.now();  // browser tests wait for the rerun it causes
    setStateValue("visible", document.visibilityState !== "hidden");
  };
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
        st.Page("pages/evaluate.py", title="Evaluate", icon=":material/fact_check:",
                url_path="evaluate"),
        st.Page("pages/inspect.py", title="Inspect", icon=":material/layers:",
                url_path="inspect"),
        st.Page("pages/draw.py", title="Draw", icon=":material/draw:", url_path="draw"),
        st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:",
                url_path="compare"),
        st.Page("pages/experiments.py", title="Experiments", icon=":material/science:",
                url_path="experiments"),
    ])


def store() -> RunStore:
    # Cheap to open (one SQLite connection per call), and $LENET_RUNS is read each time.
    return RunStore()


def refusal(headline: str, detail: str) -> None:
    """A red box with our own words, then the detail (which holds paths: data) as plain text."""
    st.error(headline, icon=":material/block:")
    st.text(detail)


def store_failed(e: StoreError) -> None:
    """What every page shows when runs.db cannot be used; nothing else runs."""
    refusal("The run store cannot be used, so no run can be shown or started.", str(e))
    st.session_state.pop(_ROUTED, None)  # the page did not run: it must not find the flag later
    st.stop()


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
    """{model reference: label} for the model pickers, grouped (lenet_core.choices)."""
    return choices.model_choices(store(), dataset=dataset, statuses=statuses)


def load_model(ref: str) -> checkpoint.LoadedModel:
    path, label = checkpoint.locate(ref, store())
    return _checkpoint(str(path), path.stat().st_mtime, label)


def current_model(offered: dict[str, str], dataset: str | None = None) -> str:
    """"The current model" among `offered` (lenet_core.choices.current_model)."""
    return choices.current_model(store(), offered, dataset)


def choose_model(page: str, ref: str) -> None:
    """Open `page` on this model, as if the user had picked it there."""
    remember(f"{page}_model", (ref, True))


def pick_ref(page: str, *, dataset: str | None = None,
             statuses: tuple[str, ...] = ("finished", "stopped"), prefer: str | None = None,
             prefer_ref: str | None = None, help: str | None = None) -> str:
    """The "Model" picker at the top of a page; returns the model reference. It opens on
    `prefer_ref` when that is a choice (Inspect: the model a drawing was made for), else on the
    current model (current_model, of the `prefer` dataset), and keeps a model the user picked
    by hand across page switches; stops the page with a message when there is no model."""
    offered = model_choices(dataset=dataset, statuses=statuses)
    if not offered:
        st.warning("No model to use yet. The shipped default model is missing "
                   f"(`{checkpoint.DEFAULT_MODEL_PATH.name}`: run `make default-model`), and no "
                   "run has finished. Train one on the **Train** page.", icon=":material/warning:")
        st.stop()
    auto = prefer_ref if prefer_ref in offered else current_model(offered, prefer)
    kept, by_hand = recall(f"{page}_model", (None, False))
    ref = kept if by_hand and kept in offered else auto
    ref = st.selectbox("Model", list(offered), format_func=offered.get, index=list(offered).index(ref),
                       help=help or "Opens on your newest finished run, else the shipped "
                                    "model. Runs that experiments launched are listed last.")
    remember(f"{page}_model", (ref, ref != auto))
    return ref


def use_model(ref: str) -> checkpoint.LoadedModel:
    """The model `ref` names, loaded; one that cannot be used stops the page with one line."""
    try:
        return load_model(ref)
    except (checkpoint.CheckpointError, NoSuchRun) as e:  # damaged, crafted, or just deleted
        refusal("This model cannot be used; pick another.", str(e))
        st.stop()


def pick_model(page: str, **kw) -> checkpoint.LoadedModel:
    """pick_ref's model, loaded (see use_model)."""
    return use_model(pick_ref(page, **kw))


# streamlit-drawable-canvas 0.13 keeps its floating toolbar, invisible, over the top ~35 px of the
# canvas's right two-thirds until the pointer hovers the canvas: a stroke that starts there is
# lost. The toolbar lives in the canvas's shadow root, out of reach of page CSS, so this
# invisible component puts a style into that root: the toolbar sits just above the canvas,
# always visible, with only Undo and Redo (the page has its own Clear).
_CANVAS_TOOLBAR_CSS = """
.dc-toolbar { top: auto !important; bottom: 100% !important; padding: 0 0 2px 0 !important;
              opacity: 1 !important; transition: none !important; }
.dc-toolbar-card > .dc-icon-button:not([aria-label="Undo"]):not([aria-label="Redo"]),
.dc-toolbar-separator, .dc-toolbar-contextual { display: none !important; }
"""
_CANVAS_TOOLBAR_JS = """
export default function({ data }) {
    const put = () => {
        for (const host of document.querySelectorAll('[data-testid="stBidiComponentIsolated"]')) {
            // Not into the sidebar's components (the tab watcher): with a style put there, the
            // first stroke after Clear was lost in 1 of 3 browser-test runs; 0 of 5 without.
            if (host.closest('[data-testid="stSidebar"]')) continue;
            const root = host.shadowRoot;
            // Into every isolated component's root, at once: the rules name only the canvas's
            // own classes, and waiting for its toolbar to appear would leave a gap to press in.
            if (root && !root.querySelector('style[data-lenet]')) {
                const style = document.createElement('style');
                style.dataset.lenet = 'toolbar';
                style.textContent = data;
                root.appendChild(style);
            }
        }
    };
    put();
    // A new canvas (Clear gives it a new key) mounts later; its shadow root fills in later still.
    const observer = new MutationObserver(put);
    observer.observe(document.body, { childList: true, subtree: true });
    const timer = setInterval(put, 200);
    return () => { observer.disconnect(); clearInterval(timer); };
}
"""
_canvas_toolbar = st.components.v2.component("lenet_lab.canvas_toolbar", js=_CANVAS_TOOLBAR_JS,
                                             isolate_styles=False)


def canvas_toolbar_above() -> None:
    """Keep the drawing canvas's toolbar out of its drawing area (see _CANVAS_TOOLBAR_CSS)."""
    _canvas_toolbar(data=_CANVAS_TOOLBAR_CSS, key="canvas_toolbar", height=0)


def png_image(where, image: np.ndarray, *, width: int, caption: str | None = None) -> None:
    """st.image of a uint8 array, inside the page (figures.png_url): never a /media URL, which
    a quick rerun can delete while the browser still fetches it (a broken image)."""
    where.image(figures.png_url(image), width=width, caption=caption)


def prediction_tile(name: str, confidence: float) -> None:
    """The model's answer as a bordered metric: the class and how sure it is."""
    st.metric("Prediction", name, border=True, delta=f"{confidence:.1%} confident",
              delta_color="off", delta_arrow="off")


def upload_input(model: checkpoint.LoadedModel, page: str) -> np.ndarray | None:
    """A PNG or JPEG upload, made into what `model` reads; None (with a message beside the
    field when the file is unusable) until there is one."""
    how = ("crop, fit 20×20, centre by mass, as MNIST was made" if model.config.dataset == "mnist"
           else "fitted to 28×28 in gray, as Fashion-MNIST was made")
    file = st.file_uploader("A PNG or JPEG image", type=list(images.EXTENSIONS), key=f"{page}_upload",
                            help=f"Dark on light is inverted to light on dark; then {how}. At most "
                                 f"{images.MAX_BYTES // 2**20} MB and {images.MAX_PIXELS:,} pixels.")
    if file is None:
        return None
    try:
        # The file's name is the user's text: messages name "the file", never it.
        return images.read(file.getvalue(), model.config.dataset)
    except images.ImageError as e:
        st.error(str(e), icon=":material/broken_image:")
        return None


def saliency_view(model: checkpoint.LoadedModel, image, page: str, width: int = 168) -> None:
    """The saliency map over the input, with its method."""
    methods = {k: v for k, v in saliency.METHODS.items()
               if k != "gradcam" or saliency.last_conv_stage(model.net) is not None}
    kept = recall(f"{page}_saliency")
    method = st.segmented_control("Saliency method", list(methods), format_func=methods.get,
                                  default=kept if kept in methods else next(iter(methods)),
                                  required=True, key=f"{page}_saliency_method")
    remember(f"{page}_saliency", method)
    smap = saliency.saliency(model, image, method)
    row = st.container(horizontal=True, vertical_alignment="center")
    png_image(row, figures.saliency_overlay(image, smap, factor=6), width=width)
    text = row.container(width=320)
    text.caption(SALIENCY_HELP[method])
    if not smap.any():
        text.warning("Empty: no region of this input raises the score of the answer here. "
                     "Try another method.", icon=":material/info:")


SALIENCY_HELP = {
    "gradcam": "Grad-CAM: where the last convolution's channels that raise the answer's score "
               "respond (coarse: that layer is smaller than the input, 10×10 in the book's "
               "LeNet). Yellow: most.",
    "smoothgrad": "SmoothGrad: the gradient of the answer's score with respect to each pixel, "
                  "averaged over 50 noisy copies of the input. Yellow: the pixels whose change "
                  "would move the score most.",
    "gradient": "Gradient: how much the answer's score changes with each pixel. Noisy by "
                "nature: it marks where ink would change the answer, not only where ink is.",
}


# How the run-number columns that several tables share are shown: never a raw float
# (8321.8278 examples/s). Examples/s are whole numbers in the rows, shown with separators.
_PCT = st.column_config.NumberColumn(format="%.2f")
RUN_COLUMNS = {"Test acc (%)": _PCT, "Train acc (%)": _PCT,
               "Train loss": st.column_config.NumberColumn(format="%.4f"),
               "Examples/s": st.column_config.NumberColumn(format="localized"),
               "Train time (s)": st.column_config.NumberColumn(format="%.1f")}


def table_height(rows: int) -> int:
    """The st.dataframe height that shows `rows` rows and the header, with no scrolling."""
    return ROW_PX * (rows + 1) + 3


def status_badge(run: Run) -> None:
    st.badge(run.status, color=STATUS_COLORS[run.status])


def show_key_figures(run: Run) -> None:
    """The run's final numbers as st.metric tiles, each as wide as its number: in five equal
    columns of a narrow column "22,345" was cut to "22,…". Tiles that do not fit wrap."""
    row = st.container(horizontal=True, gap="medium", key=f"key-figures-{run.id}")
    for label, value in tables.key_figures(run):
        row.metric(label, value, width="content")


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
