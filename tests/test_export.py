"""ONNX export, checked with onnxruntime against torch itself: on the full 10,000 test images
for the shipped model and for a freshly trained run of another architecture, and on random
images for every architecture the config can build; the file's shapes and metadata; the
`export --onnx` command and its refusals. The TensorBoard export: test_export_tb.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from lenet_core import data
from lenet_core.cli import main
from lenet_core.config import MODERN, TrainConfig
from lenet_core.export import onnx_model
from lenet_core.model import build_lenet
from lenet_core.runs import checkpoint

TOLERANCE = 1e-4  # the largest probability difference allowed between onnxruntime and torch


def torch_probs(model: checkpoint.LoadedModel, images: torch.Tensor) -> np.ndarray:
    """The reference, written out here: [0, 1] pixels, standardised as in training, the
    network in eval mode, softmax."""
    x = images.float().unsqueeze(1) / 255
    if model.config.normalize:
        info = data.info(model.config.dataset)
        x = (x - info.mean) / info.std
    with torch.no_grad():
        return torch.softmax(model.net.eval()(x), 1).numpy()


def onnx_probs(blob: bytes, images: torch.Tensor) -> np.ndarray:
    session = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    pixels = images.numpy().astype(np.float32)[:, None] / 255
    return np.concatenate([session.run(["probabilities"], {"pixels": pixels[i:i + 2000]})[0]
                           for i in range(0, len(pixels), 2000)])


def assert_agree(model, blob: bytes, images: torch.Tensor, *,
                 check_verify: bool = True) -> tuple[int, float]:
    """Every image gets the same answer from both, probabilities within TOLERANCE; returns
    (images answered alike, largest difference), which verify() must report too."""
    expected, got = torch_probs(model, images), onnx_probs(blob, images)
    same = int((expected.argmax(1) == got.argmax(1)).sum())
    worst = float(np.abs(expected - got).max())
    assert same == len(images) and worst <= TOLERANCE, (same, worst)
    if check_verify:
        agreement = onnx_model.verify(model, blob, images)
        assert (agreement.images, agreement.same_answer) == (len(images), same)
        assert agreement.max_prob_diff == pytest.approx(worst, abs=1e-6)
    return same, worst


def test_the_shipped_model_answers_alike_on_all_10k_test_images(store, mnist, tmp_path, capsys):
    out = tmp_path / "model.onnx"
    assert main(["export", "--onnx", str(out), "--run", "default"]) == 0
    said = capsys.readouterr().out
    model = checkpoint.load_default()
    same, worst = assert_agree(model, out.read_bytes(), mnist.test_x, check_verify=False)
    assert same == 10_000
    assert said_agreement(said) == pytest.approx((same, worst), rel=0.06)  # verify()'s figures


def test_the_file_has_a_dynamic_batch_inferred_shapes_and_its_metadata(mnist):
    model = checkpoint.load_default()
    proto = onnx_model.to_onnx(model, "abc123")
    onnx.checker.check_model(proto, full_check=True)
    assert {o.domain: o.version for o in proto.opset_import}[""] == onnx_model.OPSET >= 21

    def dims(value) -> list:
        return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]

    assert [(i.name, dims(i)) for i in proto.graph.input] == [("pixels", ["batch", 1, 28, 28])]
    assert [(o.name, dims(o)) for o in proto.graph.output] == \
        [("logits", ["batch", 10]), ("probabilities", ["batch", 10])]
    # Shape inference ran: every node's output has its full shape, for Netron to show.
    shapes = {v.name: dims(v) for v in [*proto.graph.value_info, *proto.graph.output]}
    for node in proto.graph.node:
        for name in node.output:
            assert name in shapes and all(shapes[name]), (node.op_type, name)
    first_conv = next(n for n in proto.graph.node if n.op_type == "Conv")
    assert shapes[first_conv.output[0]] == ["batch", 6, 28, 28]  # the book's C1
    meta = onnx_model.read_metadata(proto.SerializeToString())
    info = data.info("mnist")
    assert json.loads(meta["class_names"]) == list(info.classes)
    assert (meta["dataset"], meta["standardized"], meta["input_layout"], meta["input_range"]) == \
        ("mnist", "true", "NCHW", "[0, 1]")
    assert (float(meta["mean"]), float(meta["std"])) == (info.mean, info.std)
    assert TrainConfig.from_dict(json.loads(meta["config"])) == model.config
    assert meta["checkpoint_sha256"] == "abc123"
    # The standardisation is the graph's own first step.
    assert [n.op_type for n in proto.graph.node[:2]] == ["Sub", "Div"]
    # Any batch size: 1 and 37 images.
    blob = proto.SerializeToString()
    for n in (1, 37):
        assert onnx_probs(blob, mnist.test_x[:n]).shape == (n, 10)


def said_agreement(text: str) -> tuple[int, float]:
    """`export --onnx`'s figures: (images answered alike, the largest difference)."""
    found = re.search(r"the same answer on ([\d,]+), probabilities within (\S+)", text)
    return int(found.group(1).replace(",", "")), float(found.group(2))


def _untrained(config: TrainConfig, tmp_path) -> checkpoint.LoadedModel:
    """A checkpoint of `config`'s network (seeded), saved and loaded as a run's would be."""
    torch.manual_seed(config.seed)
    path = tmp_path / "net.pt"
    checkpoint.save(path, config, build_lenet(config), data.class_names(config.dataset))
    return checkpoint.load(path)


BASE = MODERN.replace(normalize=False)
ARCHITECTURES = {
    "mlp, no hidden layer": BASE.replace(arch="mlp", hidden=()),
    "3 stages of 3x3, pool first, 1 hidden": BASE.replace(conv_channels=(8, 16, 32),
                                                           kernel_size=3, pool_first=True,
                                                           hidden=(64,), normalize=True),
    "1 stage of 7x7, sigmoid, avg-pool, 3 hidden": BASE.replace(
        conv_channels=(6,), kernel_size=7, activation="sigmoid", pooling="avg",
        hidden=(120, 84, 32), dataset="fashion-mnist"),
}
SLOW_ARCHITECTURES = {
    "mlp, 2 hidden, gelu": BASE.replace(arch="mlp", hidden=(256, 128), activation="gelu"),
    "2 stages of 3x3, tanh, no hidden": BASE.replace(kernel_size=3, activation="tanh", hidden=()),
    "2 stages of 7x7": BASE.replace(kernel_size=7),
    "1 stage of 5x5, no hidden": BASE.replace(conv_channels=(6,), hidden=()),
    "3 stages of 3x3, avg-pool, 2 hidden": BASE.replace(conv_channels=(6, 16, 32), kernel_size=3,
                                                        pooling="avg", hidden=(120, 84)),
    "2 stages, pool first, avg, 2 hidden": BASE.replace(pool_first=True, pooling="avg"),
}
ARCHITECTURES["batch norm and dropout, 2 hidden"] = MODERN.replace(batch_norm=True, dropout=0.5)
SLOW_ARCHITECTURES["mlp, batch norm and dropout"] = BASE.replace(
    arch="mlp", hidden=(128, 64), batch_norm=True, dropout=0.3)


@pytest.mark.parametrize("config", [
    *(pytest.param(c, id=k) for k, c in ARCHITECTURES.items()),
    *(pytest.param(c, id=k, marks=pytest.mark.slow) for k, c in SLOW_ARCHITECTURES.items())])
def test_every_architecture_exports_and_answers_alike(config, tmp_path, mnist):
    model = _untrained(config, tmp_path)
    images = torch.cat([mnist.test_x[:48], torch.randint(0, 256, (16, 28, 28), dtype=torch.uint8)])
    assert_agree(model, onnx_model.to_bytes(model), images)


def test_dropout_is_off_and_batch_norm_uses_its_running_statistics(mnist):
    """A network holding both, left in training mode: the file answers as eval mode does."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.BatchNorm1d(64), nn.ReLU(),
                        nn.Dropout(0.5), nn.Linear(64, 10))
    bn = net[2]
    bn.running_mean.uniform_(-1, 1)
    bn.running_var.uniform_(0.5, 2)
    net.train()
    config = BASE.replace(arch="mlp", hidden=(64,))
    model = checkpoint.LoadedModel(net, config, data.class_names("mnist"), "bn + dropout")
    blob = onnx_model.to_bytes(model)
    assert {n.op_type for n in onnx.load_model_from_string(blob).graph.node} & \
        {"Dropout", "BatchNormalization"} <= {"BatchNormalization"}
    assert_agree(model, blob, mnist.test_x[:256])


@pytest.mark.slow
def test_a_freshly_trained_run_of_another_architecture_answers_alike(store, fashion, tmp_path,
                                                                      capsys):
    assert main(["train", "--preset", "d2l", "--device", "cpu", "--epochs", "1",
                 "--max-train-examples", "6000", "--channels", "8", "16", "32",
                 "--kernel-size", "3", "--hidden", "64", "--activation", "relu", "--lr", "0.1",
                 "--pool-first", "--json"]) == 0
    run_id = json.loads(capsys.readouterr().out.splitlines()[-1])["run_id"]
    out = tmp_path / "run.onnx"
    assert main(["export", "--onnx", str(out), "--run", run_id]) == 0
    model = checkpoint.load_ref(run_id, store)
    same, worst = assert_agree(model, out.read_bytes(), fashion.test_x, check_verify=False)
    assert said_agreement(capsys.readouterr().out) == pytest.approx((same, worst), rel=0.06)
    meta = onnx_model.read_metadata(out.read_bytes())
    assert json.loads(meta["environment"]) == store.get(run_id).environment.to_dict()
    assert meta["standardized"] == "false" and "mean" not in meta


@pytest.mark.parametrize("args, says", [
    (["--run", "nope"], "no run with id 'nope'"),
    (["--checkpoint", "missing.pt"], "no checkpoint at missing.pt"),
    (["--experiment", "x"], "--onnx exports one model"),
    (["--run", "default", "default"], "--onnx exports one model"),
])
def test_export_onnx_refuses_bad_input_in_one_line(args, says, store, tmp_path, capsys):
    assert main(["export", "--onnx", str(tmp_path / "m.onnx"), *args]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.onnx").exists()


def test_export_onnx_refuses_a_folder_and_a_crafted_checkpoint(store, tmp_path, capsys):
    from tests.support import crafted_checkpoint
    assert main(["export", "--onnx", str(tmp_path), "--run", "default"]) == 2
    assert "is a folder" in capsys.readouterr().err
    bad = crafted_checkpoint(tmp_path / "bad.pt")
    assert main(["export", "--onnx", str(tmp_path / "m.onnx"), "--checkpoint", str(bad)]) == 2
    assert "refused" in capsys.readouterr().err
    assert not Path("pwned").exists() and not (tmp_path / "m.onnx").exists()


def test_evaluate_and_inspect_offer_the_onnx_download(store):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.run()
    for page in ("evaluate", "inspect"):
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, at.exception
        # One ONNX button (Inspect also offers the architecture figure's downloads).
        assert [b.label for b in at.get("download_button")].count("Download ONNX") == 1


@pytest.mark.e2e
@pytest.mark.slow
def test_a_trained_run_downloaded_from_evaluate_answers_alike_in_onnxruntime(
        store, page, mnist, tmp_path, capsys):
    """Trained as the dashboard's runs are (runner.execute), downloaded with a click."""
    from tests import e2e_support as e2e
    assert main(["train", "--preset", "modern", "--dataset", "mnist", "--device", "cpu",
                 "--epochs", "1", "--max-train-examples", "4096", "--channels", "8", "16",
                 "--hidden", "32", "--json"]) == 0
    run_id = json.loads(capsys.readouterr().out.splitlines()[-1])["run_id"]
    with e2e.serving(store.root.parent) as app:
        e2e.open_app(page, f"{app.url}/evaluate")
        with page.expect_download(timeout=120_000) as download:
            page.get_by_role("button", name="Download ONNX").click()
        saved = tmp_path / "downloaded.onnx"
        download.value.save_as(saved)
    assert download.value.suggested_filename == f"lenet-{run_id}.onnx"
    model = checkpoint.load_ref(run_id, store)
    assert onnx_model.read_metadata(saved.read_bytes())["dataset"] == "mnist"
    assert_agree(model, saved.read_bytes(), mnist.test_x, check_verify=False)
