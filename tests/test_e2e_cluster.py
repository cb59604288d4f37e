"""End to end in headless Chromium: a sweep launched from the Experiments page onto the test
session's Ray cluster; its curves grow on the page while the runs train there."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from lenet_core.runs.store import RunStore
from tests.e2e_support import (
    CHART,
    chart_points,
    choose,
    open_app,
    screenshot,
    serving,
    wait_ready,
)
from tests.support import poll

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def app(ray_head, tmp_path_factory):  # with the cluster's token: the drivers it starts need it
    with serving(tmp_path_factory.mktemp("e2e-cluster"), env=ray_head.env) as server:
        yield server


def all_points(page) -> int:
    return sum(chart_points(page, k) for k in range(page.locator(CHART).count()))


def test_a_sweep_from_the_page_trains_on_the_cluster_with_live_curves(app, ray_cluster, page):
    open_app(page, app.url + "/experiments")
    choose(page, "Experiment", "Custom sweep")
    choose(page, "Preset", "d2l")  # Fashion-MNIST: the test cluster's workers have it
    form = page.get_by_test_id("stForm")
    form.get_by_role("textbox", name="Learning rate values").fill("0.1, 0.5")
    form.get_by_role("spinbutton", name="Epochs").fill("4")
    form.get_by_role("spinbutton", name="Seeds").fill("1")
    form.get_by_role("spinbutton", name="Max train examples").fill("8192")
    # "Run on" sits outside the form, so choosing the cluster enables its address at once.
    page.get_by_text("Ray cluster at").click()
    wait_ready(page)
    address = page.get_by_role("textbox", name="Cluster address")
    address.fill(ray_cluster.address)
    address.press("Enter")
    wait_ready(page)
    form.get_by_role("button", name="Launch sweep").click()

    # (While a rerun is drawing, Streamlit may show the previous draw's elements too.)
    progress = page.get_by_test_id("stProgress").filter(has_text="runs done")
    wait_ready(page)
    expect(progress.first).to_be_visible()
    first = poll(lambda: all_points(page), 120, "the first curve points on the page")
    poll(lambda: all_points(page) > first and progress.count() > 0, 120,
         "the curves to grow while the runs train")
    screenshot(page, "experiments-ray-live")
    expect(progress).to_have_count(0, timeout=300_000)
    runs = RunStore(app.runs).list()
    assert len(runs) == 2
    assert all(r.status == "finished" and r.executor == "ray" for r in runs)
    wait_ready(page)
    page.get_by_role("tab", name="Runs").last.click()
    screenshot(page, "experiments-ray-done")
