"""Which value Inspect's "How one value is computed" shows (pages.explain_view): its conv
layer, output channel and cell, kept in session state, as a link sets and says them. Apart
from the view so that the link code (pages.share) need not import the view. Not a page itself.
"""

import streamlit as st

from pages.shell import remember

KEYS = ("explain_layer", "explain_channel", "explain_row", "explain_col")


def choose(layer: str | None, channel: int | None, cell: tuple[int, int] | None) -> None:
    """Open the view on this layer, channel and cell (a link's; None keeps the current)."""
    row, col = cell if cell is not None else (None, None)
    for key, v in zip(KEYS, (layer, channel, row, col), strict=True):
        if v is not None:
            st.session_state[key] = remember(key, v)


def chosen() -> dict:
    """The layer, channel and cell on view, as a link says them (none before it is shown)."""
    if KEYS[0] not in st.session_state:
        return {}
    ss = st.session_state
    return {"layer": ss.explain_layer, "channel": ss.explain_channel,
            "cell": (ss.explain_row, ss.explain_col)}
