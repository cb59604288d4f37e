"""Photo-like digits, made deterministically: real MNIST test digits and pen-drawn strokes on
grey or tinted paper, under uneven light, with noise, thin and thick pens, off-centre, on small
and large sheets; encoded as a phone or a scanner would save them (JPEG or PNG).

What a learner uploads when they photograph a digit they wrote. Each case names the digit it
shows, so a test can ask the shipped model to read it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

# Pen-drawn digits as polylines in a box 0.6 wide and 1 high (x right, y down), as a person
# writes them: one or two strokes each.
_ARC = np.linspace(0, 2 * np.pi, 48)
STROKES = {
    "0": [[(0.3 + 0.28 * np.sin(a), 0.5 - 0.48 * np.cos(a)) for a in _ARC]],
    "1": [[(0.18, 0.18), (0.34, 0.0), (0.34, 1.0)]],
    "2": [[(0.04, 0.22), (0.16, 0.04), (0.36, 0.0), (0.54, 0.12), (0.54, 0.32), (0.3, 0.62),
           (0.02, 0.98), (0.6, 0.98)]],
    "3": [[(0.05, 0.1), (0.3, 0.0), (0.52, 0.12), (0.48, 0.34), (0.22, 0.46), (0.52, 0.58),
           (0.56, 0.82), (0.34, 0.99), (0.02, 0.9)]],
    "4": [[(0.42, 1.0), (0.42, 0.0), (0.0, 0.68), (0.6, 0.68)]],
    "7": [[(0.0, 0.02), (0.6, 0.02), (0.22, 1.0)]],
}


@dataclass(frozen=True)
class Photo:
    """One generated picture: what it shows and how it was taken."""

    digit: int
    what: str  # the conditions, for messages
    raw: bytes  # the file's bytes
    mnist_index: int | None = None  # the MNIST test image it shows, if it shows one


def _ink_from_mnist(image: np.ndarray, height: int) -> np.ndarray:
    """A 28x28 MNIST digit (uint8) enlarged to height x height ink coverage in [0, 1]."""
    big = Image.fromarray(image).resize((height, height), Image.Resampling.BICUBIC)
    return np.clip(np.asarray(big, np.float32) / 255, 0, 1)


def _ink_from_strokes(digit: str, height: int, pen: int) -> np.ndarray:
    """A pen-drawn digit, `height` pixels tall, its strokes `pen` pixels wide."""
    pad = pen + 2
    canvas = Image.new("L", (round(0.6 * height) + 2 * pad, height + 2 * pad), 0)
    draw = ImageDraw.Draw(canvas)
    for stroke in STROKES[digit]:
        points = [(pad + x * height, pad + y * height) for x, y in stroke]
        draw.line(points, fill=255, width=pen, joint="curve")
        for x, y in (points[0], points[-1]):  # round pen ends
            draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=255)
    return np.asarray(canvas, np.float32) / 255


def _light(shape: tuple[int, int], rng: np.random.Generator, strength: float) -> np.ndarray:
    """Uneven light over a sheet: a linear gradient in a random direction and a vignette,
    from 1 - strength (darkest) to 1."""
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * xs / w + np.sin(angle) * ys / h)
    ramp = (ramp - ramp.min()) / (ramp.max() - ramp.min())
    cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
    vignette = np.hypot((ys - cy) / h, (xs - cx) / w)
    field = 0.6 * ramp + 0.4 * vignette / vignette.max()
    return (1 - strength * field)[..., None]


def photo(ink: np.ndarray, *, sheet: tuple[int, int], at: tuple[float, float],
          paper: tuple[int, int, int], pen_color: tuple[int, int, int], light: float,
          noise: float, blur: float, jpeg: bool, seed: int) -> bytes:
    """`ink` (coverage in [0, 1]) placed on a sheet of `paper` with its top-left corner at
    `at` (fractions of the sheet), lit unevenly, blurred, noisy, encoded."""
    rng = np.random.default_rng(seed)
    h, w = sheet
    cover = np.zeros((h, w), np.float32)
    top, left = round(at[0] * (h - ink.shape[0])), round(at[1] * (w - ink.shape[1]))
    cover[top:top + ink.shape[0], left:left + ink.shape[1]] = ink
    c = cover[..., None]
    rgb = (1 - c) * np.array(paper, np.float32) + c * np.array(pen_color, np.float32)
    rgb = rgb * _light((h, w), rng, light)
    im = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    if blur:
        im = im.filter(ImageFilter.GaussianBlur(blur))
    noisy = np.asarray(im, np.float32) + rng.normal(0, noise, (h, w, 3))
    im = Image.fromarray(np.clip(noisy, 0, 255).round().astype(np.uint8))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=80) if jpeg else im.save(buf, "PNG")
    return buf.getvalue()


GREY = (150, 150, 150)
GREY_LIGHT = (190, 188, 185)
CREAM = (225, 212, 170)
BLUE_PAPER = (175, 195, 215)
PENCIL = (85, 85, 90)
BLACK_PEN = (30, 30, 35)
BLUE_PEN = (30, 45, 120)


def photos(mnist_x: np.ndarray, mnist_y: np.ndarray) -> list[Photo]:
    """The test set: 6 real MNIST test digits and 6 pen-drawn digits, each under different
    conditions. `mnist_x`, `mnist_y`: the MNIST test images (uint8) and labels."""
    out = []
    mnist_cases = [  # (test index, sheet, digit height, at, paper, pen, light, noise, blur, jpeg)
        (0, (600, 800), 260, (0.4, 0.5), GREY, BLACK_PEN, 0.45, 6, 1.0, True),  # the grey 7
        (1, (900, 1200), 200, (0.15, 0.75), CREAM, BLUE_PEN, 0.35, 8, 1.5, True),
        (4, (480, 640), 300, (0.7, 0.2), BLUE_PAPER, BLACK_PEN, 0.5, 10, 0.0, False),
        (8, (1200, 1600), 240, (0.85, 0.9), GREY_LIGHT, PENCIL, 0.3, 5, 2.0, True),
        (11, (700, 700), 380, (0.5, 0.5), GREY, BLUE_PEN, 0.55, 12, 1.0, True),
        (18, (1500, 2000), 180, (0.2, 0.1), CREAM, PENCIL, 0.4, 6, 1.0, True),
    ]
    for k, (i, sheet, size, at, paper, pen, light, noise, blur, jpeg) in enumerate(mnist_cases):
        raw = photo(_ink_from_mnist(mnist_x[i], size), sheet=sheet, at=at, paper=paper,
                    pen_color=pen, light=light, noise=noise, blur=blur, jpeg=jpeg, seed=k)
        out.append(Photo(int(mnist_y[i]), f"MNIST test #{i} on a {sheet[1]}x{sheet[0]} sheet",
                         raw, i))
    pen_cases = [  # (digit, sheet, height, pen px, at, paper, pen, light, noise, blur, jpeg)
        ("7", (2000, 2600), 420, 4, (0.6, 0.3), GREY_LIGHT, BLACK_PEN, 0.4, 6, 1.0, True),
        ("4", (1800, 2400), 300, 3, (0.25, 0.8), CREAM, BLUE_PEN, 0.3, 5, 0.8, True),
        ("2", (900, 1200), 500, 28, (0.5, 0.45), GREY, BLACK_PEN, 0.5, 8, 1.5, True),
        ("3", (1600, 1200), 360, 6, (0.1, 0.1), BLUE_PAPER, BLACK_PEN, 0.45, 7, 1.0, False),
        ("0", (2400, 3200), 500, 5, (0.8, 0.6), GREY_LIGHT, PENCIL, 0.35, 6, 1.2, True),
        ("1", (800, 1000), 380, 14, (0.3, 0.15), CREAM, BLACK_PEN, 0.5, 9, 1.0, True),
    ]
    for k, (d, sheet, size, pen_px, at, paper, pen, light, noise, blur, jpeg) in enumerate(
            pen_cases, start=len(mnist_cases)):
        raw = photo(_ink_from_strokes(d, size, pen_px), sheet=sheet, at=at, paper=paper,
                    pen_color=pen, light=light, noise=noise, blur=blur, jpeg=jpeg, seed=k)
        out.append(Photo(int(d), f"a {d} in a {pen_px} px pen on a {sheet[1]}x{sheet[0]} "
                                 "sheet", raw))
    return out
