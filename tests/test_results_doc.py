"""docs/EXPERIMENTS.md is generated: the committed document is the render of the committed
results, a result's summary line says only what its comparisons computed, and a re-run of
small runs writes a result and the document."""

import json

import pytest

from lenet_core import experiments
from lenet_core.cli import main
from lenet_core.experiments import rerun, results_doc
from lenet_core.experiments.catalog import EXPERIMENTS
from tests.support import fill_run
from tests.test_experiments import Recorder


def test_the_committed_document_is_the_render_of_the_committed_results():
    rendered = results_doc.rendered()
    assert results_doc.DOCUMENT.read_text() == rendered


def test_every_interval_and_mean_the_introduction_quotes_is_in_the_generated_tables():
    """The introduction is typed by hand: each interval ([-0.9, -0.1]) and mean ± std it quotes
    must be one that the rendered results hold, so a figure that no run produced fails."""
    import re
    intro = results_doc.INTRO.read_text()
    generated = results_doc.render(results_doc.load(), "")
    intervals = re.findall(r"\[[-+][\d,.]+, [-+][\d,.]+\]", intro)
    means = re.findall(r"(\d+\.\d) ± (\d+\.\d) (%|s\b)", intro)
    cells = re.findall(r"\b\d+±\d+\b", intro)  # a table's cell quoted as is: 9543±1456
    assert len(intervals) >= 5 and len(means) >= 4  # the pattern still finds the quotes
    assert {unit for *_, unit in means} == {"%", "s"} and cells
    assert [i for i in intervals if i not in generated] == []
    assert [m for m in means if f"{m[0]}±{m[1]}" not in generated
            and f"{m[0]} ± {m[1]} {m[2]}" not in generated] == []
    assert [c for c in cells if f"| {c} |" not in generated] == []


def test_docs_check_says_the_document_is_current_and_touches_no_run_store(tmp_path, monkeypatch,
                                                                          capsys):
    monkeypatch.setenv("LENET_RUNS", str(tmp_path / "runs"))
    assert main(["experiment", "docs", "--check"]) == 0
    assert "up to date" in capsys.readouterr().out and not (tmp_path / "runs").exists()


def _result(store, name="qa-pooling", seeds=3):
    experiment_id = experiments.launch(EXPERIMENTS[name], store, seeds=seeds, epochs=1,
                                       executor=Recorder())
    for run in store.runs_of(experiment_id):
        acc = 0.86 if run.variant.startswith("max") else 0.84
        fill_run(store, run.id, acc=acc + 0.002 * run.config.seed, checkpoint_file=False)
    ran = {"seconds": 90.0, "load_before": 0.1, "load_mean": 2.1, "load_max": 2.4, "cpus": 2,
           "date": "2026-12-02", "overrides": None}
    return results_doc.trim(experiments.report(experiment_id, store), ran)


def test_the_summary_line_holds_the_computed_comparisons_and_nothing_else(store):
    result = _result(store)
    assert "runs" not in result and result["ran"]["seconds"] == 90.0
    line = results_doc.answer(result)
    parts = line.rstrip(".").split("; ")
    assert len(parts) == len(result["comparisons"]) == 2
    assert parts[0].startswith("max-pool, sigmoid vs avg-pool, sigmoid (test accuracy): +2.0 "
                               "points [")
    assert all(p.endswith(", higher") for p in parts)


def test_the_document_renders_every_stored_result_with_its_time(store, tmp_path):
    (tmp_path / "qa-pooling.json").write_text(json.dumps(_result(store)))
    text = results_doc.render(results_doc.load(tmp_path), "# Intro\n")
    assert text.startswith("# Intro\n")
    assert "| Max or average pooling? (`qa-pooling`) | max-pool, sigmoid vs" in text
    assert "| `qa-pooling` | 12 | 1.5 min | 0.10, 2.10, 2.40 | 2 | 2026-12-02 | – |" in text
    assert "## `qa-pooling`: Max or average pooling?" in text
    assert "| max-pool, sigmoid | avg-pool, sigmoid | test accuracy | +2.0 points |" in text
    # every other shipped experiment is named as not re-run, none as answered
    unanswered = text.split("Not re-run yet, so nothing is claimed for them here: ")[1]
    named = unanswered.split(".")[0].split(", ")
    assert named == [f"`{n}`" for n in EXPERIMENTS if n != "qa-pooling"]


@pytest.mark.parametrize("name, says", [
    ("qa-pooling", " epochs, the full training sets, on"),
    ("ex-remedies", " epochs, 2,000 training examples per run, on"),
    ("qa-data-size", " epochs, training sets of 1,000, 5,000, 20,000, 60,000 examples, by variant, on"),
])
def test_the_header_says_how_many_training_examples_the_runs_used(store, tmp_path, name, says):
    result = _result(store, name, seeds=2)
    sizes = {r.config.max_train_examples for r in store.list()}
    assert result["settings"]["train_examples"] == sorted(sizes, key=lambda n: (n is None, n or 0))
    (tmp_path / f"{name}.json").write_text(json.dumps(result))
    text = results_doc.render(results_doc.load(tmp_path), "# Intro\n")
    assert says in text


@pytest.mark.slow
def test_a_rerun_of_small_runs_writes_its_result_and_the_document(store, tmp_path):
    lines = []
    document = rerun.rerun(["qa-mlp-vs-cnn"], store, tmp_path / "results", say=lines.append,
                           overrides={"epochs": 1, "seeds": 2, "max_train_examples": 512})
    result = json.loads((tmp_path / "results" / "qa-mlp-vs-cnn.json").read_text())
    assert result["settings"]["runs"] == 4 and result["ran"]["seconds"] > 0
    assert result["ran"]["overrides"]["seeds"] == 2
    (c,) = result["comparisons"]
    assert (c["a"], c["b"], c["n_a"], c["n_b"]) == ("MLP 72/64", "LeNet", 2, 2)
    assert document == tmp_path / "EXPERIMENTS.md"
    assert "## `qa-mlp-vs-cnn`: MLP or CNN?" in document.read_text()
    # what differed from the definition is said beside its time
    assert "| epochs 1, max_train_examples 512, seeds 2 |" in document.read_text()
    assert lines[-1].startswith("qa-mlp-vs-cnn: 4 runs in ")
    # a line as each run ends, counted to the last
    assert [line.split("]")[0] for line in lines[:-1]] == [f"[{k}/4" for k in range(1, 5)]


def test_a_comparison_within_one_case_names_the_case_once():
    from lenet_core.experiments.report_text import pair
    assert pair("256 x 16 x 5 x 5: reshape", "256 x 16 x 5 x 5: view") == \
        "256 x 16 x 5 x 5: reshape vs view"
    assert pair("ReLU, lr 0.1", "sigmoid, lr 0.9") == "ReLU, lr 0.1 vs sigmoid, lr 0.9"
    assert pair("a: x", "b: y") == "a: x vs b: y"
    doc = results_doc.DOCUMENT.read_text()
    assert "(`qa-view-reshape`) | the seed's Reshape, 256 x 784 to 256 x 1 x 28 x 28: " \
           "reshape vs view (time per call)" in doc
