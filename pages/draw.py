"""Draw: a digit (or a piece of clothing) on a canvas, or an uploaded picture; the 28x28 image the
model sees, its 10 probabilities and what it looked at."""

import streamlit as st
from streamlit_drawable_canvas import st_canvas

from lenet_core.explain import inference
from lenet_core.runs.checkpoint import LoadedModel
from lenet_core.show import figures, network_view
from pages.models import choose_model, pick_ref, use_model
from pages.shell import recall, remember, through_router
from pages.widgets import png_image, prediction_tile, saliency_view, upload_input

through_router()

CANVAS_PX = 280  # 10x MNIST's 28 px: a comfortable target for a mouse or a finger
BRUSH_PX = 18  # MNIST strokes are ~2-3 px wide at 28 px
PREVIEW_PX = 224  # the 28x28 input, each pixel an 8x8 block
SOURCES = ("Draw", "Upload")

# streamlit-drawable-canvas 0.13 keeps its floating toolbar, invisible, over the top ~35 px of the
# canvas's right two-thirds until the pointer hovers the canvas: a stroke that starts there is
# lost. The toolbar lives in the canvas's shadow root, out of reach of page CSS, so this
# invisible component puts a style into that root: the toolbar sits just above the canvas,
# always visible, with only Undo and Redo (the page has its own Clear).
_CANVAS_TOOLBAR_CSS = """
.dc-toolbar { top: auto !important; bottom: 100% !important; padding: 0 0 2px 0 !important;
              opacity: 1 !important; transition: none !important; }
.dc-toolbar-card > .dc-icon-button:not([aria-label="Undo"]):not([aria-label="Redo"]),
.dc-toolbar-separator, .dc-toolbar-contextual { display: none !important; }
"""
_CANVAS_TOOLBAR_JS = """
export default function({ data }) {
    const put = () => {
        for (const host of document.querySelectorAll('[data-testid="stBidiComponentIsolated"]')) {
            // Not into the sidebar's components (the tab watcher): a style put there can make
            // the first stroke after Clear go missing.
            if (host.closest('[data-testid="stSidebar"]')) continue;
            const root = host.shadowRoot;
            // Into every isolated component's root, at once: the rules name only the canvas's
            // own classes, and waiting for its toolbar to appear would leave a gap to press in.
            if (root && !root.querySelector('style[data-lenet]')) {
                const style = document.createElement('style');
                style.dataset.lenet = 'toolbar';
                style.textContent = data;
                root.appendChild(style);
            }
        }
    };
    put();
    // A new canvas (Clear gives it a new key) mounts later; its shadow root fills in later still.
    const observer = new MutationObserver(put);
    observer.observe(document.body, { childList: true, subtree: true });
    const timer = setInterval(put, 200);
    return () => { observer.disconnect(); clearInterval(timer); };
}
"""
_canvas_toolbar = st.components.v2.component("lenet_lab.canvas_toolbar", js=_CANVAS_TOOLBAR_JS,
                                             isolate_styles=False)


def _canvas_toolbar_above() -> None:
    """Keep the drawing canvas's toolbar out of its drawing area (see _CANVAS_TOOLBAR_CSS)."""
    _canvas_toolbar(data=_CANVAS_TOOLBAR_CSS, key="canvas_toolbar", height=0)


def _clear() -> None:
    st.session_state.canvas_generation += 1  # a new key is a new, empty canvas
    st.session_state.pop("last_drawn_digit", None)
    st.session_state.pop("last_drawn_model", None)


def _inspect(ref: str) -> None:
    """Open Inspect on this drawing, read by the model it was drawn for."""
    choose_model("inspect", ref)
    remember("inspect_source", "Last drawing")


def _read(model: LoadedModel, source: str, fashion: bool):
    """The canvas (or the upload field) and the model's reading of it; None until there is
    something to read."""
    if source == "Upload":
        image = upload_input(model, "draw")
        return None if image is None else inference.classify(model, image)
    st.markdown(f"**Your {'drawing' if fashion else 'digit'}**")
    _canvas_toolbar_above()  # before the canvas: no press may land on its toolbar
    result = st_canvas(stroke_width=BRUSH_PX, stroke_color="#FFFFFF",
                       background_color="#000000", height=CANVAS_PX, width=CANVAS_PX,
                       drawing_mode="freedraw", return_image_data=True,
                       key=f"canvas-{st.session_state.canvas_generation}")
    st.button("Clear", icon=":material/ink_eraser:", on_click=_clear)
    if result.image_data is None:
        return None
    return inference.classify_canvas(model, result.image_data)


def _seen(prediction, ref: str, source: str, made_as: str) -> None:
    """The 28x28 image the model reads; a drawing is kept for Inspect, with its model."""
    st.markdown("**What the model sees**")
    if prediction is None or prediction.empty:
        png_image(st, figures.upscale(figures.EMPTY_DIGIT), width=PREVIEW_PX)
        st.caption(made_as + ".")
        return
    png_image(st, figures.upscale(prediction.image), width=PREVIEW_PX)
    st.caption(made_as + ".")
    if source == "Draw":  # Inspect can look inside it, with the model it was drawn for
        st.session_state.last_drawn_digit = prediction.image
        st.session_state.last_drawn_model = ref
        if st.button("Inspect this drawing", icon=":material/layers:", on_click=_inspect,
                     args=(ref,), help="Its feature maps, read by this model."):
            st.switch_page("pages/inspect.py")


def _answer(model: LoadedModel, prediction, source: str, fashion: bool, thing: str) -> None:
    """The prediction, its probabilities and what it looked at; before that, what to do."""
    if prediction is not None and not prediction.empty:
        prediction_tile(prediction.name, prediction.confidence)
        st.plotly_chart(figures.probability_figure(prediction.probs, model.class_names, height=260),
                        key="draw-probs", config={"displayModeBar": False})
        st.markdown("**What it looked at**")
        saliency_view(model, prediction.image, "draw", width=140)
    elif source == "Upload":
        st.info(f"Upload a photo or a scan of {thing} (PNG or JPEG) to see what the model "
                "makes of it. " + ("A product shot on a plain background works best."
                                   if fashion else "Ink on paper works: the paper's colour "
                                   "and uneven light are taken away."),
                icon=":material/upload_file:")
    else:
        st.info(f"Draw {'a piece of clothing' if fashion else 'a digit from 0 to 9'} in the "
                "black square to see what the model makes of it. "
                + ("A filled silhouette, large and centred, works best." if fashion else
                   "Large and centred works best."), icon=":material/draw:")


def _every_layer(model: LoadedModel, prediction) -> None:
    """Every layer on one drawing, redrawn with each stroke."""
    st.markdown("**Every layer**")
    st.caption("The whole network reading it, left to right: the input, each conv and pool "
               "layer's maps (each map scaled to its own range: bright is strong), each dense "
               "layer's units, and the 10 outputs.")
    st.plotly_chart(network_view.network_figure(model, prediction.image), key="draw-network",
                    config={"displayModeBar": False})


def main() -> None:
    st.session_state.setdefault("canvas_generation", 0)
    st.title("Draw")
    ref = pick_ref("draw", statuses=("finished",), prefer="mnist",
                   help="Opens on your newest finished MNIST run (digits), else the shipped "
                        "model. Fashion-MNIST runs are here too: draw them a piece of clothing.")
    model = use_model(ref)
    fashion = model.config.dataset == "fashion-mnist"
    thing = "a piece of clothing" if fashion else "a digit"
    made_as = ("Trimmed and fitted to 28×28, as Fashion-MNIST was made" if fashion
               else "28×28, centred by mass, as MNIST was made")
    st.caption(f"Draw {thing} with the mouse (or a finger), or upload a picture, and watch the "
               "model read it. The prediction updates each time you lift the pen.")
    # Fixed widths for the canvas and the preview (a narrower column would clip the canvas); the
    # row wraps on small screens.
    row = st.container(horizontal=True, gap="large")
    canvas_col = row.container(width=CANVAS_PX + 4)
    input_col = row.container(width=PREVIEW_PX + 4)
    pred_col = row.container(width="stretch")
    with canvas_col:
        source = st.segmented_control("Input", SOURCES, default=recall("draw_source", SOURCES[0]),
                                      required=True, label_visibility="collapsed")
        remember("draw_source", source)
        prediction = _read(model, source, fashion)
    with input_col:
        _seen(prediction, ref, source, made_as)
    with pred_col:
        _answer(model, prediction, source, fashion, thing)
    if prediction is not None and not prediction.empty:
        _every_layer(model, prediction)


main()
