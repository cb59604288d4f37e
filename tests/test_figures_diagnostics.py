"""lenet_core.show.figures_diagnostics: the Inside view's, Compare's and the finder's figures,
from real records (lenet_core.explain.diagnostics on a LeNet, through JSON as the store keeps
them) and real finder curves."""

import json
import math

import pytest
import torch
from torch import nn

from lenet_core.config import D2L
from lenet_core.explain import diagnostics as dg
from lenet_core.explain import lr_find
from lenet_core.model import build_lenet
from lenet_core.show import figures_diagnostics as fd

RELU = D2L.replace(activation="relu", device="cpu", compile="off")


def _record(net: nn.Module, step: int) -> dict:
    """One record of `net` at `step`, as the store gives it back."""
    g = torch.Generator().manual_seed(step)
    x, y = torch.rand(16, 1, 28, 28, generator=g), torch.randint(0, 10, (16,), generator=g)
    net.zero_grad()
    nn.functional.cross_entropy(net(x), y).backward()
    layers = dg.weight_layers(net)
    rec = dg.measure(net, layers, x, y, torch.full((len(layers),), 1e-3), torch.tensor(2.3))
    rec.update(step=step, x=step / 100)
    return json.loads(json.dumps(rec, allow_nan=False))


@pytest.fixture(scope="module")
def records() -> list[dict]:
    """Steps 1-3 healthy, one layer forced dead from step 2; NaN weights at steps 4 and 5."""
    torch.manual_seed(0)
    net = build_lenet(RELU)
    out = [_record(net, 1)]
    with torch.no_grad():
        net.conv2.bias.fill_(-1e4)  # act2 is 0 everywhere: dead
    out += [_record(net, 2), _record(net, 3)]
    with torch.no_grad():
        net.conv1.weight[0, 0, 0, 0] = float("nan")
    return out + [_record(net, 4), _record(net, 5)]


def _trace(fig, name):
    return next(t for t in fig.data if t.name == name)


def test_dead_fraction_per_relu_layer_over_steps_and_nan_shown_non_finite_not_dead(records):
    fig = fd.inactive_figure(records)
    assert [t.name for t in fig.data] == ["act1 (relu)", "act2 (relu)", "act3 (relu)",
                                          "act4 (relu)", dg.NON_FINITE]
    act2 = _trace(fig, "act2 (relu)")
    assert list(act2.x) == [1, 2, 3, 4, 5]
    assert act2.y[1] == act2.y[2] == 1.0  # forced dead: 100 %
    for t in fig.data[:4]:  # NaN weights: no value at all, never "dead"
        assert t.y[3] is None and t.y[4] is None
    assert list(_trace(fig, dg.NON_FINITE).x) == [4, 5]
    assert [s.x0 for s in fig.layout.shapes] == [4]  # the non-finite steps shaded
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.tickformat == ".0%"


def test_a_sigmoid_net_shows_its_saturated_share():
    net = build_lenet(D2L.replace(device="cpu", compile="off"))
    fig = fd.inactive_figure([_record(net, 1)])
    assert [t.name for t in fig.data] == ["act1 (sigmoid)", "act2 (sigmoid)", "act3 (sigmoid)",
                                          "act4 (sigmoid)"]
    assert all(0 <= t.y[0] <= 1 for t in fig.data)


def test_gradient_norm_per_weight_layer_on_a_log_axis(records):
    fig = fd.grad_norm_figure(records)
    assert fig.layout.yaxis.type == "log" and fig.layout.xaxis.type == "log"
    names = [t.name for t in fig.data]
    assert names == ["conv1", "conv2", "fc1", "fc2", "fc3", dg.NON_FINITE]
    fc3 = _trace(fig, "fc3")
    assert fc3.y[0] == pytest.approx(dg.layer(records[0], "fc3")["grad_norm"])
    assert all(v is None for t in fig.data[:5] for v in t.y[3:])  # non-finite: gaps


def test_update_ratio_has_a_shaded_band_around_1e_3(records):
    fig = fd.update_ratio_figure(records)
    assert fig.layout.yaxis.type == "log"
    band = [s for s in fig.layout.shapes if s.yref == "y" and s.y0 != s.y1]
    assert len(band) == 1 and band[0].y0 < 1e-3 < band[0].y1
    assert math.isclose(math.log10(band[0].y1 / band[0].y0), 1.0)  # a decade wide
    assert _trace(fig, "conv1").y[0] == pytest.approx(1e-3)


def test_step_ticks_label_each_decade_plainly():
    assert fd.step_ticks(60) == [1, 2, 5, 10, 20, 50]
    assert fd.step_ticks(1) == [1]


def test_histograms_one_panel_per_layer_and_a_nan_layer_says_non_finite(records):
    healthy = fd.histogram_figure(records[0], "activation")
    assert [a.text for a in healthy.layout.annotations] == ["act1", "act2", "act3", "act4"]
    assert sum(healthy.data[0].y) == 16 * 6 * 28 * 28  # act1: every value of the 16 images
    weights = fd.histogram_figure(records[0], "weight")
    assert len(weights.data) == 5
    assert sum(weights.data[0].y) == 6 * 1 * 5 * 5  # conv1's 150 weights, every one counted
    broken = fd.histogram_figure(records[4], "activation")
    texts = [a.text for a in broken.layout.annotations]
    assert f"act1 ({dg.NON_FINITE})" in texts and dg.NON_FINITE in texts


def test_compare_overlays_one_diagnostic_of_one_layer_per_run(records):
    fig = fd.overlay_diagnostic_figure([("a <b>", "#111111", records),
                                        ("b", "#222222", records[:3])], "dead", "act2")
    assert [t.name for t in fig.data] == ["a &lt;b&gt;", "b", f"a &lt;b&gt;: {dg.NON_FINITE}"]
    assert list(fig.data[1].y) == [pytest.approx(dg.layer(records[0], "act2")["dead"]), 1.0, 1.0]
    assert fig.data[0].y[3] is None  # non-finite, not dead
    sigmoid = [_record(build_lenet(D2L.replace(device="cpu", compile="off")), 1)]
    empty = fd.overlay_diagnostic_figure([("s", "#111111", sigmoid)], "dead", "act1")
    assert [a.text for a in empty.layout.annotations] == ["no dead units in act1 for these runs"]
    log = fd.overlay_diagnostic_figure([("a", "#111111", records)], "grad_norm", "conv1")
    assert log.layout.yaxis.type == "log"


def _curve(label: str, minimum_at: float, **config) -> lr_find.LrCurve:
    """A finder result whose loss is lowest at `minimum_at` (a parabola in log lr)."""
    def step(lr: float) -> float:
        return 1 + (math.log10(lr) - math.log10(minimum_at)) ** 2
    curve = lr_find.range_test(step, steps=100)
    curve.label, curve.config = label, {"dataset": "fashion-mnist", "batch_size": 256, **config}
    curve.id = label + str(config)
    return curve


def test_the_finder_curve_on_a_log_axis_with_the_lr_marked_and_the_range_shaded():
    relu, sigmoid = _curve("relu", 0.01), _curve("sigmoid", 10.0)
    fig = fd.lr_find_figure([relu, sigmoid], 0.9, current=relu)
    assert fig.layout.xaxis.type == "log"
    lines = [t for t in fig.data if t.mode == "lines"]
    assert [t.line.dash for t in lines] == ["solid", "dash"]  # the form's test, an earlier one
    assert list(lines[0].x) == relu.lrs and list(lines[0].y) == relu.smoothed
    shapes = fig.layout.shapes
    assert [(s.x0, s.x1) for s in shapes if s.x0 != s.x1] == [(relu.low, relu.high)]
    assert [s.x0 for s in shapes if s.x0 == s.x1] == [0.9]  # the form's lr
    # labels sit at the values they name (a log axis takes an annotation's x as log10)
    assert {a.text: a.x for a in fig.layout.annotations} == {
        "suggested": pytest.approx(math.log10(relu.low)), "lr 0.9": pytest.approx(math.log10(0.9))}
    markers = [t for t in fig.data if t.mode == "markers"]
    assert [list(t.x) for t in markers] == [[0.9], [0.9]]  # where 0.9 lands on each curve
    assert "past the loss's minimum" in markers[0].hovertemplate
    assert "past" not in markers[1].hovertemplate


def test_latest_per_test_keeps_the_newest_of_each_test():
    old, other, new = _curve("relu", 0.2), _curve("sigmoid", 5), _curve("relu", 0.3)
    new.id = "newer"
    assert [c.id for c in fd.latest_per_test([old, other, new])] == ["newer", other.id]
    bigger = _curve("relu", 0.2, batch_size=64)
    assert len(fd.latest_per_test([old, bigger])) == 2  # another batch size: another test
