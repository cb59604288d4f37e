"""AppTest: the Experiments page's "Run on" choice (this machine or a Ray cluster). A cluster
that cannot be reached is named beside the address and nothing is launched; RAY_ADDRESS makes
the cluster the default. (Launching onto a real cluster: tests/test_cluster.py.)"""

from __future__ import annotations

from lenet_core.bench.appserver import free_port
from tests.test_app import open_page
from tests.test_app_experiments import _pick


def test_an_unreachable_cluster_is_named_beside_the_address_and_nothing_launches(store):
    at = _pick(open_page("experiments"), "qa-channels")
    assert at.radio(key="on-qa-channels").value == "This machine"
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    at.radio(key="on-qa-channels").set_value("Ray cluster at").run()  # enables the address
    at.text_input(key="addr-qa-channels").input(address)
    next(b for b in at.button if b.label == "Launch").click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == ["This cluster cannot be used."]
    # The reason, with the typed address, as plain text: never Markdown.
    assert f"cannot reach a Ray cluster at {address}: connection refused" in \
        [t.value for t in at.text]
    assert store.experiments() == [] and store.list() == []


def test_ray_address_makes_the_cluster_the_default_for_a_sweep(store, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "10.1.2.3:6379")
    at = _pick(open_page("experiments"), "sweep")
    assert at.radio(key="on-sweep").value == "Ray cluster at"
    assert at.text_input(key="addr-sweep").value == "10.1.2.3:6379"
