"""Streamlit glue the pages share: the run store, cached datasets and models, small widgets.

Not a page itself (app.py lists the pages explicitly). Computations live in lenet_core.views.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from lenet_core import data, device, inference, views
from lenet_core.store import Run, RunStore

DEFAULT_MODEL = "default"  # the model selectors' key for the shipped model
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
def _checkpoint(path: str, mtime: float, label: str) -> inference.LoadedModel:
    return inference.load_checkpoint(path, label=label)  # mtime: a retrained file reloads


def model_choices(*, dataset: str | None = None,
                  statuses: tuple[str, ...] = ("finished", "stopped")) -> dict[str, str]:
    """{key: label} for the model selectors: the shipped model, then runs with a checkpoint."""
    choices = {}
    if inference.DEFAULT_MODEL_PATH.is_file() and dataset in (None, "mnist"):
        choices[DEFAULT_MODEL] = "Default MNIST model (shipped)"
    s = store()
    for run in s.list():
        if run.status in statuses and s.checkpoint_path(run.id).is_file() \
                and dataset in (None, run.config.dataset):
            choices[run.id] = f"{views.short_label(run)} · {views.percent(run.test_acc)} test acc"
    return choices


def load_model(key: str) -> inference.LoadedModel:
    if key == DEFAULT_MODEL:
        path, label = inference.DEFAULT_MODEL_PATH, "default MNIST model"
    else:
        path, label = store().checkpoint_path(key), f"run {key}"
    return _checkpoint(str(path), Path(path).stat().st_mtime, label)


def no_model_message() -> None:
    st.warning("No model to use yet. The shipped default model is missing "
               f"(`{inference.DEFAULT_MODEL_PATH.name}`: run `make default-model`), and no run "
               "has finished. Train one on the **Train** page.", icon=":material/warning:")


def status_badge(run: Run) -> None:
    st.badge(run.status, color=views.STATUS_COLORS[run.status])


def key_figures(run: Run, *, columns: int = 5) -> None:
    """The run's final numbers as st.metric tiles."""
    cols = st.columns(columns)
    for i, (label, value) in enumerate(views.key_figures(run)):
        cols[i % columns].metric(label, value)


def remember(key: str, value):
    """Keep a choice across page switches: Streamlit forgets the state of widgets not shown."""
    st.session_state[f"_kept_{key}"] = value
    return value


def recall(key: str, default=None):
    return st.session_state.get(f"_kept_{key}", default)
