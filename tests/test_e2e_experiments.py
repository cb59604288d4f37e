"""End to end in headless Chromium: an experiment launched from the Experiments page trains
in the background and its verdict appears."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from lenet_core.runs.store import RunStore
from tests.e2e_support import (
    CHART,
    choose,
    open_app,
    screenshot,
    serving,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("e2e-exp")) as server:
        yield server


def test_launch_a_capped_experiment_and_see_its_verdict(app, page):
    open_app(page, app.url + "/experiments")
    expect(page.get_by_role("heading", name="Experiments", level=1)).to_be_visible()
    choose(page, "Experiment", "qa-activation · Sigmoid or ReLU?")
    form = page.get_by_test_id("stForm")
    form.get_by_role("spinbutton", name="Epochs").fill("2")
    form.get_by_role("spinbutton", name="Seeds").fill("2")
    form.get_by_role("spinbutton", name="Max train examples").fill("8192")
    form.get_by_role("button", name="Launch").click()
    expect(page.get_by_test_id("stProgress").filter(has_text="runs done")).to_be_visible()
    # The verdict is live while runs train; once the last ends the progress bar goes.
    expect(page.get_by_test_id("stProgress")).to_have_count(0, timeout=300_000)
    verdict = page.get_by_test_id("stAlert").filter(has_text="learned in 0 of 2 seeds")
    expect(verdict).to_contain_text("ReLU, lr 0.9 learned in 0 of 2 seeds")
    expect(verdict).to_contain_text("ReLU, lr 0.1 against sigmoid, lr 0.9, test accuracy")
    # The bars, the differences against 0; the two mean curves (a tab).
    expect(page.locator(CHART)).to_have_count(4)
    runs = RunStore(app.runs).list()
    assert len(runs) == 6 and all(r.status in ("finished", "diverged") for r in runs)
    screenshot(page, "experiments")
