"""Draw: a digit on a canvas, the 28x28 image the model sees, and its 10 probabilities."""

import streamlit as st
from streamlit_drawable_canvas import st_canvas

from lenet_core import figures, inference
from pages.common import pick_model, prediction_tile, through_router

through_router()

CANVAS_PX = 280  # 10x MNIST's 28 px: a comfortable target for a mouse or a finger
BRUSH_PX = 18  # MNIST strokes are ~2-3 px wide at 28 px
PREVIEW_PX = 224  # the 28x28 input, each pixel an 8x8 block

st.session_state.setdefault("canvas_generation", 0)


def _clear() -> None:
    st.session_state.canvas_generation += 1  # a new key is a new, empty canvas
    st.session_state.pop("last_drawn_digit", None)


st.title("Draw")
st.caption("Draw a digit with the mouse (or a finger) and watch the model read it. "
           "The prediction updates each time you lift the pen.")

model = pick_model("draw", dataset="mnist", statuses=("finished",),
                   help="The shipped default model, or any finished MNIST run.")

# Fixed widths for the canvas and the preview (a narrower column would clip the canvas); the
# row wraps on small screens.
row = st.container(horizontal=True, gap="large")
canvas_col = row.container(width=CANVAS_PX + 4)
input_col = row.container(width=PREVIEW_PX + 4)
pred_col = row.container(width="stretch")
with canvas_col:
    st.markdown("**Your digit**")
    result = st_canvas(stroke_width=BRUSH_PX, stroke_color="#FFFFFF", background_color="#000000",
                       height=CANVAS_PX, width=CANVAS_PX, drawing_mode="freedraw",
                       return_image_data=True, key=f"canvas-{st.session_state.canvas_generation}")
    st.button("Clear", icon=":material/ink_eraser:", on_click=_clear)

rgba = result.image_data
prediction = None if rgba is None else inference.classify_canvas(model, rgba)

with input_col:
    st.markdown("**What the model sees**")
    if prediction is None or prediction.empty:
        st.image(figures.upscale(figures.EMPTY_DIGIT), width=PREVIEW_PX)
        st.caption("28×28, centred by mass, as MNIST was made.")
    else:
        st.session_state.last_drawn_digit = prediction.image  # Inspect can look inside it
        st.image(figures.upscale(prediction.image), width=PREVIEW_PX)
        st.caption("28×28, centred by mass, as MNIST was made. Inspect shows its feature maps.")

with pred_col:
    if prediction is None or prediction.empty:
        st.info("Draw a digit from 0 to 9 in the black square to see what the model makes "
                "of it. Large and centred works best.", icon=":material/draw:")
    else:
        prediction_tile(prediction.name, prediction.confidence)
        st.plotly_chart(figures.probability_figure(prediction.probs, model.class_names, height=260),
                        key="draw-probs", config={"displayModeBar": False})
