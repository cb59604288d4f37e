"""Using a trained model (lenet_core.runs.checkpoint loads it): predict, read a drawing (made into
what the model's dataset looks like by explain.preprocess), and look inside (every layer's
activation for one input)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .. import data
from ..model import STRUCTURAL
from ..runs.checkpoint import LoadedModel
from . import preprocess
from .activation import Activation


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
    image = preprocess.dataset_way(rgba, model.config.dataset)
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


_STRUCTURAL_TYPES = {cls.__name__ for cls in STRUCTURAL}


def conv_stage_activations(acts: list[Activation]) -> list[Activation]:
    """The book's "activations of the first and second layer": each convolution's output after
    the element-wise layers that follow it (its activation, past a batch norm), in order; []
    for an MLP."""
    out = []
    for i, a in enumerate(acts):
        if a.type != "Conv2d":
            continue
        while i + 1 < len(acts) and acts[i + 1].type not in _STRUCTURAL_TYPES:
            i += 1
        out.append(acts[i])
    return out


def conv_kernels(model: LoadedModel) -> dict[str, torch.Tensor]:
    """Each conv layer's weights, (out, in, k, k), in order."""
    return {name: m.weight.detach().clone() for name, m in model.net.named_children()
            if isinstance(m, nn.Conv2d)}
