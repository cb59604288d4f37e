"""An experiment's report (experiments.report's JSON) as text: the CLI's table and the Markdown
section docs/EXPERIMENTS.md holds. Reads only the report, so a stored report renders the same."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..stats import p_text
from .verdicts import QUANTITIES

HOW_TO_READ = (
    "Mean ± standard deviation over seeds. Test accuracy counts every run (a run that diverged "
    "counts at chance, 10 %); train accuracy, gap, speed and time are over the runs that "
    "learned. Learned: runs that learned, with the rate's 95 % Wilson interval. Each "
    "comparison is the difference of means with its interval, paired by seed when both "
    "variants share each seed's data order and initial weights (Welch otherwise), "
    "Holm-corrected within the experiment (the interval widened to match). Words: higher or "
    "lower when that interval excludes 0; equivalent when two one-sided tests put the "
    "difference within ±0.5 points; otherwise inconclusive, with the difference these seeds "
    "can resolve (80 % power).")
NEGATIVE_GAP = (
    "A negative gap means test accuracy ended above train accuracy: train accuracy is the "
    "running mean over the last epoch, scored while the weights were still changing, and the "
    "test set is scored once, by the final weights. It is no sign of overfitting.")


def negative_gap(table: list[Mapping[str, Any]]) -> bool:
    return any(row.get("gap") and row["gap"]["mean"] < 0 for row in table)


def stat(row: Mapping[str, Any], key: str, scale: float = 1.0, digits: int = 1) -> str:
    s = row.get(key)
    return "–" if s is None else f"{s['mean'] * scale:.{digits}f}±{s['std'] * scale:.{digits}f}"


def learned(row: Mapping[str, Any]) -> str:
    if not row.get("counted"):
        return "–"
    return (f"{row['learned']}/{row['counted']} "
            f"({100 * row['success_low']:.0f}-{100 * row['success_high']:.0f} %)")


def comparison_cells(c: Mapping[str, Any]) -> list[str]:
    """a, b, quantity, difference, interval, Holm p, method, word, resolvable: as text."""
    q = QUANTITIES[c["quantity"]]
    unit = f" {q.unit}" if q.unit else ""

    def num(v: float | None, sign: str = "+") -> str:
        return "–" if v is None else f"{v * q.scale:{sign},.{q.digits}f}"
    if c["difference"] is None:
        return [c["a"], c["b"], q.label, "–", "–", "–", "–", c["word"], "–"]
    return [c["a"], c["b"], q.label, num(c["difference"]) + unit,
            f"[{num(c['low'])}, {num(c['high'])}]", p_text(c["p_holm"]), c["method"],
            c["word"], "±" + num(c["resolvable"], "") + unit]


def pair(a: str, b: str) -> str:
    """'a vs b', the case they share said once: "case: reshape vs view", not "case: reshape vs
    case: view"."""
    case_a, _, label_a = a.rpartition(": ")
    case_b, _, label_b = b.rpartition(": ")
    return f"{case_a}: {label_a} vs {label_b}" if case_a and case_a == case_b else f"{a} vs {b}"


COMPARISON_HEAD = ["a", "against b", "quantity", "difference", "interval", "Holm p", "method",
                   "word", "resolvable"]


def text(report: Mapping[str, Any]) -> str:
    """The CLI's table, comparisons and verdict."""
    lines = [f"experiment {report['experiment']} ({report['id']})",
             f"{'variant':<40} {'learned':>16} {'test acc %':>11} {'gap':>10} {'params':>9} "
             f"{'ex/s':>12} {'time s':>10}"]
    for row in report["table"]:
        lines.append(f"{row['variant'][:40]:<40} {learned(row):>16} "
                     f"{stat(row, 'test_acc', 100):>11} {stat(row, 'gap', 100):>10} "
                     f"{row['params'] or 0:>9,} {stat(row, 'examples_per_sec', 1, 0):>12} "
                     f"{stat(row, 'train_time'):>10}")
    for layer in report.get("layers", []):
        lines.append(f"{layer['layer']:<8} {str(layer['shape']):<16} {layer['values']:>7,} values")
    for row in report.get("sizes", []):
        lines.append(f"{row['variant']}: " + ", ".join(
            f"{n:,} parameters at {s}x{s}" for s, n in row["parameters"].items()))
    for c in report.get("cases", []):
        lines.append(f"{c['case']}: {c['op']}: " + (c["error"] or (
            "shares storage" if c["shares"] else "copies")) + (f", {c['time']} ns" if c["time"]
                                                               else ""))
    for c in report.get("comparisons", []):
        a, b, q, diff, interval, p, method, word, res = comparison_cells(c)
        lines.append(f"  {pair(a, b)}, {q}: {diff} {interval} Holm p {p} ({method}): {word}"
                     + (f", resolves {res}" if word != "too few seeds" else ""))
    lines.append(f"verdict: {report['verdict']}")
    return "\n".join(lines)


def _sizes(sizes: list[int | None]) -> str:
    """The training-set sizes the runs used, in words (None: the full set)."""
    if sizes == [None]:
        return "the full training sets"
    if len(sizes) == 1:
        return f"{sizes[0]:,} training examples per run"
    text = "training sets of " + ", ".join(f"{n:,}" for n in sizes if n is not None) + " examples"
    return text + (" and the full sets" if None in sizes else "") + ", by variant"


def _settings(report: Mapping[str, Any]) -> str:
    s = report["settings"]
    cap = report["max_train_examples"]
    size = (f"training sets capped at {cap:,} examples" if cap is not None else
            _sizes(s["train_examples"]) if "train_examples" in s else
            "the full training sets unless a variant sets its size")
    threads = s["threads"]
    return (f"Experiment `{report['id']}`: {s['runs']} runs (seeds "
            f"{', '.join(map(str, s['seeds']))}), {'/'.join(map(str, s['epochs']))} epochs, "
            f"{size}, on {', '.join(s['executors'])} ({', '.join(s['nodes'])}, "
            f"{'/'.join(threads)} thread{'' if threads == ['1'] else 's'} per run"
            + ("; timed side by side" if report.get("timed") else "") + ").")


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


# Columns shown only where some arm measured them: (key, heading, scale, digits).
OPTIONAL = (("peak_test_acc", "peak test acc %", 100, 1), ("test_loss", "test loss, end", 1, 3),
            ("test_loss_min", "test loss, lowest", 1, 3),
            ("time_to_target", "time to target s (scoring in)", 1, 1))


def _arm_table(table: list[Mapping[str, Any]]) -> list[str]:
    extra = [c for c in OPTIONAL if any(row.get(c[0]) for row in table)]
    head = ["variant", "learned (95 % CI)", "test acc % (all runs)", "train acc %",
            "gap (points)", *(c[1] for c in extra), "parameters", "examples/s", "train time s",
            "did not learn"]
    lines = [_row(head), _row(["---"] * len(head))]
    for row in table:
        lines.append(_row([row["variant"], learned(row), stat(row, "test_acc", 100),
                           stat(row, "train_acc", 100), stat(row, "gap", 100),
                           *(stat(row, k, scale, d) for k, _, scale, d in extra),
                           f"{row['params']:,}", stat(row, "examples_per_sec", 1, 0),
                           stat(row, "train_time"), row["failed_to_learn"] or ""]))
    return [*lines, ""]


def markdown(report: Mapping[str, Any], question: Mapping[str, str] | None = None) -> str:
    """A Markdown section: question, settings, table, comparisons, verdict. `question` holds the
    definition's question_en, question_zh and answer_zh, where there is one."""
    lines = [f"## `{report['experiment']}`: {report.get('title') or report['experiment']}", ""]
    if question:
        lines += [f"> {question['question_en']}", ""]
        if question.get("question_zh"):
            lines += [f"The seed asks: {question['question_zh']} Its Q&A answered: "
                      f"{question['answer_zh']}", ""]
    if report["settings"]["runs"]:
        lines += [_settings(report), "", *_arm_table(report["table"])]
        if negative_gap(report["table"]):
            lines += [NEGATIVE_GAP, ""]
    if report.get("comparisons"):
        lines += [_row(COMPARISON_HEAD), _row(["---"] * len(COMPARISON_HEAD))]
        lines += [_row(comparison_cells(c)) for c in report["comparisons"]] + [""]
    lines += computed_tables(report)
    for k, layer in enumerate(report.get("layers", [])):
        if k == 0:
            lines += [_row(["layer", "output (C x H x W)", "values per example"]),
                      _row(["---"] * 3)]
        lines.append(_row([layer["layer"], " x ".join(map(str, layer["shape"])),
                           f"{layer['values']:,}"]))
    return "\n".join([*lines, "", "**Verdict** (computed from the measurements above): "
                      + report["verdict"], ""])


def computed_tables(report: Mapping[str, Any]) -> list[str]:
    """The computed parts of a report as Markdown: parameters at other input sizes, and the
    view/reshape cases."""
    lines = []
    sizes = report.get("sizes") or []
    if sizes:
        sides = list(sizes[0]["parameters"])
        lines += [_row(["variant", *(f"parameters at {s}x{s} inputs (computed)" for s in sides)]),
                  _row(["---"] * (1 + len(sides)))]
        lines += [_row([r["variant"], *(f"{r['parameters'][s]:,}" for s in sides)])
                  for r in sizes] + [""]
    cases = report.get("cases") or []
    if cases:
        lines += [_row(["case", "op", "result", "time per call, ns (mean ± std)"]),
                  _row(["---"] * 4)]
        for c in cases:
            result = c["error"] or ("shares the input's storage" if c["shares"] else "a copy")
            lines.append(_row([c["case"], f"`{c['op']}`", result, c["time"] or "not timed"]))
        lines.append("")
    return lines
