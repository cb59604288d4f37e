"""Using a trained model (lenet_core.checkpoint loads it): predict, turn a canvas drawing into an
MNIST digit, and look inside (every layer's activation for one input)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
from PIL import Image
from torch import nn

from . import data
from .checkpoint import LoadedModel

INK_THRESHOLD = 0.15  # a pixel brighter than this (in [0, 1]) counts as ink
MIN_INK_PIXELS = 4  # fewer inked pixels than this is "nothing drawn", not a digit


def predict_proba(model: LoadedModel, images: torch.Tensor | np.ndarray) -> torch.Tensor:
    """(N, 28, 28) images, uint8 or float in [0, 1] -> (N, 10) class probabilities."""
    x = torch.as_tensor(images)
    if x.dim() == 2:
        x = x.unsqueeze(0)
    if x.shape[-2:] != (28, 28):
        raise ValueError(f"images must be 28x28, got {tuple(x.shape)}")
    with torch.inference_mode():
        x = data.prepare(x, model.config.dataset, model.config.normalize)
        return torch.softmax(model.net(x), dim=1)


def preprocess_canvas(rgba: np.ndarray) -> np.ndarray | None:
    """A drawing (H, W, 4) RGBA or (H, W) gray, light ink on dark, any size -> the 28x28 float
    image in [0, 1] that MNIST would have made of it, or None when nothing is drawn.

    MNIST's own procedure: crop to the ink, scale to fit 20x20 keeping the aspect ratio, then
    place in 28x28 so that the centre of mass sits at the centre."""
    a = np.asarray(rgba)
    if a.ndim == 3:
        rgb = a[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        alpha = a[..., 3].astype(np.float32) / 255 if a.shape[2] == 4 else 1.0
        gray = rgb * alpha / 255
    elif a.ndim == 2:
        gray = a.astype(np.float32) / (255 if a.dtype == np.uint8 else 1)
    else:
        raise ValueError(f"expected an (H, W, 4) RGBA or (H, W) image, got shape {a.shape}")
    ink = gray > INK_THRESHOLD
    if ink.sum() < MIN_INK_PIXELS:
        return None
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    crop = gray[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = crop.shape
    scale = 20 / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))  # PIL wants (width, height)
    small = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.LANCZOS))
    small = np.clip(small, 0, 1)
    total = small.sum()
    ys, xs = np.indices(small.shape)
    cy, cx = (ys * small).sum() / total, (xs * small).sum() / total
    top, left = int(round(14 - cy)), int(round(14 - cx))
    out = np.zeros((28, 28), np.float32)
    # Paste, clipping whatever the shift would push off the field.
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + small.shape[0], 28), min(left + small.shape[1], 28)
    out[y0:y1, x0:x1] = small[y0 - top:y1 - top, x0 - left:x1 - left]
    return out


MAX_IMAGE_PIXELS = 4096 * 4096  # bigger images are refused before decoding; the model sees 28x28


class ImageError(ValueError):
    """A file that is not an image, a damaged one, or one too large; the message is one line."""


def read_image(source: str | Path | BinaryIO, name: str | None = None) -> np.ndarray:
    """An image file (a path, or a file-like object such as an upload) -> (H, W) float gray in
    [0, 1], light ink on dark as MNIST (dark ink on light paper is inverted).

    Only the header is read before the size check, so a small file that would decode to
    gigabytes (a decompression bomb) costs nothing."""
    name = name or str(source)
    try:
        with warnings.catch_warnings():  # PIL warns on big images; we refuse them ourselves
            warnings.simplefilter("ignore")
            with Image.open(source) as im:
                w, h = im.size
                if w * h > MAX_IMAGE_PIXELS:
                    raise ImageError(f"{name}: too large, {w}x{h} (at most "
                                     f"{MAX_IMAGE_PIXELS:,} pixels)")
                gray = np.asarray(im.convert("L"), dtype=np.float32) / 255
    except ImageError:
        raise
    except FileNotFoundError as e:
        raise ImageError(f"{name}: no such file") from e
    except Image.DecompressionBombError as e:  # PIL's own limit, far above ours
        raise ImageError(f"{name}: too large (at most {MAX_IMAGE_PIXELS:,} pixels)") from e
    except (OSError, ValueError, SyntaxError, EOFError) as e:
        raise ImageError(f"{name}: not an image, or a damaged one") from e
    return 1 - gray if gray.mean() > 0.5 else gray


@dataclass(frozen=True)
class Prediction:
    image: np.ndarray | None  # the 28x28 input the model saw; None when nothing was drawn
    probs: np.ndarray | None  # (10,) probabilities
    label: int | None
    name: str | None  # the class's human name
    confidence: float | None

    @property
    def empty(self) -> bool:
        return self.image is None


def classify_canvas(model: LoadedModel, rgba: np.ndarray) -> Prediction:
    image = preprocess_canvas(rgba)
    if image is None:
        return Prediction(None, None, None, None, None)
    probs = predict_proba(model, image)[0].numpy()
    k = int(probs.argmax())
    return Prediction(image, probs, k, model.class_names[k], float(probs[k]))


@dataclass(frozen=True)
class Activation:
    layer: str
    type: str
    output: torch.Tensor  # this layer's output for the one input, batch dim dropped


def feature_maps(model: LoadedModel, image: torch.Tensor | np.ndarray) -> list[Activation]:
    """Every layer's output for one 28x28 image (uint8 or float in [0, 1])."""
    x = data.prepare(torch.as_tensor(image).reshape(1, 28, 28), model.config.dataset,
                     model.config.normalize)
    out = []
    with torch.inference_mode():
        for name, layer in model.net.named_children():
            x = layer(x)
            out.append(Activation(name, type(layer).__name__, x[0].clone()))
    return out


def conv_kernels(model: LoadedModel) -> dict[str, torch.Tensor]:
    """Each conv layer's weights, (out, in, 5, 5)."""
    return {name: m.weight.detach().clone() for name, m in model.net.named_children()
            if isinstance(m, nn.Conv2d)}
