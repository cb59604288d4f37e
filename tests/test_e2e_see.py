"""End to end, in headless Chromium: seeing the network (issue 19). Click a feature-map cell in
Inspect and see its computation; draw a digit and see every layer change; open a Train link
with three fields set and find them in the form; open a hostile link and see plain text, with
no request to the URL it holds.

Its own Streamlit server (an empty run store: the shipped model is the current model).
"""

from __future__ import annotations

import json
import urllib.parse

import pytest
from playwright.sync_api import Page, expect

from lenet_core.bench.appserver import free_port
from lenet_core.explain import inference
from lenet_core.runs import checkpoint
from tests import e2e_support as e2e
from tests.support import poll

pytestmark = pytest.mark.e2e

SIZES = ({"width": 1440, "height": 900}, {"width": 1280, "height": 720})


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with e2e.serving(tmp_path_factory.mktemp("e2e-see")) as server:
        yield server


def open_page(page: Page, url: str, title: str) -> None:
    """Open a page (its first run goes through the router: it may take a rerun) and wait
    until it has drawn."""
    e2e.open_app(page, url)
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible(timeout=60_000)
    e2e.wait_ready(page)


def chart_index(page: Page, key: str) -> int:
    """The position among the page's Plotly charts of the chart with this Streamlit key."""
    return page.evaluate(
        """([selector, key]) => {
            const all = [...document.querySelectorAll(selector + ' .js-plotly-plot')];
            return all.indexOf(document.querySelector(`.st-key-${key} .js-plotly-plot`));
        }""", [e2e.CHART, key])


def traces(page: Page, key: str) -> list[dict]:
    """The data of the chart with this key, as the browser holds it."""
    return json.loads(page.evaluate(
        """key => JSON.stringify(document.querySelector(`.st-key-${key} .js-plotly-plot`).data
                                   .map(t => ({type: t.type, z: t.z, x: t.x, y: t.y})))""", key))


def shots(page: Page, name: str) -> None:
    """Screenshots at a laptop's and a desktop's size, into tests/artifacts/."""
    for size in SIZES:
        page.set_viewport_size(size)
        e2e.wait_ready(page)
        e2e.screenshot(page, f"{name}-{size['width']}")


def test_click_a_feature_map_cell_to_see_how_it_is_computed(app, page, mnist):
    open_page(page, app.url + "/inspect", "Inspect")
    expect(page.get_by_role("heading", name="How one value is computed")).to_be_visible(
        timeout=60_000)
    e2e.choose(page, "Conv layer", "conv2")
    page.wait_for_function("document.querySelector('.st-key-explain_pick .main-svg')")
    e2e.click_chart_point(page, 6, 4, chart_index(page, "explain_pick"))  # column 6, row 4
    e2e.wait_ready(page)
    # The value the page must show, from the model's own forward pass.
    acts = inference.feature_maps(checkpoint.load_default(), mnist.test_x[0])
    value = float(next(a for a in acts if a.layer == "conv2").output[0, 4, 6])
    expect(page.get_by_text("conv2's output at channel 0, cell (4, 6)")).to_be_visible()
    expect(page.get_by_text(f"= {value:.4f}: conv2's output")).to_be_visible()
    expect(page.get_by_role("spinbutton", name="Row")).to_have_value("4")
    expect(page.get_by_role("spinbutton", name="Column")).to_have_value("6")
    expect(page.get_by_text("Receptive field: 14×14 pixels of the 28×28 input")).to_be_visible()
    assert "layer=conv2" in page.url and "cell=4%2C6" in page.url  # the link to it
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("conv2's output at channel 0, cell (4, 7)")).to_be_visible()
    # Animate slides the window on by itself, one cell per step, until it is stopped.
    page.get_by_text("Animate").click()
    expect(page.get_by_text("conv2's output at channel 0, cell (4, 9)")).to_be_visible(
        timeout=30_000)
    page.get_by_text("Animate").click()
    expect(page.get_by_role("switch", name="Animate")).not_to_be_checked()
    e2e.wait_ready(page)
    page.get_by_role("heading", name="How one value is computed").scroll_into_view_if_needed()
    shots(page, "inspect-explain")


def test_draw_a_digit_and_every_layer_changes(app, page):
    open_page(page, app.url + "/draw", "Draw")
    e2e.draw(page, [[(140, 40), (140, 240)]])  # a 1
    expect(e2e.prediction_value(page)).to_have_text("1")
    page.wait_for_function("document.querySelector('.st-key-draw-network .main-svg')")
    first = traces(page, "draw-network")
    assert [t["type"] for t in first] == ["heatmap"] * 7 + ["bar"]  # input, C1-S4, F5, F6, 10
    assert max(range(10), key=lambda k: first[-1]["x"][k]) == 1  # the outputs say 1 too
    e2e.draw(page, [[(60, 50), (220, 50)]])  # a bar across the top: a 7
    expect(e2e.prediction_value(page)).to_have_text("7")
    poll(lambda: traces(page, "draw-network")[0]["z"] != first[0]["z"], 30, "the figure to change")
    then = traces(page, "draw-network")
    changed = [a["z"] != b["z"] for a, b in zip(first[:-1], then[:-1], strict=True)]
    assert changed == [True] * 7  # every layer's panel
    assert max(range(10), key=lambda k: then[-1]["x"][k]) == 7
    shots(page, "draw-every-layer")


def test_a_train_link_with_three_fields_opens_them_in_the_form(app, page):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_page(page, app.url + "/train?lr=0.05&epochs=3&conv_channels=8,24", "Train")
    form = page.get_by_test_id("stMain")  # the Train form is no st.form: its fields keep edits
    expect(form.get_by_role("spinbutton", name="Learning rate")).to_have_value("0.0500")
    expect(form.get_by_role("spinbutton", name="Epochs", exact=True)).to_have_value("3")
    expect(form.get_by_role("textbox", name="Conv channels")).to_have_value("8, 24")
    expect(form.get_by_role("spinbutton", name="Batch size")).to_have_value("256")  # untouched
    expect(page.get_by_role("heading", name="The network")).to_be_visible()
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_text("Link copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert urllib.parse.parse_qs(urllib.parse.urlparse(copied).query) == {
        "lr": ["0.05"], "epochs": ["3"], "conv_channels": ["8,24"]}
    shots(page, "train-link")


def test_a_hostile_link_shows_plain_text_and_fetches_nothing(app, page):
    port = free_port()  # nothing listens there: a request would still be seen leaving
    evil = f"http://127.0.0.1:{port}"
    asked = []
    page.on("request", lambda r: asked.append(r.url))
    query = urllib.parse.urlencode({"batch_size": f"![x]({evil}/md.png)",
                                    f"<img src={evil}/html.png>": "1", "epochs": "2"})
    open_page(page, app.url + "/train?" + query, "Train")
    lines = page.get_by_test_id("stText").filter(has_text="Link parameter")
    expect(lines).to_have_count(2)
    expect(lines.first).to_have_text(
        f"Link parameter 'batch_size' ignored: must be a whole number from 1 to 60000, got "
        f"'![x]({evil}/md.png)'.")
    expect(lines.nth(1)).to_contain_text(f"Link parameter '<img src={evil}/html.png>' ignored")
    expect(page.get_by_role("spinbutton", name="Epochs", exact=True)).to_have_value("2")
    expect(page.get_by_role("spinbutton", name="Batch size")).to_have_value("256")  # its default
    assert page.locator(f"img[src^='{evil}']").count() == 0
    assert not [u for u in asked if u.startswith(evil)]
    assert "batch_size" not in page.url and "epochs=2" in page.url
    shots(page, "train-hostile-link")
