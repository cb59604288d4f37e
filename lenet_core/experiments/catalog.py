"""The experiments LeNet Lab ships: the seed's Q&A and the book's exercises, each answered by
training over several seeds. Bump an experiment's version when its grid or rule changes.

Each declares its comparisons (a baseline, or the pairs its question asks) and sizes its
default seeds so its main comparison resolves the effect it is about: the fewest seeds n with
stats.planned_resolvable(pilot_sd, n, comparisons) <= effect, that is
(t(1 - 0.05 / 2m, 2n - 2) + t(0.8, 2n - 2)) x pilot_sd x sqrt(2 / n) <= effect, where the
pilot's spread over seeds comes from the 3-seed runs of docs/EXPERIMENTS.md's first edition.
"""

from __future__ import annotations

from ..config import D2L, MODERN
from .definitions import Experiment, Plan, Variant, grid

FASHION_MODERN = MODERN.replace(dataset="fashion-mnist")  # ReLU, max-pool, Adam, standardised
MODERNISED = D2L.replace(activation="relu", pooling="max", lr=0.1)  # the book's net, exercise 1
MLP_LIKE_LENET = {"arch": "mlp", "hidden": (72, 64)}  # 61,842 parameters against LeNet's 61,706
DATA_SIZES = (1_000, 5_000, 20_000, 60_000)
DATA_SIZE_SERIES = (("LeNet from scratch", {}), ("LeNet fine-tuned", {"init_from": "default"}),
                    ("logistic regression", {"arch": "mlp", "hidden": ()}))
# Where overfitting can show: few examples, many epochs (train accuracy approaches 100 %).
OVERFIT = FASHION_MODERN.replace(max_train_examples=2_000, epochs=50)

_CATALOG = (
    Experiment(
        "qa-activation", 2, "Sigmoid or ReLU?",
        "Replace the four sigmoids with ReLU: why does the model basically not converge? "
        "Shouldn't ReLU converge better?",
        D2L,
        (Variant("sigmoid, lr 0.9", {"activation": "sigmoid", "lr": 0.9}),
         Variant("ReLU, lr 0.9", {"activation": "relu", "lr": 0.9}),
         Variant("ReLU, lr 0.1", {"activation": "relu", "lr": 0.1})),
        # About ReLU at lr 0.1 against the book's sigmoid (pilot: +4.3 points, spread 0.8):
        # resolve half of it, 2 points, over 2 comparisons: 5 seeds resolve 1.84.
        epochs=10, baseline="sigmoid, lr 0.9", seeds=5, plan=Plan(2.0, 0.8, 2),
        question_zh="有个练习把四个sigmoid变为relu，为什么模型基本不收敛，不是relu应该更好收敛吗？",
        answer_zh="不收敛的话，调一下lr=0.1"),
    Experiment(
        "qa-activation-bn", 1, "Does batch norm let ReLU train at lr 0.9?",
        "The companion of qa-activation, with the book's next remedy: batch norm after each "
        "conv and hidden layer, before its activation. Does ReLU then train at the book's lr "
        "0.9, and does it match the sigmoid net with batch norm?",
        D2L,
        (Variant("ReLU, lr 0.9", {"activation": "relu", "lr": 0.9}),
         Variant("ReLU + batch norm, lr 0.9", {"activation": "relu", "lr": 0.9,
                                               "batch_norm": True}),
         Variant("sigmoid + batch norm, lr 0.9", {"batch_norm": True})),
        # No pilot over seeds with batch norm: the one d2l-bn run here swung 3-5 points between
        # epochs, so a spread of 3 points is assumed. The question is chance against learning:
        # resolve 10 points over 2 comparisons: 4 seeds resolve 9.1.
        epochs=10, seeds=4, plan=Plan(10.0, 3.0, 2),
        pairs=(("ReLU + batch norm, lr 0.9", "ReLU, lr 0.9"),
               ("ReLU + batch norm, lr 0.9", "sigmoid + batch norm, lr 0.9")),
        question_zh="有个练习把四个sigmoid变为relu，为什么模型基本不收敛，不是relu应该更好收敛吗？",
        answer_zh="不收敛的话，调一下lr=0.1"),
    Experiment(
        "qa-pooling", 2, "Max or average pooling?",
        "Max or average pooling? Does max pooling lose much information?",
        D2L,
        (Variant("avg-pool, sigmoid", {"pooling": "avg"}),
         Variant("max-pool, sigmoid", {"pooling": "max"}),
         Variant("avg-pool, ReLU (lr 0.1)", {"pooling": "avg", "activation": "relu", "lr": 0.1}),
         Variant("max-pool, ReLU (lr 0.1)", {"pooling": "max", "activation": "relu", "lr": 0.1})),
        # Max against average pooling, with each activation (pilot: +2.5 and +1.5 points,
        # spread up to 0.9): resolve 1.5 points over 2 comparisons: 9 seeds resolve 1.42.
        epochs=10, seeds=9, plan=Plan(1.5, 0.9, 2),
        pairs=(("max-pool, sigmoid", "avg-pool, sigmoid"),
               ("max-pool, ReLU (lr 0.1)", "avg-pool, ReLU (lr 0.1)")),
        question_zh="池化层一般用max还是avg，max会不会损失很多信息？",
        answer_zh="不会损失太多，avg也会丢失"),
    Experiment(
        "qa-channels", 3, "Why 6 and 16 channels?",
        "Why does LeNet use 6 and 16 channels? Can it be 5 and 15? (The seed: accuracy went "
        "up; overfitting?) Measured where overfitting can show: the modern recipe on 2,000 "
        "training examples for 50 epochs, where train accuracy approaches 100 %.",
        OVERFIT,
        (Variant("6/16 (the book)", {"conv_channels": (6, 16)}),
         Variant("5/15", {"conv_channels": (5, 15)}),
         Variant("12/32", {"conv_channels": (12, 32)})),
        # Pilot: qa-data-size's LeNet at 1,000 examples (train 100 %), spread 0.4 points in
        # test accuracy and gap. Resolve 1 point over 2 comparisons x 2 quantities: 6 seeds
        # resolve 0.90.
        epochs=50, measure="overfitting", baseline="6/16 (the book)", seeds=6,
        plan=Plan(1.0, 0.4, 4),
        question_zh="前面Lenet通道为什么取6 16呢？可以取5 15嘛？",
        answer_zh="当然可以了，动手多试，多改改看看，改了好像精度变高了，overfitting?"
                  "（讲道理参数变小，应该underfitting而不是overfitting）"),
    Experiment(
        "qa-width", 3, "Should the middle channels be as wide as possible?",
        "While the model trains, should the middle output channels be made as wide as "
        "possible? Measured where overfitting can show: the modern recipe on 2,000 training "
        "examples for 50 epochs, each doubling against the one before.",
        OVERFIT,
        (Variant("6/16", {"conv_channels": (6, 16)}),
         Variant("16/32", {"conv_channels": (16, 32)}),
         Variant("32/64", {"conv_channels": (32, 64)}),
         Variant("64/128", {"conv_channels": (64, 128)})),
        # Pilot as qa-channels (spread 0.4 points). Resolve 1 point over 3 doublings x 2
        # quantities: 6 seeds resolve 0.96.
        epochs=50, measure="overfitting", seeds=6, plan=Plan(1.0, 0.4, 6),
        pairs=(("16/32", "6/16"), ("32/64", "16/32"), ("64/128", "32/64")),
        question_zh="在模型跑动情况下，中间的输出通道尽量调大吗？",
        answer_zh="不一定，调大了一般直接overfitting"),
    Experiment(
        "qa-mlp-vs-cnn", 3, "MLP or CNN?",
        "For a deep-learning model, MLP or CNN? (An MLP with about LeNet's parameter count.)",
        D2L,
        (Variant("LeNet", {"arch": "lenet"}),
         Variant("MLP 72/64", MLP_LIKE_LENET)),
        # The MLP against LeNet (pilot: +3.3 points, spread 0.8): resolve 1.5 points in the
        # one comparison: 6 seeds resolve 1.44.
        epochs=10, measure="cost", pairs=(("MLP 72/64", "LeNet"),), seeds=6,
        plan=Plan(1.5, 0.8, 1),
        question_zh="对于DL模型选择是MLP还是CNN？",
        answer_zh="数据变大如200*200，MLP跑不动，在两者都可以的情况下可以试试MLP；MLP一般简单点"),
    Experiment(
        "qa-data-size", 3, "Does deep learning need lots of data?",
        "Does deep learning need lots of data? Is a small dataset unsuitable for it? LeNet "
        "from scratch, LeNet fine-tuned from the shipped MNIST model (pretrained on the other "
        "dataset), and logistic regression (no hidden layer), on 1k to 60k Fashion-MNIST "
        "examples, each run seeing the same number of examples: epochs x 60,000.",
        FASHION_MODERN,
        tuple(Variant(f"{series} on {n:,}", {**changes, "max_train_examples": n}, series=series,
                      x=n) for series, changes in DATA_SIZE_SERIES for n in DATA_SIZES),
        # Pilot: LeNet's spread over seeds at these sizes, 0.3-0.6 points. Resolve 1 point
        # over 2 comparisons at each of 4 sizes: 12 seeds resolve 0.95.
        epochs=2, measure="data-size", equal_budget=True, x_name="training examples",
        seeds=12, plan=Plan(1.0, 0.6, 8),
        pairs=tuple(pair for n in DATA_SIZES for pair in (
            (f"LeNet fine-tuned on {n:,}", f"LeNet from scratch on {n:,}"),
            (f"LeNet from scratch on {n:,}", f"logistic regression on {n:,}"))),
        question_zh="是不是DL需要很多数据？数据体量小的是不是不适合DL？",
        answer_zh="不需要的，可以finetune"),
    Experiment(
        "qa-info-amplified", 2, "Is information amplified by more channels?",
        "The second conv layer goes up to 16 channels: is the information amplified? "
        "(No training needed: the values per example at each layer, from the layer table.)",
        D2L, (), epochs=1, measure="layer-sizes", seeds=0,
        question_zh="LeNet 的第二个卷积层通道增加到16，是不是信息被放大？",
        answer_zh="一般对我来说，高宽减半时，通道翻倍，整体变小；不是信息放大，而是在减小"),
    Experiment(
        "qa-view-reshape", 1, "Is view faster than reshape?",
        "Why is view used more than reshape? Is view faster? (No training: each op timed on "
        "contiguous and non-contiguous tensors, alternating, with whether it copies.)",
        D2L, (), epochs=1, measure="view-reshape", seeds=0,
        question_zh="view和reshape区别？为什么多用view？",
        answer_zh="view不改变存储分布，只是看的视角，reshap会改变；大部分情况下view要快于reshape"),
    Experiment(
        "ex-modernize", 2, "Exercise: modernise LeNet",
        "The book's exercise: replace average pooling with max pooling, and the sigmoids "
        "with ReLU (at lr 0.1, which ReLU needs), one at a time and both.",
        D2L,
        (Variant("the book (avg, sigmoid)", {}),
         Variant("max-pool", {"pooling": "max"}),
         Variant("ReLU (lr 0.1)", {"activation": "relu", "lr": 0.1}),
         Variant("max-pool + ReLU (lr 0.1)", {"pooling": "max", "activation": "relu",
                                              "lr": 0.1})),
        # Each change against the book (pilot: the smallest step, ReLU to max-pool + ReLU,
        # +1.5 points, spread 0.9): resolve 1.5 points over 3 comparisons: 10 seeds, 1.41.
        epochs=10, baseline="the book (avg, sigmoid)", seeds=10, plan=Plan(1.5, 0.9, 3)),
    Experiment(
        "ex-bigger", 2, "Exercise: a bigger, better LeNet",
        "The book's exercise: starting from the modernised LeNet (max-pool, ReLU, SGD lr "
        "0.1), change one thing at a time: kernel size, conv stages, fully connected layers, "
        "channels, learning rate, initialisation, epochs.",
        MODERNISED,
        (Variant("modernised LeNet", {}),
         Variant("kernel 3", {"kernel_size": 3}),
         Variant("kernel 7", {"kernel_size": 7}),
         Variant("1 conv stage (6)", {"conv_channels": (6,)}),
         Variant("3 conv stages (6/16/32, kernel 3)", {"conv_channels": (6, 16, 32),
                                                       "kernel_size": 3}),
         Variant("no hidden layer", {"hidden": ()}),
         Variant("1 hidden layer (120)", {"hidden": (120,)}),
         Variant("3 hidden layers (120/84/64)", {"hidden": (120, 84, 64)}),
         Variant("channels 16/32", {"conv_channels": (16, 32)}),
         Variant("lr 0.3", {"lr": 0.3}),
         Variant("PyTorch's default init", {"init": "default"}),
         Variant("20 epochs", {"epochs": 20})),
        # Each change against the modernised net (pilot: 16/32 channels +1.3 points, spread
        # 0.9): resolve 1.5 points over 11 comparisons: 12 seeds resolve 1.48.
        epochs=10, baseline="modernised LeNet", seeds=12, plan=Plan(1.5, 0.9, 11)),
    Experiment(
        "ex-mnist", 2, "Exercise: LeNet on MNIST",
        "The book's exercise: the original and the modernised network on MNIST digits.",
        D2L.replace(dataset="mnist"),
        (Variant("the book (avg, sigmoid, lr 0.9)", {}),
         Variant("modernised (max, ReLU, lr 0.1)", {"pooling": "max", "activation": "relu",
                                                    "lr": 0.1}),
         Variant("modern preset (Adam, standardised)", {
             k: getattr(MODERN, k) for k in ("activation", "pooling", "optimizer", "lr",
                                             "batch_size", "normalize")})),
        # The modern preset against the modernised net (pilot: +0.3 points, spread 0.5):
        # resolve 0.7 points over 3 comparisons: 13 seeds resolve 0.67.
        epochs=10, seeds=13, plan=Plan(0.7, 0.5, 3),
        pairs=(("modernised (max, ReLU, lr 0.1)", "the book (avg, sigmoid, lr 0.9)"),
               ("modern preset (Adam, standardised)", "the book (avg, sigmoid, lr 0.9)"),
               ("modern preset (Adam, standardised)", "modernised (max, ReLU, lr 0.1)"))),
    Experiment(
        "ex-remedies", 1, "Exercise: remedies for overfitting",
        "The book's next tools against overfitting, one at a time, where overfitting shows: "
        "the modern recipe on 2,000 training examples for 50 epochs. Dropout on the hidden "
        "layers, weight decay, and random shifts of each training batch.",
        OVERFIT,
        (Variant("no remedy", {}),
         Variant("dropout 0.5", {"dropout": 0.5}),
         Variant("weight decay 5e-4", {"weight_decay": 5e-4}),
         Variant("shifts (up to 2 pixels)", {"augment": "shift"})),
        # Pilot as qa-channels (spread 0.4 points). Resolve 1 point over 3 remedies x 2
        # quantities: 6 seeds resolve 0.96.
        epochs=50, measure="overfitting", baseline="no remedy", seeds=6,
        plan=Plan(1.0, 0.4, 6)),
)

# The speed ladder: from the book's recipe to the fastest here (the speedrun preset), one trick
# per step, each step keeping the ones before. One-cycle plans its schedule over `epochs`, so
# from there on the steps train for the speedrun's epochs: 2 on MNIST, 3 on Fashion-MNIST.
_LADDER = (
    ("the book's loop (DataLoader, ToTensor)", {"data_loader": "torchvision"}),
    ("+ pre-loaded tensors", {"data_loader": "tensors"}),
    ("+ ReLU (lr 0.1)", {"activation": "relu", "lr": 0.1}),
    ("+ max-pool", {"pooling": "max"}),
    ("+ Adam (lr 2e-3)", {"optimizer": "adam", "lr": 2e-3}),
    ("+ standardised pixels", {"normalize": True}),
    ("+ one-cycle (peak 4e-3)", {"schedule": "onecycle", "lr": 4e-3}),
    ("+ Adam betas 0.7/0.9, peak 8e-3", {"betas": (0.7, 0.9), "lr": 8e-3}),
    ("+ 8/16 convs, 256 hidden, batch 256", {"conv_channels": (8, 16), "hidden": (256,),
                                              "batch_size": 256}),
    ("+ max-pool before ReLU (= the speedrun preset)", {"pool_first": True}),
    # The preset leaves compile to "auto", which skips it for runs this short; the last step
    # forces it on to measure what it would bring (its warm-up is outside the timed steps).
    ("+ torch.compile forced on", {"compile": "on"}),
)


def _ladder() -> tuple[Variant, ...]:
    variants = []
    for dataset, series, target, short in (("mnist", "MNIST", 0.99, 2),
                                           ("fashion-mnist", "Fashion-MNIST", 0.90, 3)):
        changes = {"dataset": dataset, "stop_at": target, "compile": "off"}
        for label, step in _LADDER:
            changes = {**changes, **step}
            if changes.get("schedule") == "onecycle":
                changes["epochs"] = short
            variants.append(Variant(f"{label} [{series}]", dict(changes), series=series))
    return tuple(variants)


_CATALOG += (
    Experiment(
        "speed-ladder", 3, "Where does speed come from?",
        "From the book's recipe to the fastest recipe here, one trick per step: seconds until "
        "99 % MNIST and 90 % Fashion-MNIST test accuracy. Test accuracy is checked at every "
        "curve point (5 per epoch) on the full test set, the time counts those checks (wall "
        "time from the first step; data set-up and compile warm-up excluded), and each run "
        "stops at its target. Timed side by side: one run at a time, rungs alternating.",
        # Pilot (3 seeds): times to target spread 0.4-1.1 s. Resolve 1.5 s over the 20
        # adjacent pairs at a spread of 0.8 s: 11 seeds resolve 1.47 s.
        D2L, _ladder(), epochs=10, measure="time-to-target", timed=True, seeds=11,
        plan=Plan(1.5, 0.8, 20, "s"),
        pairs=tuple((b.label, a.label) for a, b in zip(_ladder(), _ladder()[1:], strict=False)
                    if a.series == b.series)),
)

EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in _CATALOG}


def question(name: str) -> dict[str, str] | None:
    """A shipped experiment's question, as report_text.markdown takes it."""
    d = EXPERIMENTS.get(name)
    return None if d is None else {"question_en": d.question_en, "question_zh": d.question_zh,
                                   "answer_zh": d.answer_zh}


def sweep(fields: dict[str, tuple], base=D2L, epochs: int | None = None) -> Experiment:
    """A custom experiment: every combination of the given field values, over `base`."""
    title = "Sweep: " + " x ".join(fields)
    return Experiment("sweep", 1, title, title, base, grid(**fields), epochs or base.epochs)
