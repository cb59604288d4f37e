"""The app shell the pages share: routing through app.py, the run store and what a page shows
when it cannot be used, the device label, and choices kept across page switches.

Not a page itself (app.py lists the pages explicitly).
"""

import streamlit as st

from lenet_core import device
from lenet_core.runs.errors import StoreError
from lenet_core.runs.store import RunStore

_ROUTED = "_routed_by_app"  # set by app.py on each run, taken by the page it runs


def router_ran() -> None:
    """app.py calls this on every run, just before it runs the page."""
    st.session_state[_ROUTED] = True


def through_router() -> None:
    """Every page calls this first: it makes sure the page runs inside app.py.

    Until some session has called st.navigation, Streamlit treats a `pages/` folder as a
    legacy auto-discovered app: a deep link such as /draw on a fresh server runs the page
    alone, without app.py (no sidebar, no layout, a navigation list with the helper modules in
    it), and AppTest does so on every run. Calling st.navigation switches to the router, and
    the rerun then goes through app.py to this same page (the URL path is the same in both)."""
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


def remember(key: str, value):
    """Keep a choice across page switches: Streamlit forgets the state of widgets not shown."""
    st.session_state[f"_kept_{key}"] = value
    return value


def recall(key: str, default=None):
    return st.session_state.get(f"_kept_{key}", default)


def flash(text: str) -> None:
    """A message for the next run of the page to show once as a toast (show_flash): a button's
    callback says what it did, and the rerun it causes says it."""
    st.session_state.flash = text


def show_flash(icon: str) -> None:
    """The message flash left, as a toast, once."""
    if text := st.session_state.pop("flash", None):
        st.toast(text, icon=icon)
