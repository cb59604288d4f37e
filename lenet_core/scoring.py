"""Scoring a network on held-out data while it trains: accuracy and mean loss in one pass, and
the rule that ends a run at a test score.

A run ends early at its target (config.stop_at), or, recorded as not learning, once its test
accuracy is at chance (below CHANCE_ACCURACY) for two evaluations in a row after its first
epoch and at least GIVE_UP_AFTER_STEPS optimizer steps in (so a run on a few hundred examples
is not judged after a dozen steps). Only a ReLU net is given up on (`gives_up`): its units
die and stay dead (qa-activation: ReLU at lr 0.9 at chance through all 10 epochs). A
saturating net's plateau at chance ends: the book's sigmoid net on MNIST (seed 0, 1 thread)
scored 9.8, 11.4 and 11.4 % after epochs 1-3, then 79.6 % after epoch 4 and 96.9 % after 10;
over ex-mnist's 13 seeds it stayed under 20 % for 2 to 6 epochs, then learned in all 13.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

# Forward-only batch size for evaluation. Measured on the CPU: 256 is as fast as 1000+ for the
# book's net and 1.5x faster for wide ones (cache); accelerators want fewer, bigger launches.
EVAL_BATCH_CPU = 256
EVAL_BATCH_ACCELERATOR = 2500
CHANCE_ACCURACY = 0.2  # below this a 10-class model has learned nothing (chance is 0.1)
GIVE_UP_AFTER_STEPS = 200


def score(net: nn.Module, x: torch.Tensor, y: torch.Tensor,
          batch: int | None = None) -> tuple[float, float]:
    """Accuracy and mean cross-entropy of `net` on prepared inputs `x` and labels `y`;
    restores the train/eval mode."""
    batch = batch or (EVAL_BATCH_CPU if x.device.type == "cpu" else EVAL_BATCH_ACCELERATOR)
    was_training = net.training
    net.eval()
    correct = torch.zeros((), dtype=torch.long, device=y.device)
    loss = torch.zeros((), device=y.device)
    with torch.inference_mode():
        for i in range(0, len(y), batch):
            logits = net(x[i:i + batch])
            correct += (logits.argmax(1) == y[i:i + batch]).sum()
            loss += nn.functional.cross_entropy(logits.float(), y[i:i + batch], reduction="sum")
    net.train(was_training)
    return correct.item() / len(y), loss.item() / len(y)


def accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int | None = None) -> float:
    return score(net, x, y, batch)[0]


def gives_up(activation: str) -> bool:
    """Whether a net with this activation may be ended at chance as not learning."""
    return activation == "relu"


@dataclass
class Watch:
    """Reads each test score of one run: "reached" its target, "at chance" (the second
    evaluation in a row at chance, by the rule above), or None to go on."""

    stop_at: float | None
    give_up: bool = True  # gives_up(the net's activation)
    at_chance: int = 0  # evaluations in a row at chance, counted after the first epoch

    @classmethod
    def of(cls, config) -> Watch:
        """The watch for a run of this TrainConfig."""
        return cls(config.stop_at, gives_up(config.activation))

    def after(self, acc: float, x: float, step: int) -> str | None:
        if self.stop_at is not None and acc >= self.stop_at:
            return "reached"
        judged = self.give_up and acc < CHANCE_ACCURACY and x > 1 \
            and step >= GIVE_UP_AFTER_STEPS
        self.at_chance = self.at_chance + 1 if judged else 0
        return "at chance" if self.at_chance >= 2 else None
