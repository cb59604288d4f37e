"""How a run ended, read as the seed's Q&A would: diverged where, at chance, and what to try.

The advice comes from what the run did (its activation, learning rate, examples and steps),
never from one fixed text: the book's sigmoid recipe at chance after one epoch needs more
epochs, not a lower learning rate. The figures quoted were measured on this project's runs
(docs/EXPERIMENTS.md, and the d2l preset over 3 epochs with seed 0: 11.5 %, 61.0 %, 70.3 %).
"""

from __future__ import annotations

from .. import data
from ..budget import batches_per_epoch
from ..scoring import CHANCE_ACCURACY  # below it a 10-class model has learned nothing
from .records import Run, at_chance

# The book's recipe trains 10 epochs of 235 steps (60,000 examples, batch 256).
BOOK_STEPS = 2350
# How long the book's sigmoid net sits at loss 2.30 (chance) before it learns, per dataset, and
# the figures behind it (MNIST's: each book-arm run's per-epoch test accuracy in ex-mnist's store).
PLATEAU = {
    "fashion-mnist": ("most of its first epoch on Fashion-MNIST", "the d2l preset, seed 0: "
                      "11.5 % test accuracy after 1 epoch, 61 % after 2, 70 % after 3"),
    "mnist": ("its first 2 to 6 epochs on MNIST", "ex-mnist's book arm, 13 seeds: under 20 % "
              "test accuracy after each of its first 2 to 6 epochs, 4 in the median seed, and "
              "91.9-96.9 % after 10"),
}
FEW_EXAMPLES = 100  # under 10 examples a class: too few to learn 10 classes from
# ReLU at the book's SGD rate ends at chance (qa-activation: lr 0.9 in 5 of 5 seeds, lr 0.1
# learns in 5 of 5); rates from here up count as "high" for SGD.
RELU_HIGH_LR = 0.5
# qa-channels' book-width arm, as docs/results/qa-channels.json holds it (a test compares them).
SMALL_SET_TEST_ACC = "83.2 ± 0.3 %"


def chance_note(test_acc: float) -> str | None:
    """What to say above a model's evaluation when it is at chance; None when it is not."""
    if test_acc >= CHANCE_ACCURACY:
        return None
    # the figure as the page's Test accuracy tile shows it (".1%" showed 9.95 % as 10.0 %)
    return (f"This model is at chance: {test_acc:.2%} test accuracy, about what guessing one of "
            "10 classes gets (10 %). It learned nothing, so the matrix below shows how it "
            "guesses, not what it confuses. Pick a trained model above.")


def diverged_x(run: Run) -> float | None:
    """Where a diverged run blew up, in epochs (the curves' x)."""
    if run.diverged_step is None:
        return None
    per_epoch = run.progress.num_batches if run.progress else batches_per_epoch(run.config)
    return run.diverged_step / per_epoch


def steps_done(run: Run) -> int:
    """Optimizer steps the run took: as recorded, else what its config asks for."""
    if run.progress is not None:
        return run.progress.step
    return run.config.epochs * batches_per_epoch(run.config)


def examples_used(run: Run) -> int:
    size = data.DATASETS[run.config.dataset].train_size
    return min(size, run.config.max_train_examples or size)


def _shortfall(run: Run) -> tuple[str, int] | None:
    """("examples", n) when the run saw fewer than FEW_EXAMPLES, ("steps", n) when a sigmoid
    net took fewer steps than the book's recipe (at chance for its first epoch or more), or
    None: what makes a run too small to show that its network cannot learn."""
    examples, steps = examples_used(run), steps_done(run)
    if examples < FEW_EXAMPLES:
        return "examples", examples
    if run.config.activation == "sigmoid" and steps < BOOK_STEPS:
        return "steps", steps
    return None


def too_short(run: Run) -> str | None:
    """What made a run too small to show that its network cannot learn, in words, or None."""
    match _shortfall(run):
        case ("examples", n):
            return f"{n:,} training example{'s' * (n != 1)}"
        case ("steps", n):
            return (f"{n:,} step{'s' * (n != 1)} (the book's sigmoid recipe takes "
                    f"{BOOK_STEPS:,}, at chance for {PLATEAU[run.config.dataset][0]})")
    return None


def few_examples_note(cap: int | None) -> str | None:
    """The form's word on a Max train examples too small to learn from, before anything
    trains (None when the cap is fine, or not a number yet)."""
    if not isinstance(cap, int) or cap >= FEW_EXAMPLES:
        return None
    return (f"{cap:,} example{'s' * (cap != 1)}, fewer than 10 a class: too few to learn 10 "
            "classes from. Expect test accuracy near chance (10 %).")


def _relu_at_high_lr(run: Run) -> bool:
    c = run.config
    return c.activation == "relu" and c.optimizer in ("sgd", "momentum") and c.lr >= RELU_HIGH_LR


def diverged_hint(run: Run) -> str:
    text = (f"The loss stopped being a number: the learning rate (lr {run.config.lr:g}) is "
            "too high for this model. Lower the learning rate, to a tenth say.")
    if run.config.activation == "relu":
        text += " The seed's Q&A: ReLU trains at lr 0.1 (the `relu-qa` preset)."
    return text


def relu_hint(run: Run, dead_fraction: float | None = None) -> str:
    """ReLU at a high SGD rate. `dead_fraction`: the share of ReLU units that output 0 for
    every image of the diagnostics' probe batch at the run's last record, when it has been
    measured (lenet_core.explain.diagnostics); without it nothing is said about dead units."""
    text = (f"Test accuracy is at chance (10 %): the model did not learn. ReLU at a high "
            f"learning rate (lr {run.config.lr:g}) does not converge, the seed's Q&A's \"does "
            "not converge\": measured here, ReLU at lr 0.9 ends at chance in 5 of 5 seeds and "
            "learns at lr 0.1 in 5 of 5 (qa-activation). Lower the learning rate (the `relu-qa` preset).")
    if dead_fraction is not None:
        text += (f" {dead_fraction:.0%} of its ReLU units output 0 for every image of the "
                 "diagnostics' probe batch at the end (measured): no gradient flows through "
                 "them for those images.")
    return text


def at_chance_hint(run: Run, dead_fraction: float | None = None) -> str:
    """What to try after a run that learned nothing, chosen by what the run did."""
    head = "Test accuracy is at chance (10 %): the model did not learn."
    short, steps = _shortfall(run), steps_done(run)
    if short and short[0] == "examples":
        examples = short[1]
        return (f"{head} It trained on {examples:,} example{'s' * (examples != 1)}, fewer than "
                "10 a class: too few to learn 10 classes from. Use more (Max train examples; "
                f"qa-channels: LeNet on 2,000 Fashion-MNIST examples reaches "
                f"{SMALL_SET_TEST_ACC} test accuracy in 50 epochs).")
    if _relu_at_high_lr(run):
        return relu_hint(run, dead_fraction)
    if short:  # a sigmoid net short of the book's steps
        plateau, measured = PLATEAU[run.config.dataset]
        return (f"{head} The book's sigmoid network sits at loss 2.30 (chance) for "
                f"{plateau}, then learns (measured here, {measured}). "
                "This run took "
                f"{steps:,} steps; the book's 10 epochs are {BOOK_STEPS:,}. Train longer "
                "(more epochs), not with a lower learning rate.")
    return (f"{head} It took {steps:,} steps. Try another learning rate (a tenth, or ten "
            "times, this one's), or more epochs.")


def hint(run: Run, dead_fraction: float | None = None) -> str | None:
    """What to try next, for a run that diverged or learned nothing; None otherwise."""
    if run.status == "diverged":
        return diverged_hint(run)
    return at_chance_hint(run, dead_fraction) if at_chance(run) else None
