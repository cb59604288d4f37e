"""Checkpoints, the one module that writes, reads and validates them.

A checkpoint describes itself: the format marker, the TrainConfig, the weights (CPU,
contiguous), the class names and (optional: older checkpoints lack it) the environment it
trained in. Loading rebuilds the network from that config, always with
`torch.load(weights_only=True)`, so a crafted pickle runs no code and is refused in one line.
The shipped default model and a run's checkpoint load through the same `load`.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from ..assets import DEFAULT_MODEL_PATH
from ..config import ConfigError, TrainConfig
from ..data import class_names as dataset_classes
from ..model import build_lenet
from .environment import Environment


class RunFiles(Protocol):
    """What `locate` reads of a lenet_core.runs.store.RunStore (a checkpoint sits below the store)."""

    def get(self, run_id: str) -> Any: ...

    def checkpoint_path(self, run_id: str) -> Path: ...

FORMAT = "lenet-lab/1"
DEFAULT_MODEL = "default"  # the model reference of the shipped model; any other is a run id
DEFAULT_MODEL_LABEL = "Default MNIST model (shipped)"


class CheckpointError(ValueError):
    """A file that is missing, not a LeNet Lab checkpoint, or unsafe; the message is one line."""


@dataclass(frozen=True)
class LoadedModel:
    net: nn.Module  # in eval mode, on the CPU
    config: TrainConfig
    class_names: tuple[str, ...]
    label: str  # where it came from, for people
    environment: Environment = Environment()  # where it trained; "unknown" for older files


def save(path: Path, config: TrainConfig, model: nn.Module, class_names: tuple[str, ...],
         environment: Environment | None = None) -> Path:
    """Written atomically: a crash or a failed write (full disk) never leaves a half
    checkpoint behind, nor its temporary file; the OSError goes to the caller."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    # Serialised in memory first (checkpoints are small): a failing disk then raises a plain
    # OSError (no space left, file too large) instead of torch's zip-writer internals.
    blob = io.BytesIO()
    ckpt = {"format": FORMAT, "config": config.to_dict(), "state_dict": state,
            "class_names": list(class_names)}
    if environment is not None:
        ckpt["environment"] = environment.to_dict()
    torch.save(ckpt, blob)
    tmp = path.with_suffix(".tmp")
    try:
        tmp.write_bytes(blob.getbuffer())
        tmp.replace(path)
    except BaseException:
        if tmp.is_file():
            tmp.unlink()
        raise
    return path


def load(path: Path | str, label: str | None = None) -> LoadedModel:
    """Rebuild the network from the checkpoint's own config, then load its weights."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    refused = CheckpointError(f"{path}: not a LeNet Lab checkpoint, or an unsafe file: refused")
    try:
        # weights_only: tensors and plain containers only; any other pickle is refused unrun.
        # Whatever goes wrong reading an untrusted file means "refused"; torch's warnings and
        # its advice (load with weights_only=False, the unsafe thing) never reach the user.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise refused from e
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise refused
    # The reasons are our own words: text from the file (keys, values, names) never reaches
    # a message, so a crafted file cannot put its words on a page either.
    stage = "its config is missing or not valid"
    try:
        config = TrainConfig.from_dict(ckpt["config"])
        net = build_lenet(config)
        stage = "its weights do not fit its config"
        net.load_state_dict(ckpt["state_dict"])
        # The dataset's own names, so the pages show no words the file brought.
        stage = f"its class names are not {config.dataset}'s"
        class_names = tuple(ckpt["class_names"])
        if class_names != dataset_classes(config.dataset):
            raise ValueError(stage)
    except (KeyError, TypeError, ValueError, RuntimeError, ConfigError) as e:
        raise CheckpointError(f"{path}: a damaged LeNet Lab checkpoint: {stage}") from e
    return LoadedModel(net.eval(), config, class_names, label or str(path),
                       Environment.from_dict(ckpt.get("environment")))


def locate(ref: str, store: RunFiles) -> tuple[Path, str]:
    """A model reference (DEFAULT_MODEL or a run id) -> (its checkpoint file, a label)."""
    if ref == DEFAULT_MODEL:
        return DEFAULT_MODEL_PATH, DEFAULT_MODEL_LABEL
    run = store.get(ref)
    path = store.checkpoint_path(ref)
    if not path.is_file():
        raise CheckpointError(f"run {ref} ({run.status}) has no checkpoint")
    return path, f"run {ref}: {run.name}"


def load_ref(ref: str, store: RunFiles) -> LoadedModel:
    path, label = locate(ref, store)
    return load(path, label)


def load_default() -> LoadedModel:
    return load(DEFAULT_MODEL_PATH, DEFAULT_MODEL_LABEL)


def file_sha256(path: Path | str) -> str:
    """The file's sha256 (hex): the key a checkpoint's evaluation and ONNX file are cached by."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
