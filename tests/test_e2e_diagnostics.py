"""Why it learns, in headless Chromium: the Train page's "Inside the network" view gains
points while a run trains, and Find a learning rate draws the range test with its suggested
range, at a laptop's 1280x720."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from lenet_core.explain import lr_find
from lenet_core.runs.store import RunStore
from tests import e2e_support as e2e
from tests.e2e_form import start_run
from tests.support import poll

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with e2e.serving(tmp_path_factory.mktemp("e2e-diagnostics")) as server:
        yield server


def _plot(page: Page, key: str) -> dict:
    """The chart with this Streamlit key: its points over all traces, its shapes and labels."""
    return page.evaluate(
        """key => {
            const p = document.querySelector('.st-key-' + key + ' .js-plotly-plot');
            if (!p || !p.data) return {points: 0, shapes: [], labels: [], names: []};
            return {points: p.data.reduce((k, t) => k + (t.x ? t.x.length : 0), 0),
                    names: p.data.map(t => t.name),
                    shapes: (p.layout.shapes || []).map(s => [s.x0, s.x1]),
                    labels: (p.layout.annotations || []).map(a => a.text)};
        }""", key)


def test_inside_view_grows_while_a_run_trains_and_the_finder_shows_a_range(app, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.set_default_timeout(60_000)
    page = context.new_page()
    e2e.open_app(page, app.url + "/train")
    # Long enough to watch on an idle machine; stopped once the view has grown.
    start_run(page, preset="d2l", epochs=10, examples=12_000, name="inside")
    store = RunStore(app.runs)
    run = store.list()[0]
    page.get_by_text("Inside the network", exact=True).click()
    e2e.wait_ready(page)
    key = f"inside-0-{run.id}"
    seen: list[tuple[int, bool]] = []

    def grown() -> bool:
        # the status is read after the chart: True means the chart was read during the run
        seen.append((_plot(page, key)["points"], store.get(run.id).active))
        during = [n for n, active in seen if active and n > 0]
        return len(during) >= 2 and during[-1] > during[0]

    poll(grown, 180, "the Inside view to gain points during the run")
    assert _plot(page, key)["names"][:4] == ["act1 (sigmoid)", "act2 (sigmoid)",
                                             "act3 (sigmoid)", "act4 (sigmoid)"]
    assert _plot(page, f"inside-1-{run.id}")["points"] > 0  # gradient norms
    e2e.screenshot_viewport(page, "inside-view-live")
    page.get_by_role("button", name="Stop", exact=True).click()
    expect(e2e.status_badge(page, "stopped")).to_be_visible(timeout=120_000)

    find = page.get_by_role("button", name="Find a learning rate")
    find.scroll_into_view_if_needed()
    find.click()
    expect(page.get_by_text("This config:")).to_be_visible(timeout=300_000)
    e2e.wait_ready(page)
    chart = _plot(page, "lr-find-chart")
    kept = lr_find.load(app.runs)
    assert len(kept) == 1 and chart["points"] >= len(kept[0].lrs)
    assert [kept[0].low, kept[0].high] in chart["shapes"]  # the suggested range, shaded
    assert [0.9, 0.9] in chart["shapes"]  # the form's lr
    assert {"suggested", "lr 0.9"} <= set(chart["labels"])
    page.get_by_text("This config:").scroll_into_view_if_needed()
    e2e.screenshot_viewport(page, "lr-finder")
    assert [r.id for r in store.list()] == [run.id]  # the finder adds no run
    context.close()
