"""The advice after a run (lenet_core.outcome), one case each: it follows what the run did."""

from __future__ import annotations

import math
import re

import pytest

from lenet_core.config import D2L, MODERN
from lenet_core.runs import outcome
from tests.support import add_run
from tests.test_cli import cli

BOOK_STEPS_PER_EPOCH = math.ceil(60_000 / 256)  # Fashion-MNIST's training set, batch 256


def _run(store, config, acc, **kw):
    """A finished run whose test accuracy is `acc` (add_run records acc - 0.01)."""
    return store.get(add_run(store, config, acc=acc + 0.01, checkpoint_file=False, **kw))


def test_the_books_sigmoid_net_at_chance_after_one_epoch_is_told_to_train_longer(store):
    run = _run(store, D2L.replace(epochs=1), 0.115)  # what the d2l preset ends at after 1 epoch
    text = outcome.hint(run)
    assert "Train longer" in text and f"{BOOK_STEPS_PER_EPOCH} steps" in text
    assert "ReLU" not in text and "Lower the learning rate" not in text


def test_the_books_net_on_mnist_is_told_of_its_longer_plateau(store):
    """On MNIST the book's net sat at chance for 2 to 6 epochs (ex-mnist), so a 4-epoch run
    at chance there is told to wait, with MNIST's figures, not Fashion-MNIST's."""
    text = outcome.hint(_run(store, D2L.replace(dataset="mnist", epochs=4), 0.113))
    assert "its first 2 to 6 epochs on MNIST" in text and "Train longer" in text
    assert "Fashion-MNIST" not in text and "11.5 %" not in text
    fashion = outcome.hint(_run(store, D2L.replace(epochs=1), 0.115))
    assert "most of its first epoch on Fashion-MNIST" in fashion and "MNIST:" not in fashion


def test_a_sigmoid_net_at_chance_after_the_books_10_epochs_is_not_told_to_wait(store):
    text = outcome.hint(_run(store, D2L, 0.1))
    assert "Train longer" not in text and f"{10 * BOOK_STEPS_PER_EPOCH:,} steps" in text


def test_a_run_on_very_few_examples_is_told_so(store):
    text = outcome.hint(_run(store, D2L.replace(epochs=1, max_train_examples=5), 0.1))
    assert "It trained on 5 examples" in text and "Use more" in text
    assert "ReLU" not in text and "Train longer" not in text


def test_the_small_set_figure_in_the_hint_is_the_stored_result():
    import json

    from lenet_core.experiments import results_doc
    stored = json.loads((results_doc.RESULTS / "qa-channels.json").read_text())
    [book] = [row for row in stored["table"] if row["variant"] == "6/16 (the book)"]
    acc = book["test_acc"]
    assert stored["settings"]["train_examples"] == [2000] and stored["settings"]["epochs"] == [50]
    assert outcome.SMALL_SET_TEST_ACC == f"{acc['mean'] * 100:.1f} ± {acc['std'] * 100:.1f} %"


def test_relu_at_a_high_rate_gets_the_relu_hint_and_no_claim_of_dead_units(store):
    run = _run(store, D2L.replace(activation="relu", epochs=1), 0.1)
    text = outcome.hint(run)
    assert "ReLU at a high learning rate (lr 0.9)" in text and "`relu-qa`" in text
    assert "dead" not in text and " die" not in text  # nothing has measured it
    measured = outcome.hint(run, dead_fraction=0.83)  # once diagnostics measure it
    assert measured.startswith(text) and "83% of its ReLU units output 0" in measured
    # The same net at the Q&A's rate is not told to lower it.
    qa_rate = _run(store, D2L.replace(activation="relu", lr=0.1, epochs=1), 0.1)
    assert "ReLU at a high" not in outcome.hint(qa_rate)


def test_a_diverged_run_is_told_to_lower_its_own_rate(store):
    relu = store.get(add_run(store, D2L.replace(activation="relu", epochs=1), status="diverged",
                             diverged_step=30, checkpoint_file=False))
    text = outcome.hint(relu)
    assert "(lr 0.9) is too high" in text and "ReLU trains at lr 0.1" in text
    sigmoid = store.get(add_run(store, D2L.replace(lr=5.0, epochs=1), status="diverged",
                                diverged_step=30, checkpoint_file=False))
    text = outcome.hint(sigmoid)
    assert "(lr 5) is too high" in text and "ReLU" not in text
    assert not outcome.at_chance(relu) and outcome.diverged_x(relu) == 30 / BOOK_STEPS_PER_EPOCH


@pytest.mark.parametrize(("test_acc", "hinted"), [(0.1, True), (0.19, True), (0.21, False),
                                                  (0.3, False), (0.45, False), (0.9, False)])
def test_only_a_run_near_one_in_ten_counts_as_at_chance(store, test_acc, hinted):
    # 10 classes: chance is 10 %; a model at 21 % or more has learned something.
    run = _run(store, MODERN, test_acc)
    assert outcome.at_chance(run) is hinted
    assert (outcome.hint(run) is not None) is hinted


@pytest.mark.slow
def test_the_books_recipe_for_one_epoch_ends_at_chance_and_is_told_to_train_longer(store):
    proc = cli("train", "--preset", "d2l", "--epochs", "1")
    test_acc = float(re.search(r"test_acc (\d\.\d+)", proc.stdout).group(1))
    assert test_acc < 0.2  # at chance (10 classes), as the book's net after one epoch
    assert "Train longer" in proc.stdout and "ReLU" not in proc.stdout
