"""The learning-rate range test: its stop rule and suggested range on a quadratic loss, where
SGD's answer is known (it converges for lr < 2/c and diverges above), and on the book's net."""

import json
import math

import pytest
import torch

from lenet_core.cli import main
from lenet_core.config import D2L
from lenet_core.explain import lr_find


def quadratic(curvatures):
    """One SGD step on f(w) = sum(c_i w_i^2) / 2 from w = 1: returns the loss before it."""
    c = torch.tensor(curvatures, dtype=torch.float64)
    w = torch.ones_like(c)

    def step(lr: float) -> float:
        nonlocal w
        loss = float((c * w * w).sum() / 2)
        w = w - lr * c * w  # the gradient is c w
        return loss
    return step


@pytest.mark.parametrize("curvatures", [[4.0], [0.4, 1.0, 2.0, 4.0], [4.0, 4.0, 0.04]])
def test_on_a_quadratic_it_stops_only_past_divergence_and_suggests_rates_that_converge(
        curvatures):
    diverges_above = 2 / max(curvatures)  # |1 - lr c| > 1 for the largest curvature
    curve = lr_find.range_test(quadratic(curvatures))
    assert curve.stopped == "blew up"
    # Below 2/c every step shrinks the loss, so the smoothed loss cannot have turned yet.
    assert curve.lrs[-1] > diverges_above
    below = [s for lr, s in zip(curve.lrs, curve.smoothed, strict=True) if lr < diverges_above]
    assert all(b <= a + 1e-12 for a, b in zip(below, below[1:], strict=False))
    # The whole suggested range converges, and it is not uselessly timid.
    assert diverges_above / 10 < curve.high < diverges_above
    assert curve.low < curve.high and curve.lr_steep is not None
    step = quadratic(curvatures)
    losses = [step(curve.high) for _ in range(50)]  # SGD at the range's top converges
    assert all(b < a for a, b in zip(losses, losses[1:], strict=False))


def test_smoothing_is_bias_corrected_and_a_non_finite_loss_stops_the_test():
    flat = lr_find.range_test(lambda lr: 2.3, steps=50)
    assert flat.stopped == "end" and len(flat.lrs) == 50
    assert flat.smoothed == pytest.approx([2.3] * 50)  # no pull towards 0 at the start
    assert flat.lrs[0] == pytest.approx(1e-5) and flat.lrs[-1] == pytest.approx(10)
    boom = lr_find.range_test(lambda lr: 1.0 if lr < 0.01 else math.nan)
    assert boom.stopped == "not finite" and boom.losses[-1] is None
    assert boom.lrs[-2] < 0.01 <= boom.lrs[-1]


def test_the_cli_keeps_its_result_beside_the_store_and_adds_no_run(store, capsys):
    quick = ["--max-train-examples", "512", "--batch-size", "64", "--steps", "12"]
    assert main(["lr-find", *quick, "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert len(got["lrs"]) == len(got["smoothed"]) <= 12 and got["config"]["batch_size"] == 64
    assert main(["lr-find", *quick]) == 0
    out = capsys.readouterr().out
    assert "suggested range" in out and "this config's lr 0.9" in out
    kept = lr_find.load(store.root)
    assert [c.id for c in kept][0] == got["id"] and len(kept) == 2
    assert store.list() == []  # the run store's runs are untouched
    assert main(["lr-find", "--steps", "3"]) == 2


@pytest.mark.slow  # 2 x 200 steps of the book's net: ~10 s idle, minutes on a busy machine
def test_on_the_books_net_lr_09_is_past_relus_minimum_and_fine_for_sigmoid(fashion):
    curves = {act: lr_find.lr_find(D2L.replace(activation=act, device="cpu"), fashion)
              for act in ("sigmoid", "relu")}
    sig, relu = curves["sigmoid"], curves["relu"]
    assert relu.lr_min < sig.lr_min
    assert relu.lr_min < 0.9 <= sig.lr_min  # the seed's experience: 0.9 suits only sigmoid
    assert lr_find.where(0.9, relu).startswith("past the loss's minimum")
    assert relu.high < 0.9
