"""Checkpoints: the one module that saves, loads and refuses them."""

import pytest
import torch

from lenet_core import engine
from lenet_core.config import MODERN
from lenet_core.explain import inference
from lenet_core.runs import checkpoint
from lenet_core.runs.store import RunStore
from tests.support import add_run, crafted_checkpoint


@pytest.fixture(scope="module")
def trained(mnist, tmp_path_factory):
    cfg = MODERN.replace(epochs=1, max_train_examples=8192)
    result = engine.train(cfg, dataset=mnist)
    path = tmp_path_factory.mktemp("ckpt") / "model.pt"
    checkpoint.save(path, cfg, result.model, mnist.info.classes)
    return path, result


def test_checkpoint_round_trip(trained, mnist):
    path, result = trained
    model = checkpoint.load(path)
    assert model.class_names == mnist.info.classes and not model.net.training
    probs = inference.predict_proba(model, mnist.test_x[:500])
    assert probs.shape == (500, 10)
    assert torch.allclose(probs.sum(1), torch.ones(500), atol=1e-5)
    acc = (probs.argmax(1) == mnist.test_y[:500]).float().mean().item()
    assert abs(acc - result.test_acc) < 0.05


def test_not_a_checkpoint_is_refused_in_one_line(tmp_path):
    bad = tmp_path / "bad.pt"
    torch.save({"hello": torch.zeros(1)}, bad)
    with pytest.raises(checkpoint.CheckpointError, match="not a LeNet Lab checkpoint"):
        checkpoint.load(bad)
    with pytest.raises(checkpoint.CheckpointError, match="no checkpoint at"):
        checkpoint.load(tmp_path / "missing.pt")


def test_a_crafted_pickle_runs_nothing_and_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    evil = crafted_checkpoint(tmp_path / "evil.pt")
    with pytest.raises(checkpoint.CheckpointError) as err:
        checkpoint.load(evil)
    assert str(err.value).endswith("not a LeNet Lab checkpoint, or an unsafe file: refused")
    assert "weights_only" not in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "pwned").exists()


def test_the_shipped_model_and_a_run_load_through_the_same_call(tmp_path):
    store = RunStore(tmp_path / "runs")
    run_id = add_run(store, name="mine")
    shipped = checkpoint.load_ref(checkpoint.DEFAULT_MODEL, store)
    mine = checkpoint.load_ref(run_id, store)
    assert shipped.label == checkpoint.DEFAULT_MODEL_LABEL and shipped.config.dataset == "mnist"
    assert mine.label == f"run {run_id}: mine" and mine.config == store.get(run_id).config
    no_file = add_run(store, name="bare", checkpoint_file=False)
    with pytest.raises(checkpoint.CheckpointError, match="has no checkpoint"):
        checkpoint.load_ref(no_file, store)


def test_checkpoints_from_before_the_model_grew_still_load():
    raw = torch.load(checkpoint.DEFAULT_MODEL_PATH, weights_only=True)
    assert "kernel_size" not in raw["config"]  # written before the field existed
    model = checkpoint.load_default()
    assert model.config.kernel_size == 5 and model.config.conv_channels == (6, 16)
