"""The network a config builds, drawn as the book draws it (lenet_core.architecture): the
notation picker, the figure and its SVG and PNG downloads. Used by Train and Inspect; not a
page itself."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import streamlit as st

from lenet_core.config import SPECS, ConfigError, TrainConfig, build
from lenet_core.show import architecture, architecture_render

NOTATIONS = {"full": "Full (Fig. 7.6.1)", "compressed": "Compressed (Fig. 7.6.2)"}


@lru_cache(maxsize=32)
def _drawing(config: TrainConfig, notation: str, max_width: int) -> architecture.Drawing:
    return architecture.drawing(config, notation, max_width=max_width)


def network_figure(config: TrainConfig, key: str, *, max_width: int, name: str = "lenet",
                   notation: str = "full") -> None:
    """The figure in the chosen notation (`notation` at first), with its downloads. max_width:
    the widest the full notation may be before it wraps onto another row (its text does not
    shrink)."""
    notation = st.segmented_control("Notation", list(NOTATIONS), format_func=NOTATIONS.get,
                                    default=notation, required=True, key=f"{key}_notation",
                                    label_visibility="collapsed")
    d = _drawing(config, notation, max_width)
    st.plotly_chart(architecture_render.to_plotly(d), width="content", key=f"{key}_figure",
                    config={"displayModeBar": False})
    with st.container(horizontal=True):
        st.download_button("SVG", architecture_render.to_svg(d), f"{name}-{notation}.svg",
                           mime="image/svg+xml", icon=":material/download:", on_click="ignore",
                           key=f"{key}_svg")
        st.download_button("PNG", lambda: architecture_render.to_png(d), f"{name}-{notation}.png",
                           mime="image/png", icon=":material/download:", on_click="ignore",
                           key=f"{key}_png")


def form_network(values: Mapping[str, Any], *, max_width: int = 480) -> None:
    """Train: the network the form's values build, before anything trains."""
    st.subheader("The network")
    try:
        config = build(dict(values), device_available=False)
    except ConfigError as e:
        st.caption("The form's values build no network yet:")
        for field, message in e.problems.items():
            st.text(f"{SPECS[field].label if field in SPECS else field}: {message}")  # typed text
        return
    st.caption("What the form builds, as the book draws LeNet: each box a layer's output "
               "(channels@height×width), the arrows the layers between them.")
    network_figure(config, "train_network", max_width=max_width, notation="compressed")
