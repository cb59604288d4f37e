"""Compare: runs overlaid per metric, side by side, their config differences and final numbers."""

import pandas as pd
import streamlit as st

from lenet_core import figures, fmt, outcome, tables
from pages.common import (
    live_chart,
    live_view,
    recall,
    remember,
    status_badge,
    store,
    table_height,
    through_router,
)

through_router()

PANELS_PER_ROW = 3


def _delete(run_ids: list[str]) -> None:
    s = store()
    for run_id in run_ids:
        s.delete(run_id)
    st.session_state.flash = f"Deleted {len(run_ids)} run{'s' * (len(run_ids) != 1)}."


def curves(picked: list[str], shown: dict[str, str]) -> None:
    """The runs' curves overlaid, then side by side; live while one of them trains. `shown`:
    the statuses the rest of the page was drawn with (a change redraws the whole page)."""
    s = store()
    chosen = [s.get(i) for i in picked]
    if {r.id: r.status for r in chosen} != shown:
        st.rerun()
    live = any(r.active for r in chosen)
    counts = s.point_counts(picked)
    points: dict[str, list] = {}  # read only for the charts that are redrawn

    def points_of(run_id: str) -> list:
        if run_id not in points:
            points[run_id] = s.metrics(run_id)
        return points[run_id]

    colors = {r.id: figures.run_color(k) for k, r in enumerate(chosen)}
    st.subheader("Curves")
    for col, (key, label) in zip(st.columns(len(figures.METRICS)), figures.METRICS.items(),
                                 strict=True):
        col.markdown(f"**{label.capitalize()}**")
        with col:
            live_chart(f"overlay-{key}-{'-'.join(picked)}", (counts, shown),
                       lambda key=key: figures.overlay_figure(
                           [(fmt.short_label(r), colors[r.id], points_of(r.id)) for r in chosen],
                           key), live=live, config={"displaylogo": False})

    st.subheader("Side by side")
    for start in range(0, len(chosen), PANELS_PER_ROW):
        for col, run in zip(st.columns(PANELS_PER_ROW), chosen[start:start + PANELS_PER_ROW],
                            strict=False):
            with col.container(border=True):
                with st.container(horizontal=True, vertical_alignment="center"):
                    st.markdown(f"<span style='color:{colors[run.id]}'>■</span> "
                                f"**{fmt.short_label(run)}**", unsafe_allow_html=True)
                    status_badge(run)
                live_chart(f"panel-{run.id}", (counts[run.id], run.status),
                           lambda run=run: figures.training_figure(
                               points_of(run.id), run.config.epochs,
                               diverged_at=outcome.diverged_x(run), height=230,
                               uirevision=run.id),
                           live=live, config={"displayModeBar": False})
                tiles = st.columns(2)
                for k, (label, value) in enumerate(tables.key_figures(run)):
                    tiles[k % 2].markdown(f":gray[{label}]  \n**{value}**")


st.title("Compare")
st.caption("Pick two or more runs: their curves overlaid, side by side, what differs in their "
           "settings, and how they ended.")
if flash := st.session_state.pop("flash", None):
    st.toast(flash, icon=":material/delete:")

s = store()
every = s.list()
runs = [r for r in every if r.status != "queued"]  # a queued run has nothing to show yet
by_id = {r.id: r for r in runs}
kept = [i for i in recall("compare_runs", []) if i in by_id]
picked = st.multiselect("Runs", list(by_id), default=kept or list(by_id)[:2],
                        format_func=lambda i: fmt.run_option_label(by_id[i]),
                        placeholder="Choose runs to compare")
remember("compare_runs", picked)

if len(picked) < 2:
    st.info("Pick at least two runs to compare. Runs are made on the **Train** page."
            if len(runs) >= 2 else
            "Compare needs at least two runs: start some on the **Train** page.",
            icon=":material/compare_arrows:")
else:
    chosen = [by_id[i] for i in picked]
    live_view(curves, any(r.active for r in chosen))(picked, {r.id: r.status for r in chosen})

    st.subheader("Hyperparameters")
    diff = pd.DataFrame(tables.config_diff({fmt.short_label(r): r.config for r in chosen}))
    if st.toggle("Only the ones that differ", key="only_diff"):
        diff = diff[diff["Differs"]]
    st.dataframe(diff.style.apply(
        lambda row: ["background-color: #FFF3BF; font-weight: 600" if row["Differs"] else ""
                     for _ in row], axis=1),
        hide_index=True, width="stretch", height=table_height(len(diff)),
        column_config={"Differs": st.column_config.CheckboxColumn(width="small")})

    st.subheader("Final metrics")
    a, b, _ = st.columns([2, 1, 3], vertical_alignment="bottom")
    sort_key = a.selectbox("Sort by", tables.FINAL_COLUMNS)
    descending = b.toggle("Descending", value=True)
    rows = tables.sort_rows([tables.final_metrics_row(r) for r in chosen], sort_key, descending)
    pct = st.column_config.NumberColumn(format="%.2f")
    st.dataframe(rows, hide_index=True, width="stretch", column_config={
        "Test acc (%)": pct, "Train acc (%)": pct,
        "Train loss": st.column_config.NumberColumn(format="%.4f"),
        "Examples/s": st.column_config.NumberColumn(format="localized"),
        "Train time (s)": st.column_config.NumberColumn(format="%.1f"),
    })

with st.expander("Delete runs", icon=":material/delete:"):
    deletable = {r.id: r for r in every if not r.active}
    doomed = st.multiselect("Runs to delete", list(deletable),
                            format_func=lambda i: fmt.run_option_label(deletable[i]),
                            help="Running and queued runs are not listed: stop them first.")
    st.button(f"Delete {len(doomed)} run{'s' * (len(doomed) != 1)}", type="primary",
              icon=":material/delete_forever:", disabled=not doomed, on_click=_delete,
              args=(doomed,))
    st.caption("Deleting removes a run's curves and checkpoint for good.")
