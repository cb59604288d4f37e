"""The training engine: curve points, determinism, stop, divergence."""

import math

import pytest
import torch

from lenet_core import engine, scoring
from lenet_core.config import D2L, MODERN, TrainConfig

SMALL = D2L.replace(epochs=2, max_train_examples=2560, batch_size=256)


def _run(config, dataset, **kw):
    events = []
    result = engine.train(config, dataset=dataset, on_event=events.append, **kw)
    return result, events


def test_five_points_per_epoch_and_a_test_accuracy(fashion):
    result, events = _run(SMALL, fashion)
    assert result.status == "finished"
    train_points = [p for p in result.points if p.test_acc is None]
    test_points = [p for p in result.points if p.test_acc is not None]
    # 10 batches per epoch -> a point every 2 batches, as the seed's animator.
    assert [round(p.x, 2) for p in train_points] == [0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0]
    assert [p.x for p in test_points] == [1.0, 2.0]
    # Train accuracy is right answers over the examples seen so far in the epoch: 512 per
    # point (2 batches of 256), so it is a whole count over 512 k.
    for k, p in enumerate(train_points):
        seen = 512 * (k % 5 + 1)
        assert p.train_acc * seen == pytest.approx(round(p.train_acc * seen), abs=1e-6)
        assert p.train_loss > 0
    assert result.examples_per_sec > 0 and result.wall_time >= result.train_time > 0
    assert events[0].kind == "start" and events[-1].kind == "end"
    assert sum(e.kind == "batch" for e in events) == 20


def test_same_seed_same_numbers(fashion):
    a, _ = _run(SMALL, fashion)
    b, _ = _run(SMALL, fashion)
    assert a.points == b.points
    c, _ = _run(SMALL.replace(seed=1), fashion)
    assert c.points != a.points


def test_stop_takes_effect_within_one_batch(fashion):
    seen = []

    def on_event(e):
        if e.kind == "batch":
            seen.append(e.step)

    result = engine.train(SMALL, dataset=fashion, on_event=on_event,
                          should_stop=lambda: len(seen) >= 3)
    assert result.status == "stopped"
    assert seen == [1, 2, 3]  # no batch ran after the request was seen


@pytest.mark.slow
def test_relu_at_lr_09_diverges_in_the_first_epoch(fashion):
    # The seed's Q&A: four sigmoids -> ReLU, and the model does not converge at lr 0.9. On
    # standardised pixels the loss leaves the finite numbers: the run ends there, at once.
    events = []
    result = engine.train(D2L.replace(activation="relu", epochs=1, normalize=True),
                          dataset=fashion, on_event=events.append)
    assert result.status == "diverged"
    steps_per_epoch = math.ceil(60_000 / 256)
    assert 1 <= result.diverged_step <= steps_per_epoch
    assert math.isnan(result.train_loss)
    assert max(e.step for e in events) == result.diverged_step  # no step ran after it


@pytest.mark.slow
def test_relu_at_lr_09_on_the_books_pixels_stays_at_chance(fashion):
    # On the book's [0, 1] pixels (seed 0) the loss stays finite but at log(10), the accuracy
    # at chance: the Q&A's "basically does not converge".
    result, _ = _run(D2L.replace(activation="relu", epochs=1), fashion)
    assert result.status == "finished"
    assert result.test_acc < 0.2 and abs(result.train_loss - math.log(10)) < 0.1


@pytest.mark.slow
def test_relu_at_lr_01_trains(fashion):
    # ... and the Q&A's fix, lr 0.1, does converge.
    cfg = D2L.replace(activation="relu", lr=0.1, epochs=1)
    result, _ = _run(cfg, fashion)
    assert result.status == "finished"
    assert result.test_acc > 0.6


def test_every_optimizer_and_arch_trains(mnist):
    # Better than chance (10 %) by far after 32 steps: each one learns.
    for cfg in (MODERN.replace(optimizer="momentum", lr=0.02), MODERN, TrainConfig(
            dataset="mnist", arch="mlp", activation="relu", optimizer="adam", lr=1e-3)):
        result, _ = _run(cfg.replace(epochs=1, max_train_examples=4096), mnist)
        assert result.status == "finished" and result.test_acc > 0.5, cfg


def test_evaluate_restores_training_mode(mnist):
    net = engine.prepare_model(MODERN, engine.resolve("cpu"))
    x = engine.to_input(mnist.test_x[:100], engine.resolve("cpu"), MODERN)
    net.train()
    acc = scoring.accuracy(net, x, mnist.test_y[:100], batch=32)  # in 4 batches, the last short
    assert net.training
    net.eval()
    with torch.no_grad():
        right = int((net(x).argmax(1) == mnist.test_y[:100]).sum())
    assert acc == right / 100


@pytest.mark.slow
def test_compiled_training_matches_eager(fashion):
    # torch.compile only reorders float sums: the curves agree to float32 rounding.
    cfg = SMALL.replace(max_train_examples=1000)  # 3 full batches and a 232-example remainder
    eager, _ = _run(cfg, fashion, compile=False)
    compiled, _ = _run(cfg, fashion, compile=True)
    assert compiled.compiled and not eager.compiled
    for a, b in zip(eager.points, compiled.points, strict=True):
        assert a.x == b.x
        if a.train_loss is not None:
            assert abs(a.train_loss - b.train_loss) < 1e-4
    assert abs(eager.test_acc - compiled.test_acc) < 0.01


@pytest.mark.slow
def test_the_books_torchvision_pipeline_gives_the_same_kind_of_run(fashion):
    # The speed ladder's first rung: DataLoader + ToTensor + 4 workers instead of tensors.
    cfg = MODERN.replace(dataset="fashion-mnist", data_loader="torchvision", epochs=1,
                         max_train_examples=2560)
    result, events = _run(cfg, fashion)
    assert result.status == "finished" and result.test_acc > 0.5  # it learns (chance: 0.1)
    assert sum(e.kind == "batch" for e in events) == 20
    again, _ = _run(cfg, fashion)
    assert again.points == result.points  # seeded shuffling: the same numbers twice


def test_compile_can_be_switched_off_and_on_in_the_config(fashion):
    cfg = SMALL.replace(max_train_examples=512, epochs=1)
    assert not _run(cfg.replace(compile="off"), fashion)[0].compiled
    assert _run(cfg.replace(compile="on"), fashion)[0].compiled
