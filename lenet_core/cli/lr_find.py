"""`python -m lenet_core lr-find [config flags] [--json]`: the learning-rate range test
(lenet_core.explain.lr_find) for a config; the result is kept beside the run store."""

from __future__ import annotations

import argparse
import json
import sys

from ..explain import lr_find
from ..runs.store import runs_root
from .args import UsageError, add_config_flags, config_from_args


def add_parser(sub, parser_class) -> None:
    f = sub.add_parser("lr-find", help="a learning-rate range test: the loss as the rate grows "
                       "from 1e-5 to 10, and a suggested range of rates")
    add_config_flags(f)
    f.add_argument("--steps", type=int, default=lr_find.STEPS,
                   help=f"steps of the test (default {lr_find.STEPS})")
    f.add_argument("--json", action="store_true", help="print the whole result as JSON")


def run(a: argparse.Namespace) -> int:
    if not 10 <= a.steps <= 2000:
        raise UsageError(f"--steps {a.steps}: give 10 to 2000")
    config = config_from_args(a)
    print(f"lr-find: {config.dataset}, {config.activation}, {config.optimizer}, batch "
          f"{config.batch_size}, {a.steps} steps from {lr_find.START_LR:g} to "
          f"{lr_find.END_LR:g}", file=sys.stderr)
    curve = lr_find.save(lr_find.lr_find(config, steps=a.steps), runs_root())
    if a.json:
        print(json.dumps(curve.to_dict()))
        return 0
    print("\n".join(lines(curve, config.lr)))
    print(f"kept in {lr_find.results_path(runs_root())} (id {curve.id})")
    return 0


def lines(curve: lr_find.LrCurve, lr: float) -> list[str]:
    """The curve at about 12 rates, the stop, the range, and where `lr` lands."""
    stop = {"blew up": f"the smoothed loss passed {lr_find.STOP_FACTOR:g}x its minimum",
            "not finite": "a loss was not finite", "end": "every rate was tried"}[curve.stopped]
    out = [f"{curve.label}: {len(curve.lrs)} steps in {curve.seconds:.1f} s; stopped at lr "
           f"{curve.lrs[-1]:.3g}: {stop}", f"  {'lr':>9} {'loss':>9} {'smoothed':>9}"]
    every = max(1, len(curve.lrs) // 12)
    for i in list(range(0, len(curve.lrs), every)) + [len(curve.lrs) - 1]:
        loss, s = curve.losses[i], curve.smoothed[i]
        out.append(f"  {curve.lrs[i]:9.2g} {'-' if loss is None else f'{loss:9.3f}':>9} "
                   f"{'-' if s is None else f'{s:9.3f}':>9}")
    if curve.low is None:
        out.append("too few steps for a suggestion")
        return out
    out.append(f"lowest smoothed loss at lr {curve.lr_min:.3g}"
               + (f"; steepest descent at lr {curve.lr_steep:.3g}" if curve.lr_steep else ""))
    out.append(f"suggested range: lr {curve.low:.2g} to {curve.high:.2g}")
    out.append(f"this config's lr {lr:g}: {lr_find.where(lr, curve)}")
    return out
