"""Files that ship inside the package: the default MNIST model (Draw and Inspect open on it, and
a fine-tune starts from its weights)."""

from __future__ import annotations

from pathlib import Path

import torch

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "assets" / "default-mnist.pt"


def default_model_weights() -> dict[str, torch.Tensor]:
    """The shipped model's weights, read as every checkpoint is (weights_only=True); its full
    checks and config are runs.checkpoint.load_default's."""
    return torch.load(DEFAULT_MODEL_PATH, map_location="cpu", weights_only=True)["state_dict"]
