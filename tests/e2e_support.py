"""Helpers for the browser tests: start the app on a free port, drive Streamlit widgets.

Every wait polls a condition against a deadline; nothing sleeps a fixed time to synchronise.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, expect

from lenet_core.bench.appserver import CHART, READY, App, launch_chromium, start_app  # noqa: F401 (re-exported for the tests)
from lenet_core.runs.store import RunStore
from tests.support import poll

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def stop_app(app: App) -> None:
    """Stop every run the tests left training, then the server."""
    store = RunStore(app.runs)
    for run in store.list():  # never leave a training process behind
        if run.active:
            store.request_stop(run.id)
    poll(lambda: not any(r.active for r in store.list()), 60, "the test's runs to stop")
    if app.process.poll() is None:
        app.process.terminate()
        app.process.wait(timeout=30)


@contextmanager
def serving(tmp: Path, env: dict[str, str] | None = None) -> Iterator[App]:
    """The app with its own run store under `tmp` (and `env` added to its environment); on exit
    its active runs are stopped (no training process is left behind) and the server ends."""
    server = start_app(tmp / "runs", tmp / "streamlit.log", env=env)
    try:
        yield server
    finally:
        stop_app(server)


# Put in every page before it loads (open_app): when the page last sent a rerun request
# (BackMsg.rerun_script, its first byte 0x5a: widget changes, fragment timers, the tab watcher's
# report) and when the script state last became notRunning.
_SETTLE_HOOK = """(() => {
    if (window.lenetSettle) return;
    const w = window.lenetSettle = {sentAt: -1, idleAt: -1};
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (data) {
        const b = data instanceof ArrayBuffer ? new Uint8Array(data, 0, 1)
            : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, 1) : null;
        if (b && b[0] === 0x5a) w.sentAt = performance.now();
        return send.call(this, data);
    };
    const watch = () => {
        const app = document.querySelector('[data-testid=stApp]');
        if (!app) return void requestAnimationFrame(watch);
        const seen = () => {
            if (app.dataset.testScriptState === 'notRunning') w.idleAt = performance.now();
        };
        seen();
        new MutationObserver(seen).observe(app, {attributes: true,
                                                 attributeFilter: ['data-test-script-state']});
    };
    document.readyState === 'loading' ? document.addEventListener('DOMContentLoaded', watch)
                                      : watch();
})()"""

# Settled: the script is idle, and it went idle after the last rerun request the page sent and
# after the tab watcher's report (app.py mounts the watcher on every page but Draw; it reports
# once mounted, which reruns the page: until then a rerun is due, though the page looks idle);
# and every element is drawn (Streamlit loads each kind of widget's code on first use, and shows
# a skeleton in its place until then).
_SETTLED = """() => {
    const w = window.lenetSettle;
    if (!w || !document.querySelector('""" + READY + """')) return false;
    if (document.querySelector('[data-testid=stSkeleton]')) return false;
    const watcher = !location.pathname.endsWith('/draw');
    const report = watcher ? (window.lenetTabReportedAt ?? Infinity) : -1;
    return w.idleAt > Math.max(w.sentAt, report);
}"""


def open_app(page: Page, url: str) -> None:
    page.add_init_script(_SETTLE_HOOK)
    page.goto(url)
    wait_ready(page)


def wait_ready(page: Page, timeout: float = 60_000) -> None:
    """The script has finished its run, no rerun is due, and the page shows no exception."""
    if not page.evaluate("() => !!window.lenetSettle"):  # a page not opened by open_app
        page.add_init_script(_SETTLE_HOOK)
        page.evaluate(_SETTLE_HOOK)  # its sidebar's timer reruns it within seconds
    page.wait_for_function(_SETTLED, timeout=timeout)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def status_badge(page: Page, status: str):
    """The run panel's status badge showing `status`."""
    return page.get_by_test_id("stMain").get_by_text(status, exact=True).first


def go_to(page: Page, title: str, path: str) -> None:
    """Switch page through the sidebar navigation, as a user would; path: the URL path."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    page.wait_for_url(re.compile(rf"/{path}(\?.*)?$"))  # a page keeps its state in the query
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible(timeout=30_000)
    wait_ready(page)


def choose(page: Page, label: str, option: str) -> None:
    """Pick an option of the st.selectbox with this label, and wait for the rerun it causes."""
    wait_ready(page)  # a rerun in flight would redraw the widget under the pointer
    combo = page.get_by_role("combobox", name=label, exact=True)
    # The keyboard opens the list reliably; a click right after scrolling sometimes does not.
    combo.scroll_into_view_if_needed()
    combo.focus()
    combo.press("ArrowDown")
    page.get_by_role("option", name=option, exact=True).click()
    # Until the rerun ends, a widget made afresh (the Train form's, after a preset) may show
    # beside its stale self.
    wait_ready(page)
    expect(combo).to_have_value(option)


def prediction_value(page: Page):
    """The model's answer in the page's "Prediction" tile."""
    return page.get_by_test_id("stMetric").filter(has_text="Prediction").get_by_test_id(
        "stMetricValue")


def chart_points(page: Page, chart: int = 0) -> int:
    """How many points the n-th Plotly chart on the page draws, over all its traces."""
    return page.evaluate(
        """([selector, n]) => {
            const plot = document.querySelectorAll(selector + ' .js-plotly-plot')[n];
            return plot && plot.data ? plot.data.reduce((k, t) => k + t.x.length, 0) : 0;
        }""", [CHART, chart])


def chart_trace_names(page: Page, chart: int = 0) -> list[str]:
    return page.evaluate(
        """([selector, n]) => {
            const plot = document.querySelectorAll(selector + ' .js-plotly-plot')[n];
            return plot && plot.data ? plot.data.map(t => t.name) : [];
        }""", [CHART, chart])


def click_chart_point(page: Page, x: float, y: float, chart: int = 0) -> None:
    """Click the n-th Plotly chart at data coordinates (x, y), as a user clicks a point."""
    px, py = page.evaluate(
        """([selector, n, x, y]) => {
            const plot = document.querySelectorAll(selector + ' .js-plotly-plot')[n];
            const L = plot._fullLayout, box = plot.getBoundingClientRect();
            return [box.x + L.xaxis._offset + L.xaxis.d2p(x),
                    box.y + L.yaxis._offset + L.yaxis.d2p(y)];
        }""", [CHART, chart, x, y])
    page.mouse.move(px, py)  # Plotly picks the point under the pointer on hover
    page.mouse.click(px, py)


def count_requests(page: Page) -> None:
    """From the next page load on, window.sentAt holds when (performance.now()) the page sent
    each message to the server: widget changes and rerun requests."""
    page.add_init_script("""
        window.sentAt = [];
        const send = WebSocket.prototype.send;
        WebSocket.prototype.send = function (data) {
            window.sentAt.push(performance.now());
            return send.call(this, data);
        };""")


def set_visibility(page: Page, state: str) -> None:
    """Make the page "hidden" or "visible" as a browser does when its tab goes to the
    background or comes back (headless Chromium shows every page)."""
    page.evaluate("""v => {
        Object.defineProperty(document, 'visibilityState', {value: v, configurable: true});
        document.dispatchEvent(new Event('visibilitychange'));
    }""", state)


def screenshot(page: Page, name: str) -> Path:
    """The whole page, as a user would scroll through it, into tests/artifacts/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    main = page.get_by_test_id("stMain")
    height = page.evaluate("el => el.scrollHeight", main.element_handle())
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], height)})
    wait_ready(page)
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size(size)
    return path


def screenshot_viewport(page: Page, name: str) -> Path:
    """What the user sees now, without scrolling, into tests/artifacts/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path)
    return path


# The drawing canvas's shadow root (or undefined): the page has other isolated components.
_CANVAS_ROOT = """[...document.querySelectorAll('[data-testid=stBidiComponentIsolated]')]
    .map(h => h.shadowRoot).find(r => r && r.querySelector('canvas.upper-canvas'))"""

_HIT = """([x, y]) => {
    const root = """ + _CANVAS_ROOT + """;
    const hit = root && root.elementFromPoint(x, y);
    if (!hit) return String(hit);
    return hit.classList.contains('upper-canvas') ? 'upper-canvas' : hit.outerHTML.slice(0, 80);
}"""


_CANVAS_READY = """() => {
    const root = """ + _CANVAS_ROOT + """;
    return !!(root && root.querySelector('style[data-lenet]'));
}"""


def _surface_at(page: Page, x: float, y: float, timeout: float = 10) -> dict:
    """Wait until canvas point (x, y) is the drawing surface, not the toolbar over it, nor a
    canvas still moving into place; returns the canvas's box at that moment."""
    surface = page.locator("canvas.upper-canvas")
    seen = []

    def ready() -> dict | None:
        box = surface.bounding_box()
        seen.append(page.evaluate(_HIT, [box["x"] + x, box["y"] + y]))
        if seen[-1] == "upper-canvas":
            return box
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # point at it
        return None

    try:
        return poll(ready, timeout, f"canvas point {(x, y)} to be on the drawing surface")
    except AssertionError as e:
        raise AssertionError(f"{e}; the pointer lands on {seen[-3:]}") from None


def draw(page: Page, strokes: list[list[tuple[float, float]]], *, hover: bool = True) -> None:
    """Draw strokes (canvas pixel coordinates) with the mouse on the Draw page's canvas.

    hover=True: a user's pointer crosses the canvas before drawing; here it hovers the canvas's
    centre until each stroke's starting point is the drawing surface.
    hover=False: a quick user. For each stroke the pointer comes from outside the canvas
    straight to its start and presses at once, so whatever lies over the canvas there gets the
    press."""
    surface = page.locator("canvas.upper-canvas")
    expect(surface).to_have_count(1)  # after Clear, the old canvas may linger a moment
    wait_ready(page)
    # A new canvas (after Clear) is ready once the page's toolbar rule is in its root and it is
    # laid out: no person presses within milliseconds of it appearing.
    poll(lambda: page.evaluate(_CANVAS_READY) and surface.bounding_box() is not None, 10,
         "the canvas to be ready")
    # Fabric binds its pointer handlers in an effect after the canvas is first painted: let
    # two frames pass, as they do before any person's press.
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    for stroke in strokes:
        (x0, y0), rest = stroke[0], stroke[1:]
        if hover:
            box = _surface_at(page, x0, y0)
        else:
            box = surface.bounding_box()
            page.mouse.move(box["x"] - 30, box["y"] - 30)  # off the canvas, above its corner
        # A real pointer leaves a trail of moves on its way, however quick; it does not jump.
        page.mouse.move(box["x"] + x0, box["y"] + y0, steps=1 if hover else 4)
        page.mouse.down()
        for x, y in rest:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=12)
        page.mouse.up()


def surface_at(page: Page, points: list[tuple[float, float]]) -> list[str]:
    """What a press at each canvas point would land on, now: "upper-canvas" is the drawing
    surface; anything else is an element over it."""
    box = page.locator("canvas.upper-canvas").bounding_box()
    return [page.evaluate(_HIT, [box["x"] + x, box["y"] + y]) for x, y in points]


def ink_at(page: Page, points: list[tuple[float, float]]) -> list[bool]:
    """Whether the canvas shows ink (a bright pixel) at each canvas pixel coordinate."""
    return page.evaluate(
        """(points) => {
            const root = """ + _CANVAS_ROOT + """;
            const canvas = root.querySelector('canvas.dc-canvas.lower-canvas');
            const ctx = canvas.getContext('2d');
            const sx = canvas.width / canvas.clientWidth, sy = canvas.height / canvas.clientHeight;
            return points.map(([x, y]) => ctx.getImageData(x * sx, y * sy, 1, 1).data[0] > 128);
        }""", points)
