"""Where a run ran: the software versions, the device, the threads and the project's own version.

Two runs of one config can disagree because they ran under another torch, on another CPU or
with another release of this code; an `Environment` recorded when a run starts says which.
Runs and checkpoints made before it existed read as UNKNOWN in every field. Every value is
text, so stores, checkpoints, JSON, ONNX metadata and TensorBoard hparams carry it alike.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import subprocess
import sys
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

UNKNOWN = "unknown"
_MAX_LEN = 200  # characters kept of a value read from a file (a crafted file's text is data)
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the checkout holding lenet_core


@dataclass(frozen=True)
class Environment:
    python: str = UNKNOWN  # "3.11.2"
    torch: str = UNKNOWN  # torch.__version__, e.g. "2.14.1+cu128"
    torchvision: str = UNKNOWN
    numpy: str = UNKNOWN
    device_name: str = UNKNOWN  # the CPU model, or the GPU's name for a CUDA run
    threads: str = UNKNOWN  # torch intra-op threads, as text ("2")
    lenet_lab: str = UNKNOWN  # lenet_core.__version__
    git_commit: str = UNKNOWN  # the checkout's commit, "+dirty" when lenet_core has changes

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: Any) -> Environment:
        """Whatever a store or a checkpoint holds: fields missing, unreadable or not text read
        as UNKNOWN, unknown keys are dropped, so an old or a crafted file still loads."""
        if not isinstance(d, Mapping):
            return cls()
        return cls(**{f: _clean(d.get(f)) for f in FIELDS})

    @classmethod
    def from_json(cls, text: str | None) -> Environment:
        try:
            return cls.from_dict(json.loads(text)) if text else cls()
        except ValueError:
            return cls()

    @property
    def known(self) -> bool:
        return self != Environment()


FIELDS = tuple(f.name for f in dataclasses.fields(Environment))
# How people read each field: Compare's table and the TensorBoard hparams.
LABELS = {"python": "Python", "torch": "torch", "torchvision": "torchvision", "numpy": "numpy",
          "device_name": "device name", "threads": "threads", "lenet_lab": "LeNet Lab version",
          "git_commit": "git commit"}


def _clean(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        return UNKNOWN
    text = str(v)
    if not text or any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in text):
        return UNKNOWN
    return text[:_MAX_LEN]


def current(device: torch.device | None = None) -> Environment:
    """This process's environment, for a run about to train on `device` (the CPU if None)."""
    from ..version import __version__
    return Environment(
        python=platform.python_version(), torch=torch.__version__,
        torchvision=_torchvision_version(), numpy=np.__version__,
        device_name=device_name(device or torch.device("cpu")),
        threads=str(torch.get_num_threads()), lenet_lab=__version__, git_commit=git_commit())


def _torchvision_version() -> str:
    """torchvision.__version__ ("0.29.1+cu130", its build beside torch's) without importing
    torchvision, which takes seconds: read from its version.py, else the installed metadata."""
    try:
        spec = importlib.util.find_spec("torchvision")
        origin = Path(spec.origin).parent / "version.py" if spec and spec.origin else None
        if origin is not None and origin.is_file():
            found = re.search(r"^__version__ = ['\"]([^'\"]+)['\"]", origin.read_text(), re.M)
            if found:
                return found.group(1)
        return importlib.metadata.version("torchvision")
    except (OSError, ValueError, ImportError, importlib.metadata.PackageNotFoundError):
        return UNKNOWN


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return f"Apple MPS ({cpu_model()})"
    return cpu_model()


@lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's marketing name ("AMD EPYC 7B13"): /proc/cpuinfo on Linux, else what the
    platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                return value.strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"],
                                 capture_output=True, text=True, timeout=5)
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine() or UNKNOWN


@lru_cache(maxsize=1)
def git_commit(root: Path = _PACKAGE_ROOT) -> str:
    """The commit of the git checkout this code runs from, with "+dirty" when lenet_core has
    uncommitted changes; UNKNOWN when it is not a checkout (an installed copy, a Ray worker's
    shipped package) or git is not installed."""
    if not (root / ".git").exists():
        return UNKNOWN

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                                 text=True, timeout=10,
                                 env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    sha = git("rev-parse", "HEAD")
    if not sha:
        return UNKNOWN
    changes = git("status", "--porcelain", "--untracked-files=no", "--", "lenet_core")
    return sha + ("+dirty" if changes else "")
