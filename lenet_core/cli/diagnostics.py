"""`python -m lenet_core diagnostics --run ID [--json]`: a run's per-layer diagnostics
(lenet_core.explain.diagnostics) as a table at a few early steps and the last one, or every
record as JSON."""

from __future__ import annotations

import argparse
import json

from ..runs import diagnostics_store
from ..runs.store import RunStore

EARLY_STEPS = (1, 3, 5, 8, 12, 20, 50)  # the dense start, where a high rate breaks a net


def add_parser(sub, parser_class) -> None:
    d = sub.add_parser("diagnostics", help="a run's per-layer diagnostics: dead and saturated "
                       "units, gradient norms, update ratios, at the first steps and the last")
    d.add_argument("--run", metavar="ID", required=True, help="the run's id")
    d.add_argument("--json", action="store_true",
                   help="print every record (histograms included) as one JSON object")


def run(a: argparse.Namespace) -> int:
    store = RunStore()
    r = store.get(a.run)
    records = diagnostics_store.records(store, r.id)
    if a.json:
        print(json.dumps({"run_id": r.id, "name": r.name, "status": r.status,
                          "records": records}))
        return 0
    print(f"run {r.id} ({r.name}, {r.status}): {len(records)} diagnostics records")
    if not records:
        print("no diagnostics: the run was made before they were recorded, or has not "
              "taken a step yet")
        return 0
    wanted = set(EARLY_STEPS) | {records[-1]["step"]}
    for rec in records:
        if rec["step"] in wanted:
            print()
            print("\n".join(table(rec)))
    return 0


def _f(v: float | None, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.0f} %"


def table(rec: dict) -> list[str]:
    """One record as lines: a head, then a row per layer."""
    loss = "non-finite" if rec["loss"] is None else f"{rec['loss']:.4g}"
    lines = [f"step {rec['step']} (epoch {rec['x']:.2f}): batch loss {loss}"
             + (", NON-FINITE: dead fractions are not measurable" if rec["state"] else ""),
             f"  {'layer':<7} {'weight norm':>11} {'grad norm':>10} {'update/w':>9}   "
             f"{'act mean':>8} {'act std':>8} {'dead':>6} {'satur.':>6}"]
    for e in rec["layers"]:
        if e["kind"] == "weight":
            lines.append(f"  {e['name']:<7} {_f(e['weight_norm'], '11.3f')} "
                         f"{_f(e['grad_norm'], '10.2e')} {_f(e['update_ratio'], '9.1e')}")
        else:
            state = "" if e["finite"] else "  non-finite"
            lines.append(f"  {e['name'] + ' ' + e['fn']:<33}   {_f(e['mean'], '8.3f')} "
                         f"{_f(e['std'], '8.3f')} {_pct(e['dead']):>6} "
                         f"{_pct(e['saturated']):>6}{state}")
    return lines
