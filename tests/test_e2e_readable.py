"""End to end, in headless Chromium on a laptop's 1280x720 screen: what a learner reads. Images
never break after quick clicks; a drawing is read in Inspect by the model it was drawn for;
Inspect's charts have their own axes, values on hover and readable kernels; six runs fit
Compare; a photo of a digit is read.

Its own Streamlit server and store: Fashion-MNIST runs only (so Draw opens on the shipped
MNIST model and Inspect on the newest run, a Fashion-MNIST one: the case of the report).
Screenshots of each view, as a user sees it at 1280x720, land in tests/artifacts/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from lenet_core.config import MODERN
from lenet_core.runs.store import RunStore
from tests import e2e_support as e2e
from tests.photo_digits import photos
from tests.support import add_run, poll

pytestmark = pytest.mark.e2e

LAPTOP = {"width": 1280, "height": 720}
NAMES = ("baseline", "lr 0.01", "wider channels 12/32", "relu max-pool",
         "my long run name for testing", "clothes")
# Every <img> of the page's main area that is not shown: still a /media URL (which a quick
# rerun can delete), or loaded without pixels (a broken image).
_BROKEN_IMAGES = """() => [...document.querySelectorAll('[data-testid=stMain] img')]
    .filter(i => i.src.includes('/media/') || (i.complete && i.naturalWidth === 0)
                 || !i.complete)
    .map(i => i.src.slice(0, 60) + (i.complete ? ' (broken)' : ' (loading)'))"""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with e2e.serving(tmp_path_factory.mktemp("e2e-readable")) as server:
        store = RunStore(server.runs)
        for k, name in enumerate(NAMES):
            add_run(store, MODERN.replace(dataset="fashion-mnist", epochs=1 + k % 3,
                                          lr=0.001 * (k + 1)), name, acc=0.8 + 0.01 * k)
        yield server


@pytest.fixture
def laptop(browser) -> Page:
    context = browser.new_context(viewport=LAPTOP)
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()


def view(page: Page, name: str, heading: str | None = None) -> None:
    """A 1280x720 screenshot of what a user sees, scrolled to `heading` when given."""
    if heading:
        page.get_by_role("heading", name=heading).first.evaluate(
            "el => el.scrollIntoView({block: 'start'})")
    e2e.wait_ready(page)
    e2e.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=e2e.ARTIFACTS / f"{name}.png")


def no_broken_images(page: Page) -> None:
    e2e.wait_ready(page)
    assert page.locator("[data-testid=stMain] img").count() > 0
    poll(lambda: page.evaluate(_BROKEN_IMAGES) == [], 10,
         f"every image to show (not: {page.evaluate(_BROKEN_IMAGES)})")


def test_no_image_breaks_on_inspect_or_evaluate_after_quick_clicks(app, laptop):
    page = laptop
    e2e.open_app(page, app.url + "/inspect")
    no_broken_images(page)
    plus = page.get_by_test_id("stNumberInput").filter(has_text="Which one").first \
        .get_by_test_id("stNumberInputStepUp")
    for _ in range(4):  # quick clicks: each rerun interrupts the one before
        plus.click()
    page.get_by_role("radio", name="By class").click()
    page.get_by_role("radio", name="Unusual").click()
    no_broken_images(page)
    view(page, "inspect-two-inputs", "Two inputs side by side")

    e2e.go_to(page, "Evaluate", "evaluate")  # on "clothes": an untrained network
    expect(page.get_by_text("This model is at chance")).to_be_visible()
    view(page, "evaluate-at-chance")
    pairs = page.get_by_role("button", name=re.compile(r" taken for "))
    pairs.nth(0).click()
    pairs.nth(1).click()
    no_broken_images(page)
    expect(page.locator("[class*='st-key-tile-']").first).to_be_visible()
    view(page, "evaluate-gallery", "Test images")


def test_a_drawing_is_read_in_inspect_by_the_model_it_was_drawn_for(app, laptop):
    page = laptop
    e2e.open_app(page, app.url + "/draw")
    expect(page.get_by_role("combobox", name="Model")).to_have_value(
        "Default MNIST model (shipped)")  # no MNIST run: the shipped model
    e2e.draw(page, [[(60, 50), (220, 50)], [(220, 50), (120, 250)]])
    expect(e2e.prediction_value(page)).to_have_text("7")

    # As the report did it: through the sidebar, then "Last drawing".
    e2e.go_to(page, "Inspect", "inspect")
    expect(page.get_by_role("combobox", name="Model")).to_have_value(re.compile("clothes"))
    page.get_by_role("radio", name="Last drawing").click()
    e2e.wait_ready(page)
    expect(page.get_by_role("combobox", name="Model")).to_have_value(
        "Default MNIST model (shipped)")
    expect(e2e.prediction_value(page)).to_have_text("7")
    expect(page.get_by_text("Read by the model it was drawn for")).to_be_visible()
    view(page, "inspect-last-drawing", "Input")

    # Picked by hand, another model reads it, and the page says so.
    e2e.choose(page, "Model", _clothes(page))
    expect(page.get_by_text("made on Draw for another model")).to_be_visible()
    expect(page.get_by_text("Drawn for: Default MNIST model (shipped)")).to_be_visible()

    # Draw's own button opens Inspect on the drawing's model, whatever was picked there.
    e2e.go_to(page, "Draw", "draw")  # a fresh canvas: draw again
    e2e.draw(page, [[(60, 50), (220, 50)], [(220, 50), (120, 250)]])
    expect(e2e.prediction_value(page)).to_have_text("7")
    page.get_by_role("button", name="Inspect this drawing").click()
    page.wait_for_url(re.compile(r"/inspect$"))
    e2e.wait_ready(page)
    expect(page.get_by_role("combobox", name="Model")).to_have_value(
        "Default MNIST model (shipped)")
    expect(e2e.prediction_value(page)).to_have_text("7")


def _clothes(page: Page) -> str:
    """The Model picker's label of the "clothes" run."""
    combo = page.get_by_role("combobox", name="Model")
    combo.focus()
    combo.press("ArrowDown")
    label = page.get_by_role("option", name=re.compile(r"^Your run · clothes ")).inner_text()
    combo.press("Escape")
    return label.strip()


def test_inspects_charts_have_their_own_axes_values_on_hover_and_readable_kernels(app, laptop):
    page = laptop
    e2e.open_app(page, app.url + "/inspect")
    e2e.choose(page, "Model", "Default MNIST model (shipped)")
    page.get_by_text("Fully connected layers").click()
    e2e.wait_ready(page)
    # probabilities, 6 feature-map grids, the dense layers, the pair (3 x 2), 2 kernel grids
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length "
                           ">= 16")
    info = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].map(p => ({
        title: (p.layout.title && p.layout.title.text) || '',
        annotations: (p.layout.annotations || []).map(a => a.text),
        xaxes: Object.keys(p._fullLayout).filter(k => /^xaxis\\d*$/.test(k)).length,
        scale: p.data.some(t => t.showscale),
        hover: p.data.map(t => t.hovertemplate || '').join(' '),
        cell: p._fullLayout.xaxis._length
            / (p._fullLayout.xaxis.range[1] - p._fullLayout.xaxis.range[0])}))""")
    dense = next(i for i in info if any("fc1" in a for a in i["annotations"]))
    assert dense["xaxes"] == 5 and dense["scale"]  # fc1, act3, fc2, act4, fc3: an axis each
    fmaps = [i for i in info if "Conv2d · 6×28×28" in i["title"]]
    assert fmaps and fmaps[0]["scale"] and "customdata[1]" in fmaps[0]["hover"]
    conv1 = next((i for i in info if "conv1</b> · 6 kernels of 5×5" in i["title"]),
                 [i["title"] for i in info])
    assert isinstance(conv1, dict), conv1
    assert conv1["cell"] * 5 >= 60  # a 5x5 kernel at least 60 px wide (it was ~15)
    view(page, "inspect-layers", "Layers")
    view(page, "inspect-feature-maps", "Feature maps")
    page.get_by_text("Fully connected layers").evaluate(
        "el => el.scrollIntoView({block: 'start'})")
    page.screenshot(path=e2e.ARTIFACTS / "inspect-dense.png")
    view(page, "inspect-kernels", "Convolution kernels")


def test_six_runs_fit_compare_on_a_laptop(app, laptop):
    page = laptop
    e2e.open_app(page, app.url + "/compare")
    runs_box = page.get_by_role("combobox", name="Runs")
    for name in NAMES[:4]:  # two are picked at first: six in all
        runs_box.click()
        page.get_by_role("option", name=name).first.click()
        page.keyboard.press("Escape")
        e2e.wait_ready(page)
    legends = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
        .slice(0, 3).map(p => p._fullLayout.showlegend)""")
    assert legends == [False, False, False]  # one colour key above them instead
    for name in NAMES:
        expect(page.get_by_text(re.compile(rf"^{re.escape(name)} #")).first).to_be_visible()
    box = page.get_by_test_id("stMultiSelect").first.bounding_box()
    chips = page.get_by_test_id("stMultiSelect").first.get_by_text(re.compile(r" #\w{4}$"))
    assert chips.count() == 6
    for k in range(6):
        chip = chips.nth(k).bounding_box()
        assert chip["x"] + chip["width"] <= box["x"] + box["width"] + 1  # none cut off
    for table in page.get_by_test_id("stDataFrame").all():
        table.scroll_into_view_if_needed()
        over = table.evaluate("""el => { const s = el.querySelector('.dvn-scroller');
            return s ? s.scrollWidth - s.clientWidth : null; }""")
        assert over is not None and over <= 1, f"a table is {over} px wider than its box"
    view(page, "compare-six-runs", "Curves")
    view(page, "compare-six-runs-tables", "Hyperparameters")


def test_a_photo_of_a_digit_is_read_on_draw(app, laptop, mnist, tmp_path):
    grey_seven = photos(mnist.test_x.numpy(), mnist.test_y.numpy())[0]
    path = tmp_path / "seven.jpg"
    path.write_bytes(grey_seven.raw)
    page = laptop
    e2e.open_app(page, app.url + "/draw")
    page.get_by_role("radio", name="Upload").click()
    e2e.wait_ready(page)
    expect(page.get_by_text("Upload a photo or a scan of a digit")).to_be_visible()
    view(page, "draw-upload-empty")
    page.locator("input[type=file]").set_input_files(path)
    expect(e2e.prediction_value(page)).to_have_text("7")
    no_broken_images(page)
    view(page, "draw-photo-upload")
