"""Evaluate: what a model gets wrong on the whole test set, and the test images behind it."""

import math

import streamlit as st

from lenet_core.explain import evaluation
from lenet_core.runs import outcome
from lenet_core.show import figures, figures_eval
from pages import share
from pages.downloads import onnx_download
from pages.models import choose_model, model_choices, pick_ref, test_set, use_model
from pages.shell import recall, remember, store, through_router
from pages.widgets import png_image

through_router()

CHART_KEY = "confusion"
PER_PAGE = 24
TILE_PX = 112  # 28 x 4
NO_BAR = {"displayModeBar": False}


def _select(ref: str, cell: tuple[int, int]) -> None:
    remember("evaluate_cell", (ref, *cell))
    remember("evaluate_gallery_page", 1)


def _clicked_cell() -> tuple[int, int] | None:
    """The cell the user has just clicked in the matrix, if any. The figure changes when a cell
    is selected (its outline), and Streamlit then remounts the chart with an empty selection,
    so the choice is kept with remember()."""
    points = (st.session_state.get(CHART_KEY) or {}).get("selection", {}).get("points", [])
    points = [p for p in points if p.get("curve_number") == figures_eval.CELL_TRACE]
    return tuple(int(v) for v in points[0]["customdata"]) if points else None


def _tiles(ev) -> None:
    """Test accuracy, errors, the weakest class and the most confused one."""
    names = ev.class_names
    errors = int(len(ev.labels) - ev.confusion.trace())
    worst = int(ev.per_class_acc.argmin())
    tiles = st.columns(4)
    tiles[0].metric("Test accuracy", f"{ev.test_acc:.2%}", border=True)
    tiles[1].metric("Errors", f"{errors:,}", border=True, delta=f"of {len(ev.labels):,} test images",
                    delta_color="off", delta_arrow="off")
    tiles[2].metric("Weakest class", names[worst], border=True,
                    delta=f"{ev.per_class_acc[worst]:.1%} right", delta_color="off",
                    delta_arrow="off")
    if top := ev.top_confusions(1):
        tiles[3].metric("Most confused", names[top[0].true], border=True,
                        delta=f"taken for {names[top[0].predicted]}: {top[0].count} images",
                        delta_color="off", delta_arrow="off")


def _matrix(ev, ref: str, cell: tuple[int, int] | None) -> None:
    """The confusion matrix, accuracy per class and the most confused pairs, side by side."""
    names = ev.class_names
    matrix_col, side_col = st.columns([1.15, 1], gap="large")
    with matrix_col:
        st.subheader("Confusion matrix")
        normalized = st.toggle("Row-normalised", key="evaluate_normalized",
                               help="Each row as shares of that class's test images, instead of "
                                    "counts.")
        st.plotly_chart(figures_eval.confusion_figure(ev, normalized=normalized, selected=cell,
                                                      size=480),
                        key=CHART_KEY, on_select="rerun", selection_mode="points", config=NO_BAR)
    with side_col:
        st.subheader("Accuracy per class")
        st.plotly_chart(figures_eval.per_class_figure(ev, height=260), key="per-class",
                        config=NO_BAR)
        st.subheader("Most confused pairs")
        pairs = ev.top_confusions()
        if not pairs:
            st.success("No test image is misclassified.")
        for c in pairs:
            st.button(f"{names[c.true]} taken for {names[c.predicted]}: {c.count:,} "
                      f"({c.count / ev.confusion[c.true].sum():.1%} of the {names[c.true]} images)",
                      key=f"pair-{c.true}-{c.predicted}", on_click=_select,
                      args=(ref, (c.true, c.predicted)), icon=":material/image_search:",
                      type="tertiary")


def _gallery(ev, ds, ref: str, found) -> None:
    """A page of a cell's test images, each with a button that opens it in Inspect."""
    names = ev.class_names
    pages = math.ceil(len(found) / PER_PAGE)
    page = 1
    if pages > 1:
        page = st.number_input(f"Page (of {pages})", 1, pages, step=1, width=200,
                               value=min(recall("evaluate_gallery_page", 1), pages))
        remember("evaluate_gallery_page", page)
    shown = found[(page - 1) * PER_PAGE:page * PER_PAGE]
    with st.container(horizontal=True, gap="small"):  # tiles wrap to the page's width
        for i in shown:
            with st.container(border=True, width=TILE_PX + 34, key=f"tile-{i}"):
                png_image(st, figures.upscale(ds.test_x[i], 4), width=TILE_PX)
                st.caption(f"#{i} · {ev.confidence[i]:.0%} sure  \ntrue "
                           f"{names[int(ev.labels[i])]}  \npredicted "
                           f"{names[int(ev.predicted[i])]}")
                if st.button("Inspect", key=f"inspect-{i}", icon=":material/layers:",
                             width="stretch"):
                    choose_model("inspect", ref)
                    remember("inspect_source", "By index")
                    remember("inspect_index", int(i))
                    st.switch_page("pages/inspect.py")


def _test_images(ev, ds, ref: str, cell: tuple[int, int] | None) -> None:
    """The test images behind the chosen cell."""
    names = ev.class_names
    st.subheader("Test images")
    if cell is None:
        st.info("Click a cell of the confusion matrix, or one of the pairs above, to see its "
                "test images here.", icon=":material/touch_app:")
        return
    t, p = cell
    found = ev.cell(t, p)
    verdict = "right" if t == p else "wrong"
    st.markdown(f"**True {names[t]}, predicted {names[p]}** ({verdict}): {len(found):,} test "
                "images, the most confident first. **Inspect** opens one in the Inspect page.")
    if not len(found):
        st.info("No test image falls in this cell.", icon=":material/check:")
    else:
        _gallery(ev, ds, ref, found)


def main() -> None:
    st.title("Evaluate")
    st.caption("What a model gets wrong on its 10,000 test images: accuracy per class, the "
               "confusion matrix (rows: the true class, columns: the model's answer), the pairs "
               "it mixes up most, and the images behind any cell. Click a cell to see them.")
    share.restore("evaluate", share.evaluate_schema(list(model_choices())), share.evaluate_apply)
    ref = pick_ref("evaluate")
    model = use_model(ref)
    ds = test_set(model.config.dataset)
    with st.spinner("Evaluating on the test set (once per checkpoint)…"):
        ev = evaluation.for_ref(ref, store(), ds)
    if note := outcome.chance_note(ev.test_acc):
        st.warning(note, icon=":material/trending_flat:")
    if (clicked := _clicked_cell()) is not None:
        _select(ref, clicked)
    kept = recall("evaluate_cell")
    cell = tuple(kept[1:]) if kept and kept[0] == ref else None
    share.publish("evaluate", {"model": ref, "cell": cell})  # the link to this model and cell
    _tiles(ev)
    onnx_download(ref, "evaluate")
    _matrix(ev, ref, cell)
    _test_images(ev, ds, ref, cell)


main()
