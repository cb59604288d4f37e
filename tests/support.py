"""What many tests share: one way to wait for a condition, one way to make a run's record."""

from __future__ import annotations

import math
import pickle
import time
from pathlib import Path

import torch

from lenet_core import data
from lenet_core.config import MODERN, TrainConfig
from lenet_core.model import build_lenet
from lenet_core.runs import checkpoint
from lenet_core.runs.store import RunStore


def poll(predicate, timeout: float = 120.0, what: str = "the condition", interval: float = 0.1):
    """predicate()'s first truthy value; AssertionError after `timeout` seconds. Tests wait with
    this, never with a fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def layer_io(model: checkpoint.LoadedModel, image) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """{layer: (its input, its output)} for one 28x28 image, batch dimension dropped: the
    Sequential run by hand, layer by layer, as a reference for what the app shows."""
    x = data.prepare(torch.as_tensor(image).reshape(1, 28, 28), model.config.dataset,
                     model.config.normalize)
    out = {}
    with torch.no_grad():
        for name, m in model.net.named_children():
            y = m(x)
            out[name] = (x[0], y[0])
            x = y
    return out


TWO_EPOCHS = MODERN.replace(epochs=2)


def add_run(store: RunStore, config: TrainConfig = TWO_EPOCHS, name: str = "a run",
            status: str = "finished", acc: float = 0.95, checkpoint_file: bool = True,
            diverged_step: int | None = None) -> str:
    """A run's record as the trainer leaves it, without training: 5 training points and a
    test point per epoch (train loss falling, accuracy rising towards `acc`), final metrics,
    and an untrained checkpoint of the config's shape."""
    run_id = store.create(config, name)
    fill_run(store, run_id, status, acc, checkpoint_file, diverged_step)
    return run_id


def fill_run(store: RunStore, run_id: str, status: str = "finished", acc: float = 0.95,
             checkpoint_file: bool = True, diverged_step: int | None = None) -> None:
    """Give a queued run the curves, checkpoint and final metrics add_run describes."""
    config = store.get(run_id).config
    step = 0
    for epoch in range(config.epochs):
        for k in range(1, 6):
            step += 10
            if diverged_step and step >= diverged_step:
                store.add_point(run_id, epoch + k / 5, step, math.nan, None)
                break
            store.add_point(run_id, epoch + k / 5, step, 2.0 / step, acc * (1 - 1 / step))
        else:
            store.add_point(run_id, epoch + 1.0, step, test_acc=acc - 0.01)
            continue
        break
    if checkpoint_file:
        checkpoint.save(store.checkpoint_path(run_id), config, build_lenet(config),
                        data.class_names(config.dataset))
    store.finish(run_id, status, train_loss=0.1, train_acc=acc, test_acc=acc - 0.01,
                 examples_per_sec=12_345.0, train_time=7.5, diverged_step=diverged_step,
                 device="cpu (2 threads)")


class _Exploit:
    """Unpickling this runs a shell command: what a crafted checkpoint would do."""

    def __reduce__(self):
        import os
        return (os.system, ("touch pwned",))


def crafted_checkpoint(path: Path) -> Path:
    """A pickle that claims to be a checkpoint and, if ever unpickled unsafely, creates the
    file `pwned` in the working folder."""
    path.write_bytes(pickle.dumps({"format": checkpoint.FORMAT, "x": _Exploit()}))
    return path


def form_field(at, name: str):
    """The Train form's widget (AppTest) for a TrainConfig field, or "preset": its key carries
    the form's generation (cfg_lr_0, preset_0), which a preset or a link bumps."""
    import re
    key = re.compile(rf"^(cfg_{re.escape(name)}|{re.escape(name)})_\d+$")
    found = [w for kind in (at.selectbox, at.number_input, at.checkbox, at.text_input)
             for w in kind if w.key and key.match(w.key)]
    assert len(found) == 1, f"{len(found)} widgets for {name}"
    return found[0]
