"""The network against the seed: its printed shapes, the parameter count, and that it can learn."""

import pytest
import torch
from torch import nn

from lenet_core import ConfigError, TrainConfig, build_lenet, summary

# The seed's "检查模型" printout, without its Reshape row.
SEED_SHAPES = [
    ("Conv2d", [1, 6, 28, 28]), ("Sigmoid", [1, 6, 28, 28]), ("AvgPool2d", [1, 6, 14, 14]),
    ("Conv2d", [1, 16, 10, 10]), ("Sigmoid", [1, 16, 10, 10]), ("AvgPool2d", [1, 16, 5, 5]),
    ("Flatten", [1, 400]), ("Linear", [1, 120]), ("Sigmoid", [1, 120]),
    ("Linear", [1, 84]), ("Sigmoid", [1, 84]), ("Linear", [1, 10]),
]


def test_layer_table_matches_the_seed():
    rows = summary(TrainConfig())
    assert [(r.type, list(r.output_shape)) for r in rows] == SEED_SHAPES
    assert sum(r.params for r in rows) == 61_706


def test_parameter_count_matches_pytorch_reference():
    # The seed's own nn.Sequential, written out independently.
    ref = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, 2),
        nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.AvgPool2d(2, 2), nn.Flatten(),
        nn.Linear(400, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10))
    ours = build_lenet(TrainConfig())
    assert [p.shape for p in ours.parameters()] == [p.shape for p in ref.parameters()]


def test_variants_change_the_table():
    cfg = TrainConfig(activation="relu", pooling="max", conv_channels=(8, 24), hidden=(64, 32))
    rows = summary(cfg)
    assert rows[1].type == "ReLU" and rows[2].type == "MaxPool2d"
    assert rows[6].output_shape == (1, 24 * 25)
    mlp = summary(TrainConfig(arch="mlp"))
    assert [r.type for r in mlp][0] == "Flatten" and mlp[-1].output_shape == (1, 10)


def test_model_overfits_one_batch():
    torch.manual_seed(0)
    cfg = TrainConfig(activation="relu", pooling="max")
    net = build_lenet(cfg)
    x, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(200):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
    assert (net(x).argmax(1) == y).all()



def _conv(c_in, c_out, k):
    return c_in * c_out * k * k + c_out


def _fc(n_in, n_out):
    return n_in * n_out + n_out


@pytest.mark.parametrize("config,shapes,params", [
    # one stage of 8 5x5 kernels (28 -> 28 -> 14), straight to the 10 outputs
    (TrainConfig(conv_channels=(8,), hidden=()),
     {"conv1": (8, 28, 28), "pool1": (8, 14, 14), "flatten": (8 * 14 * 14,)},
     _conv(1, 8, 5) + _fc(8 * 14 * 14, 10)),
    # three stages of 3x3: 28 -> 28 -> 14 -> 12 -> 6 -> 4 -> 2
    (TrainConfig(kernel_size=3, conv_channels=(6, 16, 32)),
     {"conv2": (16, 12, 12), "pool2": (16, 6, 6), "conv3": (32, 4, 4), "pool3": (32, 2, 2)},
     _conv(1, 6, 3) + _conv(6, 16, 3) + _conv(16, 32, 3) + _fc(128, 120) + _fc(120, 84)
     + _fc(84, 10)),
    # 7x7 kernels, two stages: 28 -> 28 -> 14 -> 8 -> 4; one hidden layer
    (TrainConfig(kernel_size=7, hidden=(64,)),
     {"conv2": (16, 8, 8), "pool2": (16, 4, 4), "fc1": (64,), "fc2": (10,)},
     _conv(1, 6, 7) + _conv(6, 16, 7) + _fc(256, 64) + _fc(64, 10)),
    # an MLP with three hidden layers
    (TrainConfig(arch="mlp", hidden=(256, 128, 64)), {"fc3": (64,), "fc4": (10,)},
     _fc(784, 256) + _fc(256, 128) + _fc(128, 64) + _fc(64, 10)),
])
def test_grown_models_match_hand_computed_shapes_and_counts(config, shapes, params):
    rows = {r.layer: r for r in summary(config)}
    for layer, shape in shapes.items():
        assert rows[layer].output_shape == (1, *shape), layer
    assert sum(r.params for r in rows.values()) == params
    assert sum(p.numel() for p in build_lenet(config).parameters()) == params


def test_a_net_that_does_not_fit_28x28_is_refused_naming_the_field():
    with pytest.raises(ConfigError) as err:
        TrainConfig(conv_channels=(6, 16, 32))  # 5x5: stage 3 would get a 5x5 map
    assert err.value.field == "conv_channels" and "kernel_size" in err.value.message
    assert TrainConfig(arch="mlp", conv_channels=(6, 16, 32)).arch == "mlp"  # no convs to fit


def test_pooling_first_gives_the_same_numbers_for_max_pool_and_relu():
    modern = TrainConfig(activation="relu", pooling="max", conv_channels=(8, 16), hidden=(256,))
    first = modern.replace(pool_first=True)
    torch.manual_seed(0)
    a, b = build_lenet(modern), build_lenet(first)
    b.load_state_dict(a.state_dict())  # same layer names, so a checkpoint fits either order
    x = torch.rand(16, 1, 28, 28)
    assert torch.equal(a(x), b(x))
    rows = summary(first)
    assert [r.layer for r in rows[:6]] == ["conv1", "pool1", "act1", "conv2", "pool2", "act2"]
    assert tuple(rows[2].output_shape) == (1, 8, 14, 14)  # the activation runs on the pooled map
    # Average pooling and a sigmoid do not commute: another network, not the same numbers.
    book = TrainConfig()
    c, d = build_lenet(book), build_lenet(book.replace(pool_first=True))
    d.load_state_dict(c.state_dict())
    assert not torch.allclose(c(x), d(x))
