"""Data augmentation on the device: random changes to each training batch, made with tensor ops
where the batch already lives, so the loader stays a plain index gather.

- shift: every image moved by whole pixels, up to MAX_SHIFT each way (nearest sampling: the
  pixels themselves, moved);
- affine: also turned by up to MAX_ROTATION degrees and scaled by up to MAX_SCALE either way,
  then shifted by up to MAX_SHIFT pixels (bilinear sampling).

The area moved in is background: what a 0 pixel becomes once prepared (0, or its standardised
value). The random numbers come from the run's own CPU generator, seeded by the run's seed, so
a run is reproducible on any device, and its data order is the same as without augmentation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import torch
from torch.nn import functional as F

from . import data
from .config import TrainConfig

MAX_SHIFT = 2  # pixels, each way
MAX_ROTATION = 10  # degrees, either way
MAX_SCALE = 0.1  # 1 ± 10 %
STREAM = 0x5EED_A06  # xor-ed into the seed: the augmentation's stream is not the shuffle's


def augment(x: torch.Tensor, kind: str, generator: torch.Generator,
            background: float = 0.0) -> torch.Tensor:
    """(N, C, H, W) prepared images, each changed at random as `kind` says ("none": x itself);
    the same shape, device and (channels-last) layout."""
    if kind == "none":
        return x
    n, _, h, w = x.shape
    # Where each output pixel reads from, in grid_sample's [-1, 1] coordinates (x, y): the
    # pixel centres themselves, turned and scaled (affine), then moved by whole pixels.
    base = F.affine_grid(torch.eye(2, 3, dtype=x.dtype, device=x.device)[None], [1, 1, h, w],
                         align_corners=False)[0]  # (H, W, 2)
    grid = base
    if kind == "affine":
        turn = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(MAX_ROTATION)
        scale = 1 + (torch.rand(n, generator=generator) * 2 - 1) * MAX_SCALE
        cos, sin = torch.cos(turn) / scale, torch.sin(turn) / scale
        turn_scale = torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1)
        grid = torch.einsum("hwj,nij->nhwi", base, turn_scale.to(x.device, x.dtype))  # (N, H, W, 2)
    shift = torch.randint(-MAX_SHIFT, MAX_SHIFT + 1, (n, 2), generator=generator)
    step = torch.tensor([2 / w, 2 / h])  # one pixel, in those coordinates
    grid = grid + (shift * step).to(x.device, x.dtype).view(n, 1, 1, 2)
    out = F.grid_sample(x - background, grid, mode="nearest" if kind == "shift" else "bilinear",
                        padding_mode="zeros", align_corners=False) + background
    return out.contiguous(memory_format=torch.channels_last)


def for_config(config: TrainConfig) -> Callable[[torch.Tensor], torch.Tensor]:
    """The run's augmentation, one batch in, one batch out (the batch itself for "none")."""
    blank = torch.zeros(1, 1, 1, dtype=torch.uint8)
    background = float(data.prepare(blank, config.dataset, config.normalize))
    rng = torch.Generator().manual_seed(config.seed ^ STREAM)
    return partial(augment, kind=config.augment, generator=rng, background=background)
