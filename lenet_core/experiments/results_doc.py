"""docs/EXPERIMENTS.md, generated: the hand-typed introduction (docs/results/INTRO.md), then a
summary and a section per shipped experiment, each rendered from its stored result
(docs/results/NAME.json: `experiment show --json`, trimmed to what the document shows, plus
how long the experiment took and under what load). Nothing else is typed by hand. A re-run
still going on (docs/results/partial/) is named with its runs so far, and claims nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import carried, report_text
from .catalog import EXPERIMENTS, question

DOCS = Path(__file__).resolve().parent.parent.parent / "docs"
RESULTS = DOCS / "results"
DOCUMENT = DOCS / "EXPERIMENTS.md"
INTRO = RESULTS / "INTRO.md"  # the one part typed by hand
# What a stored result keeps of a report: the per-run rows and configs are left out.
KEPT = ("experiment", "id", "title", "measure", "max_train_examples", "timed", "settings",
        "verdict", "comparisons", "table", "layers", "sizes", "cases", "ran")


def trim(report: Mapping[str, Any], ran: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A report as docs/results stores it; `ran`: how long it took and under what load."""
    out = {k: report[k] for k in KEPT if k in report}
    if ran is not None:
        out["ran"] = dict(ran)
    return out


def load(folder: Path = RESULTS) -> list[dict[str, Any]]:
    """The stored results, in the catalog's order."""
    found = {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}
    return [found[name] for name in EXPERIMENTS if name in found]


def _compact(c: Mapping[str, Any]) -> str:
    a, b, q, diff, interval, p, _, word, res = report_text.comparison_cells(c)
    if diff == "–":
        return f"{report_text.pair(a, b)} ({q}): too few seeds"
    tail = f", resolves {res}" if word == "inconclusive" else ""
    return f"{report_text.pair(a, b)} ({q}): {diff} {interval}, {word}{tail}"


def answer(result: Mapping[str, Any]) -> str:
    """One experiment's answer in a line: each arm that failed to learn, and each computed
    comparison. Nothing is said that the result does not hold."""
    parts = [f"{row['variant']}: {row['failed_to_learn']}" for row in result.get("table", [])
             if row.get("failed_to_learn")]
    parts += [_compact(c) for c in result.get("comparisons", [])]
    if not parts:  # computed experiments: their verdict is the answer
        return result["verdict"]
    return "; ".join(parts) + "."


def summary(results: Sequence[Mapping[str, Any]],
            in_progress: Mapping[str, tuple[int, int]]) -> list[str]:
    if not results:
        return ["## The answers, in one place", "", "No stored results yet: `python -m "
                "lenet_core experiment rerun` runs the experiments and writes them.", ""]
    lines = ["## The answers, in one place", "",
             "Each line is generated from the experiment's comparisons below (same runs, same "
             "rule); the words are the rule's: higher, lower, equivalent, inconclusive.", "",
             "| question | answer measured here |", "| --- | --- |"]
    for r in results:
        title = EXPERIMENTS[r["experiment"]].title
        lines.append(f"| {title} (`{r['experiment']}`) | {answer(r)} |")
    return [*lines, "", *missing(results, in_progress)]


def missing(results: Sequence[Mapping[str, Any]],
            in_progress: Mapping[str, tuple[int, int]]) -> list[str]:
    """The shipped experiments with no stored result, named so that none looks answered;
    a re-run under way says how far it has got."""
    have = {r["experiment"] for r in results}
    names = [name for name in EXPERIMENTS if name not in have]
    if not names:
        return []

    def named(name: str) -> str:
        if name not in in_progress:
            return f"`{name}`"
        done, planned = in_progress[name]
        return f"`{name}` (re-run under way: {done} of {planned} runs ended, kept in " \
               f"docs/results/partial/)"
    return [f"Not re-run yet, so nothing is claimed for them here: "
            f"{', '.join(map(named, names))}. `python -m lenet_core experiment rerun "
            f"NAME` runs one and adds it, or resumes it.", ""]


def timings(results: Sequence[Mapping[str, Any]]) -> list[str]:
    """How long each experiment took, and how busy the machine was meanwhile."""
    ran = [r for r in results if r.get("ran")]
    if not ran:
        return []
    lines = ["## How long each took", "",
             "| experiment | runs | wall time | load average (1 min): before, mean, max | "
             "CPUs | date | changed from its definition |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in ran:
        x = r["ran"]
        changed = ", ".join(f"{k} {v}" for k, v in sorted((x.get("overrides") or {}).items()))
        lines.append(f"| `{r['experiment']}` | {r['settings']['runs']} | "
                     f"{x['seconds'] / 60:.1f} min{_parts(x)} | {x['load_before']:.2f}, {x['load_mean']:.2f}"
                     f", {x['load_max']:.2f} | {x['cpus']} | {x['date']} | {changed or '–'} |")
    return [*lines, ""]


def _parts(ran: Mapping[str, Any]) -> str:
    """A re-run resumed across sittings: its wall time is the parts' sum; and how many runs
    trained at a time, when more than one did."""
    text = f" in {ran['parts']} parts" if ran.get("parts", 1) > 1 else ""
    if at := ran.get("at_a_time"):
        text += f", {'up to ' * (len(at) > 1)}{at[-1]} runs at a time"
    return text


def section(result: Mapping[str, Any]) -> str:
    return report_text.markdown(result, question(result["experiment"]))


def render(results: Sequence[Mapping[str, Any]], intro: str,
           in_progress: Mapping[str, tuple[int, int]] | None = None) -> str:
    """in_progress: the runs ended so far and planned of each re-run under way."""
    parts = [intro.rstrip(), "", report_text.HOW_TO_READ, "",
             *summary(results, in_progress or {}), *timings(results)]
    return "\n".join(parts) + "\n" + "\n".join(section(r) for r in results)


def rendered(folder: Path = RESULTS, intro: Path = INTRO) -> str:
    """The document as the results in folder (and the re-runs under way there) render it."""
    return render(load(folder), intro.read_text(), carried.counts(folder))


def write(folder: Path = RESULTS, document: Path = DOCUMENT, intro: Path = INTRO) -> str:
    """Render the document from the stored results and write it; returns the text."""
    text = rendered(folder, intro)
    document.write_text(text)
    return text
