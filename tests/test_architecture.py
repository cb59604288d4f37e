"""The architecture figure (lenet_core.architecture): its boxes and labels against the book's
figure and against the layer table (lenet_core.model.summary, a real forward pass), for every
network the config can build; and its three renderings."""

import io
import itertools
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from lenet_core.config import D2L, TrainConfig, check
from lenet_core.model import summary
from lenet_core.show import architecture as arch
from lenet_core.show import architecture_render as render

# d2l Fig. 7.6.1 for the book's LeNet (the seed's picture), box by box.
BOOK = [("INPUT", "28×28"), ("C1", "6@28×28"), ("S2", "6@14×14"), ("C3", "16@10×10"),
        ("S4", "16@5×5"), ("F5", "dense 120"), ("F6", "dense 84"), ("OUTPUT", "10")]
THREE_STAGES = TrainConfig(conv_channels=(6, 16, 32), kernel_size=3, hidden=(64,))


def buildable() -> list[TrainConfig]:
    """Every shape of network the config can build: 1-3 stages, kernels 3/5/7, 0-3 hidden
    layers, pooling before or after the activation, the MLP; with and without batch norm."""
    extra = [{"batch_norm": False}, {"batch_norm": True}]
    configs = []
    for stages, k, hidden, pool_first, more in itertools.product(
            (1, 2, 3), (3, 5, 7), ((), (120,), (120, 84), (64, 32, 16)), (False, True), extra):
        values = dict(conv_channels=(6, 16, 32)[:stages], kernel_size=k, hidden=hidden,
                      pool_first=pool_first, pooling="max" if pool_first else "avg", **more)
        if not check({**D2L.__dict__, **values}):
            configs.append(D2L.replace(**values))
    return configs + [D2L.replace(arch="mlp", hidden=h) for h in ((), (256,), (120, 84))] + \
        [D2L.replace(arch="mlp", hidden=(120, 84), batch_norm=True, dropout=0.5)]


def test_the_books_config_gives_the_books_figure():
    boxes = arch.boxes(D2L)
    assert [(b.tag, b.caption) for b in boxes] == BOOK
    assert [b.params for b in boxes] == [0, 156, 0, 2_416, 0, 48_120, 10_164, 850]
    assert boxes[1].op == ("conv 5×5", "pad 2", "stride 1", "sigmoid")
    assert boxes[2].op == ("avg pool 2×2", "stride 2")
    assert boxes[3].op == ("conv 5×5", "pad 0", "stride 1", "sigmoid")
    assert boxes[5].op == ("flatten", "dense", "sigmoid")
    texts = arch.full_drawing(D2L).texts()
    for tag, caption in BOOK:
        assert tag in texts and caption in texts
    assert "61,706 parameters" in arch.full_drawing(D2L).title


def test_three_stages_of_3x3_kernels_and_one_hidden_layer():
    # By hand: 28 -pad 1-> 28 -pool-> 14 -3x3-> 12 -pool-> 6 -3x3-> 4 -pool-> 2; 32*2*2 = 128.
    boxes = arch.boxes(THREE_STAGES)
    assert [b.label for b in boxes] == [
        "INPUT 28×28", "C1 6@28×28", "S2 6@14×14", "C3 16@12×12", "S4 16@6×6", "C5 32@4×4",
        "S6 32@2×2", "F7 dense 64", "OUTPUT 10"]
    assert [b.params for b in boxes] == [0, 6 * 10, 0, 16 * (6 * 9 + 1), 0, 32 * (16 * 9 + 1), 0,
                                        128 * 64 + 64, 64 * 10 + 10]
    assert boxes[1].op[:3] == ("conv 3×3", "pad 1", "stride 1")
    assert boxes[3].op[:3] == ("conv 3×3", "pad 0", "stride 1")


@pytest.mark.parametrize("config", [D2L, THREE_STAGES])
def test_boxes_agree_with_the_layer_table(config):
    rows = {r.layer: r for r in summary(config)}
    for box in arch.boxes(config)[1:]:
        last = rows[box.layers[-1]]
        assert (1, *box.shape) == last.output_shape, box
        assert box.params == sum(rows[name].params for name in box.layers)
    assert [n for b in arch.boxes(config) for n in b.layers] == list(rows)  # each layer once


def test_every_buildable_network_matches_its_layer_table():
    configs = buildable()
    assert len(configs) > 50
    for config in configs:
        rows = summary(config)
        ours = arch.layers(config)
        assert [(x.name, x.type, (1, *x.shape), x.params) for x in ours] == \
            [(r.layer, r.type, r.output_shape, r.params) for r in rows], config
        boxes = arch.boxes(config)
        assert boxes[0].tag == "INPUT" and boxes[-1].label == "OUTPUT 10"
        assert sum(b.params for b in boxes) == sum(r.params for r in rows)
        if config.arch == "lenet":
            k = config.kernel_size
            convs = [b for b in boxes if b.kind == "conv"]
            assert len(convs) == len(config.conv_channels)
            assert all(b.op[0] == f"conv {k}×{k}" for b in convs)
            pools = [b for b in boxes if b.kind == "pool"]
            assert all(b.op[0] == f"{config.pooling} pool 2×2" for b in pools)


def test_pool_first_puts_the_activation_after_the_pooling():
    cfg = D2L.replace(pool_first=True, pooling="max", activation="relu")
    boxes = arch.boxes(cfg)
    assert boxes[1].op == ("conv 5×5", "pad 2", "stride 1")
    assert boxes[2].op == ("max pool 2×2", "stride 2", "relu")
    assert [(b.tag, b.caption) for b in boxes] == BOOK  # the same shapes


def test_the_mlp_is_drawn_as_its_layers_of_units():
    boxes = arch.boxes(D2L.replace(arch="mlp"))
    assert [b.label for b in boxes] == ["INPUT 28×28", "F1 dense 120", "F2 dense 84", "OUTPUT 10"]
    assert boxes[1].op[0] == "flatten" and boxes[1].params == 784 * 120 + 120


def test_compressed_notation_has_one_box_per_layer():
    d = arch.compressed_drawing(D2L)
    texts = d.texts()
    for r in summary(D2L):
        assert "×".join(map(str, r.output_shape[1:])) in texts
    assert texts.count("Convolution 5×5, pad 2, stride 1") == 1
    assert texts.count("Average pool 2×2, stride 2") == 2
    assert texts.count("Sigmoid") == 4
    assert "Dense 400 → 120" in texts


@pytest.mark.parametrize("notation", ["full", "compressed"])
def test_every_network_renders_as_svg_png_and_plotly(notation):
    for config in buildable()[::7] + [THREE_STAGES]:
        d = arch.drawing(config, notation)
        svg = ET.fromstring(render.to_svg(d))  # well-formed XML
        ns = "{http://www.w3.org/2000/svg}"
        shown = [t.text for t in svg.iter(f"{ns}text")]
        assert shown == d.texts()
        assert len(list(svg.iter(f"{ns}rect"))) == 1 + sum(isinstance(i, arch.Rect) for i in d.items)
        png = Image.open(io.BytesIO(render.to_png(d, scale=2)))
        assert png.size == (round(d.width * 2), round(d.height * 2))
        fig = render.to_plotly(d)
        notes = [a.text for a in fig.layout.annotations if a.text]
        assert sorted(n.removeprefix("<b>").removesuffix("</b>") for n in notes) == sorted(d.texts())


def test_the_png_draws_the_boxes():
    d = arch.full_drawing(D2L)
    img = Image.open(io.BytesIO(render.to_png(d, scale=1))).convert("RGB")
    c1 = next(i for i in d.items if isinstance(i, arch.Rect) and i.hover.startswith("C1"))
    inside = img.getpixel((round(c1.x + c1.w / 2), round(c1.y + c1.h - 5)))
    assert inside == tuple(int(arch.FILLS["conv"][k:k + 2], 16) for k in (1, 3, 5))


def test_a_full_figure_wraps_to_the_width_it_is_given():
    one_row = arch.full_drawing(THREE_STAGES)
    wrapped = arch.full_drawing(THREE_STAGES, max_width=560)
    assert one_row.width > 560 >= wrapped.width
    assert wrapped.height > one_row.height
    for item in wrapped.items:
        if isinstance(item, arch.Rect):
            assert item.x + item.w <= 560
    assert sorted(wrapped.texts()) == sorted(one_row.texts())
