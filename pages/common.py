"""Streamlit glue the pages share: the run store, cached datasets and models, small widgets.

Not a page itself (app.py lists the pages explicitly). Computations live in lenet_core
(figures, tables, fmt); what is here only lays them out.
"""

from __future__ import annotations

import streamlit as st

from lenet_core import checkpoint, data, device, fmt, tables
from lenet_core.store import NoSuchRun, Run, RunStore, StoreError

# st.badge colours of the run statuses.
STATUS_COLORS = {"queued": "gray", "running": "blue", "finished": "green", "stopped": "orange",
                 "diverged": "red", "failed": "red", "interrupted": "orange"}
ROW_PX = 35  # st.dataframe's row height
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
    try:
        return load_model(ref)
    except (checkpoint.CheckpointError, NoSuchRun) as e:  # damaged, crafted, or just deleted
        refusal("This model cannot be used; pick another.", str(e))
        st.stop()


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


def remember(key: str, value):
    """Keep a choice across page switches: Streamlit forgets the state of widgets not shown."""
    st.session_state[f"_kept_{key}"] = value
    return value


def recall(key: str, default=None):
    return st.session_state.get(f"_kept_{key}", default)
