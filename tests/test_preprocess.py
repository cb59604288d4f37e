"""Photos of digits read as MNIST was made (lenet_core.preprocess): each step against a known
answer, then a set of generated photo-like digits read by the shipped model."""

from __future__ import annotations

import io
from collections import deque

import numpy as np
import pytest
from PIL import Image, ImageDraw

from lenet_core.explain import images, inference, preprocess
from lenet_core.runs import checkpoint
from tests.photo_digits import photos


@pytest.fixture(scope="module")
def photo_set(mnist):
    return photos(mnist.test_x.numpy(), mnist.test_y.numpy())


def test_generated_photos_of_digits_are_read_by_the_shipped_model(photo_set):
    model = checkpoint.load_default()
    wrong = []
    for p in photo_set:
        pred = inference.classify(model, images.read(p.raw, "mnist"))
        if pred.label != p.digit:
            wrong.append(f"{p.what}: {p.digit} read as {pred.label} ({pred.confidence:.0%})")
    assert len(photo_set) >= 10
    assert len(wrong) <= len(photo_set) // 10, wrong  # at least 9 in 10


def test_a_photo_of_an_mnist_digit_gives_that_digit_back(photo_set, mnist):
    """Photographed on grey or tinted paper under uneven light, then preprocessed, an MNIST
    test digit comes back close to itself: the paper gone, the digit in MNIST's 20x20 box."""
    shots = [p for p in photo_set if p.mnist_index is not None]
    assert len(shots) >= 5
    for p in shots:
        image = images.read(p.raw, "mnist")
        original = mnist.test_x[p.mnist_index].numpy() / 255
        assert image.shape == (28, 28) and image.max() == pytest.approx(1)
        assert np.corrcoef(image.ravel(), original.ravel())[0, 1] > 0.85, p.what
        assert image[[0, -1]].max() == 0 and image[:, [0, -1]].max() == 0  # no paper box


def test_otsu_splits_two_classes_half_way():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0.2, 0.03, 5000), rng.normal(0.8, 0.03, 5000)])
    assert preprocess.otsu(values) == pytest.approx(0.5, abs=0.05)


def _gradient_paper(h=300, w=400, lo=0.25, hi=0.75):
    """Paper lit from the left: brightness from lo to hi, ink bright (already light on dark)."""
    return np.tile(np.linspace(lo, hi, w, dtype=np.float32), (h, 1))


def test_the_paper_is_estimated_under_the_ink_and_taken_away():
    paper = _gradient_paper()
    x = paper.copy()
    x[100:200, 150:158] += 0.4  # a bright stroke
    x[140:148, 100:300] += 0.4
    bg = preprocess.background(x)
    assert (bg - paper).max() < 0.02  # the ink is not part of the paper
    # A low percentile of a window over a gradient sits under the window's middle: by 0.4 of
    # the change across the window (here 0.5 over the width, the window a third of it).
    assert (paper - bg).max() < 0.4 * 0.5 * preprocess.BACKGROUND_WINDOW + 0.02
    flat = preprocess.flatten(x)
    assert flat[150, 153] > 0.3 and flat[50, 50] < 0.09 and flat[250, 350] < 0.09


def test_dark_ink_is_found_whatever_the_light():
    x = 1 - _gradient_paper(lo=0.3, hi=0.85)  # dark ink wanted: here, paper dark on the left
    paper = 1 - x
    dark_ink = paper.copy()
    dark_ink[100:200, 200:204] = 0.05  # a thin dark line: far under 1 % of the pixels
    assert preprocess.ink_below_paper(dark_ink)
    light_ink = np.zeros((300, 400), np.float32)
    light_ink[100:200, 200:204] = 1.0  # a drawing: light on black
    assert not preprocess.ink_below_paper(light_ink)


def _flood_regions(mask: np.ndarray) -> list[int]:
    """Region areas by breadth-first search over 8 neighbours: an independent count."""
    seen = np.zeros_like(mask)
    areas = []
    for y, x in zip(*np.nonzero(mask), strict=True):
        if seen[y, x]:
            continue
        seen[y, x], todo, area = True, deque([(y, x)]), 0
        while todo:
            cy, cx = todo.popleft()
            area += 1
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    ny, nx = cy + dy, cx + dx
                    if 0 <= ny < mask.shape[0] and 0 <= nx < mask.shape[1] and mask[ny, nx] \
                            and not seen[ny, nx]:
                        seen[ny, nx] = True
                        todo.append((ny, nx))
        areas.append(area)
    return sorted(areas, reverse=True)


def test_regions_are_the_8_connected_components():
    rng = np.random.default_rng(1)
    mask = rng.random((60, 80)) > 0.6
    found = preprocess.regions(mask)
    assert [sum(e - s for _, s, e in g) for g in found] == _flood_regions(mask)


def test_the_digit_is_kept_and_specks_and_edge_shadows_dropped():
    mask = np.zeros((200, 200), bool)
    mask[60:140, 90:98] = True  # the digit: a 1
    mask[150:152, 100:102] = True  # a speck just under it
    mask[10:13, 10:13] = True  # a speck far away
    mask[:, :6] = True  # a shadow along the left edge, larger than the digit
    kept = preprocess.keep_digit(mask)
    assert kept.sum() == 80 * 8 and kept[60:140, 90:98].all()


@pytest.mark.parametrize("width", [3, 6, 10])
def test_stroke_width_of_drawn_lines(width):
    im = Image.new("L", (300, 300))
    ImageDraw.Draw(im).line([(40, 40), (260, 60), (150, 260)], fill=255, width=width)
    assert preprocess.stroke_width(np.asarray(im) > 127) == pytest.approx(width, rel=0.2)


def _png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG")
    return buf.getvalue()


def _width(image: np.ndarray) -> float:
    """A digit's stroke width in pixels: its inked pixels per inked row (a "1" is one stroke)."""
    ink = image > 0.5
    return ink.sum() / ink.any(1).sum()


def test_a_thin_pen_on_a_large_sheet_gets_mnist_strokes(mnist):
    sheet = Image.new("L", (2400, 1800), 200)
    ImageDraw.Draw(sheet).line([(1000, 700), (1000, 1100)], fill=40, width=3)  # a 1, 3 px pen
    image = images.read(_png(np.asarray(sheet)), "mnist")
    ones = mnist.test_x[mnist.test_y == 1].numpy() / 255
    lo, hi = np.percentile([_width(a) for a in ones], (10, 90))  # MNIST's own 1s: 2 to 4.25
    assert lo <= _width(image) <= hi  # scaled down unwidened, the pen is 1 px: too thin
    assert inference.classify(checkpoint.load_default(), image).label == 1


def test_an_unevenly_lit_sheet_with_nothing_on_it_is_blank():
    rng = np.random.default_rng(2)
    paper = 255 * (0.45 + 0.3 * _gradient_paper(lo=0, hi=1)) + rng.normal(0, 4, (300, 400))
    with pytest.raises(images.BlankImage, match="looks blank"):
        images.read(_png(np.clip(paper, 0, 255).astype(np.uint8)), "mnist")


def test_a_28x28_picture_is_taken_as_it_is(mnist):
    for i in range(3):
        digit = mnist.test_x[i].numpy()
        assert np.array_equal(images.read(_png(digit), "mnist"), digit / np.float32(255))
        inverted = images.read(_png(255 - digit), "mnist")  # dark on light: inverted back
        assert np.allclose(inverted, digit / 255, atol=1e-6)
