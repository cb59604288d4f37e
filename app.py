"""LeNet Lab: the dashboard's entry point. `streamlit run app.py` (or `make run`).

It routes between the four pages and draws the sidebar they share: the device in use and the
runs that are training or waiting. Training itself happens in background processes
(lenet_core.runs.runner), so a run outlives page switches and closed tabs.
"""

import streamlit as st

from lenet_core.runs.errors import StoreError
from lenet_core.show.fmt import progress_line, queued_ahead
from pages.live import tab_visible, watch_tab
from pages.share import copy_link_button
from pages.shell import device_label, navigation, router_ran, store, store_failed
from pages.widgets import status_badge

SIDEBAR_REFRESH_S = 2.0

st.set_page_config(page_title="LeNet Lab", page_icon=":material/grid_on:", layout="wide")

router_ran()
page = navigation()


@st.fragment(run_every=SIDEBAR_REFRESH_S if tab_visible() else None)
def active_runs() -> None:
    try:
        runs = [r for r in store().list() if r.active]
    except StoreError:  # the page says why, once
        return
    st.subheader("Active runs", divider="gray")
    if not runs:
        st.caption("None. Start one on the Train page.")
    for run in reversed(runs):  # oldest first: the order the queue runs them in
        frac, text = progress_line(run, eta=False, ahead=queued_ahead(runs, run))
        st.text(run.name)  # a name is data: never Markdown
        status_badge(run)
        st.progress(frac, text=text if run.status == "running" else None)


try:
    store()  # opening it reads its header and version: a bad store stops every page here
except StoreError as e:
    store_failed(e)

with st.sidebar:
    st.markdown("### :material/grid_on: LeNet Lab")
    st.caption("LeNet-5 on MNIST and Fashion-MNIST: train, look inside, draw, compare.")
    st.markdown(f":material/memory: **Device:** {device_label()}")
    copy_link_button()  # each page keeps its state in the URL (pages/share.py)
    active_runs()
    # Not beside the drawing canvas: with the tab watcher mounted there, the first stroke after
    # Clear can go missing. A hidden Draw tab keeps only the sidebar's 2 s refresh.
    if page.url_path != "draw":
        watch_tab()

try:
    page.run()
except StoreError as e:  # damaged inside, or the disk refused a write
    store_failed(e)
