"""Drawings and photos made into what a model reads, as each dataset was made.

A drawing on the black canvas (light ink on dark) goes through its dataset's own procedure:
MNIST's crop, fit 20x20 and centre by mass (preprocess_canvas), or Fashion-MNIST's trim and fit
28x28 (preprocess_fashion).

A photo of a digit is dark ink on paper that is grey, tinted or unevenly lit, often on a sheet
much larger than the digit. Cropping it at a fixed brightness (what a drawing on the black
canvas needs: preprocess_canvas) keeps the paper as a grey box, and scaling a large
sheet down leaves a thin pen's strokes as faint lines. So a photo goes through these steps:

1. orient: ink made light on dark, as both datasets are (which side is ink: the side farther
   from the border's typical brightness, the paper);
2. flatten: the paper's own brightness, estimated at every pixel as a low percentile over a
   window a third of the picture wide (ink is the minority there), then smoothed, is
   subtracted: uneven light and tinted paper become 0;
3. threshold: a level chosen from the image (Otsu's method), never below the noise (a multiple
   of its robust spread); blank when nothing stands out;
4. keep the digit: the connected ink regions near the largest one (specks, and regions on the
   picture's edge such as a shadow, are dropped);
5. thicken: strokes narrower than MNIST's once scaled to its 20x20 box are widened first (a
   grey dilation in proportion to the scaling);
6. MNIST's own procedure on the result (preprocess_canvas).

Pure numpy and Pillow; every step is a function with a test of its own (tests/test_preprocess.py).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

INK_THRESHOLD = 0.15  # on the canvas, a pixel brighter than this (in [0, 1]) counts as ink
CANVAS_MIN_INK = 4  # fewer inked pixels than this is "nothing drawn", not a digit
WORK_SIDE = 1024  # longest side the steps work at: a thin pen on a large sheet stays visible
BACKGROUND_SIDE = 64  # the paper's brightness is estimated on a copy this small (it is smooth)
BACKGROUND_WINDOW = 1 / 3  # of the picture's longer side: wider than any stroke
BACKGROUND_PERCENTILE = 10  # in the window, 90 % of the pixels may be ink and still be ignored
NOISE_FLOOR = 5.0  # the threshold stays this many robust standard deviations above the paper
MIN_CONTRAST = 0.08  # ink less than this far above the paper (in [0, 1]) is not there
MIN_INK_PIXELS = 12  # fewer inked pixels than this (at WORK_SIDE) is a blank picture
KEEP_SHARE = 0.05  # a region under this share of the largest is a speck
KEEP_GAP = 0.35  # a region farther than this share of the digit's size from it is elsewhere
MNIST_STROKE = 2.5  # MNIST's median stroke width, pixels of its 28x28 (stroke_width, ink > 0.5)


# --- a drawing, or a picture already light on dark: each dataset's own procedure -----------

def _gray(a: np.ndarray) -> np.ndarray:
    """(H, W, 4) RGBA, (H, W, 3) RGB or (H, W) gray (uint8 or float in [0, 1]) -> float gray."""
    a = np.asarray(a)
    if a.ndim == 3 and a.shape[2] in (3, 4):
        rgb = a[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        alpha = a[..., 3].astype(np.float32) / 255 if a.shape[2] == 4 else 1.0
        return rgb * alpha / 255
    if a.ndim == 2:
        return a.astype(np.float32) / (255 if a.dtype == np.uint8 else 1)
    raise ValueError(f"expected an (H, W, 4) RGBA or (H, W) image, got shape {a.shape}")


def _ink_box(gray: np.ndarray) -> np.ndarray | None:
    """The image cropped to its ink, or None when there is (almost) none."""
    ink = gray > INK_THRESHOLD
    if ink.sum() < CANVAS_MIN_INK:
        return None
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    return gray[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _fit(crop: np.ndarray, side: int) -> np.ndarray:
    """Scaled so that its longer side is `side` pixels, keeping the aspect ratio."""
    h, w = crop.shape
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))  # PIL wants (width, height)
    return np.clip(np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.LANCZOS)), 0, 1)


def _paste(small: np.ndarray, top: int, left: int) -> np.ndarray:
    """`small` placed on a black 28x28 field at (top, left), clipping what falls off."""
    out = np.zeros((28, 28), np.float32)
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + small.shape[0], 28), min(left + small.shape[1], 28)
    out[y0:y1, x0:x1] = small[y0 - top:y1 - top, x0 - left:x1 - left]
    return out


def preprocess_canvas(rgba: np.ndarray) -> np.ndarray | None:
    """A drawing (H, W, 4) RGBA or (H, W) gray, light ink on dark, any size -> the 28x28 float
    image in [0, 1] that MNIST would have made of it, or None when nothing is drawn.

    MNIST's own procedure: crop to the ink, scale to fit 20x20 keeping the aspect ratio, then
    place in 28x28 so that the centre of mass sits at the centre."""
    crop = _ink_box(_gray(rgba))
    if crop is None:
        return None
    small = _fit(crop, 20)
    total = small.sum()
    ys, xs = np.indices(small.shape)
    cy, cx = (ys * small).sum() / total, (xs * small).sum() / total
    return _paste(small, int(round(14 - cy)), int(round(14 - cx)))


def preprocess_fashion(image: np.ndarray) -> np.ndarray | None:
    """A picture, light on dark, any size -> the 28x28 float image Fashion-MNIST would have made
    of it, or None when it is blank. Fashion-MNIST's procedure: trim to the object, scale its
    longer side to 28 pixels, centre it on the shorter side."""
    crop = _ink_box(_gray(image))
    if crop is None:
        return None
    small = _fit(crop, 28)
    return _paste(small, (28 - small.shape[0]) // 2, (28 - small.shape[1]) // 2)


def dataset_way(image: np.ndarray, dataset: str) -> np.ndarray | None:
    """A drawing or picture (light on dark) -> what a `dataset` model reads, or None if blank."""
    return preprocess_fashion(image) if dataset == "fashion-mnist" else preprocess_canvas(image)


# --- a photo: the paper and its light taken away first -------------------------------------

def working_copy(gray: np.ndarray, side: int = WORK_SIDE) -> np.ndarray:
    """A float gray image no larger than side x side, each pixel the mean of those it covers."""
    h, w = gray.shape
    if max(h, w) <= side:
        return gray.astype(np.float32)
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(gray.astype(np.float32)).resize(size, Image.Resampling.BOX))


def ink_is_dark(gray: np.ndarray) -> bool:
    """Whether the ink is darker than the paper, for a picture that is mostly paper: its
    border. A flat picture is paper if it is light."""
    b = max(1, round(0.02 * min(gray.shape)))
    border = np.concatenate([gray[:b].ravel(), gray[-b:].ravel(), gray[:, :b].ravel(),
                             gray[:, -b:].ravel()])
    return float(np.median(border)) > 0.5


def light_on_dark(gray: np.ndarray) -> np.ndarray:
    """MNIST and Fashion-MNIST are light on black: an image whose paper is light is inverted."""
    return 1 - gray if ink_is_dark(gray) else gray


def ink_below_paper(gray: np.ndarray) -> bool:
    """Whether a photo's ink is darker than its paper, however the paper is lit: the ink is
    the side on which the picture strays farthest from its local paper level (the median
    over a wide window), noise and a thin pen's few pixels included."""
    deviation = box_mean(gray - background(gray, percentile=50))
    return -float(deviation.min()) > float(deviation.max())


def _window_percentile(a: np.ndarray, size: int, q: float) -> np.ndarray:
    """The q-th percentile of each size x size window (edges repeated), same shape as `a`."""
    pad = size // 2
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(a, pad, mode="edge"),
                                                       (size, size))
    return np.percentile(windows, q, axis=(-2, -1)).astype(np.float32)


def background(x: np.ndarray, percentile: float = BACKGROUND_PERCENTILE) -> np.ndarray:
    """The paper's brightness at every pixel of `x` (ink light on dark paper): a low percentile
    over a wide window on a small copy, smoothed, then enlarged back to x's size."""
    h, w = x.shape
    small = working_copy(x, BACKGROUND_SIDE)
    size = max(3, round(BACKGROUND_WINDOW * max(small.shape)) | 1)
    paper = _window_percentile(small, size, percentile)
    paper = _window_percentile(paper, max(3, size // 2 | 1), 50)  # the median smooths steps
    return np.asarray(Image.fromarray(paper).resize((w, h), Image.Resampling.BILINEAR))


def flatten(x: np.ndarray) -> np.ndarray:
    """`x` (ink light on dark) with the paper taken away: paper 0 however it was lit."""
    return np.clip(x - background(x), 0, None)


def otsu(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold: the level that best splits `values` into two classes (the largest
    variance between their means); across an empty gap every level splits alike, and the
    middle of the gap is taken."""
    hist, edges = np.histogram(values, bins=bins)
    p = hist / max(1, hist.sum())
    w0 = np.cumsum(p)[:-1]  # the lower class's share, for each cut after bin k
    m0 = np.cumsum(p * (edges[:-1] + edges[1:]) / 2)
    between = (m0[-1] * w0 - m0[:-1]) ** 2 / np.maximum(w0 * (1 - w0), 1e-12)
    best = np.flatnonzero(between >= between.max() * (1 - 1e-9))
    return float(edges[1:-1][best].mean()) if len(best) else float(edges[1])


def box_mean(a: np.ndarray, size: int = 3) -> np.ndarray:
    """The mean of each size x size window (edges repeated): light denoising."""
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(a, size // 2, mode="edge"),
                                                       (size, size))
    return windows.mean(axis=(-2, -1)).astype(np.float32)


def _erode(mask: np.ndarray) -> np.ndarray:
    """Pixels of `mask` whose four neighbours are in it too."""
    m = np.pad(mask, 1)
    return mask & m[:-2, 1:-1] & m[2:, 1:-1] & m[1:-1, :-2] & m[1:-1, 2:]


def stroke_width(mask: np.ndarray) -> float:
    """The strokes' typical width in pixels: a stroke of width w and length L covers w * L
    pixels, 2 * L of them on its edge (exact from w = 2 up; a 1-pixel line reads 2)."""
    area = int(mask.sum())
    edge = area - int(_erode(mask).sum())
    return 2 * area / edge if edge else 0.0


def regions(mask: np.ndarray) -> list[list[tuple[int, int, int]]]:
    """The 8-connected regions of `mask`, each a list of runs (row, first col, end col), the
    largest first. Runs are joined row by row (union-find), so a digit of a few thousand
    runs costs milliseconds however large the picture."""
    parent: list[int] = []
    runs: list[tuple[int, int, int]] = []

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    prev: list[int] = []
    for y in range(mask.shape[0]):
        d = np.diff(mask[y].astype(np.int8), prepend=0, append=0)
        cur = []
        j = 0
        for s, e in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True):
            k = len(runs)
            runs.append((y, int(s), int(e)))
            parent.append(k)
            cur.append(k)
            while j < len(prev) and runs[prev[j]][2] < s:  # ends left of this run's reach
                j += 1
            i = j
            while i < len(prev) and runs[prev[i]][1] <= e:  # starts within reach: touching
                parent[root(prev[i])] = root(k)
                i += 1
        prev = cur
    groups: dict[int, list[tuple[int, int, int]]] = {}
    for k, run in enumerate(runs):
        groups.setdefault(root(k), []).append(run)
    return sorted(groups.values(), key=lambda g: -_area(g))


def _box(runs: list[tuple[int, int, int]]) -> tuple[int, int, int, int]:
    """(top, bottom, left, right), inclusive."""
    return (min(r[0] for r in runs), max(r[0] for r in runs), min(r[1] for r in runs),
            max(r[2] for r in runs) - 1)


def _area(runs: list[tuple[int, int, int]]) -> int:
    return sum(e - s for _, s, e in runs)


def keep_digit(mask: np.ndarray) -> np.ndarray | None:
    """The regions of `mask` that make the digit: the largest region not on the picture's
    edge (a shadow or the table is), and those near it that are not specks; None if none."""
    h, w = mask.shape
    found = regions(mask)
    inside = [g for g in found if not _touches_edge(_box(g), h, w)]
    # A digit that runs off the picture touches its edge too: when nothing comparable lies
    # inside, the edge regions are kept.
    if inside and _area(inside[0]) >= 0.25 * _area(found[0]):
        found = inside
    if not found:
        return None
    main = found[0]
    biggest = _area(main)
    top, bottom, left, right = _box(main)
    reach = KEEP_GAP * max(bottom - top + 1, right - left + 1)
    out = np.zeros_like(mask)
    for g in found:
        t, b, le, r = _box(g)
        near = t <= bottom + reach and b >= top - reach and le <= right + reach \
            and r >= left - reach
        if g is main or (near and _area(g) >= KEEP_SHARE * biggest):
            for y, s, e in g:
                out[y, s:e] = True
    return out


def _touches_edge(box: tuple[int, int, int, int], h: int, w: int) -> bool:
    top, bottom, left, right = box
    return top == 0 or left == 0 or bottom == h - 1 or right == w - 1


def ink_mask(flat: np.ndarray) -> np.ndarray | None:
    """The inked pixels of a flattened picture (paper 0): above a level chosen from the image
    (Otsu) and above the paper's noise; None when nothing stands out (a blank sheet)."""
    smooth = box_mean(flat)
    paper = float(np.median(smooth))
    spread = 1.4826 * float(np.median(np.abs(smooth - paper)))  # the noise's robust std
    level = max(otsu(smooth), paper + NOISE_FLOOR * spread, paper + MIN_CONTRAST / 2)
    mask = smooth > level
    if mask.sum() < MIN_INK_PIXELS or smooth[mask].mean() - paper < MIN_CONTRAST:
        return None
    return mask


def _grow(a: np.ndarray, size: int) -> np.ndarray:
    """Grey dilation by a size x size square (size odd): lines get size - 1 pixels wider."""
    if size <= 1:
        return a
    return np.asarray(Image.fromarray(a.astype(np.float32)).filter(ImageFilter.MaxFilter(size)))


def photo_digit(gray: np.ndarray) -> np.ndarray | None:
    """A photo or scan of a digit, (H, W) gray in [0, 1] as the file shows it -> the 28x28
    image MNIST would have made of it, or None when it is blank (see the module's steps)."""
    work = working_copy(gray)
    flat = flatten(1 - work if ink_below_paper(work) else work)
    mask = ink_mask(flat)
    digit = None if mask is None else keep_digit(mask)
    if digit is None:
        return None
    rows, cols = np.flatnonzero(digit.any(1)), np.flatnonzero(digit.any(0))
    h, w = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    # Strokes at the level most of the digit's pixels reach: 1, as MNIST's; the soft edges
    # just outside the mask stay, the rest of the paper is 0.
    ink = np.clip(flat / np.percentile(flat[digit], 75), 0, 1) * (_grow(digit, 5) > 0)
    width = stroke_width(digit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
    # Widening by g pixels also grows the digit by g: (width + g) * 20 / (side + g) is
    # MNIST's stroke once the digit is scaled to its 20-pixel box.
    grow = (MNIST_STROKE * max(h, w) - 20 * width) / (20 - MNIST_STROKE)
    size = 2 * max(0, round(grow / 2)) + 1
    top, left = max(0, rows[0] - 2), max(0, cols[0] - 2)  # with the soft edges
    crop = np.pad(ink[top:rows[-1] + 3, left:cols[-1] + 3], size // 2 + 1)
    image = preprocess_canvas(_grow(crop, size))
    return None if image is None else image / image.max()


def photo(gray: np.ndarray, dataset: str) -> np.ndarray | None:
    """A picture as the file shows it (gray in [0, 1]) -> what a `dataset` model reads, or
    None if it is blank. Fashion-MNIST's pictures are product shots: the object is trimmed
    as it is, its shades kept (preprocess_fashion)."""
    if dataset == "fashion-mnist":
        return preprocess_fashion(light_on_dark(gray))
    return photo_digit(gray)
