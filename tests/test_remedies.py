"""The book's next tools (issue 18): batch norm, dropout, weight decay, augmentation.

Shapes and parameter counts against hand counts and an independent nn.Sequential; train and
eval modes against the formulas; checkpoints, Inspect and the CLI on batch-norm models; old
configs without the fields.
"""

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from lenet_core import augment, data, engine
from lenet_core.cli import main
from lenet_core.config import D2L, MODERN, PRESETS, TrainConfig, check
from lenet_core.explain import conv_explain, inference, saliency
from lenet_core.model import build_lenet, summary
from lenet_core.runs import checkpoint
from lenet_core.show import architecture, network_view, tables

BN = PRESETS["d2l-bn"]
BOOK_PARAMS = 61_706
# BatchNorm learns a scale and a shift per channel (conv) or unit (dense): 2 x (6 + 16 + 120 + 84).
BN_PARAMS = 2 * (6 + 16 + 120 + 84)
BN_SHAPES = [
    ("conv1", "Conv2d", (1, 6, 28, 28)), ("bn1", "BatchNorm2d", (1, 6, 28, 28)),
    ("act1", "Sigmoid", (1, 6, 28, 28)), ("pool1", "AvgPool2d", (1, 6, 14, 14)),
    ("conv2", "Conv2d", (1, 16, 10, 10)), ("bn2", "BatchNorm2d", (1, 16, 10, 10)),
    ("act2", "Sigmoid", (1, 16, 10, 10)), ("pool2", "AvgPool2d", (1, 16, 5, 5)),
    ("flatten", "Flatten", (1, 400)),
    ("fc1", "Linear", (1, 120)), ("bn3", "BatchNorm1d", (1, 120)), ("act3", "Sigmoid", (1, 120)),
    ("fc2", "Linear", (1, 84)), ("bn4", "BatchNorm1d", (1, 84)), ("act4", "Sigmoid", (1, 84)),
    ("fc3", "Linear", (1, 10)),
]
SMALL = dict(max_train_examples=512, batch_size=128, epochs=1)


def test_d2l_bn_is_the_books_recipe_with_batch_norm_at_lr_1():
    assert BN == D2L.replace(batch_norm=True, lr=1.0)
    assert (BN.activation, BN.epochs, BN.batch_size, BN.dataset) == \
        ("sigmoid", 10, 256, "fashion-mnist")
    # The book's recipe itself is unchanged: none of the new tools.
    assert (D2L.batch_norm, D2L.dropout, D2L.weight_decay, D2L.augment) == (False, 0.0, 0.0, "none")


def test_batch_norm_lenet_shapes_and_parameters_by_hand():
    rows = summary(BN)
    assert [(r.layer, r.type, r.output_shape) for r in rows] == BN_SHAPES
    assert {r.layer: r.params for r in rows if r.type.startswith("BatchNorm")} == \
        {"bn1": 12, "bn2": 32, "bn3": 240, "bn4": 168}
    assert sum(r.params for r in rows) == BOOK_PARAMS + BN_PARAMS == 62_158
    # The same parameters, in order, as d2l's batch-norm LeNet written out independently
    # (with the book's LeNet padding on conv1).
    ref = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.Sigmoid(), nn.AvgPool2d(2, 2),
        nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.Sigmoid(), nn.AvgPool2d(2, 2), nn.Flatten(),
        nn.Linear(400, 120), nn.BatchNorm1d(120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.BatchNorm1d(84), nn.Sigmoid(), nn.Linear(84, 10))
    ours = build_lenet(BN)
    assert [p.shape for p in ours.parameters()] == [p.shape for p in ref.parameters()]
    assert [b.shape for b in ours.buffers()] == [b.shape for b in ref.buffers()]


def test_the_layer_table_says_how_batch_norm_counts():
    how = {r["Layer"]: r["How"] for r in tables.layer_table(BN)}
    assert how["bn1"] == "2 × 6 (a scale and a shift per channel) = 12"
    assert how["bn3"] == "2 × 120 (a scale and a shift per unit) = 240"


def test_dropout_follows_each_hidden_activation_and_adds_no_parameters():
    rows = summary(D2L.replace(dropout=0.5))
    names = [r.layer for r in rows]
    assert names[names.index("act3") + 1] == "drop1" and names[names.index("act4") + 1] == "drop2"
    assert sum(r.params for r in rows) == BOOK_PARAMS
    assert [r.layer for r in summary(D2L)] == [n for n in names if not n.startswith("drop")]
    mlp = [r.layer for r in summary(D2L.replace(arch="mlp", hidden=(64,), batch_norm=True,
                                                dropout=0.2))]
    assert mlp == ["flatten", "fc1", "bn1", "act1", "drop1", "fc2"]


def test_dropout_zeroes_in_training_only():
    net = build_lenet(D2L.replace(dropout=0.5))
    drop = net.drop1
    x = torch.rand(64, 120) + 0.5  # no zeros of its own
    torch.manual_seed(0)
    y = drop.train()(x)
    zeroed = (y == 0).float().mean().item()
    assert 0.4 < zeroed < 0.6
    kept = y != 0
    torch.testing.assert_close(y[kept], x[kept] * 2)  # survivors scaled by 1 / (1 - p)
    assert torch.equal(drop.eval()(x), x)


def test_batch_norm_uses_the_batch_in_training_and_its_running_statistics_in_eval():
    torch.manual_seed(0)
    bn = build_lenet(BN).bn1
    x = torch.randn(32, 6, 28, 28) * 3 + 5
    y = bn.train()(x)
    # Training: each channel standardised by this batch's own mean and (biased) variance.
    torch.testing.assert_close(y.mean((0, 2, 3)), torch.zeros(6), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.var((0, 2, 3), unbiased=False), torch.ones(6), atol=1e-3, rtol=0)
    # ... and the running statistics moved 10 % of the way towards the batch's.
    torch.testing.assert_close(bn.running_mean, 0.1 * x.mean((0, 2, 3)))
    # Eval: the running statistics, whatever the batch, so one image alone gets an answer.
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2)
        bn.bias.uniform_(-1, 1)
    one = x[:1]
    expect = (one - bn.running_mean[:, None, None]) / torch.sqrt(bn.running_var[:, None, None]
                                                                  + bn.eps)
    expect = expect * bn.weight[:, None, None] + bn.bias[:, None, None]
    torch.testing.assert_close(bn.eval()(one), expect.detach())


def test_a_trained_batch_norm_checkpoint_predicts_exactly_as_before(fashion, tmp_path):
    config = BN.replace(dropout=0.3, **SMALL)
    result = engine.train(config, dataset=fashion)
    # Trained in channels-last layout; the checkpoint holds plain contiguous tensors, whose
    # convolutions round differently in the last bits: compare in the checkpoint's layout.
    net = result.model.cpu().to(memory_format=torch.contiguous_format).eval()
    assert not torch.equal(net.bn1.running_mean, torch.zeros(6))  # statistics were gathered
    path = checkpoint.save(tmp_path / "bn.pt", config, net, data.class_names(config.dataset))
    loaded = checkpoint.load(path)
    assert not loaded.net.training
    torch.testing.assert_close(loaded.net.bn3.running_var, net.bn3.running_var, rtol=0, atol=0)
    x = data.prepare(fashion.test_x[:500], config.dataset, config.normalize)
    with torch.no_grad():
        assert torch.equal(loaded.net(x), net(x))
    # Scoring ran in eval mode: the test accuracy is the checkpoint's own.
    acc = (inference.predict_proba(loaded, fashion.test_x).argmax(1) == fashion.test_y)
    assert acc.float().mean().item() == pytest.approx(result.test_acc, abs=2e-3)


def _weight_norm(net: nn.Module) -> float:
    return math.sqrt(sum(float(p.detach().pow(2).sum()) for p in net.parameters() if p.dim() > 1))


def test_weight_decay_shrinks_the_weights_and_leaves_biases_alone(fashion):
    base = D2L.replace(lr=0.5, **SMALL)
    plain = engine.train(base, dataset=fashion).model
    decayed = engine.train(base.replace(weight_decay=0.5), dataset=fashion).model
    assert _weight_norm(decayed) < 0.95 * _weight_norm(plain)
    groups = engine.make_optimizer(base.replace(weight_decay=0.01),
                                   build_lenet(base).parameters()).param_groups
    assert [(g["weight_decay"], {p.dim() for p in g["params"]}) for g in groups] == \
        [(0.01, {2, 4}), (0.0, {1})]
    assert len(engine.make_optimizer(base, build_lenet(base).parameters()).param_groups) == 1


@pytest.fixture
def batch(mnist) -> torch.Tensor:
    """64 digits as the network sees them: (64, 1, 28, 28) in [0, 1], channels last."""
    x = data.prepare(mnist.test_x[:64], "mnist", False)
    return x.contiguous(memory_format=torch.channels_last)


def _shifted(img: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """img moved right by dx and down by dy pixels, zeros moved in: by slicing, as a reference."""
    out = torch.zeros_like(img)
    h, w = img.shape[-2:]
    out[..., max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        img[..., max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


@pytest.mark.parametrize("kind", ["shift", "affine"])
def test_augmentation_changes_the_batch_keeps_its_shape_and_repeats_per_seed(kind, batch):
    x = batch
    a = augment.augment(x, kind, torch.Generator().manual_seed(0))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert a.is_contiguous(memory_format=torch.channels_last)
    assert not torch.equal(a, x)
    assert torch.equal(a, augment.augment(x, kind, torch.Generator().manual_seed(0)))
    assert not torch.equal(a, augment.augment(x, kind, torch.Generator().manual_seed(1)))
    # Small changes: most of each digit's ink is still on the image.
    ink = x.sum((1, 2, 3))
    assert ((a.sum((1, 2, 3)) - ink).abs() / ink).max() < 0.35
    assert augment.augment(x, "none", torch.Generator()) is x


def test_a_shift_moves_each_image_by_whole_pixels_up_to_two(batch):
    x = batch
    a = augment.augment(x, "shift", torch.Generator().manual_seed(3))
    moves = set()
    for img, out in zip(x, a, strict=True):
        found = [(dx, dy) for dx in range(-2, 3) for dy in range(-2, 3)
                 if torch.equal(out, _shifted(img, dx, dy))]
        assert found, "not a whole-pixel shift of at most 2"
        moves.add(found[0])
    assert len(moves) > 5  # each image its own shift


def test_what_moves_in_is_the_background_of_standardised_images():
    config = MODERN.replace(dataset="fashion-mnist", augment="shift", normalize=True)
    blank = data.prepare(torch.zeros(8, 28, 28, dtype=torch.uint8), "fashion-mnist", True)
    out = augment.for_config(config)(blank)
    torch.testing.assert_close(out, blank)  # a blank image stays blank, edges included
    assert augment.for_config(config.replace(augment="none"))(blank) is blank


def test_an_augmented_run_is_reproducible_and_differs_from_a_plain_one(fashion):
    config = MODERN.replace(dataset="fashion-mnist", augment="affine", **SMALL)
    a, b = (engine.train(config, dataset=fashion) for _ in range(2))
    assert a.points == b.points
    plain = engine.train(config.replace(augment="none"), dataset=fashion)
    assert plain.points != a.points


def test_train_help_lists_the_new_flags_and_they_reach_the_config(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for flag in ("--batch-norm", "--no-batch-norm", "--dropout", "--weight-decay", "--augment",
                 "d2l-bn"):
        assert flag in out, flag
    from lenet_core.cli import build_parser
    from lenet_core.cli.args import config_from_args
    a = build_parser().parse_args(["train", "--preset", "d2l-bn", "--dropout", "0.25",
                                   "--weight-decay", "5e-4", "--augment", "shift"])
    assert config_from_args(a, device_available=False) == \
        BN.replace(dropout=0.25, weight_decay=5e-4, augment="shift")


@pytest.mark.parametrize("args,says", [
    (["--dropout", "0.95"], "dropout: must be a number in [0, 0.9]"),
    (["--weight-decay", "-1"], "weight_decay: must be a number in [0, 1]"),
    (["--augment", "flip"], "augment: must be one of none, shift, affine"),
])
def test_bad_values_of_the_new_flags_are_refused_in_one_line(args, says, capsys):
    assert main(["train", *args]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("values", [dict(batch_size=1), dict(batch_size=256, max_train_examples=257),
                                    dict(batch_size=59_999, max_train_examples=None)])
def test_batch_norm_refuses_a_batch_of_one_example(values):
    """BatchNorm1d cannot train on one example: refused before training, not mid-run."""
    problems = check({**BN.replace(**values, batch_norm=False).__dict__, "batch_norm": True})
    assert problems.keys() == {"batch_norm"} and "leaves a batch of 1" in problems["batch_norm"]
    assert not check(BN.replace(**values, batch_norm=False).__dict__)


def _loaded(config: TrainConfig, tmp_path) -> checkpoint.LoadedModel:
    torch.manual_seed(0)
    net = build_lenet(config)
    with torch.no_grad():  # running statistics away from their defaults
        for m in net.modules():
            if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2)
    path = checkpoint.save(tmp_path / "net.pt", config, net, data.class_names(config.dataset))
    return checkpoint.load(path)


@pytest.mark.parametrize("config", [BN, MODERN.replace(batch_norm=True, pool_first=True,
                                                       dropout=0.5)], ids=["d2l-bn", "pool-first"])
def test_inspect_works_on_a_batch_norm_model(config, tmp_path, fashion):
    model = _loaded(config, tmp_path)
    image = fashion.test_x[0]
    acts = inference.feature_maps(model, image)
    assert [a.layer for a in acts] == [r.layer for r in summary(config)]
    # The book's "activations of the first and second layer": after the batch norm and the
    # activation (or, pooling first, the batch norm just before the pooling).
    want = ["act1", "act2"] if not config.pool_first else ["bn1", "bn2"]
    assert [a.layer for a in inference.conv_stage_activations(acts)] == want
    conv, after = saliency.last_conv_stage(model.net)
    assert conv is model.net.conv2 and after is getattr(model.net, want[1])
    for method in saliency.METHODS:
        smap = saliency.saliency(model, image, method)
        assert smap.shape == (28, 28) and np.isfinite(smap).all() and smap.any()
    c = conv_explain.explain(model, image, "conv2", channel=3, row=4, col=5)
    assert [s.layer for s in c.before_pool][0] == "bn2"
    out = {a.layer: a.output for a in acts}
    assert c.value == pytest.approx(float(out[want[1]][3, 4, 5]), abs=1e-5)
    assert [b.tag for b in architecture.boxes(config)] == \
        ["INPUT", "C1", "S2", "C3", "S4", "F5", "F6", "OUTPUT"]
    # Draw's whole-network view: a panel per box, the output's probabilities summing to 1.
    panels = network_view.panels(model, image)
    assert [b.tag for b, _, _ in panels] == [b.tag for b in architecture.boxes(config)]
    assert panels[-1][1].sum() == pytest.approx(1, abs=1e-5)


def test_an_old_config_and_checkpoint_without_the_fields_load_as_the_book_had_them(tmp_path):
    old = {k: v for k, v in D2L.to_dict().items()
           if k not in ("batch_norm", "dropout", "weight_decay", "augment")}
    assert TrainConfig.from_dict(old) == D2L
    # A checkpoint written before the fields existed: its config lacks them.
    net = build_lenet(D2L)
    path = tmp_path / "old.pt"
    torch.save({"format": checkpoint.FORMAT, "config": old, "state_dict": net.state_dict(),
                "class_names": list(data.class_names("fashion-mnist"))}, path)
    loaded = checkpoint.load(path)
    assert loaded.config == D2L and "bn1" not in dict(loaded.net.named_children())
    x = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(loaded.net(x), net.eval()(x))
    assert json.loads(loaded.config.to_json())["augment"] == "none"
