"""TrainConfig validates itself with messages that name the field."""

import pytest

from lenet_core.config import D2L, PRESETS, ConfigError, TrainConfig


def test_d2l_preset_is_the_seed_recipe():
    assert (D2L.dataset, D2L.activation, D2L.pooling, D2L.optimizer) == \
        ("fashion-mnist", "sigmoid", "avg", "sgd")
    assert (D2L.lr, D2L.epochs, D2L.batch_size, D2L.init) == (0.9, 10, 256, "xavier")
    assert (D2L.conv_channels, D2L.hidden) == ((6, 16), (120, 84))


@pytest.mark.parametrize("field,value", [
    ("dataset", "cifar"), ("activation", "swish"), ("pooling", "min"), ("optimizer", "rmsprop"),
    ("lr", 0), ("lr", -1.0), ("lr", float("nan")), ("epochs", 0), ("batch_size", 0),
    ("conv_channels", (6,)), ("conv_channels", (0, 16)), ("hidden", (120, -1)),
    ("device", "tpu"), ("max_train_examples", 0), ("epochs", 2.5),
])
def test_bad_values_are_refused_by_name(field, value):
    with pytest.raises(ConfigError) as err:
        TrainConfig(**{field: value})
    assert err.value.field == field
    assert field in str(err.value)


def test_json_round_trip_and_presets():
    for cfg in PRESETS.values():
        assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError):
        TrainConfig.from_dict({"lr": 0.1, "colour": "red"})
