"""Inference: canvas preprocessing (MNIST's procedure), predictions, feature maps."""

import numpy as np
import pytest
import torch

from lenet_core.explain import inference
from lenet_core.runs import checkpoint


def _canvas(size=280):
    return np.zeros((size, size, 4), np.uint8)


def _stroke(canvas, y0, x0, y1, x1, width=6):
    """A white line on the RGBA canvas, as a brush would leave it."""
    for t in np.linspace(0, 1, 200):
        y, x = int(y0 + t * (y1 - y0)), int(x0 + t * (x1 - x0))
        canvas[max(0, y - width // 2):y + width // 2 + 1, max(0, x - width // 2):x + width // 2 + 1] = 255
    return canvas


def _center_of_mass(img):
    ys, xs = np.indices(img.shape)
    return (ys * img).sum() / img.sum(), (xs * img).sum() / img.sum()


def test_small_off_centre_stroke_is_centred_by_mass():
    img = inference.preprocess_canvas(_stroke(_canvas(), 20, 230, 60, 250))
    assert img.shape == (28, 28) and img.dtype == np.float32
    cy, cx = _center_of_mass(img)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1
    # Scaled to fit 20x20: the longer side spans ~20 pixels.
    rows = np.flatnonzero(img.max(1) > 0.1)
    assert 18 <= rows[-1] - rows[0] + 1 <= 21


def test_wide_stroke_keeps_its_aspect_ratio():
    img = inference.preprocess_canvas(_stroke(_canvas(), 140, 20, 140, 260))
    rows, cols = np.flatnonzero(img.max(1) > 0.1), np.flatnonzero(img.max(0) > 0.1)
    assert cols[-1] - cols[0] + 1 >= 19
    assert rows[-1] - rows[0] + 1 <= 4


def test_any_size_and_grayscale_input():
    for canvas in (_stroke(_canvas(100), 10, 10, 90, 50, 3), _stroke(_canvas(500), 50, 50, 450, 300, 12)):
        assert inference.preprocess_canvas(canvas).shape == (28, 28)
    gray = _stroke(_canvas(), 50, 140, 230, 140)[..., 0]
    assert inference.preprocess_canvas(gray).shape == (28, 28)


def test_empty_canvas_is_nothing_drawn():
    assert inference.preprocess_canvas(_canvas()) is None
    transparent_white = np.full((280, 280, 4), 255, np.uint8)
    transparent_white[..., 3] = 0  # white but fully transparent: still nothing drawn
    assert inference.preprocess_canvas(transparent_white) is None
    model = checkpoint.load_default()
    pred = inference.classify_canvas(model, _canvas())
    assert pred.empty and pred.label is None and pred.probs is None


def test_bad_canvas_shape_is_a_clear_error():
    with pytest.raises(ValueError, match="RGBA"):
        inference.preprocess_canvas(np.zeros((2, 2, 2, 2)))


def test_default_model_reads_mnist(mnist):
    model = checkpoint.load_default()
    probs = inference.predict_proba(model, mnist.test_x[:2000])
    assert (probs.argmax(1) == mnist.test_y[:2000]).float().mean() > 0.98


def test_drawn_digits_are_recognised():
    model = checkpoint.load_default()
    one = _stroke(_canvas(), 40, 140, 240, 140, 16)  # a vertical bar, drawn large and centred
    assert inference.classify_canvas(model, one).label == 1
    small_one = _stroke(_canvas(), 20, 240, 80, 240, 5)  # small, in a corner
    assert inference.classify_canvas(model, small_one).label == 1
    seven = _stroke(_stroke(_canvas(), 50, 60, 50, 220, 16), 50, 220, 240, 120, 16)
    pred = inference.classify_canvas(model, seven)
    assert pred.label == 7 and pred.confidence > 0.5


def test_feature_maps_cover_every_layer():
    model = checkpoint.load_default()
    maps = inference.feature_maps(model, torch.zeros(28, 28, dtype=torch.uint8))
    assert [m.layer for m in maps] == [name for name, _ in model.net.named_children()]
    assert maps[0].output.shape == (6, 28, 28) and maps[-1].output.shape == (10,)
    kernels = inference.conv_kernels(model)
    assert kernels["conv1"].shape == (6, 1, 5, 5) and kernels["conv2"].shape == (16, 6, 5, 5)
