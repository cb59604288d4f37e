"""Which input pixels drove a prediction: saliency maps for one 28x28 image.

- gradient: |d score / d pixel| of the predicted class's score (its logit), the plain
  saliency map of Simonyan et al. (2014);
- smoothgrad: the gradient averaged over copies of the input with Gaussian noise added, then
  its magnitude (Smilkov et al., 2017): most of the plain gradient's speckle cancels out;
- gradcam: Grad-CAM (Selvaraju et al., 2017) on the last convolution's activation, found by
  type so that it works for any depth: its channels weighted by their mean gradient, summed,
  rectified and upsampled. Coarse (10x10 in LeNet) but it follows the strokes; it reads best.

Every map is (28, 28), float32, scaled to [0, 1] (all zeros only where the score does not
depend on the input at all).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .. import data
from ..model import STRUCTURAL
from ..runs.checkpoint import LoadedModel

METHODS = {"gradcam": "Grad-CAM", "smoothgrad": "SmoothGrad", "gradient": "Gradient"}
SMOOTHGRAD_SAMPLES = 50  # the paper's choice
SMOOTHGRAD_SIGMA = 0.15  # noise std in pixel units ([0, 1]): 15 % of the range, as the paper


def _input(model: LoadedModel, image: torch.Tensor | np.ndarray) -> torch.Tensor:
    """One image (uint8 or float in [0, 1]) -> (1, 28, 28) float pixels in [0, 1]."""
    x = torch.as_tensor(image)
    x = x.float() / 255 if x.dtype == torch.uint8 else x.float()
    return x.reshape(1, 28, 28)


def _scores(model: LoadedModel, pixels: torch.Tensor) -> torch.Tensor:
    """(N, 28, 28) pixels in [0, 1] -> (N, 10) logits, differentiable w.r.t. the pixels."""
    return model.net(data.prepare(pixels, model.config.dataset, model.config.normalize))


def _scaled(m: torch.Tensor) -> np.ndarray:
    m = m.detach().float()
    peak = m.max()
    return (m / peak if peak > 0 else torch.zeros_like(m)).numpy().astype(np.float32)


def predicted_class(model: LoadedModel, image: torch.Tensor | np.ndarray) -> int:
    with torch.inference_mode():
        return int(_scores(model, _input(model, image)).argmax(1))


def gradient(model: LoadedModel, image: torch.Tensor | np.ndarray,
             target: int | None = None) -> np.ndarray:
    """|d logit[target] / d pixel|; target: the predicted class when None."""
    return smoothgrad(model, image, target, samples=1, sigma=0.0)


def smoothgrad(model: LoadedModel, image: torch.Tensor | np.ndarray, target: int | None = None,
               *, samples: int = SMOOTHGRAD_SAMPLES, sigma: float = SMOOTHGRAD_SIGMA,
               seed: int = 0) -> np.ndarray:
    """|mean gradient| over `samples` noisy copies of the image (one batch)."""
    x = _input(model, image)
    target = predicted_class(model, x) if target is None else target
    noise = torch.randn((samples, 28, 28), generator=torch.Generator().manual_seed(seed))
    batch = (x + sigma * noise).requires_grad_(True)
    with torch.enable_grad():
        score = _scores(model, batch)[:, target].sum()
        (grad,) = torch.autograd.grad(score, batch)
    return _scaled(grad.mean(0).abs())


def last_conv_stage(net: nn.Module) -> tuple[nn.Module, nn.Module] | None:
    """(the last Conv2d, the last element-wise layer right after it: its activation, past a
    batch norm; the conv itself where pooling follows at once), in the order they run; None
    without a conv."""
    leaves = [m for m in net.modules() if not list(m.children())]
    convs = [i for i, m in enumerate(leaves) if isinstance(m, nn.Conv2d)]
    if not convs:
        return None
    k = end = convs[-1]
    while end + 1 < len(leaves) and not isinstance(leaves[end + 1], STRUCTURAL):
        end += 1
    return leaves[k], leaves[end]


def gradcam(model: LoadedModel, image: torch.Tensor | np.ndarray,
            target: int | None = None) -> np.ndarray | None:
    """Grad-CAM on the last convolution's activation, upsampled to 28x28; None for a model with
    no convolution (an MLP)."""
    stage = last_conv_stage(model.net)
    if stage is None:
        return None
    x = _input(model, image)
    target = predicted_class(model, x) if target is None else target
    kept: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda m, i, out: kept.append(out)) for m in stage]
    try:
        with torch.enable_grad():
            score = _scores(model, x.requires_grad_(True))[0, target]
            # The activation after the conv, as Grad-CAM's authors take it; the conv's own
            # output where the next layer changes the shape (no activation in between).
            fmap = kept[-1] if kept[-1].shape == kept[0].shape else kept[0]
            (grad,) = torch.autograd.grad(score, fmap)
    finally:
        for h in hooks:
            h.remove()
    weights = grad.mean(dim=(2, 3), keepdim=True)  # (1, C, 1, 1): each channel's importance
    cam = torch.relu((weights * fmap).sum(1, keepdim=True))  # (1, C, h, w) -> (1, 1, h, w)
    cam = nn.functional.interpolate(cam, size=(28, 28), mode="bilinear", align_corners=False)
    return _scaled(cam[0, 0])


def saliency(model: LoadedModel, image: torch.Tensor | np.ndarray, method: str = "gradcam",
             target: int | None = None) -> np.ndarray | None:
    """The map of one of METHODS; None where the method does not apply (Grad-CAM on an MLP)."""
    if method == "gradient":
        return gradient(model, image, target)
    if method == "smoothgrad":
        return smoothgrad(model, image, target)
    if method == "gradcam":
        return gradcam(model, image, target)
    raise ValueError(f"unknown saliency method {method!r}; choose one of {', '.join(METHODS)}")
