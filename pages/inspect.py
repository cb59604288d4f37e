"""Inspect: a model's layers, and what each conv, activation and pooling layer makes of one input
(a test image, a drawing, an upload or something unlike the training data), what it looked at,
and two inputs side by side."""

import streamlit as st

from lenet_core.explain import images, inference
from lenet_core.show import figures, tables
from pages import share
from pages.architecture_view import network_figure
from pages.common import (
    model_choices,
    pick_ref,
    prediction_tile,
    recall,
    remember,
    saliency_view,
    table_height,
    test_set,
    through_router,
    upload_input,
    use_model,
)
from pages.downloads import onnx_download
from pages.explain_view import how_one_value

through_router()

SOURCES = ("By index", "By class", "Last drawing", "Upload", "Unusual")
# The book's exercise: "a sweater and a coat" (Fashion-MNIST's Pullover and Coat); for digits,
# a pair that LeNet mixes up.
PAIRS = {"fashion-mnist": (2, 4), "mnist": (4, 9)}

st.title("Inspect")
st.caption("Look inside a model: its layer table (the seed's model check, layer by layer), "
           "then one input's journey through every convolution, activation and pooling layer, "
           "what it looked at, and two inputs side by side.")

share.restore("inspect", share.inspect_schema(list(model_choices()), 10_000),
              share.inspect_apply)  # a shared link's model, input and chosen value
ref = pick_ref("inspect")
model = use_model(ref)
config = model.config
names = model.class_names


def _test_image_index(ds, label: str = "Test image index") -> int:
    index = st.number_input(label, 0, len(ds.test_y) - 1, value=recall("inspect_index", 0), step=1)
    return remember("inspect_index", int(index))


def _by_class(ds, column, key: str, default: int = 0, label: str = "Class") -> tuple[int, int]:
    """A class picker and which of its test images: (test index, class)."""
    a, b = column.columns(2)
    label = a.selectbox(label, range(len(names)), format_func=lambda k: names[k], index=default,
                        key=f"{key}_class")
    of_class = (ds.test_y == label).nonzero().flatten()
    nth = b.number_input(f"Which one (of {len(of_class)})", 0, len(of_class) - 1, 0, step=1,
                         key=f"{key}_nth")
    return int(of_class[nth]), label


table_col, input_col = st.columns(2, gap="large")
with table_col:
    st.subheader("Layers")
    rows = tables.layer_table(config)
    st.dataframe(rows, hide_index=True, width="stretch", height=table_height(len(rows)),
                 column_config={"Parameters": st.column_config.NumberColumn(format="localized")})
    st.caption(f"{config.arch} · {config.activation} · {config.pooling}-pool · "
               f"{sum(r['Parameters'] for r in rows):,} parameters · trained on {config.dataset}")
    onnx_download(ref, "inspect")

with input_col:
    st.subheader("Input")
    ds = test_set(config.dataset)
    source = st.segmented_control("Input", SOURCES, default=recall("inspect_source", SOURCES[0]),
                                  required=True, label_visibility="collapsed")
    remember("inspect_source", source)
    image, truth = None, None
    if source == "By index":
        index = _test_image_index(ds)
        image, truth = ds.test_x[index], int(ds.test_y[index])
    elif source == "By class":
        index, truth = _by_class(ds, st, "inspect")
        image = ds.test_x[index]
        st.caption(f"Test image #{index}")
    elif source == "Last drawing":
        image = st.session_state.get("last_drawn_digit")
        if image is None:
            st.info("Nothing drawn yet: draw on the **Draw** page first.", icon=":material/draw:")
    elif source == "Upload":
        image = upload_input(model, "inspect")
    else:
        kind = st.selectbox("Kind", list(images.ODD_INPUTS), format_func=images.ODD_INPUTS.get,
                            key="inspect_odd")
        if kind == "inverted":
            image = images.odd_input(kind, image=ds.test_x[_test_image_index(ds)])
        elif kind == "other":
            other = images.other_dataset(config.dataset)
            image = images.odd_input(kind, image=test_set(other).test_x[_test_image_index(
                test_set(other), f"{other} test image index")])
        else:
            image = images.odd_input(kind, seed=int(st.number_input("Seed", 0, 10**6, 0)))
        st.caption("Nothing like the training data. The network must still answer one of its "
                   f"{len(names)} classes, and its softmax confidence says nothing about how "
                   "familiar the input is: a confident answer to nonsense is the lesson.")

    if image is not None:
        probs = inference.predict_proba(model, image)[0].numpy()
        top = int(probs.argmax())
        pic, verdict = st.columns([1, 1.3])
        pic.image(figures.upscale(image, 5), width=140)
        with verdict:
            prediction_tile(names[top], float(probs[top]))
        if truth is not None:
            verdict.caption(f"True label: **{names[truth]}** " + ("✓" if truth == top else "✗"))
        st.plotly_chart(figures.probability_figure(probs, names, height=200),
                        key="inspect-probs", config={"displayModeBar": False})

st.subheader("The network")
st.caption("The chosen model as the book draws LeNet: each box a layer's output "
           "(channels@height×width), the arrows the layers between them.")
network_figure(config, "inspect_network", max_width=820)

if image is not None:
    st.subheader("What it looked at")
    saliency_view(model, image, "inspect")

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

    how_one_value(model, image,  # one feature-map value, computed step by step
                  lambda: share.publish("inspect", share.inspect_state(ref)))

st.subheader("Two inputs side by side")
st.caption("The book's exercise: the activations of the first and second layer for two inputs, "
           "for example a sweater and a coat. Each channel is drawn on one scale for both "
           "inputs; the difference is A − B (red: stronger for A, blue: stronger for B).")
pair = st.columns(2, gap="large")
picked = []
for col, letter, default in zip(pair, "AB", PAIRS.get(config.dataset, (0, 1)), strict=True):
    col.markdown(f"**Input {letter}**")
    index, label = _by_class(ds, col, f"pair_{letter}", default, f"Class of {letter}")
    probs = inference.predict_proba(model, ds.test_x[index])[0].numpy()
    col.image(figures.upscale(ds.test_x[index], 4), width=112,
              caption=f"#{index} · {names[label]} · read as {names[int(probs.argmax())]} "
                      f"{probs.max():.0%}")
    picked.append((index, label))
stages = [inference.conv_stage_activations(inference.feature_maps(model, ds.test_x[i]))
          for i, _ in picked]
if not stages[0]:
    st.info("This model is an MLP: it has no convolution layers to compare.")
tags = tuple(f"{letter} ({names[label]})" for letter, (_, label) in zip("AB", picked, strict=True))
for k, (a, b) in enumerate(zip(stages[0][:2], stages[1][:2], strict=True)):
    for j, (col, fig) in enumerate(zip(st.columns(3), figures.activation_pair_figures(a, b, tags),
                                       strict=True)):
        col.plotly_chart(fig, key=f"pair-{k}-{j}", config={"displayModeBar": False})

kernels = inference.conv_kernels(model)
if kernels:
    st.subheader("Convolution kernels")
    size = next(iter(kernels.values())).shape[-1]
    st.caption(f"Each {size}×{size} kernel scaled by its largest weight: red positive, blue "
               "negative. Columns are output channels, rows input channels.")
    # The first layer (one input channel) is a narrow strip beside the second; any further
    # layer gets the full width below.
    slots = [*st.columns([1, 3]), *(st.container() for _ in range(len(kernels) - 2))]
    for i, (slot, (name, weight)) in enumerate(zip(slots, kernels.items(), strict=False)):
        slot.plotly_chart(figures.kernel_figure(name, weight, width=260 if i == 0 else 800),
                          key=f"kernels-{name}", config={"displayModeBar": False})

share.publish("inspect", share.inspect_state(ref))  # the link to what is on view
