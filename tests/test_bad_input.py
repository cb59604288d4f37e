"""Bad input at each entry point: the core's check, the command line, and the Train form.

The config rows are generated from config.SPECS (each field's kind, range and choices), so a
field added later is covered here without an edit. docs/RELIABILITY.md lists what each
table covers.
"""

from __future__ import annotations

import math
import re
import sqlite3

import pytest
from PIL import Image
from streamlit.elements.lib.js_number import JSNumber
from streamlit.testing.v1 import AppTest

from lenet_core.cli import args as cli_args
from lenet_core.cli import main
from lenet_core.config import PRESETS, SPECS, ConfigError, Spec, TrainConfig, check
from lenet_core.runs.records import NAME_MAX
from tests.support import add_run, form_field

# --- values, per kind of field ------------------------------------------------------------


FLOATS = ("float", "optional-float", "floats")  # kinds whose values (or entries) are real


def edges(spec: Spec) -> tuple[list, list]:
    """([lowest, highest] value allowed, [just below, just above] the range) for a numeric
    field, or for each entry of a list field."""
    lo, hi = spec.lo, spec.hi
    if spec.kind in FLOATS:
        step = 1e-9 * max(1.0, abs(hi))
        inside = [lo + step if spec.lo_open else lo, hi - step if spec.hi_open else hi]
        return inside, [lo if spec.lo_open else lo - step, hi if spec.hi_open else hi + step]
    return [int(lo), int(hi)], [int(lo) - 1, int(hi) + 1]


def bad_values(spec: Spec) -> list:
    """Values the core must refuse for a field of this kind (a new kind fails loudly here)."""
    if spec.kind == "choice":
        first = spec.choices[0]
        if isinstance(first, int):  # whole-number choices: a number between or beyond them
            return ["", None, str(first), True, 2.5, max(spec.choices) + 1, min(spec.choices) - 1]
        return ["", None, 3, f"no-such-{first}", first.upper() + "!"]
    if spec.kind == "bool":
        return ["yes", 1, 0, None]
    if spec.kind in ("int", "optional-int"):
        return [*edges(spec)[1], 2.5, True, "3"] + ([None] if spec.kind == "int" else [])
    if spec.kind in ("float", "optional-float"):
        return [*edges(spec)[1], math.nan, math.inf, -math.inf, True, "0.1"] + \
            ([None] if spec.kind == "float" else [])
    if spec.is_list:
        fewest, most = spec.length
        n, ok = max(fewest, 1), edges(spec)[0][0]
        below, above = edges(spec)[1]
        wrong = math.nan if spec.kind in FLOATS else 2.5
        values = [(ok,) * (most + 1), (below,) * n, (above,) * n, (wrong,) * n, (None,) * n,
                  ("1",) * n, ok, "6 16"]
        return values + ([(ok,) * (fewest - 1)] if fewest > 0 else [])
    raise AssertionError(f"no bad values for kind {spec.kind!r}: add them here")


def good_values(spec: Spec) -> list:
    if spec.kind == "choice":
        return list(spec.choices)
    if spec.kind == "bool":
        return [True, False]
    if spec.is_list:
        lowest, highest = edges(spec)[0]
        return [(lowest,) * spec.length[0], (highest,) * spec.length[1]]
    return edges(spec)[0] + ([None] if spec.kind.startswith("optional") else [])


def _cases(make) -> list:
    return [pytest.param(name, v, id=f"{name}={v!r}") for name, spec in SPECS.items()
            for v in make(spec)]


# --- the core ------------------------------------------------------------------------------

@pytest.mark.parametrize("field,value", _cases(bad_values))
def test_core_refuses_each_bad_value_by_name(field, value):
    assert field in check({field: value})
    with pytest.raises(ConfigError) as err:
        TrainConfig(**{field: value})
    assert field in err.value.problems and "\n" not in str(err.value)


@pytest.mark.parametrize("field,value", _cases(good_values))
def test_core_accepts_the_edges_of_each_range(field, value):
    assert check({field: value}) == {}


# --- the command line ----------------------------------------------------------------------

def bad_words(name: str, spec: Spec) -> list[list[str]]:
    """Command lines (after the subcommand) that set this field badly."""
    flag = cli_args.flag(name)
    if spec.kind == "bool":
        return [[f"{flag}=yes"]]
    missing = [[flag]]  # the flag without its value
    if spec.kind == "choice":
        return missing + [[flag, "no-such-value"], [flag, str(max(map(str, spec.choices))) + "0"]]
    outside = [f"{v:.17g}" if isinstance(v, float) else str(v) for v in edges(spec)[1]]
    if spec.is_list:
        fewest, most = spec.length
        n, ok = max(fewest, 1), str(edges(spec)[0][0])
        return (missing if fewest > 0 else []) + [[flag, *[w] * n] for w in outside] + [
            [flag, *["x"] * n], [flag, *[ok] * most, ok]]
    words = missing + [[flag, w] for w in outside] + [[flag, "abc"], [flag, "1e999"]]
    floats = spec.kind in ("float", "optional-float")
    return words + ([[flag, "nan"], [flag, "inf"]] if floats else [[flag, "2.5"]])


@pytest.mark.parametrize("words", [pytest.param(w, id=" ".join(w)) for name, spec in SPECS.items()
                                   for w in bad_words(name, spec)])
def test_cli_refuses_each_bad_flag_in_one_line_with_exit_2(words, capsys):
    assert main(["summary", *words]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("lenet_core: error:"), err


def _one_line(capsys, code: int, args: list[str]) -> str:
    assert main(args) == code
    captured = capsys.readouterr()
    assert len(captured.err.splitlines()) == 1, captured.err
    assert "Traceback" not in captured.err + captured.out
    return captured.err


def test_cli_unknown_run_id(store, capsys):
    err = _one_line(capsys, 2, ["predict", "--run", "nope", "x.png"])
    assert err.strip().endswith("no run with id 'nope'")


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Files that are not usable images, by what is wrong with them."""
    tmp_path = tmp_path_factory.mktemp("images")
    Image.new("L", (64, 64)).save(tmp_path / "ok.png")
    Image.new("L", (20_000, 20_000)).save(tmp_path / "bomb.png")  # 0.4 MB, 400 Mpixels
    Image.new("L", (4_200, 4_200)).save(tmp_path / "large.png")
    (tmp_path / "text.png").write_text("not an image")
    (tmp_path / "cut.png").write_bytes((tmp_path / "ok.png").read_bytes()[:60])
    return tmp_path


@pytest.mark.parametrize("name,why", [("text.png", "not an image"), ("cut.png", "damaged"),
                                      ("bomb.png", "too large"), ("large.png", "too large"),
                                      ("gone.png", "no such file")])
def test_cli_predict_refuses_a_bad_image_before_classifying_any(images, name, why, capsys):
    err = _one_line(capsys, 2, ["predict", "--checkpoint", "lenet_core/assets/default-mnist.pt",
                                str(images / "ok.png"), str(images / name)])
    assert why in err


@pytest.mark.parametrize("args,why", [
    (["--name", "x" * (NAME_MAX + 1)], f"at most {NAME_MAX} characters"),
    (["--name", "two\nlines"], "no line breaks"),
    (["--name", "bell\a"], "control codes"),
    (["--save", "."], "is a folder"),
])
def test_cli_train_refuses_a_bad_name_or_save_path_before_training(store, args, why, capsys):
    err = _one_line(capsys, 2, ["train", "--epochs", "1", *args])
    assert why in err and store.list() == []


@pytest.mark.parametrize("content,why", [
    (b"SQLite format 3\0" + b"\xff" * 200, "is damaged or not a LeNet Lab run store"),
    (b"these are my notes, not a database\n" * 50, "is damaged or not a LeNet Lab run store"),
])
def test_cli_a_corrupt_runs_db_is_one_line_and_exit_1(tmp_path, monkeypatch, content, why,
                                                        capsys):
    (tmp_path / "runs.db").write_bytes(content)
    monkeypatch.setenv("LENET_RUNS", str(tmp_path))
    for args in (["runs"], ["predict", "--run", "x", "x.png"]):
        assert why in _one_line(capsys, 1, args)
    assert (tmp_path / "runs.db").read_bytes() == content  # left as it was, for the user


def test_cli_an_empty_runs_db_is_a_new_store(tmp_path, monkeypatch, capsys):
    (tmp_path / "runs.db").write_bytes(b"")  # sqlite reads a 0-byte file as an empty database
    monkeypatch.setenv("LENET_RUNS", str(tmp_path))
    assert main(["runs"]) == 0
    assert capsys.readouterr().out.startswith("no runs yet")


def test_cli_a_store_damaged_inside_is_one_line_and_exit_1(store, monkeypatch, capsys):
    for k in range(10):
        add_run(store, name=f"run {k}", checkpoint_file=False)
    with sqlite3.connect(store.db_path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    blob = bytearray(store.db_path.read_bytes())
    # The header and the schema (page 1) stay; every table page after it is garbage.
    blob[4096:] = b"\x07" * (len(blob) - 4096)
    store.db_path.write_bytes(bytes(blob))
    assert "damaged" in _one_line(capsys, 1, ["runs"])


# --- the Train form (AppTest) ----------------------------------------------------------------

def form_value(spec: Spec, side: int):
    """A bad value the field's widget can hold (side 0: below the range, 1: above), or None
    when its widget cannot hold one (a select box or checkbox offers valid values only;
    number boxes stop at JavaScript's largest safe integer). A list field's box holds text."""
    if spec.kind in ("choice", "bool"):
        return None
    v = edges(spec)[1][side]
    if spec.is_list:
        return ", ".join([repr(v)] * max(spec.length[0], 1))
    return None if abs(v) > JSNumber.MAX_SAFE_INTEGER else v


def _open_train() -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def _messages_after(at: AppTest) -> dict[str, str]:
    """Each form field's name -> the caption right after its widget, if that caption is a field
    message."""
    out, last_key = {}, None
    for node in at.main:
        if field := re.fullmatch(r"cfg_(\w+)_\d+", str(getattr(node, "key", None))):
            last_key = field.group(1)
        elif node.type == "caption" and last_key and node.value.startswith(":red["):
            out[last_key] = node.value.replace("\\[", "[").replace("\\]", "]")
            last_key = None
    return out


@pytest.mark.parametrize("side", [0, 1], ids=["below the range", "above the range"])
def test_form_shows_each_bad_number_beside_its_field_and_starts_nothing(store, side):
    at = _open_train()
    form_field(at, "preset").select("modern").run()  # Adam: its betas are checked too
    bad = {name: v for name, spec in SPECS.items() if (v := form_value(spec, side)) is not None}
    for name, v in bad.items():
        form_field(at, name).set_value(v)
    next(b for b in at.button if b.label == "Start training").click()
    at.run()
    assert not at.exception, at.exception
    beside = _messages_after(at)
    for name, v in bad.items():
        spec = SPECS[name]
        value = spec.parse(v) if spec.is_list else v
        assert spec.problem(value) in beside.get(name, ""), name
    assert any("nothing was started" in e.value for e in at.error)
    assert store.list() == []


def test_form_offers_only_valid_choices(store):
    at = _open_train()
    opening = PRESETS[form_field(at, "preset").value]  # the form opens on a preset
    for name, spec in SPECS.items():
        if spec.kind == "choice":
            assert form_field(at, name).options == [str(c) for c in spec.choices], name
        elif spec.kind == "bool":
            assert form_field(at, name).value is getattr(opening, name), name


def test_adam_betas_are_neither_editable_nor_checked_under_another_optimizer(store, no_workers):
    at = _open_train()
    form_field(at, "preset").select("modern").run()
    form_field(at, "betas").set_value("1.5").run()  # bad for Adam
    form_field(at, "optimizer").select("sgd").run()
    assert form_field(at, "betas").disabled
    next(b for b in at.button if b.label == "Start training").click()
    at.run()
    assert not [c.value for c in at.caption if c.value.startswith(":red[")]
    (run,) = store.list()
    assert run.config.optimizer == "sgd" and run.config.betas == PRESETS["modern"].betas
    form_field(at, "optimizer").select("adam").run()  # back to Adam: the typed betas count
    assert not form_field(at, "betas").disabled
    next(b for b in at.button if b.label == "Start training").click()
    at.run()
    assert "betas" in _messages_after(at) and len(store.list()) == 1


def test_form_refuses_a_run_name_that_is_too_long(store):
    at = _open_train()
    at.text_input(key="run_name").input("n" * (NAME_MAX + 1))
    next(b for b in at.button if b.label == "Start training").click()
    at.run()
    assert any(f"at most {NAME_MAX} characters" in c.value for c in at.caption)
    assert store.list() == []


def test_form_does_not_echo_typed_text_as_markdown(store):
    at = _open_train()
    list_field = next(name for name, spec in SPECS.items() if spec.is_list)
    form_field(at, list_field).set_value("![p](http://127.0.0.1:9/leak.png)")
    next(b for b in at.button if b.label == "Start training").click()
    at.run()
    message = _messages_after(at)[list_field]
    assert "must be a list of whole numbers" in message and "http" not in message
    assert store.list() == []
