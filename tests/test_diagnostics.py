"""Per-layer diagnostics against hand computations and torch's own numbers, and stored with a
real run as it trains."""

import json
import math

import pytest
import torch
from torch import nn

from lenet_core.cli import main
from lenet_core.config import D2L
from lenet_core.engine import Trainer, prepare_model
from lenet_core.explain import diagnostics as dg
from lenet_core.model import build_lenet
from lenet_core.runs import diagnostics_store, runner

RELU = D2L.replace(activation="relu", device="cpu", compile="off")
N = 32


def batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(N, 1, 28, 28, generator=g), torch.randint(0, 10, (N,), generator=g)


def measured(net: nn.Module, x: torch.Tensor, y: torch.Tensor, backward: bool = True) -> dict:
    """A record of `net` on (x, y): gradients from one backward pass on the same batch."""
    net.zero_grad()
    if backward:
        nn.functional.cross_entropy(net(x), y).backward()
    layers = dg.weight_layers(net)
    return dg.measure(net, layers, x, y, torch.zeros(len(layers)), torch.tensor(2.3))


def test_a_relu_layer_forced_dead_is_100_percent_dead_and_the_others_are_not():
    net = build_lenet(RELU)
    with torch.no_grad():
        net.conv2.bias.fill_(-1e4)  # every conv2 output negative: act2 is 0 everywhere
    rec = measured(net, *batch(), backward=False)
    assert dg.layer(rec, "act2")["dead"] == 1.0
    assert dg.layer(rec, "act1")["dead"] < 0.5
    assert rec["finite"] and rec["state"] is None
    # 16 of the 6 + 16 + 120 + 84 = 226 units dead at least
    assert dg.dead_fraction(rec) >= 16 / 226


def test_one_dead_channel_of_six_reads_one_sixth():
    net = build_lenet(RELU)
    with torch.no_grad():
        net.conv1.bias[2] = -1e4
    assert dg.layer(measured(net, *batch(), backward=False), "act1")["dead"] == \
        pytest.approx(1 / 6)


def test_a_saturated_sigmoid_layer_is_counted_saturated():
    net = build_lenet(D2L)
    with torch.no_grad():
        net.fc1.bias.fill_(50.0)  # every fc1 output sigmoid(>40) > 0.98
    rec = measured(net, *batch(), backward=False)
    assert dg.layer(rec, "act3")["saturated"] == 1.0
    x, _ = batch()
    a1 = torch.sigmoid(net.conv1(x))  # by hand: the share of outputs outside [0.02, 0.98]
    by_hand = ((a1 < 0.02) | (a1 > 0.98)).float().mean().item()
    assert dg.layer(rec, "act1")["saturated"] == pytest.approx(by_hand)
    assert dg.layer(rec, "act1")["dead"] is None  # dead units are a ReLU's


def test_gradient_and_weight_norms_equal_torchs_own():
    net = build_lenet(D2L)
    x, y = batch()
    rec = measured(net, x, y)
    for name in ("conv1", "conv2", "fc1", "fc2", "fc3"):
        w = getattr(net, name).weight
        entry = dg.layer(rec, name)
        assert entry["grad_norm"] == pytest.approx(w.grad.norm().item(), rel=1e-5)
        assert entry["weight_norm"] == pytest.approx(w.norm().item(), rel=1e-5)
        assert sum(entry["hist"]["weight"]["counts"]) == w.numel()
    # the sigmoid net's gradient shrinks from the last layer to the first, as is known
    assert dg.layer(rec, "conv1")["grad_norm"] < dg.layer(rec, "fc3")["grad_norm"]


def test_activation_mean_and_std_match_a_forward_pass_by_hand():
    net = build_lenet(D2L)
    x, y = batch()
    rec = measured(net, x, y, backward=False)
    with torch.no_grad():
        a2 = torch.sigmoid(net.conv2(net.pool1(torch.sigmoid(net.conv1(x)))))
    assert dg.layer(rec, "act2")["mean"] == pytest.approx(a2.mean().item(), rel=1e-5)
    assert dg.layer(rec, "act2")["std"] == pytest.approx(a2.std().item(), rel=1e-5)
    assert sum(dg.layer(rec, "act2")["hist"]["activation"]["counts"]) == a2.numel()


def test_nan_weights_read_non_finite_not_dead():
    net = build_lenet(RELU)
    with torch.no_grad():
        net.conv1.weight[0, 0, 0, 0] = float("nan")
    rec = measured(net, *batch(), backward=False)
    assert rec["state"] == dg.NON_FINITE and not rec["finite"]
    for name in ("act1", "act2", "act3", "act4"):
        entry = dg.layer(rec, name)
        assert entry["dead"] is None and entry["state"] == dg.NON_FINITE
    assert not dg.layer(rec, "conv1")["finite"]
    assert dg.dead_fraction(rec) is None
    json.dumps(rec, allow_nan=False)  # storable: no NaN in the record


def test_the_update_ratio_of_plain_sgd_is_lr_times_grad_over_weight(fashion):
    config = RELU.replace(lr=0.05, max_train_examples=512, batch_size=64, epochs=1)
    w0 = {n: m.weight.detach().norm().item()
          for n, m in dg.weight_layers(prepare_model(config, torch.device("cpu")))}
    trainer = Trainer(config, dataset=fashion, compile=False)
    recorder = dg.Recorder(lambda r: None, dense_steps=1).attach(trainer)
    trainer.run()
    first = recorder.records[0]
    assert first["step"] == 1
    for name, norm in w0.items():
        entry = dg.layer(first, name)
        # one SGD step, no momentum: ||dw|| = lr ||g||, over the weight before the step
        assert entry["update_ratio"] == pytest.approx(0.05 * entry["grad_norm"] / norm, rel=1e-4)
    # 8 steps: the first recorded, then the curve points (every 8 // 5 = 1 step)
    assert [r["step"] for r in recorder.records] == list(range(1, 9))
    assert all(math.isfinite(r["loss"]) for r in recorder.records)
    assert trainer.net.training  # the probe pass left the network in training mode


def test_a_real_run_stores_diagnostics_dense_at_the_start(store, fashion, capsys):
    # 100 steps of 32 examples: every step up to 50, then the curve points (every 20 steps)
    config = RELU.replace(lr=0.1, max_train_examples=3200, batch_size=32, epochs=1)
    run_id = store.create(config, "diagnosed")
    store.claim(run_id, 0, max_running=None)
    assert runner.execute(store, run_id) == "finished"
    recs = diagnostics_store.records(store, run_id)
    assert [r["step"] for r in recs] == list(range(1, 51)) + [60, 80, 100]
    assert recs[-1]["x"] == 1.0
    names = [entry["name"] for entry in recs[0]["layers"]]
    assert names == ["conv1", "conv2", "fc1", "fc2", "fc3", "act1", "act2", "act3", "act4"]
    assert diagnostics_store.counts(store, [run_id, "nope"]) == {run_id: 53, "nope": 0}

    assert main(["diagnostics", "--run", run_id]) == 0
    out = capsys.readouterr().out
    for text in ("step 1", "step 100", "conv1", "act4", "dead", "grad norm"):
        assert text in out, text
    assert main(["diagnostics", "--run", run_id, "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert [r["step"] for r in got["records"]] == [r["step"] for r in recs]

    store.delete(run_id)
    assert diagnostics_store.records(store, run_id) == []


def test_a_run_without_diagnostics_says_so(store, capsys):
    run_id = store.create(RELU, "old")
    assert main(["diagnostics", "--run", run_id]) == 0
    assert "no diagnostics" in capsys.readouterr().out
    assert main(["diagnostics", "--run", "nope"]) == 2


def test_a_diverging_run_is_recorded_where_it_blew_up_as_non_finite_not_dead(fashion):
    config = RELU.replace(max_train_examples=2560, batch_size=32, epochs=1)  # points every 16
    trainer = Trainer(config, dataset=fashion, compile=False)
    recorder = dg.Recorder(lambda r: None, dense_steps=0).attach(trainer)  # points only

    def poison(t):  # after step 7 a weight turns NaN: step 8's loss is not finite
        if t.step == 7:
            with torch.no_grad():
                t.net.conv2.weight[0, 0, 0, 0] = float("nan")

    trainer.add_callback("after_step", poison)
    result = trainer.run()
    assert result.status == "diverged" and result.diverged_step == 8
    last = recorder.records[-1]
    assert last["step"] == 8 and last["state"] == dg.NON_FINITE and last["loss"] is None
    assert dg.dead_fraction(last) is None
    assert all(dg.layer(last, a)["dead"] is None for a in ("act2", "act3", "act4"))
    json.dumps(recorder.records, allow_nan=False)
