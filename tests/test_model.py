"""The network against the seed: its printed shapes, the parameter count, and that it can learn."""

import torch
from torch import nn

from lenet_core import TrainConfig, build_lenet, summary

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

