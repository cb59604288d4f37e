"""Why a run learns or doesn't, on the Train and Compare pages (not a page of its own):
"Inside the network" (a run's per-layer diagnostics, live while it trains), the learning-rate
finder, and Compare's one diagnostic for several runs. The figures are
lenet_core.show.figures_diagnostics; the numbers lenet_core.explain.diagnostics and lr_find."""

from __future__ import annotations

import streamlit as st

from lenet_core import data
from lenet_core.config import ConfigError, TrainConfig, build
from lenet_core.explain import lr_find
from lenet_core.runs import diagnostics_store
from lenet_core.runs.store import Run
from lenet_core.show import figures_diagnostics as fd
from lenet_core.show.fmt import short_label
from pages.live import live_chart
from pages.models import dataset
from pages.shell import recall, remember, store

_CHARTS = (
    ("Dead units (ReLU) / saturated outputs (sigmoid)", fd.inactive_figure,
     "ReLU: channels (conv) or units that output 0 for all 128 probe images; they no longer "
     "learn. Sigmoid: outputs below 0.02 or above 0.98, where its slope is almost 0."),
    ("Gradient norm per layer", fd.grad_norm_figure,
     "‖∂loss/∂w‖ of each layer's weights, on a log scale. Lines far apart: the gradient "
     "shrinks on its way back to conv1 (vanishing gradients)."),
    ("Update ratio ‖Δw‖ / ‖w‖ per layer", fd.update_ratio_figure,
     "How much a step changes each layer's weights, relative to their size. The shaded band "
     "is the usual rule of thumb, around 1e-3: far below, the layer learns slowly; far above, "
     "each step throws it around."),
)


def inside(run: Run) -> None:
    """The run's diagnostics, under the curves; part of the Train page's live run panel, so
    it updates with them. Nothing is read while it is closed."""
    box = st.expander("Inside the network", icon=":material/neurology:", key="inside_open",
                      on_change="rerun")
    if not box.open:
        return
    with box:
        s = store()
        steps = diagnostics_store.steps(s, run.id)
        if not steps:
            st.caption("No diagnostics yet: they start with the first step." if run.active else
                       "This run has no diagnostics: it was made before they were recorded.")
            return
        records: list = []

        def read() -> list:  # only when a chart is redrawn
            if not records:
                records.extend(diagnostics_store.records(s, run.id, histograms=False))
            return records

        version = (len(steps), run.status)
        for k, (title, figure, caption) in enumerate(_CHARTS):
            st.markdown(f"**{title}**")
            live_chart(f"inside-{k}-{run.id}", version,
                       lambda figure=figure: figure(read(), height=260, uirevision=run.id),
                       live=run.active, config={"displaylogo": False})
            st.caption(caption)
            if k == 0 and (bad := fd.non_finite_steps(read())):
                st.warning(f"From step {bad[0]} the network's numbers are not finite (NaN or "
                           "infinite): those steps are shaded red and marked non-finite, not "
                           "counted as dead.", icon=":material/warning:")
        _histograms(run, steps)


def _histograms(run: Run, steps: list[int]) -> None:
    st.markdown("**Histograms at one step**")
    kept = recall(f"hist_step_{run.id}")
    at = kept if kept in steps else steps[-1]  # the newest, until one is picked
    quantity = st.segmented_control("Of", list(fd.HIST_QUANTITIES), key="hist_quantity",
                                    default="activation", required=True,
                                    format_func=fd.HIST_QUANTITIES.get)
    # A new record changes the options: the slider is made afresh, on the step kept.
    step = st.select_slider("Step", steps, value=at, key=f"hist_step_{run.id}_{len(steps)}",
                              help="The first 50 steps are each recorded, then 5 per epoch.")
    if step != at or kept is not None:
        remember(f"hist_step_{run.id}", step)
    record = diagnostics_store.record_at(store(), run.id, step)
    if record is not None:
        st.plotly_chart(fd.histogram_figure(record, quantity), key=f"hist-{run.id}",
                        config={"displayModeBar": False})
        st.caption("Activations: over 32 probe images. 32 bins from the smallest value to the "
                   "largest.")


# --- the learning-rate finder ------------------------------------------------------------------

def _find(config: TrainConfig) -> lr_find.LrCurve:
    """The range test for this config, kept at once (a rerun that cuts the page short after it
    must not lose it)."""
    ds = dataset(config.dataset, str(data.data_root().resolve()))
    return lr_find.save(lr_find.lr_find(config, dataset=ds), store().root)


def lr_finder(values: dict) -> None:
    """The Find a learning rate button for the form's values, and the kept results: the
    form's test solid with its suggested range, earlier tests dashed, the form's lr marked."""
    st.subheader("Find a learning rate")
    st.caption(f"A range test (fastai's lr_find): a fresh network trains "
               f"{lr_find.STEPS} steps while the rate grows from {lr_find.START_LR:g} to "
               f"{lr_find.END_LR:g}; the smoothed loss shows where it learns fastest and where "
               "it blows up. Nothing is saved as a run.")
    try:
        config = build(values)
    except ConfigError:
        config = None
    if st.button("Find a learning rate", icon=":material/troubleshoot:", disabled=config is None,
                 help=None if config else "Fix the form's fields first."):
        with st.spinner(f"Trying {lr_find.STEPS} learning rates on a fresh network…"):
            _find(config)
    kept = lr_find.load(store().root)
    if not kept:
        return
    curves = fd.latest_per_test(kept)
    current = None
    if config is not None:
        key = fd.test_key(lr_find.label(config), config.to_dict())
        current = next((c for c in reversed(kept) if fd.test_key(c.label, c.config) == key),
                       None)
        if current is not None and current not in curves:
            curves = [current, *curves[:-1]]
    lr = config.lr if config else None
    st.plotly_chart(fd.lr_find_figure(curves, lr, current=current), key="lr-find-chart",
                    config={"displaylogo": False})
    if current is not None and current.low is not None:
        st.markdown(f"**This config:** suggested range {current.low:.2g} – {current.high:.2g}; "
                    f"lr {lr:g} is {lr_find.where(lr, current)}.")
    elif config is not None:
        st.caption("No test for this config yet (the lines are earlier tests): press the "
                   "button to add it.")
    for c in curves:
        if c is not current and lr is not None:
            st.caption(f"{fd.curve_label(c)}: lr {lr:g} is {lr_find.where(lr, c)}.")


# --- Compare -----------------------------------------------------------------------------------

def compare_overlay(chosen: list[Run], colors: dict[str, str], live: bool) -> None:
    """One diagnostic of one layer for the chosen runs, overlaid (inside Compare's live
    fragment)."""
    s = store()
    counts = diagnostics_store.counts(s, [r.id for r in chosen])
    with_records = [r for r in chosen if counts[r.id]]
    st.subheader("Inside the network")
    if not with_records:
        st.caption("None of these runs has diagnostics (runs made before they were recorded).")
        return
    records = {r.id: diagnostics_store.records(s, r.id, histograms=False) for r in with_records}
    left, right = st.columns(2)
    key = left.selectbox("Diagnostic", list(fd.DIAGNOSTICS), key="compare_diagnostic",
                         format_func=lambda k: fd.DIAGNOSTICS[k][0])
    kind = fd.DIAGNOSTICS[key][1]
    layers = list(dict.fromkeys(n for r in with_records
                                for n in fd.layer_names(records[r.id], kind)))
    layer = right.selectbox("Layer", layers, key=f"compare_layer_{kind}")
    live_chart(f"overlay-diag-{key}-{layer}-{'-'.join(counts)}", (counts, live),
               lambda: fd.overlay_diagnostic_figure(
                   [(short_label(r), colors[r.id], records[r.id]) for r in with_records],
                   key, layer), live=live, config={"displaylogo": False})
    if missing := len(chosen) - len(with_records):
        st.caption(f"{missing} of the chosen runs {'has' if missing == 1 else 'have'} no "
                   "diagnostics (made before they were recorded).")
