"""Inspect: a model's layers, and what each conv, activation and pooling layer makes of one input
(a test image, a drawing, an upload or something unlike the training data), what it looked at,
and two inputs side by side."""

import streamlit as st

from lenet_core.explain import images, inference
from lenet_core.show import figures, tables
from pages import share
from pages.architecture_view import network_figure
from pages.downloads import onnx_download
from pages.explain_view import how_one_value
from pages.models import model_choices, pick_ref, test_set, use_model
from pages.shell import recall, remember, through_router
from pages.widgets import png_image, prediction_tile, saliency_view, table_height, upload_input

through_router()

SOURCES = ("By index", "By class", "Last drawing", "Upload", "Unusual")
# The book's exercise: "a sweater and a coat" (Fashion-MNIST's Pullover and Coat); for digits,
# a pair that LeNet mixes up.
PAIRS = {"fashion-mnist": (2, 4), "mnist": (4, 9)}
KERNEL_GRID_PX = 360  # the first conv layer's kernels, 3 a row: ~90 px each
NO_BAR = {"displayModeBar": False}


def _test_image_index(ds, label: str = "Test image index") -> int:
    index = st.number_input(label, 0, len(ds.test_y) - 1, value=recall("inspect_index", 0), step=1)
    return remember("inspect_index", int(index))


def _by_class(ds, names, column, key: str, default: int = 0,
              label: str = "Class") -> tuple[int, int]:
    """A class picker and which of its test images: (test index, class)."""
    a, b = column.columns(2)
    label = a.selectbox(label, range(len(names)), format_func=lambda k: names[k], index=default,
                        key=f"{key}_class")
    of_class = (ds.test_y == label).nonzero().flatten()
    nth = b.number_input(f"Which one (1 to {len(of_class):,})", 1, len(of_class), 1, step=1,
                         key=f"{key}_nth", help="Counted from 1 among this class's test images "
                                                "in the test set's order.")
    return int(of_class[nth - 1]), label


def _drawn_for_another(drawn_for: str) -> None:
    """Say that the drawing was made for another model than the one reading it here."""
    st.warning("This drawing was made on **Draw** for another model; the model picked above "
               "by hand reads it here, so its answer can differ (a Fashion-MNIST model answers "
               "with clothes). Pick the model it was drawn for to see what that one read.",
               icon=":material/swap_horiz:")
    if label := model_choices().get(drawn_for):
        st.text(f"Drawn for: {label}")  # a run's name is data: plain text


def _layers(ref: str, config) -> None:
    """The layer table. It takes the page's width: with kernel, stride, padding and the
    parameter formula it does not fit half of it at 1280 px."""
    st.subheader("Layers")
    rows = tables.layer_table(config)
    st.dataframe(rows, hide_index=True, width="stretch", height=table_height(len(rows)),
                 column_config={"Parameters": st.column_config.NumberColumn(format="localized"),
                                "How": st.column_config.TextColumn(
                                    "How the parameters add up", help="out × (in × kernel) + out "
                                    "biases; out × in + out for a fully connected layer")})
    st.caption(f"{config.arch} · {config.activation} · {config.pooling}-pool · "
               f"{sum(r['Parameters'] for r in rows):,} parameters · trained on {config.dataset}")
    onnx_download(ref, "inspect")


def _unusual(ds, config, names):
    """Something unlike the training data: an inverted test image, one of the other dataset's,
    or noise."""
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
    return image


def _input(source: str, model, ref: str, ds, drawn_for: str | None):
    """The input the source names, and its true class when it has one: (image, truth)."""
    names = model.class_names
    if source == "By index":
        index = _test_image_index(ds)
        return ds.test_x[index], int(ds.test_y[index])
    if source == "By class":
        index, truth = _by_class(ds, names, st, "inspect")
        nth = int((ds.test_y[:index] == truth).sum()) + 1
        st.caption(f"{names[truth]} no. {nth} · test image #{index}")
        return ds.test_x[index], truth
    if source == "Last drawing":
        image = st.session_state.get("last_drawn_digit")
        if image is None:
            st.info("Nothing drawn yet: draw on the **Draw** page first.", icon=":material/draw:")
        elif drawn_for is not None and drawn_for != ref:
            _drawn_for_another(drawn_for)
        else:
            st.caption("Read by the model it was drawn for on **Draw**.")
        return image, None
    if source == "Upload":
        return upload_input(model, "inspect"), None
    return _unusual(ds, model.config, names), None


def _answer(model, image, truth: int | None, answer_col) -> None:
    """The input, the model's answer and how sure it is; its probabilities in `answer_col`."""
    names = model.class_names
    probs = inference.predict_proba(model, image)[0].numpy()
    top = int(probs.argmax())
    pic, verdict = st.columns([1, 1.3])
    png_image(pic, figures.upscale(image, 5), width=140)
    with verdict:
        prediction_tile(names[top], float(probs[top]))
    if truth is not None:
        verdict.caption(f"True label: **{names[truth]}** " + ("✓" if truth == top else "✗"))
    answer_col.plotly_chart(figures.probability_figure(probs, names, height=240),
                            key="inspect-probs", config=NO_BAR)


def _inside(model, image, ref: str) -> None:
    """What the model looked at, every layer's feature maps, and how one value is computed."""
    st.subheader("What it looked at")
    saliency_view(model, image, "inspect")
    acts = inference.feature_maps(model, image)
    maps = [a for a in acts if a.output.dim() == 3]
    st.subheader("Feature maps")
    if maps:
        st.caption("Each layer's output channels, each scaled to its own range (bright: strong "
                   "response, from each channel's lowest value to its highest). Hover a map for "
                   "its channel and the value there.")
        for start in range(0, len(maps), 3):  # one row per conv → activation → pooling stage
            for col, act in zip(st.columns(3), maps[start:start + 3], strict=False):
                col.plotly_chart(figures.feature_map_figure(act), key=f"fmap-{act.layer}",
                                 config=NO_BAR)
    else:
        st.info("This model is an MLP: it has no convolution or pooling layers.")
    dense = [a for a in acts if a.output.dim() == 1 and a.type != "Flatten"]
    with st.expander("Fully connected layers"):
        st.plotly_chart(figures.dense_figure(dense, model.class_names), key="dense",
                        config=NO_BAR)
    how_one_value(model, image,  # one feature-map value, computed step by step
                  lambda: share.publish("inspect", share.inspect_state(ref)))


def _pair(model, ds) -> None:
    """Two test images side by side, and the difference of their first two layers."""
    names = model.class_names
    st.subheader("Two inputs side by side")
    st.caption("The book's exercise: the activations of the first and second layer for two "
               "inputs, for example a sweater and a coat. Each channel is drawn on one scale for "
               "both inputs; the difference is A − B (red: stronger for A, blue: stronger for B).")
    picked = []
    for col, letter, default in zip(st.columns(2, gap="large"), "AB",
                                    PAIRS.get(model.config.dataset, (0, 1)), strict=True):
        col.markdown(f"**Input {letter}**")
        index, label = _by_class(ds, names, col, f"pair_{letter}", default, f"Class of {letter}")
        probs = inference.predict_proba(model, ds.test_x[index])[0].numpy()
        nth = int((ds.test_y[:index] == label).sum()) + 1
        png_image(col, figures.upscale(ds.test_x[index], 4), width=112)
        col.caption(f"{names[label]} no. {nth} · test image #{index} · read as "
                    f"{names[int(probs.argmax())]} {probs.max():.0%}")
        picked.append((index, label))
    stages = [inference.conv_stage_activations(inference.feature_maps(model, ds.test_x[i]))
              for i, _ in picked]
    if not stages[0]:
        st.info("This model is an MLP: it has no convolution layers to compare.")
    tags = tuple(f"{letter} ({names[label]})" for letter, (_, label) in zip("AB", picked, strict=True))
    for k, (a, b) in enumerate(zip(stages[0][:2], stages[1][:2], strict=True)):
        for j, (col, fig) in enumerate(zip(st.columns(3), figures.activation_pair_figures(a, b, tags),
                                           strict=True)):
            col.plotly_chart(fig, key=f"pair-{k}-{j}", config=NO_BAR)


def _kernels(model) -> None:
    """The convolution kernels: one row per layer; the first layer's few kernels in a grid at a
    fixed width, large enough to read."""
    kernels = inference.conv_kernels(model)
    if not kernels:
        return
    st.subheader("Convolution kernels")
    size = next(iter(kernels.values())).shape[-1]
    st.caption(f"Each {size}×{size} kernel scaled by its largest weight: red positive, blue "
               "negative; hover one for its weights. Columns are output channels, rows input "
               "channels (the first layer's, with one input, in a grid).")
    for name, weight in kernels.items():
        width = KERNEL_GRID_PX if weight.shape[1] == 1 else 800
        st.plotly_chart(figures.kernel_figure(name, weight, width=width),
                        width=width if weight.shape[1] == 1 else "stretch",
                        key=f"kernels-{name}", config=NO_BAR)


def main() -> None:
    st.title("Inspect")
    st.caption("Look inside a model: its layer table (the seed's model check, layer by layer), "
               "then one input's journey through every convolution, activation and pooling "
               "layer, what it looked at, and two inputs side by side.")
    share.restore("inspect", share.inspect_schema(list(model_choices()), 10_000),
                  share.inspect_apply)  # a shared link's model, input and chosen value
    # A drawing is read by the model it was drawn for (Draw records it), unless the user picked
    # another one here by hand.
    drawn_for = st.session_state.get("last_drawn_model")
    showing = st.session_state.get("inspect_source_pick", recall("inspect_source", SOURCES[0]))
    ref = pick_ref("inspect", prefer_ref=drawn_for if showing == "Last drawing" else None)
    model = use_model(ref)
    _layers(ref, model.config)
    st.subheader("Input")
    ds = test_set(model.config.dataset)
    source = st.segmented_control("Input", SOURCES, default=recall("inspect_source", SOURCES[0]),
                                  required=True, label_visibility="collapsed",
                                  key="inspect_source_pick")
    remember("inspect_source", source)
    input_col, answer_col = st.columns(2, gap="large")
    with input_col:
        image, truth = _input(source, model, ref, ds, drawn_for)
        if image is not None:
            _answer(model, image, truth, answer_col)
    st.subheader("The network")
    st.caption("The chosen model as the book draws LeNet: each box a layer's output "
               "(channels@height×width), the arrows the layers between them.")
    network_figure(model.config, "inspect_network", max_width=820)
    if image is not None:
        _inside(model, image, ref)
    _pair(model, ds)
    _kernels(model)
    share.publish("inspect", share.inspect_state(ref))  # the link to what is on view


main()
