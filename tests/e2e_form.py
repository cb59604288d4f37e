"""The Train form in the browser: read every field as a user sees it, compare it with a preset,
fill it and start a run."""

from __future__ import annotations

import math
import re
from typing import Any

from playwright.sync_api import Page, expect

from lenet_core.config import PRESETS, SPECS
from tests.e2e_support import choose, wait_ready


def _field(page: Page, name: str):
    spec = SPECS[name]
    role = {"choice": "combobox", "bool": "checkbox"}.get(
        spec.kind, "textbox" if spec.is_list else "spinbutton")
    return page.get_by_test_id("stMain").get_by_role(role, name=spec.label, exact=True)


def read_form(page: Page) -> dict[str, Any]:
    """{field: what its widget shows}: a choice's text, a box's text, a checkbox's state."""
    out = {}
    for name, spec in SPECS.items():
        box = _field(page, name)
        out[name] = box.is_checked() if spec.kind == "bool" else box.input_value()
    return out


def _same(name: str, shown: Any, want: Any) -> bool:
    spec = SPECS[name]
    if spec.kind == "bool":
        return shown is want
    if want is None:
        return shown == ""
    if spec.is_list:
        try:
            return spec.parse(shown) == tuple(want)
        except ValueError:
            return False
    if spec.kind in ("float", "optional-float"):
        try:  # the box shows 4 decimals
            return math.isclose(float(shown), want, abs_tol=5e-5)
        except ValueError:
            return False
    return shown == str(want)


def form_mismatches(page: Page, preset: str) -> dict[str, tuple[Any, Any]]:
    """{field: (shown, the preset's value)} for each field of the form that does not show the
    preset's value; {} when the form is as the preset fills it."""
    recipe = PRESETS[preset]
    shown = read_form(page)
    return {n: (shown[n], getattr(recipe, n)) for n in SPECS
            if not _same(n, shown[n], getattr(recipe, n))}


def start_run(page: Page, *, preset: str, epochs: int, examples: int, name: str,
              batch_size: int | None = None) -> None:
    """Fill the Train form as a user would and press Start training. The preset is chosen only
    if the form shows another; either way every field must show the preset's value first (a
    form that opened broken fails here, rather than being refilled)."""
    combo = page.get_by_role("combobox", name="Preset", exact=True)
    if combo.input_value() != preset:
        choose(page, "Preset", preset)
    assert form_mismatches(page, preset) == {}, form_mismatches(page, preset)
    fill(page, "epochs", epochs)
    fill(page, "max_train_examples", examples)
    if batch_size:
        fill(page, "batch_size", batch_size)
    choose(page, "Device", "cpu")
    run_name = page.get_by_role("textbox", name="Run name")
    run_name.fill(name)
    run_name.press("Tab")
    wait_ready(page)
    page.get_by_role("button", name="Start training").click()
    expect(page.get_by_role("combobox", name="Run", exact=True)).to_have_value(
        re.compile(f"^{re.escape(name)} · "))


def fill(page: Page, field: str, value: Any) -> None:
    """Type into a field's box and leave it (Tab), as a user does; wait for the rerun."""
    box = _field(page, field)
    box.fill(str(value))
    box.press("Tab")
    wait_ready(page)
