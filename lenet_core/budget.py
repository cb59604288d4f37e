"""How much a config trains: the examples it uses and the optimizer steps an epoch takes."""

from __future__ import annotations

import math

from .config import TrainConfig
from .data import DATASETS


def train_examples(config: TrainConfig, available: int | None = None) -> int:
    """How many training examples a run uses: all the dataset has, or the config's cap."""
    available = available or DATASETS[config.dataset].train_size
    return min(available, config.max_train_examples or available)


def batches_per_epoch(config: TrainConfig, available: int | None = None) -> int:
    return math.ceil(train_examples(config, available) / config.batch_size)
