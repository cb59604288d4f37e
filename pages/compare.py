"""Compare: runs overlaid per metric, side by side, their config differences and final numbers."""

import pandas as pd
import streamlit as st

from lenet_core.explain import evaluation
from lenet_core.runs import checkpoint, outcome
from lenet_core.show import figures, figures_eval, fmt, tables
from pages import share
from pages.diagnostics_view import compare_overlay
from pages.live import lazy_points, live_chart, live_view
from pages.models import test_set
from pages.shell import flash, recall, refusal, remember, show_flash, store, through_router
from pages.widgets import RUN_COLUMNS, status_badge, table_height

through_router()

PANELS_PER_ROW = 3


def _delete(run_ids: list[str]) -> None:
    s = store()
    for run_id in run_ids:
        s.delete(run_id)
    flash(f"Deleted {len(run_ids)} run{'s' * (len(run_ids) != 1)}.")


def _confusion_matrices(chosen: list) -> None:
    """The chosen runs' confusion matrices side by side, and the difference of two of them."""
    st.subheader("Confusion matrices")
    # Opt-in: the first look at a run evaluates it on the whole test set (cached afterwards).
    if not st.toggle("Show the confusion matrices", key="compare_confusion",
                     help="Each chosen run is evaluated on its 10,000 test images once (a second "
                          "or two per run on a CPU); after that it is read from the cache."):
        return
    s = store()
    with_model = [r for r in chosen if s.checkpoint_path(r.id).is_file()]
    if missing := len(chosen) - len(with_model):
        st.caption(f"{missing} of the chosen runs {'has' if missing == 1 else 'have'} no "
                   "checkpoint (failed or stopped before the first epoch ended) and no matrix.")
    if not with_model:
        return
    evals = {}
    with st.spinner("Evaluating on the test set (once per checkpoint)…"):
        for r in with_model:
            try:
                evals[r.id] = evaluation.for_ref(r.id, s, test_set(r.config.dataset))
            except checkpoint.CheckpointError as e:  # damaged or crafted: refused, not shown
                refusal("A chosen run's checkpoint cannot be used, so it has no matrix.",
                        f"{fmt.short_label(r)}: {e}")  # the name is data: plain text
    with_model = [r for r in with_model if r.id in evals]
    if not with_model:
        return
    labels = {r.id: fmt.short_label(r) for r in with_model}
    for start in range(0, len(with_model), PANELS_PER_ROW):
        for col, run in zip(st.columns(PANELS_PER_ROW), with_model[start:start + PANELS_PER_ROW],
                            strict=False):
            ev = evals[run.id]
            col.text(f"{labels[run.id]} · {ev.test_acc:.2%} test accuracy")  # a name is data
            col.plotly_chart(figures_eval.confusion_figure(ev, size=380, clickable=False),
                             key=f"confusion-{run.id}", config={"displayModeBar": False})
    if len(with_model) < 2:
        return
    st.markdown("**Difference**")
    a_col, b_col, _ = st.columns([2, 2, 3])
    ids = list(evals)
    a = a_col.selectbox("A", ids, format_func=labels.get, key="confusion_a")
    b = b_col.selectbox("B", ids, index=1, format_func=labels.get, key="confusion_b")
    if evals[a].dataset != evals[b].dataset:
        st.info("These two runs were trained on different datasets: their classes do not match.",
                icon=":material/info:")
    elif a == b:
        st.info("Pick two different runs.", icon=":material/info:")
    else:
        st.plotly_chart(figures_eval.confusion_difference_figure(
            evals[a], evals[b], ("A", "B"), size=480), key="confusion-diff",
            config={"displayModeBar": False})
        st.caption("Each cell: B's count minus A's. Green where B does better (more right on the "
                   "diagonal, fewer mistakes elsewhere), red where it does worse.")


def _colour_key(chosen: list, colors: dict[str, str]) -> None:
    """One key for the three overlaid charts: a legend in each took half of it with 6 runs."""
    with st.container(horizontal=True, gap="medium"):
        for r in chosen:
            with st.container(horizontal=True, gap="small", width="content",
                              vertical_alignment="center"):
                st.markdown(f':color[■]{{foreground="{colors[r.id]}"}}', width="content")
                st.text(fmt.short_label(r), width="content")  # a name is data: plain text


def curves(picked: list[str], shown: dict[str, str]) -> None:
    """The runs' curves overlaid, then side by side; live while one of them trains. `shown`:
    the statuses the rest of the page was drawn with (a change redraws the whole page)."""
    s = store()
    chosen = [s.get(i) for i in picked]
    if {r.id: r.status for r in chosen} != shown:
        st.rerun()
    live = any(r.active for r in chosen)
    counts = s.point_counts(picked)
    points_of = lazy_points(s.metrics)  # read only for the charts that are redrawn
    colors = {r.id: figures.run_color(k) for k, r in enumerate(chosen)}
    st.subheader("Curves")
    _colour_key(chosen, colors)
    for col, (key, label) in zip(st.columns(len(figures.METRICS)), figures.METRICS.items(),
                                 strict=True):
        col.markdown(f"**{label.capitalize()}**")
        with col:
            live_chart(f"overlay-{key}-{'-'.join(picked)}", (counts, shown),
                       lambda key=key: figures.overlay_figure(
                           [(fmt.short_label(r), colors[r.id], points_of(r.id)) for r in chosen],
                           key, legend=False), live=live, config={"displaylogo": False})
    compare_overlay(chosen, colors, live)

    st.subheader("Side by side")
    for start in range(0, len(chosen), PANELS_PER_ROW):
        for col, run in zip(st.columns(PANELS_PER_ROW), chosen[start:start + PANELS_PER_ROW],
                            strict=False):
            with col.container(border=True):
                with st.container(horizontal=True, vertical_alignment="top", wrap=False):
                    st.markdown(f':color[■]{{foreground="{colors[run.id]}"}}', width="content")
                    st.text(fmt.short_label(run), width="stretch")  # data: no Markdown, no HTML
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


def _pick_group(runs: list) -> None:
    """An experiment picked as a group: all its runs that have something to show."""
    if group_id := st.session_state.compare_group:
        st.session_state.compare_pick = [r.id for r in runs if r.experiment_id == group_id]


def _pick(runs: list, groups: list) -> list[str]:
    """The runs picked (kept across page switches), or an experiment's runs as a group."""
    by_id = {r.id: r for r in runs}
    if "compare_pick" not in st.session_state:  # first visit, or back from another page
        kept = [i for i in recall("compare_runs", []) if i in by_id]
        st.session_state.compare_pick = kept or list(by_id)[:2]
        # Runs that are exactly one experiment's (Experiments' "Open these runs in Compare")
        # show that experiment in its picker.
        st.session_state.compare_group = next(
            (e.id for e in groups if kept and set(kept) == {r.id for r in runs
                                                            if r.experiment_id == e.id}), None)
    else:  # runs deleted meanwhile
        st.session_state.compare_pick = [i for i in st.session_state.compare_pick if i in by_id]
    if groups:
        if st.session_state.get("compare_group") not in {e.id for e in groups}:
            st.session_state.compare_group = None
        st.selectbox("Experiment", [e.id for e in groups], key="compare_group",
                     on_change=_pick_group, args=(runs,),
                     placeholder="Or pick an experiment's runs as a group",
                     format_func=lambda i: next(f"{e.name} · {fmt.when(e.created_at)} · {e.id}"
                                                for e in groups if e.id == i))
    picked = st.multiselect("Runs", list(by_id), key="compare_pick",
                            format_func=lambda i: fmt.short_label(by_id[i]),
                            placeholder="Choose runs to compare")
    remember("compare_runs", picked)
    return picked


def _hyperparameters(chosen: list) -> None:
    """What differs in the runs' settings and environments."""
    st.subheader("Hyperparameters")
    env_rows = tables.environment_diff({fmt.short_label(r): r.environment for r in chosen})
    diff = pd.DataFrame(tables.config_diff({fmt.short_label(r): r.config for r in chosen})
                        + env_rows)
    if st.toggle("Only the ones that differ", key="only_diff", value=True):
        diff = diff[diff["Differs"]]
    # A run's column is headed by its id's tail (the colour key above names it): six names
    # side by side do not fit the page.
    heads = {fmt.short_label(r): st.column_config.TextColumn(f"#{r.id[-4:]}",
                                                             help=fmt.short_label(r))
             for r in chosen}
    st.dataframe(diff.style.apply(
        lambda row: ["background-color: #FFF3BF; font-weight: 600" if row["Differs"] else ""
                     for _ in row], axis=1),
        hide_index=True, width="stretch", height=table_height(len(diff)),
        column_config={"Differs": st.column_config.CheckboxColumn(width="small"), **heads})
    if any(row["Differs"] for row in env_rows):
        st.caption("These runs are not known to have trained in the same environment (the "
                   "rows \"environment: …\"; \"unknown\": a run from before environments were "
                   "recorded): their numbers may differ for that reason too.")


def _final_metrics(chosen: list) -> None:
    st.subheader("Final metrics")
    a, b, _ = st.columns([2, 1, 3], vertical_alignment="bottom")
    sort_key = a.selectbox("Sort by", tables.FINAL_COLUMNS)
    descending = b.toggle("Descending", value=True)
    rows = tables.sort_rows([tables.final_metrics_row(r) for r in chosen], sort_key, descending)
    # A column that is the same for every run is said once, under the table: with all nine
    # the table is cut off on the right at 1280 px.
    same = {k: rows[0][k] for k in ("Status", "Dataset") if len({r[k] for r in rows}) == 1}
    st.dataframe([{k: v for k, v in r.items() if k not in same} for r in rows],
                 hide_index=True, width="stretch", column_config=RUN_COLUMNS)
    if same:
        st.caption("All " + " · ".join(map(str, same.values())))


def _delete_runs(every: list) -> None:
    with st.expander("Delete runs", icon=":material/delete:"):
        deletable = {r.id: r for r in every if not r.active}
        doomed = st.multiselect("Runs to delete", list(deletable),
                                format_func=lambda i: fmt.run_option_label(deletable[i]),
                                help="Running and queued runs are not listed: stop them first.")
        st.button(f"Delete {len(doomed)} run{'s' * (len(doomed) != 1)}", type="primary",
                  icon=":material/delete_forever:", disabled=not doomed, on_click=_delete,
                  args=(doomed,))
        st.caption("Deleting removes a run's curves and checkpoint for good.")


def main() -> None:
    st.title("Compare")
    st.caption("Pick two or more runs: their curves overlaid, side by side, what differs in "
               "their settings, and how they ended.")
    show_flash(":material/delete:")
    s = store()
    every = s.list()
    runs = [r for r in every if r.status != "queued"]  # a queued run has nothing to show yet
    by_id = {r.id: r for r in runs}
    groups = [e for e in s.experiments() if any(r.experiment_id == e.id for r in runs)]
    share.restore("compare", share.compare_schema(list(by_id)), share.compare_apply)
    picked = _pick(runs, groups)
    share.publish("compare", {"runs": picked or None})  # the link to these runs
    if len(picked) < 2:
        st.info("Pick at least two runs to compare. Runs are made on the **Train** page."
                if len(runs) >= 2 else
                "Compare needs at least two runs: start some on the **Train** page.",
                icon=":material/compare_arrows:")
    else:
        chosen = [by_id[i] for i in picked]
        live_view(curves, any(r.active for r in chosen))(picked, {r.id: r.status for r in chosen})
        _hyperparameters(chosen)
        _final_metrics(chosen)
        _confusion_matrices(chosen)
    _delete_runs(every)


main()
