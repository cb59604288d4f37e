"""Inspect: a model's layers, and what each conv, activation and pooling layer makes of one input."""

import streamlit as st

from lenet_core import figures, inference, tables
from pages.common import (
    pick_model,
    prediction_tile,
    recall,
    remember,
    table_height,
    test_set,
    through_router,
)

through_router()

SOURCES = ("By index", "By class", "Last drawing")

st.title("Inspect")
st.caption("Look inside a model: its layer table (the seed's model check, layer by layer), "
           "then one test image's or drawing's journey through every convolution, activation "
           "and pooling layer.")

model = pick_model("inspect")
config = model.config

table_col, input_col = st.columns([3, 2], gap="large")
with table_col:
    st.subheader("Layers")
    rows = tables.layer_table(config)
    st.dataframe(rows, hide_index=True, width="stretch", height=table_height(len(rows)),
                 column_config={"Parameters": st.column_config.NumberColumn(format="localized")})
    st.caption(f"{config.arch} · {config.activation} · {config.pooling}-pool · "
               f"{sum(r['Parameters'] for r in rows):,} parameters · trained on {config.dataset}")

with input_col:
    st.subheader("Input")
    ds = test_set(config.dataset)
    source = st.segmented_control("Input", SOURCES, default=recall("inspect_source", SOURCES[0]),
                                  required=True, label_visibility="collapsed")
    remember("inspect_source", source)
    image, truth = None, None
    if source == SOURCES[0]:
        index = st.number_input("Test image index", 0, len(ds.test_y) - 1,
                                value=recall("inspect_index", 0), step=1)
        remember("inspect_index", index)
        image, truth = ds.test_x[index], int(ds.test_y[index])
    elif source == SOURCES[1]:
        a, b = st.columns(2)
        label = a.selectbox("Class", range(len(model.class_names)),
                            format_func=lambda k: model.class_names[k])
        of_class = (ds.test_y == label).nonzero().flatten()
        nth = b.number_input(f"Which one (of {len(of_class)})", 0, len(of_class) - 1, 0, step=1)
        index = int(of_class[nth])
        image, truth = ds.test_x[index], label
        st.caption(f"Test image #{index}")
    elif "last_drawn_digit" in st.session_state:
        image = st.session_state.last_drawn_digit
    else:
        st.info("Nothing drawn yet: draw a digit on the **Draw** page first.",
                icon=":material/draw:")

    if image is not None:
        probs = inference.predict_proba(model, image)[0].numpy()
        top = int(probs.argmax())
        pic, verdict = st.columns([1, 1.3])
        pic.image(figures.upscale(image, 5), width=140)
        with verdict:
            prediction_tile(model.class_names[top], float(probs[top]))
        if truth is not None:
            verdict.caption(f"True label: **{model.class_names[truth]}** "
                            + ("✓" if truth == top else "✗"))
        st.plotly_chart(figures.probability_figure(probs, model.class_names, height=200),
                        key="inspect-probs", config={"displayModeBar": False})

if image is not None:
    acts = inference.feature_maps(model, image)
    maps = [a for a in acts if a.output.dim() == 3]
    st.subheader("Feature maps")
    if maps:
        st.caption("Each layer's output channels, each scaled to its own range "
                   "(bright: strong response). Hover a map for its channel.")
        for start in range(0, len(maps), 3):  # one row per conv → activation → pooling stage
            for col, act in zip(st.columns(3), maps[start:start + 3], strict=False):
                col.plotly_chart(figures.feature_map_figure(act), key=f"fmap-{act.layer}",
                                 config={"displayModeBar": False})
    else:
        st.info("This model is an MLP: it has no convolution or pooling layers.")
    dense = [a for a in acts if a.output.dim() == 1 and a.type != "Flatten"]
    with st.expander("Fully connected layers"):
        st.plotly_chart(figures.dense_figure(dense), key="dense", config={"displayModeBar": False})

kernels = inference.conv_kernels(model)
if kernels:
    st.subheader("Convolution kernels")
    st.caption("Each 5×5 kernel scaled by its largest weight: red positive, blue negative. "
               "Columns are output channels, rows input channels.")
    cols = st.columns([1, 3])
    for col, (name, weight) in zip(cols, kernels.items(), strict=False):
        col.plotly_chart(figures.kernel_figure(name, weight, width=260 if col is cols[0] else 800),
                         key=f"kernels-{name}", config={"displayModeBar": False})
