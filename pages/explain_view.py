"""Inspect's "How one value is computed": pick a conv layer, an output channel and a cell (by
clicking the map or by number), step or animate the window, and see the arithmetic
(lenet_core.conv_explain, figures_explain). Not a page itself."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st

from lenet_core.explain import conv_explain, inference
from lenet_core.runs.checkpoint import LoadedModel
from lenet_core.show import figures_explain
from pages.explain_state import KEYS
from pages.shell import recall, remember
from pages.widgets import png_image

ANIMATE_S = 0.8  # one step of the sliding window
PICK_CHART = "explain_pick"


def _step(side: int, by: int) -> None:
    """The next (or previous) cell in reading order, wrapping around the map."""
    k = (st.session_state.explain_row * side + st.session_state.explain_col + by) % (side * side)
    st.session_state.explain_row, st.session_state.explain_col = divmod(k, side)


def _clicked() -> tuple[int, int] | None:
    """A cell the user has just clicked on the map (each click once)."""
    points = (st.session_state.get(PICK_CHART) or {}).get("selection", {}).get("points", [])
    points = [tuple(p["customdata"]) for p in points
              if p.get("curve_number") == figures_explain.CELL_TRACE]
    seen = st.session_state.get("_explain_seen")
    st.session_state._explain_seen = points
    return tuple(int(v) for v in points[0]) if points and points != seen else None


def _restore(convs: dict[str, tuple[int, int]]) -> tuple[str, int, int]:
    """The chosen layer, channel and cell, kept across page switches and clamped to the
    layer's map; returns (layer, channels, side)."""
    first = next(iter(convs))
    if st.session_state.get("explain_layer", recall("explain_layer")) not in convs:
        st.session_state.explain_layer = first
    channels, side = convs[st.session_state.get("explain_layer", recall("explain_layer"))]
    # the middle of the map at first: a corner reads mostly padding
    for key, default in zip(KEYS, (first, 0, side // 2, side // 2), strict=True):
        if key not in st.session_state:
            st.session_state[key] = recall(key, default)
    for key, top in (("explain_channel", channels - 1), ("explain_row", side - 1),
                     ("explain_col", side - 1)):
        st.session_state[key] = min(max(int(st.session_state[key]), 0), top)
    return st.session_state.explain_layer, channels, side


def _controls(convs: dict[str, tuple[int, int]], channels: int, side: int) -> None:
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.selectbox("Conv layer", list(convs), key="explain_layer", width=140)
        st.number_input(f"Channel (of {channels})", 0, channels - 1, step=1,
                        key="explain_channel", width=130)
        st.number_input("Row", 0, side - 1, step=1, key="explain_row", width=110)
        st.number_input("Column", 0, side - 1, step=1, key="explain_col", width=110)
        st.button("Previous", icon=":material/chevron_left:", on_click=_step, args=(side, -1))
        st.button("Next", icon=":material/chevron_right:", on_click=_step, args=(side, 1))
        st.toggle("Animate", key="explain_animate",
                  help="Slide the window across the map, one cell every "
                       f"{ANIMATE_S:g} s, as the convolution does.")


def _view(model: LoadedModel, image: np.ndarray, animating: bool,
          on_change: Callable[[], None]) -> None:
    convs = conv_explain.conv_layers(model)
    if animating != bool(st.session_state.get("explain_animate")):
        st.rerun()  # started or stopped: the whole page again, with the timer set or not
    if (cell := _clicked()) is not None:
        st.session_state.explain_row, st.session_state.explain_col = cell
    layer, channels, side = _restore(convs)
    if animating:
        _step(side, 1)
    _controls(convs, channels, side)
    for key in KEYS:
        remember(key, st.session_state[key])
    c = conv_explain.explain(model, image, layer, st.session_state.explain_channel,
                             st.session_state.explain_row, st.session_state.explain_col)
    fmap = next(a for a in inference.feature_maps(model, image) if a.layer == layer)
    pick, inputs, field = st.columns([1.1, 1.1, 0.9], gap="medium")
    pick.plotly_chart(figures_explain.pick_figure(c, fmap.output[c.channel].double().numpy()),
                      key=PICK_CHART, on_select="rerun", selection_mode="points",
                      config={"displayModeBar": False})
    inputs.plotly_chart(figures_explain.inputs_figure(c), key="explain_inputs",
                        config={"displayModeBar": False})
    field.markdown("**Receptive field on the input**")
    png_image(field, figures_explain.receptive_field_image(image, c, factor=6), width=168)
    field.caption(f"{c.field_size}×{c.field_size} input pixels feed this cell "
                  f"({layer}, kernel {c.kernel_size}×{c.kernel_size}).")
    shown = figures_explain.shown_channels(c)
    if len(shown) < len(c.channel_sums):
        st.caption(f"The {len(shown)} input channels with the largest sums of "
                   f"{len(c.channel_sums)}; every channel's sum counts below.")
    st.plotly_chart(figures_explain.arithmetic_figure(c, shown), width="content",
                    key="explain_arithmetic", config={"displayModeBar": False})
    for line in figures_explain.computation_lines(c):
        st.markdown(line)
    on_change()  # a rerun of this view alone: the page's link follows it


def how_one_value(model: LoadedModel, image: np.ndarray,
                  on_change: Callable[[], None] = lambda: None) -> None:
    """The section: nothing for an MLP (it has no convolution). on_change: called after each
    run of the view, the page's own runs and the view's alone."""
    st.subheader("How one value is computed")
    if not conv_explain.conv_layers(model):
        st.info("This model is an MLP: it has no convolution to look into.")
        return
    st.caption("Pick a conv layer, an output channel and a cell: click the map, or type the "
               "numbers. Every number below comes from this model and this input: the kernel's "
               "patch in each input channel, its weights, their products and sums, the bias, "
               "the activation and the pooling.")
    animating = bool(st.session_state.get("explain_animate"))
    st.fragment(run_every=ANIMATE_S if animating else None)(_view)(model, image, animating,
                                                                  on_change)
