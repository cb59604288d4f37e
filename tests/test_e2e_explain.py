"""End to end, in headless Chromium: what explains a model. Clicking a confusion-matrix cell
opens exactly its images and one of them in Inspect; quick strokes from the canvas's top edge
are all drawn and read; uploads and unusual inputs in Inspect and Draw.

Its own Streamlit server (an empty run store: the shipped model is the current model).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from lenet_core.explain import evaluation
from lenet_core.runs import checkpoint
from tests import e2e_support as e2e
from tests.support import poll

pytestmark = pytest.mark.e2e

TILES = "[class*='st-key-tile-']"  # the gallery's image tiles (st.container keys)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e-explain")
    server = e2e.start_app(tmp / "runs", tmp / "streamlit.log")
    yield server
    server.process.terminate()
    server.process.wait(timeout=30)


def wait_charts(page: Page, n: int) -> None:
    """Until n Plotly charts have drawn (a chart's svg appears after its data arrives)."""
    page.wait_for_function(f"document.querySelectorAll('{e2e.CHART} .js-plotly-plot .main-svg')"
                           f".length >= {n}")


def tiles_shown(page: Page, true: str, predicted: str, count: int) -> list[int]:
    """The gallery shows `count` tiles, each of this pair; returns their test indices."""
    tiles = page.locator(TILES)
    expect(tiles).to_have_count(count)
    texts = tiles.all_inner_texts()
    pair = re.compile(rf"\btrue {re.escape(true)}\s+predicted {re.escape(predicted)}\s")
    assert all(pair.search(t) for t in texts), texts
    return [int(re.search(r"#(\d+)", t).group(1)) for t in texts]


def test_click_a_confusion_cell_to_see_exactly_its_images_then_inspect_one(app, page, mnist):
    ev = evaluation.evaluate(checkpoint.load_default(), mnist)  # what the page should show
    e2e.open_app(page, app.url + "/evaluate")
    expect(page.get_by_role("heading", name="Evaluate", level=1)).to_be_visible()
    expect(page.get_by_test_id("stMetric").filter(has_text="Test accuracy")).to_contain_text(
        "99.17%")
    wait_charts(page, 2)

    e2e.click_chart_point(page, 3, 5)  # column: predicted 3, row: true 5
    expect(page.get_by_text("True 5, predicted 3")).to_be_visible()
    shown = tiles_shown(page, "5", "3", int(ev.confusion[5, 3]))
    assert shown == ev.cell(5, 3).tolist()  # the most confident first
    e2e.screenshot(page, "evaluate-cell")

    wait_charts(page, 2)
    e2e.click_chart_point(page, 9, 4)  # another cell replaces the gallery
    expect(page.get_by_text("True 4, predicted 9")).to_be_visible()
    shown = tiles_shown(page, "4", "9", int(ev.confusion[4, 9]))

    page.locator(TILES).first.get_by_role("button", name="Inspect").click()
    page.wait_for_url(re.compile(r"/inspect(\?.*)?$"))
    expect(page.get_by_role("heading", name="Inspect", level=1)).to_be_visible()
    e2e.wait_ready(page)
    index = page.get_by_role("spinbutton", name="Test image index")
    expect(index).to_have_value(str(shown[0]))
    expect(e2e.prediction_value(page)).to_have_text("9")
    expect(page.get_by_text("True label: 4")).to_be_visible()


def test_quick_strokes_from_the_top_edge_are_all_drawn_and_read(app, page):
    e2e.open_app(page, app.url + "/draw")
    expect(page.locator("canvas.upper-canvas")).to_have_count(1)
    e2e.wait_ready(page)
    # Nothing lies over the drawing area: a press within 20 px of the top edge, anywhere
    # across, lands on the canvas (the package's toolbar used to take the right two-thirds).
    top = [(x, y) for x in range(4, 280, 12) for y in (2, 10, 19)]
    assert set(e2e.surface_at(page, top)) == {"upper-canvas"}

    starts = [(x, 3 + (x * 7) % 17) for x in range(8, 280, 24)]  # y from 3 to 19
    e2e.draw(page, [[(x, y), (x, y + 70)] for x, y in starts], hover=False)
    expect(e2e.prediction_value(page)).to_have_count(1)  # read: the model answers
    # Fabric paints a finished stroke on its next animation frame.
    poll(lambda: e2e.ink_at(page, starts) == [True] * len(starts), 10, "ink at every stroke's start")
    e2e.screenshot(page, "draw-top-edge")

    # Large digits begun at the top edge, as a quick user draws them.
    t = np.linspace(0, 2 * np.pi, 40)
    digits = {
        "7": [[(266, 12), (24, 12)], [(262, 14), (120, 270)]],
        "0": [[(140 + 70 * np.sin(a), 140 - 128 * np.cos(a)) for a in t]],
        "5": [[(250, 10), (80, 10), (74, 120), (160, 112), (230, 160), (228, 230), (160, 266),
               (60, 250)]],
    }
    for digit, strokes in digits.items():
        page.get_by_role("button", name="Clear").click()
        expect(e2e.prediction_value(page)).to_have_count(0)
        e2e.draw(page, strokes, hover=False)
        expect(e2e.prediction_value(page)).to_have_text(digit)
        firsts = [s[0] for s in strokes]
        poll(lambda firsts=firsts: e2e.ink_at(page, firsts) == [True] * len(firsts), 10,
             f"the {digit}'s strokes")

    # The canvas's own Undo, now above it, takes back the last stroke.
    page.get_by_role("button", name="Undo").click()
    expect(e2e.prediction_value(page)).to_have_count(0)  # the 5 was one stroke: nothing left
    poll(lambda: e2e.ink_at(page, [(250, 10)]) == [False], 10, "the undone stroke to go")


def test_uploads_and_unusual_inputs_in_inspect_and_draw(app, page, mnist, tmp_path):
    digit = tmp_path / "digit.png"  # a real MNIST 4, dark on white paper, as a phone shoots it
    Image.fromarray(255 - mnist.test_x[4].numpy()).resize((300, 300)).save(digit)
    assert int(mnist.test_y[4]) == 4
    notes = tmp_path / "notes.png"
    notes.write_text("this is not an image")

    e2e.open_app(page, app.url + "/inspect")
    expect(page.get_by_role("heading", name="What it looked at")).to_be_visible()
    expect(page.get_by_role("heading", name="Two inputs side by side")).to_be_visible()
    wait_charts(page, 1 + 6 + 3 * 2 + 2)  # probabilities, maps, the pair, kernels
    page.get_by_role("radio", name="Upload").click()
    e2e.wait_ready(page)
    page.locator("input[type=file]").set_input_files(digit)
    expect(e2e.prediction_value(page)).to_have_text("4")
    page.get_by_role("radio", name="SmoothGrad").click()
    e2e.wait_ready(page)
    e2e.screenshot(page, "inspect-upload")
    page.locator("input[type=file]").set_input_files(notes)
    expect(page.get_by_text("the file is not an image, or a damaged one")).to_be_visible()
    expect(e2e.prediction_value(page)).to_have_count(0)

    page.get_by_role("radio", name="Unusual").click()
    e2e.wait_ready(page)
    expect(e2e.prediction_value(page)).to_have_count(1)  # random noise still gets an answer
    expect(page.get_by_text("a confident answer to nonsense is the lesson")).to_be_visible()
    e2e.screenshot(page, "inspect-unusual")

    e2e.go_to(page, "Draw", "draw")
    page.get_by_role("radio", name="Upload").click()
    e2e.wait_ready(page)
    page.locator("input[type=file]").set_input_files(digit)
    expect(e2e.prediction_value(page)).to_have_text("4")
    expect(page.get_by_text("What it looked at")).to_be_visible()
    e2e.screenshot(page, "draw-upload")
