"""Progress as the worker records it and people read it; how a run ended (lenet_core.outcome)."""

import pytest

from lenet_core.config import MODERN
from lenet_core.progress import Progress
from lenet_core.runs import outcome
from lenet_core.show.fmt import STARTING, progress_line, queued_ahead


def test_progress_text_and_divergence_point(store):
    run_id = store.create(MODERN.replace(max_train_examples=2048), "p")
    frac, text = progress_line(store.get(run_id))
    assert frac == 0 and text.startswith("Queued")
    store.claim(run_id, 1, None)
    store.heartbeat(run_id, Progress(epoch=1, batch=8, num_batches=16, step=24, total_steps=80,
                                     examples_per_sec=12345.6, elapsed=30.0),
                    device="cpu (2 threads)")
    frac, text = progress_line(store.get(run_id))
    assert frac == pytest.approx(0.3)
    assert text == "Epoch 2/5 · batch 8/16 · 12,346 examples/s · ETA 1:10 · cpu (2 threads)"
    assert progress_line(store.get(run_id), eta=False)[1] == \
        "Epoch 2/5 · batch 8/16 · 12,346 examples/s"
    store.finish(run_id, "diverged", diverged_step=24)
    assert outcome.diverged_x(store.get(run_id)) == 1.5


def test_eta_is_paced_by_the_training_steps_not_by_the_set_up_before_them():
    # 10 of 100 steps done, 30 s since the start, of which 24 s loading data and building.
    p = Progress(epoch=0, batch=10, num_batches=100, step=10, total_steps=100,
                 examples_per_sec=5000.0, elapsed=30.0, train_time=6.0)
    assert p.eta == pytest.approx(90 * 0.6)  # 0.6 s a step, not 3 s
    assert Progress.from_json(p.to_json()) == p


def test_a_queued_run_says_queued_only_when_a_run_is_ahead_of_it(store):
    first = store.create(MODERN, "first")
    second = store.create(MODERN, "second")
    assert progress_line(store.get(first), ahead=queued_ahead(store.list(), store.get(first))) \
        == (0.0, STARTING)  # nothing ahead: the worker is picking it up
    store.claim(first, 1, None)
    runs = store.list()
    assert progress_line(store.get(second), ahead=queued_ahead(runs, store.get(second)))[1] == \
        "Queued: starts when the run ahead of it ends"
    store.finish(first, "finished")
    runs = store.list()
    assert progress_line(store.get(second), ahead=queued_ahead(runs, store.get(second))) == \
        (0.0, STARTING)


def test_progress_json_round_trip_and_older_records():
    p = Progress(0, 3, 16, 3, 80, 999.5, 1.25)
    assert Progress.from_json(p.to_json()) == p
    assert Progress.from_json(None) is None
    # An older worker wrote a dict with an "eta" key and, before that, fewer keys.
    old = '{"epoch": 0, "batch": 3, "num_batches": 16, "step": 3, "total_steps": 80, ' \
          '"examples_per_sec": 999.5, "elapsed": 1.25, "eta": 9.0}'
    assert Progress.from_json(old) == p
    assert Progress.from_json('{"step": 3}') is None


def test_outcome_hints(store):
    from tests.support import add_run
    dead = store.get(add_run(store, name="dead", acc=0.11, checkpoint_file=False))
    assert outcome.at_chance(dead) and "did not learn" in outcome.hint(dead)
    boom = store.get(add_run(store, name="boom", status="diverged", diverged_step=30,
                             checkpoint_file=False))
    assert "too high" in outcome.hint(boom) and not outcome.at_chance(boom)
    fine = store.get(add_run(store, name="fine", checkpoint_file=False))
    assert outcome.hint(fine) is None and outcome.diverged_x(fine) is None


def test_progress_of_a_run_on_a_cluster_says_where(store):
    run_id = store.create(MODERN, "far", executor="ray")
    assert progress_line(store.get(run_id))[1] == \
        "Queued: waiting for a free worker on the Ray cluster"
    store.claim(run_id, 1, None)
    store.set_placement(run_id, "node-7", 1)
    store.heartbeat(run_id, Progress(0, 8, 16, 8, 80, 5000.0, 4.0), device="cpu (1 thread)")
    assert progress_line(store.get(run_id))[1].endswith("· cpu (1 thread) on node-7 (Ray)")


def test_counts_are_singular_for_one():
    from lenet_core.show.fmt import count
    assert [count(n, "epoch") for n in (1, 2, 12_000)] == ["1 epoch", "2 epochs", "12,000 epochs"]
