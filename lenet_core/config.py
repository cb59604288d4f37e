"""TrainConfig: every hyperparameter of a LeNet run, validated in one place, plus named presets."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

DATASETS = ("mnist", "fashion-mnist")
ARCHS = ("lenet", "mlp")
ACTIVATIONS = ("sigmoid", "relu", "tanh", "gelu")
POOLINGS = ("avg", "max")
OPTIMIZERS = ("sgd", "momentum", "adam")
SCHEDULES = ("constant", "onecycle")
INITS = ("xavier", "default")
DEVICES = ("auto", "cpu", "cuda", "mps")


class ConfigError(ValueError):
    """A hyperparameter has a value that cannot train; the message names the field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class TrainConfig:
    dataset: str = "fashion-mnist"  # "mnist" (digits) or "fashion-mnist" (clothing)
    arch: str = "lenet"  # "lenet" (the CNN) or "mlp" (the Q&A's comparison: hidden layers only)
    activation: str = "sigmoid"  # after each conv and hidden layer: sigmoid, relu, tanh, gelu
    pooling: str = "avg"  # 2x2 stride-2 pooling after each conv: "avg" (the book) or "max"
    conv_channels: tuple[int, int] = (6, 16)  # output channels of conv1 and conv2
    hidden: tuple[int, int] = (120, 84)  # widths of the two hidden fully-connected layers
    optimizer: str = "sgd"  # "sgd", "momentum" (SGD, momentum 0.9) or "adam"
    lr: float = 0.9  # learning rate (the peak rate under "onecycle")
    schedule: str = "constant"  # "constant" (the book) or "onecycle" (warm up, then anneal)
    epochs: int = 10  # passes over the training set
    batch_size: int = 256  # examples per optimizer step
    init: str = "xavier"  # "xavier" (uniform, as in the seed) or "default" (PyTorch's)
    normalize: bool = False  # standardise pixels by the dataset's mean/std; the book feeds [0, 1]
    seed: int = 0  # seeds weights and shuffling: same seed + same device = same numbers
    device: str = "auto"  # "auto" picks cuda, then mps, then cpu
    max_train_examples: int | None = None  # cap on training examples, for quick smoke runs

    def __post_init__(self) -> None:
        # Lists arrive from JSON and argparse; store tuples so the config stays hashable.
        object.__setattr__(self, "conv_channels", tuple(self.conv_channels))
        object.__setattr__(self, "hidden", tuple(self.hidden))
        self.validate()

    def validate(self) -> None:
        _choice("dataset", self.dataset, DATASETS)
        _choice("arch", self.arch, ARCHS)
        _choice("activation", self.activation, ACTIVATIONS)
        _choice("pooling", self.pooling, POOLINGS)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("schedule", self.schedule, SCHEDULES)
        _choice("init", self.init, INITS)
        _choice("device", self.device, DEVICES)
        _widths("conv_channels", self.conv_channels, 256)
        _widths("hidden", self.hidden, 4096)
        if _not_number(self.lr) or not 0 < self.lr <= 10:
            raise ConfigError("lr", f"must be a number in (0, 10], got {self.lr!r}")
        _int_range("epochs", self.epochs, 1, 1000)
        _int_range("batch_size", self.batch_size, 1, 60_000)
        _int_range("seed", self.seed, 0, 2**63 - 1)
        if not isinstance(self.normalize, bool):
            raise ConfigError("normalize", f"must be true or false, got {self.normalize!r}")
        if self.max_train_examples is not None:
            _int_range("max_train_examples", self.max_train_examples, 1, 60_000)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["conv_channels"] = list(self.conv_channels)
        d["hidden"] = list(self.hidden)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(unknown[0], "is not a TrainConfig field")
        return cls(**d)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)


def _not_number(v: Any) -> bool:
    return isinstance(v, bool) or not isinstance(v, (int, float)) or v != v


def _choice(field: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(field, f"must be one of {', '.join(choices)}; got {value!r}")


def _int_range(field: str, value: Any, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(field, f"must be a whole number from {lo} to {hi}, got {value!r}")


def _widths(field: str, value: tuple, hi: int) -> None:
    if len(value) != 2:
        raise ConfigError(field, f"needs exactly 2 widths, got {len(value)}")
    for v in value:
        _int_range(field, v, 1, hi)


# The seed's recipe, exactly: sigmoid, average pooling, SGD at lr 0.9, 10 epochs, batch 256.
D2L = TrainConfig()

# ReLU + max-pool + Adam: chosen by measurement (docs/BENCHMARKS.md); >= 97 % on MNIST in 1 epoch.
MODERN = TrainConfig(
    dataset="mnist", activation="relu", pooling="max", optimizer="adam", lr=2e-3,
    epochs=5, batch_size=128, normalize=True,
)

# Fastest to 90 % Fashion-MNIST / 99 % MNIST on a laptop CPU (docs/BENCHMARKS.md): wider convs
# (the Q&A's "why 6 and 16?") and a one-cycle schedule buy more accuracy per second.
FAST = MODERN.replace(conv_channels=(12, 24), schedule="onecycle", lr=4e-3, epochs=3)

# The seed's Q&A answer: ReLU diverges at lr 0.9 but trains at lr 0.1.
RELU_QA = D2L.replace(activation="relu", lr=0.1)

# The model shipped for Draw and Inspect (the book's widths, so ~250 KB);
# `make default-model` retrains it with this preset.
DEFAULT_MODEL = MODERN.replace(schedule="onecycle", lr=4e-3, epochs=5)

PRESETS: dict[str, TrainConfig] = {
    "d2l": D2L,
    "modern": MODERN,
    "fast": FAST,
    "relu-qa": RELU_QA,
    "default-model": DEFAULT_MODEL,
}

PRESET_HELP = {
    "d2l": "the book's recipe: sigmoid, avg-pool, SGD lr 0.9, 10 epochs, batch 256",
    "modern": "ReLU, max-pool, Adam: fast and accurate",
    "fast": "ReLU, max-pool, 12/24 channels, Adam one-cycle, 3 epochs: quickest to 90 %/99 %",
    "relu-qa": "the Q&A: ReLU at lr 0.1 (at lr 0.9 it diverges)",
    "default-model": "the shipped MNIST model for Draw and Inspect",
}


def preset(name: str) -> TrainConfig:
    if name not in PRESETS:
        raise ConfigError("preset", f"must be one of {', '.join(PRESETS)}; got {name!r}")
    return PRESETS[name]
