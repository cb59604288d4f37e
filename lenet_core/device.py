"""Which torch device a run trains on: the config's choice ("auto", "cpu", "cuda", "mps")
resolved to a torch.device, and that device described for people."""

from __future__ import annotations

import torch


class DeviceError(ValueError):
    """A device that was asked for but is not on this machine; the message is one line."""


def resolve(name: str = "auto") -> torch.device:
    """"auto" -> cuda, then mps, then cpu. Asking for a device that is not there is an error."""
    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if name == "cuda" and not cuda:
        raise DeviceError("CUDA was asked for, but no CUDA GPU is available here")
    if name == "mps" and not mps:
        raise DeviceError("MPS was asked for, but Apple's MPS is not available here")
    return torch.device(name)


def describe(device: torch.device) -> str:
    """A human label: "cpu (2 threads)", "cuda (NVIDIA H100 80GB HBM3)"."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        n = torch.get_num_threads()
        return f"cpu ({n} thread{'s' if n != 1 else ''})"
    return device.type
