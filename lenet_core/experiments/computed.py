"""Answers computed rather than trained: parameter counts at other input sizes, and the seed's
claim that `view` is faster than `reshape`, timed here."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ..config import TrainConfig, feature_sizes
from ..model import summary
from . import verdicts

SIDES = (28, 200)  # the datasets' images, and the seed's "200*200" where an MLP "can't run"


def parameters_at(config: TrainConfig, side: int) -> int:
    """The network's parameter count for side x side single-channel inputs (weights and
    biases of every conv and linear layer; the layers after the convs see what they leave)."""
    total, width = 0, side * side
    if config.arch == "lenet":
        k, c_in = config.kernel_size, 1
        for c in config.conv_channels:
            total += c_in * c * k * k + c
            c_in = c
        width = c_in * feature_sizes(k, len(config.conv_channels), side)[-1][1] ** 2
    for h in (*config.hidden, 10):
        total += width * h + h
        width = h
    return total


def sizes_rows(arms: Sequence[verdicts.Arm]) -> list[dict[str, Any]]:
    return [{"variant": a.label, "parameters": {str(s): parameters_at(a.config, s)
                                                for s in SIDES}} for a in arms]


def sizes_sentence(arms: Sequence[verdicts.Arm]) -> str:
    """Each variant's parameters at every side in SIDES, computed."""
    rows = sizes_rows(arms)
    return "Parameters (computed, not trained) " + "; ".join(
        f"at {s}x{s} inputs: " + ", ".join(f"{r['variant']} {r['parameters'][str(s)]:,}"
                                             for r in rows) for s in SIDES) + "."


# (case, shape, layout, new shape): the seed's own Reshape layer, LeNet's flatten input at batch
# 256 (channels_last is the layout LeNet trains in here) and its first conv's output.
VIEW_CASES = (("the seed's Reshape, 256 x 784 to 256 x 1 x 28 x 28", (256, 784), "contiguous",
               (-1, 1, 28, 28)),
              ("the same from a transposed 784 x 256", (256, 784), "transposed",
               (-1, 1, 28, 28)),
              ("256 x 16 x 5 x 5", (256, 16, 5, 5), "contiguous", (256, -1)),
              ("256 x 16 x 5 x 5, channels_last", (256, 16, 5, 5), "channels_last", (256, -1)),
              ("256 x 6 x 28 x 28", (256, 6, 28, 28), "contiguous", (256, -1)),
              ("256 x 6 x 28 x 28, channels_last", (256, 6, 28, 28), "channels_last", (256, -1)))


def _tensor(shape: tuple[int, ...], layout: str) -> torch.Tensor:
    if layout == "transposed":
        return torch.randn(shape[::-1], generator=torch.Generator().manual_seed(0)).t()
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    if layout == "channels_last":
        return x.contiguous(memory_format=torch.channels_last)
    return x


def _block(op, number: int) -> float:
    t0 = time.perf_counter()
    for _ in range(number):
        op()
    return (time.perf_counter() - t0) / number


def _ops(x: torch.Tensor, to: tuple[int, ...]) -> dict[str, Any]:
    return {"view": lambda: x.view(*to), "reshape": lambda: x.reshape(*to),
            "contiguous().view": lambda: x.contiguous().view(*to)}


def _storage(x: torch.Tensor, op) -> bool | str:
    """Whether op's result shares x's storage, or why op refused."""
    try:
        return op().untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    except RuntimeError as e:
        return str(e).split(" (")[0]


def view_reshape(repeats: int = 40, block_s: float = 0.001) -> list[dict[str, Any]]:
    """Each case's ops: whether each works, whether its result shares the input's storage,
    and seconds per call over `repeats` blocks of about block_s, the two timed ops alternating
    (which goes first swaps each block) so machine load falls on both alike. One thread, as
    a view needs none and a copy's threads would add the machine's contention."""
    rows, threads = [], torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for case, shape, layout, to in VIEW_CASES:
            x = _tensor(shape, layout)
            ops = _ops(x, to)
            works = {name: _storage(x, op) for name, op in ops.items()}
            timed = ["reshape", "view" if works["view"] is True else "contiguous().view"]
            _block(ops[timed[0]], 10)  # warm up
            number = max(1, int(block_s / max(min(_block(ops[timed[0]], 10) for _ in range(3)),
                                              1e-9)))
            times = {name: [] for name in timed}
            for r in range(repeats):
                for name in (timed if r % 2 == 0 else timed[::-1]):
                    times[name].append(_block(ops[name], number))
            rows += [{"case": case, "op": name, "shares": w if isinstance(w, bool) else None,
                      "error": None if isinstance(w, bool) else w, "times": times.get(name)}
                     for name, w in works.items()]
    finally:
        torch.set_num_threads(threads)
    return rows


def view_reshape_compared(rows: Sequence[Mapping[str, Any]]) -> list[verdicts.Compared]:
    """reshape against view where both work, else against contiguous().view: paired by block."""
    declared, values = [], {}
    for case in dict.fromkeys(r["case"] for r in rows):
        timed = [r for r in rows if r["case"] == case and r["times"]]
        (a, b) = sorted(timed, key=lambda r: r["op"] != "reshape")
        for r in (a, b):
            values[(f"{case}: {r['op']}", "call_time")] = dict(enumerate(r["times"]))
        declared.append((f"{case}: {a['op']}", f"{case}: {b['op']}", "call_time"))
    return verdicts.decide(declared, values, lambda a, b: True)


def layer_sizes(config: TrainConfig) -> list[dict[str, Any]]:
    """Values per example (C x H x W) after each layer, the input first."""
    rows = [{"layer": "input", "type": "image", "shape": [1, 28, 28], "values": 784}]
    for r in summary(config):
        rows.append({"layer": r.layer, "type": r.type, "shape": list(r.output_shape[1:]),
                     "values": math.prod(r.output_shape[1:])})
    return rows


def layer_sizes_verdict(rows: Sequence[Mapping[str, Any]]) -> str:
    """Whether a layer with more channels holds more values per example than the one before."""
    convs = [r for r in rows if r["type"] == "Conv2d"]
    largest = max(rows, key=lambda r: r["values"])
    parts = [f"{r['layer']} outputs {' x '.join(map(str, r['shape']))} = {r['values']:,} "
             "values per example" for r in convs]
    text = "; ".join(parts) + "."
    if len(convs) >= 2 and convs[1]["values"] < convs[0]["values"]:
        text += (f" {convs[1]['layer']} has more channels than {convs[0]['layer']} but "
                 f"{convs[0]['values'] / convs[1]['values']:.1f}x fewer values: halving height "
                 "and width while adding channels shrinks the representation, so information "
                 "is not amplified, as the seed's Q&A answers.")
    return text + (f" The largest representation is {largest['layer']} "
                   f"({largest['values']:,} values); the input has 784.")


def case_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The measured cases for a report: time per call as mean ± std in ns, no raw blocks."""
    out = []
    for r in rows:
        t = verdicts.Stat.of(r["times"] or [])
        out.append({"case": r["case"], "op": r["op"], "shares": r["shares"], "error": r["error"],
                    "time": None if t is None else t.text(1e9, 0)})
    return out


def view_reshape_verdict(rows: Sequence[Mapping[str, Any]],
                         compared: Sequence[verdicts.Compared]) -> str:
    """What view and reshape returned in each case, and how reshape's time per call compares:
    with view where both work, with contiguous().view (the copy) where view refuses."""
    number = verdicts.number
    parts = []
    for c in compared:
        case, other = c.b.split(": ")
        ops = {r["op"]: r for r in rows if r["case"] == case}
        said = ("view and reshape both return a view of the input's storage (no copy)"
                if ops["view"]["shares"] and ops["reshape"]["shares"] else
                f"view refuses ({ops['view']['error']}); reshape copies, as contiguous().view "
                "does" if not ops["reshape"]["shares"] else "view refuses; reshape returns a view")
        r = c.result
        parts.append(f"{case}: {said}; reshape against {other}: "
                     f"{number(r.diff, 'call_time', True)} ns per call "
                     f"[{number(r.low, 'call_time', True)}, {number(r.high, 'call_time', True)}]"
                     f", {r.word}.")
    both = [c for c in compared if c.b.endswith(": view")]
    if both:
        faster = sum(c.result.word == "higher" for c in both)
        lo, hi = (f(c.result.diff for c in both) * 1e9 for f in (min, max))
        parts.append(f"Where both work, reshape took {lo:+,.0f} to {hi:+,.0f} ns per call more "
                     f"than view, and view was faster in {faster} of {len(both)} cases; neither "
                     "copies. Where the layout is not contiguous, only reshape works, by "
                     "copying.")
    return " ".join(parts)
