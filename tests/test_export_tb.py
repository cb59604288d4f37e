"""TensorBoard export, read back with TensorBoard's own event reader and served by a real
`tensorboard` process: every curve point at its step, the epoch recoverable, the hparams
(config, environment, final metrics) in the run's own directory, experiments grouped by
variant, and the extension point for diagnostics' histograms."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator as ea
from tensorboard.plugins.hparams import api_pb2, metadata

from lenet_core.bench.appserver import free_port
from lenet_core.budget import batches_per_epoch
from lenet_core.cli import main
from lenet_core.config import MODERN
from lenet_core.export import tensorboard_logs
from lenet_core.runs import environment
from tests.support import add_run, fill_run, poll


def read(folder: Path) -> ea.EventAccumulator:
    acc = ea.EventAccumulator(str(folder), size_guidance={ea.SCALARS: 0, ea.TENSORS: 0,
                                                          ea.HISTOGRAMS: 0})
    return acc.Reload()


def series(acc: ea.EventAccumulator, tag: str) -> tuple[list[int], list[float]]:
    events = acc.Scalars(tag)
    return [e.step for e in events], [e.value for e in events]


def same_series(got: tuple[list, list], want: list[tuple[int, float]]) -> bool:
    """Steps exactly, values as float32 (TensorBoard's scalars) holds them."""
    return got[0] == [s for s, _ in want] and got[1] == pytest.approx([v for _, v in want],
                                                                       rel=1e-6)


def event_dirs(root: Path) -> list[Path]:
    return sorted({p.parent for p in root.rglob(tensorboard_logs.EVENTS_GLOB)})


def hparams_of(acc: ea.EventAccumulator):
    content = acc.PluginTagToContent(metadata.PLUGIN_NAME)
    return (metadata.parse_session_start_info_plugin_data(
                content[metadata.SESSION_START_INFO_TAG]),
            metadata.parse_session_end_info_plugin_data(content[metadata.SESSION_END_INFO_TAG]))


def test_a_run_reads_back_with_every_point_and_its_hparams_in_one_directory(store, tmp_path):
    run_id = add_run(store, name="a/b: **not markdown**")
    store.set_placement(run_id, "node-1", 2, environment.current())
    run, points = store.get(run_id), store.metrics(run_id)
    out = tmp_path / "tb"
    [(_, folder)] = tensorboard_logs.export_runs(store, [run_id], out)
    assert event_dirs(out) == [folder] and folder.parent == out  # no separate hparams run
    assert run_id in folder.name and "/" not in folder.name
    acc = read(folder)
    for key, tag in tensorboard_logs.CURVES.items():
        want = [(p["step"], p[key]) for p in points if p[key] is not None]
        assert same_series(series(acc, tag), want), tag
    # The epoch comes back at every step, and from steps_per_epoch.
    assert same_series(series(acc, "epoch"), [(p["step"], p["x"]) for p in points])
    start, end = hparams_of(acc)
    hp = {k: v for k, v in start.hparams.items()}
    assert hp["lr"].number_value == pytest.approx(run.config.lr)
    assert hp["normalize"].bool_value is run.config.normalize
    assert hp["conv_channels"].string_value == "6, 16"
    assert hp["max_train_examples"].string_value == "none"
    assert hp["steps_per_epoch"].number_value == batches_per_epoch(run.config)
    assert hp["environment/torch"].string_value == run.environment.torch
    assert hp["environment/git commit"].string_value == run.environment.git_commit
    assert end.status == api_pb2.STATUS_SUCCESS
    last = points[-1]["step"]
    for key, tag in tensorboard_logs.FINAL.items():
        assert same_series(series(acc, tag), [(last, getattr(run, key))]), tag


def test_an_experiment_is_grouped_by_variant_with_the_seed_in_the_run_name(store, tmp_path):
    experiment = store.create_experiment("qa-activation", 1, {})
    made = {}
    for variant, lr in (("ReLU, lr 0.1", 0.1), ("ReLU, lr 0.9", 0.9)):
        for seed in (0, 1):
            run_id = store.create(MODERN.replace(lr=lr, seed=seed, epochs=1), variant,
                                  experiment_id=experiment, variant=variant)
            fill_run(store, run_id)
            made[(variant, seed)] = run_id
    out = tmp_path / "tb"
    assert main(["export", "--tensorboard", str(out), "--experiment", experiment]) == 0
    top = out / f"qa-activation ({experiment})"
    assert event_dirs(out) == sorted(top / v / f"seed {s}" for v, s in made)
    for (variant, seed), run_id in made.items():
        acc = read(top / variant / f"seed {seed}")
        start, _ = hparams_of(acc)
        assert start.group_name == variant
        assert start.hparams["seed"].number_value == seed
        assert start.hparams["lr"].number_value == store.get(run_id).config.lr


def test_a_second_export_replaces_the_first_and_old_runs_read_unknown(store, tmp_path):
    run_id = add_run(store)  # never placed: its environment is unknown, as an old run's
    out = tmp_path / "tb"
    for _ in range(2):
        [(_, folder)] = tensorboard_logs.export_runs(store, [run_id], out)
    assert len(list(folder.glob(tensorboard_logs.EVENTS_GLOB))) == 1
    assert len(read(folder).Scalars("epoch")) == len(store.metrics(run_id))
    start, _ = hparams_of(read(folder))
    assert start.hparams["environment/torch"].string_value == environment.UNKNOWN


def test_sources_add_their_histograms_and_scalars(store, tmp_path, monkeypatch):
    """The extension point the per-layer diagnostics use."""
    values = np.random.default_rng(0).normal(size=1000)
    counts, edges = np.histogram(values, bins=32)

    def diagnostics(store, run):
        yield 7, tensorboard_logs.histogram("weights/conv1", counts, edges)
        yield 7, tensorboard_logs.scalar("dead/act1", 0.25)

    monkeypatch.setattr(tensorboard_logs, "SOURCES", (diagnostics,))
    [(_, folder)] = tensorboard_logs.export_runs(store, [add_run(store)], tmp_path / "tb")
    acc = read(folder)
    [h] = acc.Histograms("weights/conv1")
    assert h.step == 7 and h.histogram_value.num == 1000
    assert list(h.histogram_value.bucket) == counts.tolist()
    assert list(h.histogram_value.bucket_limit) == pytest.approx(edges[1:].tolist())
    assert same_series(series(acc, "dead/act1"), [(7, 0.25)])


@pytest.mark.parametrize("args, says", [
    (["--checkpoint", "x.pt"], "a checkpoint does not hold"),
    (["--run", "nope"], "no run with id 'nope'"),
    (["--experiment", "nope"], "no experiment with id 'nope'"),
])
def test_export_tensorboard_refuses_bad_input_in_one_line(args, says, store, tmp_path, capsys):
    assert main(["export", "--tensorboard", str(tmp_path / "tb"), *args]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "tb").exists()


def _get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.read()
    except OSError:
        return None


@pytest.mark.slow
def test_a_real_tensorboard_serves_a_runs_scalars_and_hparams(store, tmp_path):
    run_id = add_run(store, name="served")
    [(run, folder)] = tensorboard_logs.export_runs(store, [run_id], tmp_path / "tb")
    port = free_port()
    log = (tmp_path / "tensorboard.log").open("wb")
    server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir",
                               str(tmp_path / "tb"), "--host", "127.0.0.1", "--port", str(port)],
                              stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        query = urllib.parse.urlencode({"run": folder.name, "tag": "test/accuracy"})

        def scalars():
            body = _get(f"{base}/data/plugin/scalars/scalars?{query}")
            return json.loads(body) if body else None

        served = poll(scalars, timeout=120, interval=0.5, what="tensorboard's scalars")
        want = [(p["step"], p["test_acc"]) for p in store.metrics(run_id) if p["test_acc"]]
        assert same_series(([s for _, s, _ in served], [v for _, _, v in served]), want)
        request = urllib.request.Request(
            f"{base}/data/plugin/hparams/experiment", method="POST",
            data=json.dumps({"experimentName": ""}).encode(),
            headers={"Content-Type": "application/json", "X-XSRF-Protected": "1"})
        with urllib.request.urlopen(request, timeout=30) as r:
            experiment = json.loads(r.read())
        names = {h["name"] for h in experiment["hparamInfos"]}
        assert {"lr", "activation", "environment/torch"} <= names
        metrics = {m["name"]["tag"] for m in experiment["metricInfos"]}
        assert {"final/test_accuracy", "test/accuracy"} <= metrics
    finally:
        server.kill()
        server.wait(timeout=30)
        log.close()
