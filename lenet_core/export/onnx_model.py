"""ONNX export of a checkpoint's network: for Netron (the graph, with every tensor's shape) and
for onnxruntime (answers without PyTorch).

The exported graph reads what any image pipeline gives: `pixels`, float32 (N, 1, 28, 28) in
[0, 1] (uint8 / 255, as torchvision's ToTensor), light ink on a dark background as in both
datasets, N any. A model trained on standardised pixels has the dataset's (x - mean) / std
folded in as the graph's first two nodes, so every exported model takes the same input and
a user needs no constants; the metadata names them all the same. It answers `logits` and
`probabilities` (their softmax), both (N, 10), class k being class_names[k]. The network is
exported in eval mode (dropout off, batch norm on its running statistics).

Exporter: torch.onnx.export(dynamo=True), torch.export's graph translated by onnxscript: the
default since torch 2.9. The TorchScript exporter (dynamo=False) is faster (0.2 s against
2-3 s here) but warns on torch 2.14 that it will be removed.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .. import data
from ..runs.checkpoint import LoadedModel

FORMAT = "lenet-lab-onnx/1"
# Current, and opened by onnxruntime 1.20 and later; the exporter's own default is 20.
OPSET = 21
INPUT = "pixels"
OUTPUTS = ("logits", "probabilities")
VERIFY_BATCH = 1000  # test images per onnxruntime call when verifying
INPUT_SIZE = 28  # both datasets' images are 28x28


class _Deployable(nn.Module):
    """The network as exported: [0, 1] pixels in, logits and probabilities out."""

    def __init__(self, net: nn.Module, mean: float | None, std: float | None):
        super().__init__()
        self.net, self.mean, self.std = net, mean, std

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = pixels if self.mean is None else (pixels - self.mean) / self.std  # (N, 1, 28, 28)
        logits = self.net(x)  # (N, 10)
        return logits, torch.softmax(logits, dim=1)


def metadata(model: LoadedModel, checkpoint_sha256: str | None = None) -> dict[str, str]:
    """What the file says about itself (ONNX metadata_props: text keys and values)."""
    from ..version import __version__
    cfg, info = model.config, data.info(model.config.dataset)
    meta = {
        "lenet_lab.format": FORMAT,
        "lenet_lab.version": __version__,
        "dataset": cfg.dataset,
        "class_names": json.dumps(list(model.class_names), ensure_ascii=False),
        "input": f"{INPUT}: float32 (N, 1, {INPUT_SIZE}, {INPUT_SIZE}), values in [0, 1] "
                 "(uint8 / 255, as torchvision's ToTensor), light ink on a dark background",
        "input_layout": "NCHW",
        "input_range": "[0, 1]",
        "image_preprocessing": _MADE[cfg.dataset],
        "standardized": "true" if cfg.normalize else "false",
        "normalization": (f"in the graph: ({INPUT} - {info.mean}) / {info.std}, the {cfg.dataset} "
                          "training pixels' mean and std" if cfg.normalize else
                          "none: the network reads [0, 1] pixels, as the book's"),
        "outputs": "logits: float32 (N, 10); probabilities: float32 (N, 10), their softmax; "
                   "column k is class_names[k]",
        "config": cfg.to_json(),
        "environment": model.environment.to_json(),
    }
    if cfg.normalize:
        meta |= {"mean": str(info.mean), "std": str(info.std)}
    if checkpoint_sha256:
        meta["checkpoint_sha256"] = checkpoint_sha256
    return meta


# How each dataset's 28x28 images were made: a picture from elsewhere must be made alike.
_MADE = {
    "mnist": "a digit: its ink's bounding box fitted into 20x20, then centred by its centre of "
             "mass in the 28x28 image",
    "fashion-mnist": "an item of clothing: trimmed to its bounding box, fitted to 28x28 in gray",
}


def to_onnx(model: LoadedModel, checkpoint_sha256: str | None = None):
    """The model as an onnx.ModelProto: dynamic batch, OPSET, shapes inferred, metadata set,
    checked by onnx's own checker."""
    import onnx

    info = data.info(model.config.dataset)
    mean, std = (info.mean, info.std) if model.config.normalize else (None, None)
    wrapped = _Deployable(model.net, mean, std).eval()
    example = torch.rand(2, 1, INPUT_SIZE, INPUT_SIZE)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # torch.export's notes on internals, none for the user
        program = torch.onnx.export(
            wrapped, (example,), None, dynamo=True, opset_version=OPSET, verbose=False,
            input_names=[INPUT], output_names=list(OUTPUTS),
            dynamic_shapes={"pixels": {0: torch.export.Dim("batch")}})
    proto = onnx.shape_inference.infer_shapes(program.model_proto, check_type=True,
                                              strict_mode=True, data_prop=True)
    proto.doc_string = (f"LeNet Lab: a {model.config.arch} trained on {model.config.dataset}. "
                        "Input and preprocessing: see the metadata.")
    proto.graph.input[0].doc_string = metadata(model)["input"]
    for key, value in metadata(model, checkpoint_sha256).items():
        proto.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def to_bytes(model: LoadedModel, checkpoint_sha256: str | None = None) -> bytes:
    return to_onnx(model, checkpoint_sha256).SerializeToString()


def write(model: LoadedModel, out: Path, checkpoint_sha256: str | None = None) -> int:
    """The ONNX file at `out`, written atomically; returns its size in bytes."""
    blob = to_bytes(model, checkpoint_sha256)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(blob)
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return len(blob)


def read_metadata(onnx_bytes: bytes) -> dict[str, str]:
    import onnx
    return {p.key: p.value for p in onnx.load_model_from_string(onnx_bytes).metadata_props}


@dataclass(frozen=True)
class Agreement:
    """onnxruntime's answers against torch's on a set of images."""

    images: int
    same_answer: int  # images whose most probable class is the same in both
    max_prob_diff: float  # the largest |p_onnx - p_torch| over every image and class


def verify(model: LoadedModel, onnx_bytes: bytes, images: torch.Tensor) -> Agreement:
    """Run uint8 (N, 28, 28) images through torch (lenet_core.inference, the dashboard's
    path) and through onnxruntime on the exported file, and compare."""
    import onnxruntime as ort

    from ..explain.inference import predict_proba
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    same, worst = 0, 0.0
    for i in range(0, len(images), VERIFY_BATCH):
        batch = images[i:i + VERIFY_BATCH]
        expected = predict_proba(model, batch).numpy()
        pixels = (batch.numpy().astype(np.float32) / 255)[:, None]  # (N, 1, 28, 28)
        _, probs = session.run(list(OUTPUTS), {INPUT: pixels})
        same += int((probs.argmax(1) == expected.argmax(1)).sum())
        worst = max(worst, float(np.abs(probs - expected).max()))
    return Agreement(len(images), same, worst)


def checkpoint_bytes(path: Path | str, label: str | None = None) -> bytes:
    """The ONNX file of the checkpoint at `path` (the pages cache it by the file's sha256)."""
    from ..runs import checkpoint
    return to_bytes(checkpoint.load(path, label), checkpoint.file_sha256(Path(path)))
