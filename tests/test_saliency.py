"""Saliency maps: shape and range, an analytic reference, where the mass lies for drawn digits,
and Grad-CAM finding the last convolution by type at any depth."""

from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from lenet_core import data
from lenet_core.config import MODERN
from lenet_core.explain import inference, saliency
from lenet_core.runs import checkpoint
from tests.test_inference import _canvas, _stroke


def near(ink: np.ndarray, r: int) -> np.ndarray:
    """The pixels within r (Chebyshev distance) of an inked pixel."""
    out = np.zeros_like(ink)
    padded = np.pad(ink, r)
    for dy in range(2 * r + 1):
        for dx in range(2 * r + 1):
            out |= padded[dy:dy + ink.shape[0], dx:dx + ink.shape[1]]
    return out


def mass_near_ink(smap: np.ndarray, image: np.ndarray, r: int = 2) -> float:
    return float(smap[near(image > inference.INK_THRESHOLD, r)].sum() / smap.sum())


def drawn_digits() -> dict[int, np.ndarray]:
    """Digits as a user draws them on the 280x280 canvas, brush 16 px, preprocessed as MNIST."""
    t = np.linspace(0, 2 * np.pi, 61)
    zero = _canvas()
    for i in range(60):  # an oval
        zero = _stroke(zero, 140 + 100 * np.sin(t[i]), 140 + 60 * np.cos(t[i]),
                       140 + 100 * np.sin(t[i + 1]), 140 + 60 * np.cos(t[i + 1]), 16)
    strokes = {
        1: [(40, 140, 240, 140)],
        4: [(40, 100, 160, 60), (160, 60, 160, 220), (60, 180, 250, 180)],
        7: [(50, 60, 50, 220), (50, 220, 240, 120)],
    }
    digits = {0: zero}
    for digit, lines in strokes.items():
        canvas = _canvas()
        for line in lines:
            canvas = _stroke(canvas, *line, 16)
        digits[digit] = canvas
    return {d: inference.preprocess_canvas(c) for d, c in digits.items()}


def test_every_method_gives_a_map_of_the_input_shape_in_0_1(mnist):
    model = checkpoint.load_default()
    for method in saliency.METHODS:
        smap = saliency.saliency(model, mnist.test_x[0], method)
        assert smap.shape == (28, 28) and smap.dtype == np.float32
        assert smap.max() == pytest.approx(1.0) and smap.min() >= 0
    with pytest.raises(ValueError, match="unknown saliency method"):
        saliency.saliency(model, mnist.test_x[0], "occlusion")


def test_gradient_of_a_linear_model_is_its_weights():
    # logit_k = W_k . (x - mean) / std + b_k, so d logit_k / dx = W_k / std: |W_k| up to scale.
    torch.manual_seed(0)
    net = nn.Sequential(OrderedDict(flatten=nn.Flatten(), fc=nn.Linear(784, 10))).eval()
    model = checkpoint.LoadedModel(net, MODERN, data.class_names("mnist"), "linear")
    w = net.fc.weight.detach()[3].abs().reshape(28, 28).numpy()
    smap = saliency.gradient(model, np.zeros((28, 28), np.float32), target=3)
    assert smap == pytest.approx(w / w.max(), abs=1e-5)
    assert saliency.gradcam(model, np.zeros((28, 28), np.float32)) is None  # no convolution


def test_for_drawn_digits_most_of_the_mass_lies_on_or_next_to_the_ink(mnist):
    model = checkpoint.load_default()
    for digit, image in drawn_digits().items():
        assert inference.classify(model, image).label == digit
        # Grad-CAM, the default view: most of its mass within 2 px of a stroke (at 28x28).
        assert mass_near_ink(saliency.gradcam(model, image), image) > 0.5, digit
    # Every method, over real test digits: the mass sits on and around the ink (that area is
    # ~40 % of the image, so a map spread evenly would score ~0.4).
    for method in saliency.METHODS:
        masses = [mass_near_ink(saliency.saliency(model, x, method), x.float().numpy() / 255)
                  for x in mnist.test_x[:20]]
        assert np.mean(masses) > 0.5, method


def test_gradcam_finds_the_last_convolution_by_type_at_any_depth():
    # Three conv stages, nested and named freely: Grad-CAM must use the third conv's activation.
    torch.manual_seed(0)
    stage = lambda c_in, c_out: nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(),  # noqa: E731
                                              nn.MaxPool2d(2))
    net = nn.Sequential(stage(1, 4), stage(4, 8), stage(8, 8), nn.Flatten(),
                        nn.Linear(8 * 3 * 3, 10)).eval()
    model = checkpoint.LoadedModel(net, MODERN, data.class_names("mnist"), "deep")
    conv, after = saliency.last_conv_stage(net)
    assert conv is net[2][0] and after is net[2][1]
    image = drawn_digits()[7]
    smap = saliency.gradcam(model, image)
    assert smap.shape == (28, 28) and smap.any()
