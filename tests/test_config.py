"""TrainConfig: one spec per field, one check that names every bad field, presets."""

import pytest
import torch

from lenet_core import cli
from lenet_core.cli import args as cli_args
from lenet_core.config import (
    D2L,
    MODERN,
    PRESETS,
    SPECS,
    ConfigError,
    TrainConfig,
    build,
    check,
    from_text,
)


def test_d2l_preset_is_the_seed_recipe():
    assert (D2L.dataset, D2L.activation, D2L.pooling, D2L.optimizer) == \
        ("fashion-mnist", "sigmoid", "avg", "sgd")
    assert (D2L.lr, D2L.epochs, D2L.batch_size, D2L.init) == (0.9, 10, 256, "xavier")
    assert (D2L.conv_channels, D2L.hidden) == ((6, 16), (120, 84))


@pytest.mark.parametrize("field,value", [
    ("dataset", "cifar"), ("activation", "swish"), ("pooling", "min"), ("optimizer", "rmsprop"),
    ("lr", 0), ("lr", -1.0), ("lr", float("nan")), ("lr", float("inf")), ("lr", True),
    ("epochs", 0), ("epochs", 2.5), ("batch_size", 0), ("batch_size", 10**8),
    ("conv_channels", ()), ("conv_channels", (6, 16, 32, 64)), ("conv_channels", (0, 16)),
    ("conv_channels", 6), ("conv_channels", (6, 16, 32)),  # 3 stages of 5x5 do not fit 28x28
    ("kernel_size", 4), ("hidden", (120, 84, 64, 32)), ("stop_at", 1.5), ("compile", "yes"),
    ("data_loader", "pandas"), ("betas", (0.9,)), ("betas", (0.9, 1.0)), ("betas", (-0.1, 0.9)),
    ("hidden", (120, -1)), ("hidden", (120, None)), ("device", "tpu"),
    ("max_train_examples", 0), ("normalize", "yes"), ("seed", -1), ("arch", "resnet"),
])
def test_bad_values_are_refused_by_name(field, value):
    with pytest.raises(ConfigError) as err:
        TrainConfig(**{field: value})
    assert err.value.field == field
    assert field in str(err.value)


def test_every_bad_field_is_reported_at_once():
    values = MODERN.to_dict() | {"epochs": 0, "lr": -1.0, "hidden": (120, None)}
    assert set(check(values)) == {"epochs", "lr", "hidden"}
    assert check(values)["lr"] == "must be a number in (0, 10], got -1.0"
    with pytest.raises(ConfigError) as err:
        build(values)
    assert set(err.value.problems) == {"epochs", "lr", "hidden"}
    assert str(err.value).count(";") == 2  # one line, every field


def test_build_accepts_a_good_form_and_refuses_a_missing_device(monkeypatch):
    assert build(MODERN.to_dict()) == MODERN
    assert build({"lr": 0.1}, MODERN) == MODERN.replace(lr=0.1)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError) as err:
        build(MODERN.to_dict() | {"device": "cuda"})
    assert "CUDA" in err.value.problems["device"]
    # A config read back from elsewhere (a checkpoint made on a GPU) is not refused.
    assert TrainConfig(device="cuda").device == "cuda"
    with pytest.raises(ConfigError, match="colour: is not a TrainConfig field"):
        build({"colour": "red"})


def test_text_from_the_command_line():
    assert from_text({"lr": "0.1", "conv_channels": ["8", "24"]}) == \
        D2L.replace(lr=0.1, conv_channels=(8, 24))
    with pytest.raises(ConfigError) as err:
        from_text({"lr": "abc", "epochs": "0", "conv_channels": ["6", "x"]})
    assert set(err.value.problems) == {"lr", "epochs", "conv_channels"}
    assert "got 'abc'" in err.value.problems["lr"]


def _another_value(name, spec) -> list[str]:
    """Command-line words for a valid value of the field that differs from the book's."""
    default = getattr(D2L, name)
    if spec.kind == "choice":
        return [str(next(c for c in spec.choices if c != default and c not in ("cuda", "mps")))]
    if spec.is_list:
        one = str(int(spec.lo) + 1) if spec.kind == "ints" else "0.5"
        return [one] * max(1, spec.length[0])
    if spec.kind in ("float", "optional-float"):
        return ["0.5"]
    return [] if spec.kind == "bool" else ["123"]


def test_every_field_is_reachable_from_the_cli():
    """Each TrainConfig field has a flag that sets it (the form's side is in test_app)."""
    parser = cli.build_parser()
    for name, spec in SPECS.items():
        args = parser.parse_args(["train", cli_args.flag(name), *_another_value(name, spec)])
        assert getattr(cli_args.config_from_args(args), name) != getattr(D2L, name), name


def test_json_round_trip_and_presets():
    for cfg in PRESETS.values():
        assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError):
        TrainConfig.from_dict({"lr": 0.1, "colour": "red"})
