"""Draw: a digit (or a piece of clothing) on a canvas, or an uploaded picture; the 28x28 image the
model sees, its 10 probabilities and what it looked at."""

import streamlit as st
from streamlit_drawable_canvas import st_canvas

from lenet_core.explain import inference
from lenet_core.show import figures, network_view
from pages.common import (
    canvas_toolbar_above,
    pick_model,
    prediction_tile,
    recall,
    remember,
    saliency_view,
    through_router,
    upload_input,
)

through_router()

CANVAS_PX = 280  # 10x MNIST's 28 px: a comfortable target for a mouse or a finger
BRUSH_PX = 18  # MNIST strokes are ~2-3 px wide at 28 px
PREVIEW_PX = 224  # the 28x28 input, each pixel an 8x8 block
SOURCES = ("Draw", "Upload")

st.session_state.setdefault("canvas_generation", 0)


def _clear() -> None:
    st.session_state.canvas_generation += 1  # a new key is a new, empty canvas
    st.session_state.pop("last_drawn_digit", None)


st.title("Draw")
model = pick_model("draw", statuses=("finished",), prefer="mnist",
                   help="Opens on the newest finished MNIST run (digits), else the shipped model. "
                        "Fashion-MNIST runs are here too: draw them a piece of clothing.")
fashion = model.config.dataset == "fashion-mnist"
thing = "a piece of clothing" if fashion else "a digit"
made_as = ("Trimmed and fitted to 28×28, as Fashion-MNIST was made" if fashion
           else "28×28, centred by mass, as MNIST was made")
st.caption(f"Draw {thing} with the mouse (or a finger), or upload a picture, and watch the model "
           "read it. The prediction updates each time you lift the pen.")

# Fixed widths for the canvas and the preview (a narrower column would clip the canvas); the
# row wraps on small screens.
row = st.container(horizontal=True, gap="large")
canvas_col = row.container(width=CANVAS_PX + 4)
input_col = row.container(width=PREVIEW_PX + 4)
pred_col = row.container(width="stretch")
prediction = None
with canvas_col:
    source = st.segmented_control("Input", SOURCES, default=recall("draw_source", SOURCES[0]),
                                  required=True, label_visibility="collapsed")
    remember("draw_source", source)
    if source == "Draw":
        st.markdown(f"**Your {'drawing' if fashion else 'digit'}**")
        canvas_toolbar_above()  # before the canvas: no press may land on its toolbar
        result = st_canvas(stroke_width=BRUSH_PX, stroke_color="#FFFFFF",
                           background_color="#000000", height=CANVAS_PX, width=CANVAS_PX,
                           drawing_mode="freedraw", return_image_data=True,
                           key=f"canvas-{st.session_state.canvas_generation}")
        st.button("Clear", icon=":material/ink_eraser:", on_click=_clear)
        if result.image_data is not None:
            prediction = inference.classify_canvas(model, result.image_data)
    else:
        image = upload_input(model, "draw")
        if image is not None:
            prediction = inference.classify(model, image)

with input_col:
    st.markdown("**What the model sees**")
    if prediction is None or prediction.empty:
        st.image(figures.upscale(figures.EMPTY_DIGIT), width=PREVIEW_PX)
        st.caption(made_as + ".")
    else:
        if source == "Draw":
            st.session_state.last_drawn_digit = prediction.image  # Inspect can look inside it
        st.image(figures.upscale(prediction.image), width=PREVIEW_PX)
        st.caption(made_as + ". Inspect shows its feature maps.")

with pred_col:
    if prediction is None or prediction.empty:
        st.info(f"Draw {'a piece of clothing' if fashion else 'a digit from 0 to 9'} in the black "
                "square to see what the model makes of it. "
                + ("A filled silhouette, large and centred, works best." if fashion else
                   "Large and centred works best."), icon=":material/draw:")
    else:
        prediction_tile(prediction.name, prediction.confidence)
        st.plotly_chart(figures.probability_figure(prediction.probs, model.class_names, height=260),
                        key="draw-probs", config={"displayModeBar": False})
        st.markdown("**What it looked at**")
        saliency_view(model, prediction.image, "draw", width=140)

# --- every layer on one drawing, redrawn with each stroke -----------------------------------
if prediction is not None and not prediction.empty:
    st.markdown("**Every layer**")
    st.caption("The whole network reading it, left to right: the input, each conv and pool "
               "layer's maps (each map scaled to its own range: bright is strong), each dense "
               "layer's units, and the 10 outputs.")
    st.plotly_chart(network_view.network_figure(model, prediction.image), key="draw-network",
                    config={"displayModeBar": False})
