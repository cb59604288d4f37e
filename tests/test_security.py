"""Security defaults: what the server binds to and accepts, how files from elsewhere are read,
and what the pages show when a file is hostile or damaged (AppTest; the browser side is in
test_e2e_reliability.py)."""

from __future__ import annotations

import ast
import os
import shutil
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from lenet_core.cli import main
from lenet_core.runs import checkpoint
from lenet_core.runs.schema import SCHEMA_VERSION
from tests.support import add_run, crafted_checkpoint

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [*sorted((ROOT / "lenet_core").rglob("*.py")), *sorted((ROOT / "pages").glob("*.py")),
           ROOT / "app.py"]


def test_streamlit_config_binds_locally_keeps_xsrf_and_caps_uploads():
    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert server["address"] == "127.0.0.1"
    assert server["enableXsrfProtection"] is True and server["enableCORS"] is True
    assert server["maxUploadSize"] == 5  # MB; the upload pages rely on this value


def _calls(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            yield node


def test_every_torch_load_is_weights_only():
    loads = [(p, c) for p in SOURCES for c in _calls(p) if ast.unparse(c.func) == "torch.load"]
    assert loads  # checkpoint.load at least
    for path, call in loads:
        kw = {k.arg: ast.unparse(k.value) for k in call.keywords}
        assert kw.get("weights_only") == "True", f"{path.name}:{call.lineno}"


def test_no_page_renders_html():
    for path in SOURCES:
        for call in _calls(path):
            name = ast.unparse(call.func)
            assert not name.endswith((".html", "components.v1.html")), f"{path.name}:{call.lineno}"
            for k in call.keywords:
                assert not (k.arg == "unsafe_allow_html" and ast.unparse(k.value) != "False"), \
                    f"{path.name}:{call.lineno}"


@pytest.fixture
def evil(tmp_path) -> Path:
    return crafted_checkpoint(tmp_path / "evil.pt")


@pytest.mark.slow
def test_cli_refuses_a_crafted_pickle_in_one_line_and_runs_nothing(evil, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "lenet_core", "predict", "--checkpoint",
                           str(evil), "x.png"], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT),
                               "LENET_RUNS": str(tmp_path / "runs")},
                          timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"lenet_core: error: {evil}: not a LeNet Lab checkpoint, "
                                        "or an unsafe file: refused"]
    assert not (tmp_path / "pwned").exists()


def test_a_damaged_checkpoint_is_refused_in_one_line(tmp_path, capsys):
    real = checkpoint.DEFAULT_MODEL_PATH.read_bytes()
    cases = {"cut.pt": real[: len(real) // 2], "empty.pt": b"", "text.pt": b"hello"}
    for name, blob in cases.items():
        (tmp_path / name).write_bytes(blob)
    ckpt = torch.load(checkpoint.DEFAULT_MODEL_PATH, weights_only=True)
    torch.save({**ckpt, "class_names": ["![x](http://127.0.0.1:9/x.png)"] * 10},
               tmp_path / "names.pt")
    torch.save({**ckpt, "state_dict": {}}, tmp_path / "weights.pt")
    for name in [*cases, "names.pt", "weights.pt"]:
        assert main(["predict", "--checkpoint", str(tmp_path / name), "x.png"]) == 2
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and "LeNet Lab checkpoint" in err, err
        assert "http" not in err  # the file's own words stay out of messages


def test_a_run_name_never_becomes_a_path(store, capsys):
    run_id = add_run(store, name="../../escape/../x")
    assert store.checkpoint_path(run_id).parent == store.root
    assert all(p.name.startswith(("runs.db", run_id)) for p in store.root.iterdir())
    assert not list(store.root.parent.rglob("*escape*"))
    assert main(["predict", "--run", "../runs/runs", "x.png"]) == 2
    assert "no run with id '../runs/runs'" in capsys.readouterr().err


# --- the pages, when a file is hostile or damaged (AppTest) ------------------------------------

def _app(page: str | None = None) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    if page:
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("page", ["draw", "inspect"])
def test_pages_refuse_a_crafted_or_damaged_run_checkpoint_in_one_line(store, evil, page,
                                                                      monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # where the exploit would leave its mark
    crafted, damaged = add_run(store, name="crafted"), add_run(store, name="damaged")
    shutil.copyfile(evil, store.checkpoint_path(crafted))
    store.checkpoint_path(damaged).write_bytes(b"\x00" * 100)
    at = _app(page)
    for run_id, why in ((crafted, "unsafe file: refused"), (damaged, "not a LeNet Lab")):
        at.selectbox[0].select(run_id).run()  # the model picker comes first
        assert not at.exception, at.exception
        assert [e.value for e in at.error] == ["This model cannot be used; pick another."]
        (detail,) = [t.value for t in at.text if why in t.value]
        assert "\n" not in detail and "weights_only" not in detail
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("content", [b"not a database at all\n" * 100, "newer"])
def test_every_page_says_why_the_run_store_cannot_be_used(tmp_path, monkeypatch, content):
    runs = tmp_path / "runs"
    runs.mkdir()
    if content == "newer":
        with sqlite3.connect(runs / "runs.db") as db:
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    else:
        (runs / "runs.db").write_bytes(content)
    monkeypatch.setenv("LENET_RUNS", str(runs))
    for page in (None, "draw", "inspect", "compare"):
        at = _app(page)
        assert [e.value for e in at.error] == [
            "The run store cannot be used, so no run can be shown or started."], page
        detail = at.text[-1].value
        assert str(runs / "runs.db") in detail
        assert ("newer LeNet Lab" if content == "newer" else "not a LeNet Lab run store") in detail
