"""The Train form in headless Chromium: what a fresh tab shows, what survives a page switch,
what a started run trains with, and how it fits a laptop screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from lenet_core.experiments.catalog import EXPERIMENTS
from lenet_core.runs.store import RunStore
from tests import e2e_support as e2e
from tests.e2e_form import fill, form_mismatches, read_form
from tests.support import poll

pytestmark = pytest.mark.e2e

FRESH_TABS = 21  # 7 at each of "/", "/train" and "/experiments"
SCREENS = {"laptop": {"width": 1280, "height": 720}, "desktop": {"width": 1440, "height": 900}}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with e2e.serving(tmp_path_factory.mktemp("e2e-form")) as server:
        yield server


def _experiments_mismatches(page: Page) -> dict:
    """The Experiments page opens on its first experiment: its launch form shows that
    experiment's epochs and seeds, and no cap."""
    first = next(iter(EXPERIMENTS.values()))
    form = page.get_by_test_id("stForm").first
    shown = {label: form.get_by_role("spinbutton", name=label, exact=True).input_value()
             for label in ("Epochs", "Seeds", "Max train examples")}
    want = {"Epochs": str(first.epochs), "Seeds": str(max(1, first.seeds)),
            "Max train examples": ""}
    return {k: (shown[k], want[k]) for k in want if shown[k] != want[k]}


def test_every_fresh_tab_opens_every_field_on_its_preset(app, browser):
    broken = []
    for k in range(FRESH_TABS):
        path = ("/", "/train", "/experiments")[k % 3]
        context = browser.new_context(viewport=SCREENS["desktop"])
        context.set_default_timeout(60_000)
        page = context.new_page()
        e2e.open_app(page, app.url + path)
        wrong = _experiments_mismatches(page) if path == "/experiments" else \
            form_mismatches(page, "d2l")
        if wrong:
            broken.append((k, path, wrong))
            e2e.screenshot(page, f"fresh-tab-broken-{k}")
        context.close()
    assert broken == [], f"{len(broken)} of {FRESH_TABS} fresh tabs broken: {broken}"


def test_unstarted_edits_survive_a_visit_to_another_page(app, page):
    e2e.open_app(page, app.url + "/train")
    fill(page, "epochs", 4)
    fill(page, "lr", 0.25)
    name = page.get_by_role("textbox", name="Run name")
    name.fill("kept while away")
    name.press("Tab")
    e2e.wait_ready(page)
    e2e.go_to(page, "Compare", "compare")
    e2e.go_to(page, "Train", "train")
    shown = read_form(page)
    assert (shown["epochs"], shown["lr"]) == ("4", "0.2500")
    expect(name).to_have_value("kept while away")
    assert form_mismatches(page, "d2l").keys() == {"epochs", "lr"}  # the rest as the preset
    assert RunStore(app.runs).list() == []  # nothing was started


@pytest.mark.parametrize("screen", SCREENS)
def test_a_run_started_from_the_form_trains_with_its_values_in_sight(app, browser, screen):
    context = browser.new_context(viewport=SCREENS[screen])
    context.set_default_timeout(60_000)
    page = context.new_page()
    e2e.open_app(page, app.url + "/train")
    name = f"form values {screen}"
    lr = {"laptop": 0.0123, "desktop": 0.0456}[screen]
    fill(page, "lr", lr)
    e2e.choose(page, "Optimizer", "adam")
    fill(page, "max_train_examples", 512)
    fill(page, "epochs", 1)
    e2e.choose(page, "Device", "cpu")
    page.get_by_role("textbox", name="Run name").fill(name)
    start = page.get_by_role("button", name="Start training")
    start.scroll_into_view_if_needed()
    start.click()
    # The run's curves come into sight at once, though Start sits at the foot of the form.
    expect(page.locator(e2e.CHART).first).to_be_in_viewport(timeout=5_000)
    e2e.screenshot_viewport(page, f"train-started-{screen}")
    store = RunStore(app.runs)
    run = poll(lambda: next((r for r in store.list() if r.name == name), None), 30,
               "the run in the store")
    assert (run.config.lr, run.config.optimizer, run.config.epochs,
            run.config.max_train_examples, run.config.device) == (lr, "adam", 1, 512, "cpu")
    assert run.config.activation == "sigmoid" and run.config.batch_size == 256  # the preset's
    done = poll(lambda: not (r := store.get(run.id)).active and r, 180, "the run to end")
    assert done.status == "finished", done.error
    context.close()


# Text that does not fit its box: a label with a word wider than the label (the browser breaks
# or cuts it), an input whose value or placeholder is wider than its text area.
_CLIPPED = """() => {
    const ctx = document.createElement('canvas').getContext('2d');
    const room = el => { const cs = getComputedStyle(el);
        ctx.font = cs.font;
        return el.getBoundingClientRect().width - parseFloat(cs.paddingLeft)
            - parseFloat(cs.paddingRight) + 1; };
    const out = [];
    for (const el of document.querySelectorAll('[data-testid=stMain] [data-testid=stWidgetLabel] p')) {
        if (el.getBoundingClientRect().width === 0) continue;  // a label kept for screen readers
        const r = room(el);
        for (const word of el.textContent.split(/\\s+/))
            if (ctx.measureText(word).width > r) out.push(word);
    }
    for (const el of document.querySelectorAll('[data-testid=stMain] input')) {
        if (el.offsetParent === null || el.type === 'checkbox') continue;
        const r = room(el), text = el.value || el.placeholder;
        if (ctx.measureText(text).width > r) out.push(text);
    }
    return out;
}"""


@pytest.mark.parametrize("screen", SCREENS)
def test_no_label_or_value_of_the_form_is_clipped(app, browser, screen):
    context = browser.new_context(viewport=SCREENS[screen])
    page = context.new_page()
    e2e.open_app(page, app.url + "/train")
    for preset in ("d2l", "speedrun"):  # the longest values: fashion-mnist, sigmoid, onecycle
        e2e.choose(page, "Preset", preset)
        assert page.evaluate(_CLIPPED) == [], preset
    e2e.screenshot(page, f"train-form-{screen}")
    context.close()
