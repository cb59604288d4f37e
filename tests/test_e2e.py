"""End to end, in headless Chromium: the dashboard as a user drives it.

One Streamlit server (its own run store, the real data) serves every test. Screenshots of
each page land in tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from lenet_core.config import MODERN
from lenet_core.progress import Progress
from lenet_core.runs.records import ACTIVE
from lenet_core.runs.store import RunStore
from pages.live import LIVE_REFRESH_S
from tests.e2e_form import start_run
from tests.e2e_support import (
    CHART,
    chart_points,
    chart_trace_names,
    choose,
    count_requests,
    draw,
    go_to,
    ink_at,
    open_app,
    prediction_value,
    screenshot,
    serving,
    set_visibility,
    status_badge,
)
from tests.support import add_run, poll

pytestmark = pytest.mark.e2e

RUN_TIMEOUT = 120  # seconds for a tiny run to queue, start, train and finish on 2 busy cores
# A point written is on a watched run's chart within about 2 s (pages.live.live_chart); the
# rest is slack for a busy machine.
POINT_DELAY_S = 6


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("e2e")) as server:
        yield server


@pytest.fixture
def fresh_app(tmp_path):
    """A server of the test's own, on an empty store: what a first visit sees, whatever other
    tests left in the module's shared server."""
    with serving(tmp_path) as server:
        yield server


def test_train_a_short_run_live_to_the_end(fresh_app, page):
    open_app(page, fresh_app.url)
    expect(page.get_by_role("heading", name="Train", level=1)).to_be_visible()
    expect(page.get_by_text("No runs yet")).to_be_visible()

    start_run(page, preset="modern", epochs=2, examples=2048, name="e2e short")
    chart = page.locator(CHART).first
    expect(chart).to_be_visible()
    # 2 epochs of 16 batches: 6 training points (every 3 batches, and the last) and 1 test
    # point each, on three curves.
    poll(lambda: chart_points(page) > 0, RUN_TIMEOUT, "the first points of the curves")
    expect(status_badge(page, "finished")).to_be_visible(timeout=RUN_TIMEOUT * 1000)
    assert chart_points(page) == 2 * (6 * 2 + 1)
    assert chart_trace_names(page) == ["train loss", "train acc", "test acc"]
    main = page.get_by_test_id("stMain")
    for label in ("Test acc", "Train acc", "Train loss", "Examples/s", "Train time"):
        expect(main.get_by_test_id("stMetric").filter(has_text=label)).to_be_visible()
    test_acc = main.get_by_test_id("stMetric").filter(has_text="Test acc").inner_text()
    assert float(re.search(r"([\d.]+)%", test_acc).group(1)) > 80  # modern preset, 2k examples
    expect(page.get_by_role("button", name="Checkpoint (.pt)")).to_be_visible()
    expect(page.get_by_role("button", name="Metrics (.csv)")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Metrics (.csv)").click()
    assert download.value.suggested_filename.endswith("-metrics.csv")
    screenshot(page, "train-finished")


def test_a_run_stays_live_across_pages_and_tabs_then_stops(app, page, browser):
    open_app(page, app.url)
    # Long enough never to end by itself in this test: we stop it.
    start_run(page, preset="modern", epochs=200, examples=10240, name="e2e long")
    expect(status_badge(page, "running")).to_be_visible(timeout=RUN_TIMEOUT * 1000)
    first = poll(lambda: chart_points(page), RUN_TIMEOUT, "the first points")
    poll(lambda: chart_points(page) > first, RUN_TIMEOUT, "the curves to gain points")
    expect(page.get_by_test_id("stProgress").filter(has_text="examples/s")
           .filter(has_text="ETA")).to_be_visible()
    expect(page.get_by_test_id("stSidebar").get_by_text("e2e long")).to_be_visible()
    screenshot(page, "train-live")

    go_to(page, "Compare", "compare")
    go_to(page, "Train", "train")
    expect(status_badge(page, "running")).to_be_visible()
    back = poll(lambda: chart_points(page), 30, "the curves after coming back")
    poll(lambda: chart_points(page) > back, RUN_TIMEOUT, "the curves to stay live")

    # Close the tab; a new one (a new session) shows the run, still training and live.
    page.close()
    tab = browser.new_page(viewport={"width": 1440, "height": 1000})
    open_app(tab, app.url + "/train")
    expect(status_badge(tab, "running")).to_be_visible()
    again = poll(lambda: chart_points(tab), 30, "the curves in a new tab")
    poll(lambda: chart_points(tab) > again, RUN_TIMEOUT, "the curves to be live in a new tab")

    tab.get_by_role("button", name="Stop", exact=True).click()  # not "Help for Stop at…"
    expect(status_badge(tab, "stopped")).to_be_visible(timeout=30_000)
    expect(tab.get_by_role("button", name="Checkpoint (.pt)")).to_be_visible()
    store = RunStore(app.runs)
    assert {r.name: r.status for r in store.list()}["e2e long"] == "stopped"
    assert not [r for r in store.list() if r.status in ACTIVE]
    screenshot(tab, "train-stopped")
    tab.close()


@pytest.fixture
def running(app):
    """A run as its worker records it, written from this process (alive: the run is not reaped)
    one point at a time by the test."""
    store = RunStore(app.runs)
    run_id = store.create(MODERN.replace(epochs=2, max_train_examples=2048), "e2e watched")
    store.claim(run_id, os.getpid(), max_running=None)
    store.heartbeat(run_id, Progress(0, 0, 16, 0, 32, 900.0, 0.5), "cpu (2 threads)")
    yield store, run_id
    store.finish(run_id, "stopped")


def test_a_watched_run_shows_each_new_point_and_leaves_the_chart_alone_between(running, app,
                                                                              page):
    store, run_id = running
    open_app(page, app.url + "/train")
    expect(status_badge(page, "running")).to_be_visible()
    for k in range(1, 7):  # each point on the chart (train loss and acc) soon after written
        store.add_point(run_id, k / 5, 3 * k, 2.0 / k, 0.1 * k)
        poll(lambda k=k: chart_points(page) == 2 * k, POINT_DELAY_S, f"point {k} on the chart")

    # No new point: the progress line moves on, and the chart is not rebuilt meanwhile.
    page.evaluate("s => { document.querySelector(s + ' .js-plotly-plot').dataset.kept = 1 }", CHART)
    store.heartbeat(run_id, Progress(0, 15, 16, 15, 32, 900.0, 1.5))
    expect(page.get_by_test_id("stMain").get_by_test_id("stProgress")).to_contain_text(
        "batch 15/16")
    assert page.evaluate("s => document.querySelector(s + ' .js-plotly-plot').dataset.kept",
                         CHART) == "1"


def test_a_hidden_tab_stops_refreshing_and_catches_up_when_shown(running, app, page):
    store, run_id = running
    count_requests(page)
    open_app(page, app.url + "/train")
    store.add_point(run_id, 0.2, 3, 2.0, 0.1)
    poll(lambda: chart_points(page) == 2, POINT_DELAY_S, "the first point")

    set_visibility(page, "hidden")  # as a browser does when the user switches tabs
    quiet_ms = 2500 * LIVE_REFRESH_S  # longer than two refreshes of a live view
    poll(lambda: page.evaluate("ms => performance.now() - window.sentAt.at(-1) > ms", quiet_ms),
         30, "the hidden tab to stop asking for reruns")
    store.add_point(run_id, 0.4, 6, 1.0, 0.2)
    set_visibility(page, "visible")
    poll(lambda: chart_points(page) == 4, POINT_DELAY_S, "the point written while hidden")
    sent = page.evaluate("window.sentAt.length")
    poll(lambda: page.evaluate("window.sentAt.length") > sent + 1, 10, "the tab to refresh again")


def test_compare_follows_a_run_while_it_trains(running, app, page):
    store, run_id = running
    add_run(store, MODERN.replace(epochs=2), "compare done")  # with the running one: the newest
    open_app(page, app.url + "/compare")
    expect(page.locator(CHART)).to_have_count(3 + 2)
    before = chart_points(page)  # train loss, overlaid: the finished run's 10 points
    store.add_point(run_id, 0.2, 3, 2.0, 0.1)
    poll(lambda: chart_points(page) == before + 1, POINT_DELAY_S, "the new point, overlaid")
    poll(lambda: chart_points(page, 4) == 2, POINT_DELAY_S, "the new point in the run's panel")


def test_draw_a_digit(app, page):
    open_app(page, app.url + "/draw")
    expect(page.get_by_role("heading", name="Draw", level=1)).to_be_visible()
    # Draw opens on the newest finished MNIST run (this module trains one first): read with
    # the well-trained shipped model instead.
    choose(page, "Model", "Default MNIST model (shipped)")
    expect(page.get_by_text("Draw a digit from 0 to 9")).to_be_visible()
    prediction = page.get_by_test_id("stMetric").filter(has_text="Prediction")
    expect(prediction).to_have_count(0)  # an empty canvas shows a prompt, not a prediction

    # A "1" from the bottom edge to the top edge.
    one = [(140, 272), (140, 8)]
    draw(page, [one])
    expect(prediction.get_by_test_id("stMetricValue")).to_have_text("1")
    expect(prediction).to_contain_text("confident")
    assert ink_at(page, one) == [True, True]

    page.get_by_role("button", name="Clear").click()
    expect(page.get_by_text("Draw a digit from 0 to 9")).to_be_visible()
    expect(prediction).to_have_count(0)

    # A "7": the bar starts at the left edge under the top edge, the stem in the top-right
    # corner, where the canvas's hidden toolbar lies before the pointer hovers.
    bar, stem = [(10, 30), (262, 30)], [(262, 10), (120, 272)]
    draw(page, [bar, stem])
    expect(prediction.get_by_test_id("stMetricValue")).to_have_text("7")
    assert ink_at(page, [bar[0], stem[0], stem[-1]]) == [True, True, True]
    expect(page.locator(CHART)).to_have_count(2)  # the probabilities, every layer
    assert chart_points(page) == 10
    screenshot(page, "draw")

    # Inspect offers the drawing as its input.
    go_to(page, "Inspect", "inspect")
    choose(page, "Model", "Default MNIST model (shipped)")
    page.get_by_role("radio", name="Last drawing").click()
    expect(prediction_value(page)).to_have_text("7")


def test_compare_two_runs(app, page):
    store = RunStore(app.runs)
    names = ("compare adam", "compare sgd")
    for name, config, acc in ((names[0], MODERN.replace(epochs=2), 0.97),
                              (names[1], MODERN.replace(epochs=2, optimizer="sgd", lr=0.1), 0.9)):
        add_run(store, config, name, acc=acc)

    open_app(page, app.url + "/compare")
    expect(page.get_by_role("heading", name="Compare", level=1)).to_be_visible()
    for name in names:  # the two newest runs are picked by default
        expect(page.get_by_test_id("stMultiSelect").first).to_contain_text(name)
    expect(page.locator(CHART)).to_have_count(3 + 2)  # one chart per metric + one per panel
    for chart in range(3):
        assert sorted(n.split(" #")[0] for n in chart_trace_names(page, chart)) == list(names)
    expect(page.get_by_text("Hyperparameters", exact=True)).to_be_visible()
    expect(page.get_by_text("Final metrics", exact=True)).to_be_visible()
    expect(page.get_by_text("Show the confusion matrices")).to_be_visible()  # opt-in
    screenshot(page, "compare")


def test_inspect_the_default_model(app, page):
    open_app(page, app.url + "/inspect")
    expect(page.get_by_role("heading", name="Inspect", level=1)).to_be_visible()
    # Inspect opens on the newest finished run (this module's earlier tests made some).
    choose(page, "Model", "Default MNIST model (shipped)")
    table = page.get_by_test_id("stDataFrame").first
    expect(table).to_be_visible()
    # The network; conv, activation and pooling twice: six feature-map grids, the dense layers,
    # how one value is computed (three), two inputs side by side (A, B, difference for two
    # stages), then two kernel grids.
    expect(page.locator(CHART)).to_have_count(1 + 1 + 6 + 1 + 3 + 3 * 2 + 2, timeout=30_000)
    expect(prediction_value(page)).to_have_text("7")
    page.get_by_role("radio", name="By class").click()
    choose(page, "Class", "3")
    expect(prediction_value(page)).to_have_text("3")
    screenshot(page, "inspect")
