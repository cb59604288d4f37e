"""One layer's output for one input, as explain.inference.feature_maps gives it: a plain value
that figures draw without needing the model."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Activation:
    layer: str
    type: str
    output: torch.Tensor  # this layer's output for the one input, batch dim dropped
