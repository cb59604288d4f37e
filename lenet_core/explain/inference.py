"""Using a trained model (lenet_core.runs.checkpoint loads it): predict, turn a drawing or a picture
into what the model's dataset looks like, and look inside (every layer's activation for one
input)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from .. import data
from ..runs.checkpoint import LoadedModel

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
    if ink.sum() < MIN_INK_PIXELS:
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


def preprocess(image: np.ndarray, dataset: str) -> np.ndarray | None:
    """A drawing or picture (light on dark) -> what a `dataset` model reads, or None if blank."""
    return preprocess_fashion(image) if dataset == "fashion-mnist" else preprocess_canvas(image)


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
    """A drawing, preprocessed as the model's dataset was made, and the model's answer."""
    image = preprocess(rgba, model.config.dataset)
    if image is None:
        return Prediction(None, None, None, None, None)
    return classify(model, image)


def classify(model: LoadedModel, image: np.ndarray | torch.Tensor) -> Prediction:
    """One 28x28 input (uint8 or float in [0, 1]) and the model's answer."""
    a = np.asarray(image)
    image = a.astype(np.float32) / (255 if a.dtype == np.uint8 else 1)
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


def conv_stage_activations(acts: list[Activation]) -> list[Activation]:
    """The book's "activations of the first and second layer": each convolution's output after
    the layer that follows it (its activation), in order; [] for an MLP."""
    return [acts[i + 1] if i + 1 < len(acts) and acts[i + 1].output.shape == a.output.shape
            else a for i, a in enumerate(acts) if a.type == "Conv2d"]


def conv_kernels(model: LoadedModel) -> dict[str, torch.Tensor]:
    """Each conv layer's weights, (out, in, k, k), in order."""
    return {name: m.weight.detach().clone() for name, m in model.net.named_children()
            if isinstance(m, nn.Conv2d)}
