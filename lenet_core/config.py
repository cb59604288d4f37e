"""TrainConfig: every hyperparameter of a LeNet run, each declared once with its spec, plus presets.

A field's spec (label, help, choices, range) sits beside it. The CLI's flags and the Train form's
widgets are generated from the specs (lenet_core.spec), and `check` is the one place values are
validated: it returns every problem at once, by field.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .data import DATASETS
from .device import DeviceError, resolve
from .spec import Spec
from .spec import spec_field as _spec

# A fine-tune of the shipped model must match these.
SHIPPED_NETWORK = ("arch", "conv_channels", "kernel_size", "hidden", "batch_norm")
# The form's sections, in order; each field names its own.
GROUPS = ("Data", "Model", "Optimisation", "Engine")
INPUT_SIZE = 28  # MNIST and Fashion-MNIST images are 28x28


@dataclass(frozen=True)
class TrainConfig:
    # Data
    dataset: str = _spec("fashion-mnist", "Dataset", "mnist: handwritten digits; fashion-mnist: "
                         "clothing (the book's choice)", "Data", "choice", choices=tuple(DATASETS))
    max_train_examples: int | None = _spec(
        None, "Max train examples", "Train on the first N examples only: quick runs (all 60,000 "
        "when empty)", "Data", "optional-int", lo=1, hi=60_000)
    normalize: bool = _spec(False, "Normalise pixels", "Standardise pixels by the dataset's mean "
                            "and std; the book feeds [0, 1] as ToTensor gives", "Data", "bool",
                            wide=True)
    augment: str = _spec("none", "Augment", "Random changes to each training batch, made on the "
                         "device: none (the book); shift: up to 2 pixels each way; affine: also "
                         "a small rotation (up to 10 degrees) and scale (up to 10 %)", "Data",
                         "choice", choices=("none", "shift", "affine"))
    # Model
    arch: str = _spec("lenet", "Architecture", "lenet: the CNN; mlp: hidden layers only (the "
                      "Q&A's comparison)", "Model", "choice", choices=("lenet", "mlp"))
    activation: str = _spec("sigmoid", "Activation", "After each conv and hidden layer", "Model",
                            "choice", choices=("sigmoid", "relu", "tanh", "gelu"))
    pooling: str = _spec("avg", "Pooling", "2x2 stride-2 pooling after each conv: avg (the book) "
                         "or max", "Model", "choice", choices=("avg", "max"))
    pool_first: bool = _spec(False, "Pool first", "Pool before the activation: with max-pool and "
                             "ReLU the same numbers, on 4x fewer values", "Model", "bool")
    conv_channels: tuple[int, ...] = _spec(
        (6, 16), "Conv channels", "Output channels of each conv stage (conv, activation, 2x2 "
        "pool), 1 to 3 stages (the book: 6, 16)", "Model", "ints", lo=1, hi=256, length=(1, 3),
        flag="--channels")
    kernel_size: int = _spec(5, "Kernel size", "Conv kernels are k x k; the first conv pads to "
                             "keep 28x28, later ones do not (the book: 5)", "Model", "choice",
                             choices=(3, 5, 7))
    hidden: tuple[int, ...] = _spec(
        (120, 84), "Hidden", "Widths of the hidden fully connected layers before the 10 "
        "outputs, 0 to 3 of them (the book: 120, 84)", "Model", "ints", lo=1, hi=4096,
        length=(0, 3))
    batch_norm: bool = _spec(False, "Batch norm", "Batch normalisation after each conv and "
                             "hidden layer, before its activation (the book's batch-norm "
                             "chapter); evaluation uses its running statistics", "Model", "bool")
    dropout: float = _spec(0.0, "Dropout", "Zero this fraction of each hidden layer's outputs "
                           "while training (0: none, as the book's LeNet)", "Model", "float",
                           lo=0, hi=0.9)
    init: str = _spec("xavier", "Init", "xavier: uniform, as in the seed; default: PyTorch's",
                      "Model", "choice", choices=("xavier", "default"))
    init_from: str = _spec("scratch", "Start from", "scratch: fresh weights; default: the shipped "
                           "MNIST model's weights, fine-tuned (its network: LeNet 6/16, kernel 5, "
                           "hidden 120/84)", "Model", "choice", choices=("scratch", "default"))
    seed: int = _spec(0, "Seed", "Seeds weights and shuffling: same seed, same device, the same "
                      "numbers", "Model", "int", lo=0, hi=2**63 - 1)
    # Optimisation
    optimizer: str = _spec("sgd", "Optimizer", "sgd, momentum (SGD with momentum 0.9) or adam",
                           "Optimisation", "choice", choices=("sgd", "momentum", "adam"))
    lr: float = _spec(0.9, "Learning rate", "The peak rate under onecycle", "Optimisation",
                      "float", lo=0, hi=10, lo_open=True)
    betas: tuple[float, ...] = _spec((0.9, 0.999), "Adam betas", "Adam's decay rates for "
                                     "the gradient's mean and square (PyTorch: 0.9, 0.999)",
                                     "Optimisation", "floats", lo=0, hi=1, hi_open=True,
                                     length=(2, 2))
    weight_decay: float = _spec(0.0, "Weight decay", "L2 penalty on the conv and dense weights "
                                "(not biases or batch norm), through the optimizer (0: none, "
                                "the book)", "Optimisation", "float", lo=0, hi=1)
    schedule: str = _spec("constant", "Schedule", "constant: the book; onecycle: warm up, then "
                          "anneal", "Optimisation", "choice", choices=("constant", "onecycle"))
    epochs: int = _spec(10, "Epochs", "Passes over the training set", "Optimisation", "int",
                        lo=1, hi=1000)
    batch_size: int = _spec(256, "Batch size", "Examples per optimizer step", "Optimisation",
                            "int", lo=1, hi=60_000)
    # Engine
    device: str = _spec("auto", "Device", "auto: CUDA, then Apple MPS, then the CPU", "Engine",
                        "choice", choices=("auto", "cpu", "cuda", "mps"))
    compile: str = _spec("auto", "Compile", "torch.compile the training step: auto (runs of "
                         "300k examples or more), on or off", "Engine", "choice",
                         choices=("auto", "on", "off"))
    data_loader: str = _spec("tensors", "Data loader", "tensors: the dataset pre-loaded once, "
                             "batches gathered by index; torchvision: the book's DataLoader "
                             "with ToTensor and 4 workers (slower)", "Engine", "choice",
                             choices=("tensors", "torchvision"))
    stop_at: float | None = _spec(None, "Stop at test accuracy", "End the run at the first "
                                  "epoch whose test accuracy reaches this (e.g. 0.99); empty: "
                                  "train every epoch", "Engine", "optional-float", lo=0, hi=1,
                                  lo_open=True)

    def __post_init__(self) -> None:
        # Lists arrive from JSON and argparse; store tuples so the config stays hashable.
        for name, spec in SPECS.items():
            if spec.is_list and isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))
        if problems := check(self.__dict__):
            raise ConfigError(problems)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainConfig:
        if unknown := sorted(set(d) - set(SPECS)):
            raise ConfigError(unknown[0], "is not a TrainConfig field")
        return cls(**d)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)


SPECS: dict[str, Spec] = {f.name: f.metadata["spec"] for f in dataclasses.fields(TrainConfig)}


class ConfigError(ValueError):
    """Hyperparameters that cannot train: `problems` maps each bad field to its message."""

    def __init__(self, field: str | Mapping[str, str], message: str | None = None):
        self.problems = dict(field) if message is None else {field: message}
        self.field, self.message = next(iter(self.problems.items()))
        super().__init__("; ".join(f"{f}: {m}" for f, m in self.problems.items()))


def _seq(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def check(values: Mapping[str, Any], *, device_available: bool = False) -> dict[str, str]:
    """Every problem with these field values, by field ({} when they make a valid config).
    device_available also refuses a device this machine does not have (the form and the CLI
    ask for it; a config read back from a checkpoint made elsewhere does not)."""
    problems = {}
    for name, spec in SPECS.items():
        if name in values and (p := spec.problem(values[name])):
            problems[name] = p
    if {"arch", "conv_channels", "kernel_size"} <= set(values) and not \
            {"arch", "conv_channels", "kernel_size"} & set(problems) and values["arch"] == "lenet":
        if p := _fit_problem(values["kernel_size"], len(values["conv_channels"])):
            problems["conv_channels"] = p
    if values.get("init_from") == "default" and "init_from" not in problems and any(
            _seq(values[k]) != getattr(DEFAULT_MODEL_RECIPE, k) for k in SHIPPED_NETWORK if k in values):
        problems["init_from"] = "the shipped model is LeNet 6/16, kernel 5, hidden 120/84, no batch norm"
    if p := _single_batch_problem(values, problems):
        problems["batch_norm"] = p
    if device_available and "device" in values and "device" not in problems:
        try:
            resolve(values["device"])
        except DeviceError as e:
            problems["device"] = str(e)
    return problems


def _single_batch_problem(values: Mapping[str, Any], problems: Mapping[str, str]) -> str | None:
    """Batch norm in training needs 2 or more examples in every batch (a batch of one has no
    spread to normalise by): the batch size, and the last batch of an epoch."""
    need = ("batch_norm", "batch_size", "max_train_examples", "dataset")
    if not set(need) <= set(values) or set(need) & set(problems) or not values["batch_norm"]:
        return None
    size = DATASETS[values["dataset"]].train_size
    n = min(size, values["max_train_examples"] or size)
    bs = values["batch_size"]
    if bs == 1 or n % bs == 1:
        return (f"needs 2 or more examples in every batch: batch size {bs} over {n:,} examples "
                "leaves a batch of 1; change the batch size or the number of examples")
    return None


def conv_padding(stage: int, kernel_size: int) -> int:
    """The first conv keeps the 28x28 size (the book pads its 5x5 conv by 2); later convs do
    not pad, as the book's second conv does not."""
    return kernel_size // 2 if stage == 0 else 0


def feature_sizes(kernel_size: int, stages: int, side: int = INPUT_SIZE) -> list[tuple[int, int]]:
    """(side after the conv, side after its 2x2 pooling) per conv stage of a side x side input."""
    sizes, n = [], side
    for stage in range(stages):
        conv = n + 2 * conv_padding(stage, kernel_size) - kernel_size + 1
        n = conv // 2
        sizes.append((conv, n))
    return sizes


def _fit_problem(kernel_size: int, stages: int) -> str | None:
    n = INPUT_SIZE
    for stage, (conv, pooled) in enumerate(feature_sizes(kernel_size, stages)):
        if conv < 2:  # the conv needs its kernel to fit, and pooling needs 2x2
            need = kernel_size + 1 - 2 * conv_padding(stage, kernel_size)
            return (f"{stages} conv stages of {kernel_size}x{kernel_size} kernels do not fit a "
                    f"28x28 image: stage {stage + 1} gets a {n}x{n} map and needs at least "
                    f"{need}x{need}; use fewer stages or a smaller kernel_size")
        n = pooled
    return None


def build(values: Mapping[str, Any], base: TrainConfig | None = None, *,
          device_available: bool = True) -> TrainConfig:
    """`base` (the book's recipe by default) with `values` over it; raises one ConfigError
    naming every bad field."""
    base = base or TrainConfig()
    problems = {name: "is not a TrainConfig field" for name in sorted(set(values) - set(SPECS))}
    problems |= check({**base.__dict__, **values}, device_available=device_available)
    if problems:
        raise ConfigError(problems)
    return base.replace(**values)


def from_text(texts: Mapping[str, str | list[str]], base: TrainConfig | None = None, *,
              device_available: bool = True) -> TrainConfig:
    """`build` from the command line's words: every unreadable or bad value is reported."""
    values, problems = {}, {}
    for name, text in texts.items():
        spec = SPECS[name]
        try:
            values[name] = spec.parse(text)
        except ValueError:
            shown = " ".join(text) if isinstance(text, list) else text
            problems[name] = spec.problem(shown) or f"cannot read {shown!r}"
    try:
        config = build(values, base, device_available=device_available)
    except ConfigError as e:
        raise ConfigError(problems | e.problems) from None
    if problems:
        raise ConfigError(problems)
    return config


# The seed's recipe, exactly: sigmoid, average pooling, SGD at lr 0.9, 10 epochs, batch 256.
D2L = TrainConfig()

# ReLU + max-pool + Adam: chosen by measurement (docs/BENCHMARKS.md); >= 97 % on MNIST in 1 epoch.
MODERN = TrainConfig(dataset="mnist", activation="relu", pooling="max", optimizer="adam", lr=2e-3,
                     epochs=5, batch_size=128, normalize=True)

# Fastest to 90 % Fashion-MNIST / 99 % MNIST on a laptop CPU (docs/BENCHMARKS.md): wider convs
# (the Q&A's "why 6 and 16?") and a one-cycle schedule buy more accuracy per second.
FAST = MODERN.replace(conv_channels=(12, 24), schedule="onecycle", lr=4e-3, epochs=3)

# The fastest recipe here (docs/BENCHMARKS.md, the speed-ladder experiment): narrow convs and a
# wide fully connected layer (cheap per example), batch 256, Adam with short memories (betas
# 0.7, 0.9) at a one-cycle peak of 8e-3. 2 epochs reach 99 % MNIST; Fashion-MNIST needs 3 for 90 %.
SPEEDRUN = MODERN.replace(conv_channels=(8, 16), hidden=(256,), batch_size=256, lr=8e-3,
                          betas=(0.7, 0.9), schedule="onecycle", epochs=2, pool_first=True)

# The seed's Q&A: ReLU at lr 0.9 does not learn (how, qa-activation measures); lr 0.1 trains.
RELU_QA = D2L.replace(activation="relu", lr=0.1)

# The book's batch-norm chapter: its LeNet with batch norm after each conv and hidden layer,
# lr 1.0 (its first conv does not pad; here it keeps the book's LeNet padding).
D2L_BN = D2L.replace(batch_norm=True, lr=1.0)

# The recipe of the model shipped for Draw and Inspect (the book's widths, so ~250 KB);
# `make default-model` retrains it with this preset.
DEFAULT_MODEL_RECIPE = MODERN.replace(schedule="onecycle", lr=4e-3, epochs=5)

PRESETS: dict[str, TrainConfig] = {"d2l": D2L, "modern": MODERN, "fast": FAST, "speedrun": SPEEDRUN,
                                   "relu-qa": RELU_QA, "d2l-bn": D2L_BN,
                                   "default-model": DEFAULT_MODEL_RECIPE}

PRESET_HELP = {
    "d2l": "the book's recipe: sigmoid, avg-pool, SGD lr 0.9, 10 epochs, batch 256",
    "modern": "ReLU, max-pool, Adam: fast and accurate",
    "fast": "ReLU, max-pool, 12/24 channels, Adam one-cycle, 3 epochs",
    "speedrun": "8/16 channels, 256 hidden, pool before ReLU, batch 256, Adam (0.7, 0.9) one-cycle "
                "8e-3, 2 epochs (3 for Fashion): tuned for time to 99 % MNIST / 90 % Fashion-MNIST",
    "relu-qa": "the Q&A: ReLU at lr 0.1 (at lr 0.9 it does not learn: see qa-activation)",
    "d2l-bn": "the book's batch-norm LeNet: the d2l recipe with batch norm after each conv and "
              "hidden layer, lr 1.0",
    "default-model": "the shipped MNIST model for Draw and Inspect",
}


def preset(name: str) -> TrainConfig:
    if name not in PRESETS:
        raise ConfigError("preset", f"must be one of {', '.join(PRESETS)}; got {name!r}")
    return PRESETS[name]
