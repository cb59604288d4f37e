"""Reliability and security in headless Chromium: what the server exposes, run names as plain
text, two tabs on one run, and the server killed and restarted under a training run.

One server serves the module; the last test kills it (its whole process group, as closing a
terminal does) and starts it again on the same port.
"""

from __future__ import annotations

import html
import http.server
import os
import re
import signal
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from lenet_core.config import MODERN
from lenet_core.runs import runner
from lenet_core.runs.store import RunStore
from lenet_core.show import fmt
from tests.e2e_form import start_run
from tests.e2e_support import (
    CHART,
    chart_points,
    chart_trace_names,
    choose,
    go_to,
    open_app,
    screenshot,
    start_app,
    status_badge,
    stop_app,
    wait_ready,
)
from tests.support import add_run, poll

pytestmark = pytest.mark.e2e

RUN_TIMEOUT = 120
LONG = MODERN.replace(epochs=200, max_train_examples=10_240, device="cpu")  # stopped by the test


class Server:
    """The module's dashboard; `kill` and `restart` keep its port and run store."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.app = start_app(tmp / "runs", tmp / "streamlit.log", own_session=True)

    @property
    def url(self) -> str:
        return self.app.url

    def kill(self) -> None:
        os.killpg(self.app.process.pid, signal.SIGKILL)  # the server and all it started alike
        self.app.process.wait(timeout=30)

    def restart(self) -> None:
        port = int(self.app.url.rsplit(":", 1)[1])
        self.app = start_app(self.app.runs, self.tmp / "streamlit.log", port=port,
                             own_session=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("e2e-reliability"))
    yield s
    stop_app(s.app)


def _open(browser, url: str) -> Page:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    open_app(page, url)
    return page


# --- what the server exposes -----------------------------------------------------------------

def _listening(port: int) -> list[str]:
    """Local addresses (hex, as the kernel lists them) of sockets listening on `port`."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                found.append(local.rsplit(":", 1)[0])
    return found


def test_the_server_listens_on_loopback_only_and_refuses_posts_without_xsrf(server):
    port = int(server.url.rsplit(":", 1)[1])
    assert _listening(port) == ["0100007F"]  # 127.0.0.1, and nothing on IPv6
    put = urllib.request.Request(f"{server.url}/_stcore/upload_file/session/file", data=b"x",
                                 method="PUT")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(put, timeout=10)
    assert refused.value.code == 403  # XSRF protection is on: no token, no upload


# --- two tabs ------------------------------------------------------------------------------

def _stopped(store: RunStore, run_id: str) -> None:
    """Whatever a test did, its run ends: the next test's runs would queue behind it."""
    store.request_stop(run_id)
    runner.wait(run_id, store, timeout=60)


def test_two_tabs_on_one_run_both_stay_live_and_a_stop_shows_in_both(server, browser):
    store = RunStore(server.app.runs)
    run_id = runner.start(LONG, "two tabs", store=store)
    tabs = [_open(browser, server.url + "/train") for _ in range(2)]
    try:
        for tab in tabs:
            expect(status_badge(tab, "running")).to_be_visible(timeout=RUN_TIMEOUT * 1000)
        for tab in tabs:
            seen = poll(lambda t=tab: chart_points(t), RUN_TIMEOUT, "the curves")
            poll(lambda t=tab, n=seen: chart_points(t) > n, RUN_TIMEOUT, "the curves to grow")
        tabs[0].get_by_role("button", name="Stop", exact=True).click()
        for tab in tabs:  # the other tab learns of the stop by itself, without a reload
            expect(status_badge(tab, "stopped")).to_be_visible(timeout=30_000)
            expect(tab.get_by_role("button", name="Checkpoint (.pt)")).to_be_visible()
        assert store.get(run_id).status == "stopped"
        screenshot(tabs[1], "two-tabs-stopped-elsewhere")
    finally:
        _stopped(store, run_id)
        for tab in tabs:
            tab.context.close()


# --- run names are data ----------------------------------------------------------------------

@pytest.fixture
def listener():
    """A local web server that records every request: the names point at it."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    httpd.hits = hits
    yield httpd
    httpd.shutdown()


def test_run_names_show_as_typed_on_every_page_and_fetch_nothing(server, browser, listener):
    leak = f"http://127.0.0.1:{listener.server_port}"
    names = [f"![p]({leak}/leak.png)", f"<img src={leak}/img.png onerror=alert(1)>",
             ":red[x] **bold** $x^2$ :smile: <b>b</b>"]
    store = RunStore(server.app.runs)
    finished = [add_run(store, name=n, acc=0.9) for n in names]
    queued = [store.create(MODERN, n) for n in names]  # shown in the sidebar while waiting
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    requests, dialogs = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        open_app(page, server.url + "/train")
        main = page.get_by_test_id("stMain")
        sidebar = page.get_by_test_id("stSidebar").get_by_test_id("stText")
        for name in names:
            expect(sidebar.get_by_text(name, exact=True)).to_be_visible()
        for name, run_id in zip(names, finished, strict=True):  # each run's panel header
            choose(page, "Run", f"{name} · {run_id}")
            expect(main.get_by_test_id("stText").get_by_text(name, exact=True)).to_be_visible()
        screenshot(page, "names-train")

        go_to(page, "Compare", "compare")
        runs = {r.id: r for r in store.list()}
        # Compare picks the two newest; add the third by typing its id, as a user can.
        picker = page.get_by_test_id("stMultiSelect").first.get_by_role("combobox")
        picker.fill(f"#{finished[0][-4:]}")  # its options are short labels: name #tail
        page.get_by_role("option", name=fmt.short_label(runs[finished[0]]),
                         exact=True).click()
        page.keyboard.press("Escape")
        wait_ready(page)
        labels = [fmt.short_label(runs[i]) for i in finished]
        for label in labels:  # the side-by-side panels
            expect(main.get_by_test_id("stText").get_by_text(label, exact=True).first).to_be_visible()
        # The overlays have no legend (the colour key above serves them all): their traces'
        # names are the labels, escaped for Plotly, which shows them as typed.
        traced = {html.unescape(n) for k in range(page.locator(CHART).count())
                  for n in chart_trace_names(page, k)}
        assert set(labels) <= traced
        screenshot(page, "names-compare")

        assert page.locator("img[src*='127.0.0.1']").count() == 0
        assert main.locator("b, strong").filter(has_text="bold").count() == 0
    finally:
        for run_id in queued:
            store.finish(run_id, "stopped")
        page.close()
    assert not [u for u in requests if u.startswith(leak)], requests
    assert listener.hits == [] and dialogs == []


# --- the server dies under a training run ----------------------------------------------------

def test_a_server_killed_mid_run_and_restarted_shows_the_run_live(server, browser):
    store = RunStore(server.app.runs)
    done = runner.wait(runner.start(MODERN.replace(epochs=1, max_train_examples=2048,
                                                   device="cpu"), "before the restart",
                                    store=store), store, timeout=RUN_TIMEOUT)
    assert done.status == "finished"
    page = _open(browser, server.url + "/train")
    start_run(page, preset="modern", epochs=200, examples=10_240, name="outlives the server")
    expect(status_badge(page, "running")).to_be_visible(timeout=RUN_TIMEOUT * 1000)
    run = next(r for r in store.list() if r.name == "outlives the server")
    try:
        _restart_under(run, server, store, page)
    finally:
        _stopped(store, run.id)
    go_to(page, "Inspect", "inspect")  # the run finished before the restart still loads
    choose(page, "Model", fmt.model_option_label(done))
    expect(page.get_by_test_id("stMetric").filter(has_text="Prediction")).to_be_visible()
    screenshot(page, "restart-inspect")
    page.context.close()


def _restart_under(run, server: Server, store: RunStore, page: Page) -> None:
    """Kill the server under a training run, restart it, and watch the same tab follow."""
    server.kill()
    assert store.get(run.id).status == "running"  # its process is alive (the store checks)
    trained = len(store.metrics(run.id))
    poll(lambda: len(store.metrics(run.id)) > trained, RUN_TIMEOUT, "training with no server")

    server.restart()
    # The same tab reconnects by itself and the run is live in it again.
    expect(status_badge(page, "running")).to_be_visible(timeout=60_000)
    seen = poll(lambda: chart_points(page), 60, "the curves after the restart")
    poll(lambda: chart_points(page) > seen, RUN_TIMEOUT, "the curves to grow again")
    assert re.search(r"Epoch \d+/200", page.get_by_test_id("stProgress").first.inner_text())
    page.get_by_role("button", name="Stop", exact=True).click()
    expect(status_badge(page, "stopped")).to_be_visible(timeout=30_000)
