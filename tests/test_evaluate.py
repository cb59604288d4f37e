"""Evaluation: the confusion matrix against the test set and the engine's own accuracy, for the
shipped model and a real trained run; its cache; the CLI's `evaluate`."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lenet_core import data, engine, scoring
from lenet_core.cli import main
from lenet_core.config import MODERN
from lenet_core.explain import evaluation
from lenet_core.runs import checkpoint
from tests.support import add_run

README = Path(__file__).resolve().parent.parent / "README.md"


def check_matrix(ev: evaluation.Evaluation, ds: data.Dataset) -> None:
    """What any evaluation must satisfy against its test set."""
    c = ev.confusion
    assert c.shape == (10, 10) and c.sum() == 10_000
    # Rows are the true classes: each row holds exactly that class's test images.
    assert c.sum(1).tolist() == torch.bincount(ds.test_y, minlength=10).tolist()
    assert ev.test_acc == np.trace(c) / 10_000
    assert ev.per_class_acc.tolist() == pytest.approx((np.diag(c) / c.sum(1)).tolist())
    for t in range(10):  # each cell's images are exactly the ones the counts say
        for p in range(10):
            idx = ev.cell(t, p)
            assert len(idx) == c[t, p]
            assert (ds.test_y[idx] == t).all() and (ev.predicted[idx] == p).all()


def test_default_model_matrix_sums_up_to_the_readme_accuracy(mnist, store):
    ev = evaluation.for_ref(checkpoint.DEFAULT_MODEL, store, mnist)
    check_matrix(ev, mnist)
    assert "**99.17 %**" in README.read_text()
    assert np.trace(ev.confusion) == 9917  # README: 99.17 %
    # The engine's own evaluation (channels-last batches) gives the same accuracy.
    model = checkpoint.load_default()
    x = engine.to_input(mnist.test_x, torch.device("cpu"), model.config)
    assert scoring.accuracy(model.net, x, mnist.test_y) == ev.test_acc
    top = ev.top_confusions(3)
    assert [c.count for c in top] == sorted((c.count for c in top), reverse=True)
    assert all(c.true != c.predicted and c.count == ev.confusion[c.true, c.predicted] for c in top)
    off = ev.confusion - np.diag(np.diag(ev.confusion))
    assert top[0].count == off.max()


def test_the_cache_is_read_back_and_refreshed_when_the_checkpoint_changes(mnist, store,
                                                                          monkeypatch):
    small = data.Dataset(mnist.info, mnist.train_x[:10], mnist.train_y[:10], mnist.test_x[:500],
                         mnist.test_y[:500], mnist.source)
    run_id = add_run(store, name="cached")
    first = evaluation.for_ref(run_id, store, small)
    cache = store.evaluation_path(run_id)
    assert cache.is_file()

    def no_evaluation(*args, **kw):
        raise AssertionError("evaluated again instead of reading the cache")

    with monkeypatch.context() as m:
        m.setattr(evaluation, "evaluate", no_evaluation)
        again = evaluation.for_ref(run_id, store, small)
    assert (again.predicted == first.predicted).all()
    assert again.confidence == pytest.approx(first.confidence, abs=1e-4)
    assert (again.confusion == first.confusion).all()

    # Another checkpoint in the same file (retrained): evaluated afresh.
    config = MODERN.replace(epochs=1, seed=7)
    checkpoint.save(store.checkpoint_path(run_id), config, engine.prepare_model(config, torch.device("cpu")),
                    data.class_names("mnist"))
    fresh = evaluation.for_ref(run_id, store, small)
    assert json.loads(cache.read_text())["checkpoint_sha256"] == evaluation.file_sha256(
        store.checkpoint_path(run_id))
    assert not (fresh.predicted == first.predicted).all()

    cache.write_text("{not json")  # a damaged cache is rebuilt, not an error
    assert (evaluation.for_ref(run_id, store, small).predicted == fresh.predicted).all()

    store.delete(run_id)  # deleting the run removes its evaluation too
    assert not cache.exists()


def test_cli_evaluate_refuses_an_unknown_run_and_a_bad_file_in_one_line(store, tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_text("not a checkpoint\n")
    for args in (["--run", "nope"], ["--checkpoint", str(bad)],
                 ["--checkpoint", str(tmp_path / "missing.pt")]):
        assert main(["evaluate", *args]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and err.startswith("lenet_core: error:")


@pytest.mark.slow
def test_a_trained_run_evaluates_to_its_own_test_accuracy(mnist, store, capsys):
    config = MODERN.replace(dataset="mnist", epochs=1, max_train_examples=4096, device="cpu")
    result = engine.train(config, dataset=mnist, compile=False)
    run_id = store.create(config, "trained")
    checkpoint.save(store.checkpoint_path(run_id), config, result.model, data.class_names("mnist"))
    store.finish(run_id, "finished", test_acc=result.test_acc)

    ev = evaluation.for_ref(run_id, store, mnist)
    check_matrix(ev, mnist)
    assert ev.test_acc == result.test_acc  # the engine's accuracy at the end of training

    assert main(["evaluate", "--run", run_id, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["test_acc"] == result.test_acc
    assert len(summary["per_class_acc"]) == 10
    assert np.array(summary["confusion"]).shape == (10, 10)
    assert np.array(summary["confusion"]).sum() == 10_000
    assert summary["top_confusions"][0]["count"] == max(
        v for (t, p), v in np.ndenumerate(np.array(summary["confusion"])) if t != p)
