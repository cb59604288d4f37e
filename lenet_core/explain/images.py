"""Images from anywhere, made into what a model reads: an uploaded PNG or JPEG, and inputs that
are nothing like the training data (noise, a blank, an inverted digit, the other dataset).

An upload is decoded with Pillow after checking its size in bytes and pixels, turned to gray,
made light-on-dark (inverted when its background is light: a photo on white paper, a product
shot) and then preprocessed as the model's dataset was made (inference.preprocess). Whatever is
wrong with a file is one line in ImageError.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .. import data
from . import inference

MAX_BYTES = 5 * 1024 * 1024  # as the dashboard's upload cap (.streamlit/config.toml, in MB)
MAX_PIXELS = 4096 * 4096  # decoded size: a small file can still unpack to a huge bitmap
FORMATS = ("PNG", "JPEG")
EXTENSIONS = ("png", "jpg", "jpeg")
LIGHT_BACKGROUND = 0.5  # a border brighter than this on average is paper, not night

# Inputs nothing like the training data, for Inspect (the book's exercise 5).
ODD_INPUTS = {"noise": "Random noise", "blank": "Blank image", "inverted": "Inverted test image",
              "other": "Image from the other dataset"}


class ImageError(ValueError):
    """A file that is not a usable PNG or JPEG; the message is one line, for people."""


class BlankImage(ImageError):
    """A readable image with nothing in it to classify."""


def decode(raw: bytes, name: str = "the file") -> np.ndarray:
    """PNG or JPEG bytes -> (H, W) float32 gray in [0, 1], as the file shows it (transparent
    areas on white, EXIF rotation applied). Only the header is read before the pixel check, so
    a small file that would decode to gigabytes (a decompression bomb) costs nothing."""
    if len(raw) > MAX_BYTES:
        raise ImageError(f"{name} is too large: {len(raw) / 2**20:.1f} MB; the limit is "
                         f"{MAX_BYTES / 2**20:.0f} MB")
    try:
        with warnings.catch_warnings():  # PIL warns on big images; we refuse them ourselves
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(raw)) as im:
                if im.format not in FORMATS:
                    raise ImageError(f"{name} is a {im.format} image; use a PNG or JPEG")
                w, h = im.size
                if w * h > MAX_PIXELS:
                    raise ImageError(f"{name} is too large: {w}×{h} pixels; the limit is "
                                     f"{MAX_PIXELS:,} pixels (4096×4096)")
                im = ImageOps.exif_transpose(im)
                if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
                    im = Image.alpha_composite(Image.new("RGBA", im.size, "white"),
                                               im.convert("RGBA"))
                return np.asarray(im.convert("L"), dtype=np.float32) / 255
    except ImageError:
        raise
    except Image.DecompressionBombError as e:  # PIL's own limit, far above ours
        raise ImageError(f"{name} is too large (the limit is {MAX_PIXELS:,} pixels)") from e
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as e:
        raise ImageError(f"{name} is not an image, or a damaged one (use a PNG or JPEG)") from e


def light_on_dark(gray: np.ndarray) -> np.ndarray:
    """MNIST and Fashion-MNIST are light on black: invert an image whose border is light."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return 1 - gray if border.mean() > LIGHT_BACKGROUND else gray


def read(raw: bytes, dataset: str, name: str = "the file") -> np.ndarray:
    """Uploaded bytes -> the (28, 28) float image in [0, 1] that a `dataset` model reads."""
    data.info(dataset)
    gray = light_on_dark(decode(raw, name))
    # A 28x28 picture is taken as already made the dataset's way (a test image saved as PNG):
    # preprocessing it again would resample it and shift the answer a little.
    image = gray if gray.shape == (28, 28) and gray.max() > 0 else inference.preprocess(gray, dataset)
    if image is None:
        raise BlankImage(f"{name} looks blank: nothing stands out from its background")
    return image


def read_file(path: Path | str, dataset: str) -> np.ndarray:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as e:
        raise ImageError(f"{path}: no such file") from e
    except OSError as e:
        raise ImageError(f"cannot read {path}: {e.strerror or e}") from e
    return read(raw, dataset, str(path))


def other_dataset(name: str) -> str:
    """The dataset a `name` model was not trained on."""
    return next(d for d in data.DATASETS if d != name)


def odd_input(kind: str, *, image: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
    """A (28, 28) float input unlike the training data. `image` (uint8 or [0, 1]): the test
    image that "inverted" inverts and "other" passes through."""
    if kind == "noise":
        return np.random.default_rng(seed).random((28, 28), dtype=np.float32)
    if kind == "blank":
        return np.zeros((28, 28), np.float32)
    if kind in ("inverted", "other"):
        if image is None:
            raise ValueError(f"{kind!r} needs an image")
        a = np.asarray(image, np.float32)
        a = a / 255 if a.max() > 1 else a
        return 1 - a if kind == "inverted" else a
    raise ValueError(f"unknown input {kind!r}; choose one of {', '.join(ODD_INPUTS)}")
