"""Answers computed without training: parameter counts at other input sizes (against torch's
own count and a hand count), and what view and reshape return (against torch's storage)."""

from lenet_core import experiments
from lenet_core.config import D2L, SPEEDRUN
from lenet_core.experiments import computed
from lenet_core.experiments.catalog import EXPERIMENTS, MLP_LIKE_LENET
from lenet_core.model import build_lenet
from tests.test_experiments import Recorder


def test_parameters_at_28_are_torchs_own_count():
    for config in (D2L, D2L.replace(**MLP_LIKE_LENET), SPEEDRUN, D2L.replace(hidden=()),
                   D2L.replace(conv_channels=(6, 16, 32), kernel_size=3),
                   D2L.replace(kernel_size=7), D2L.replace(arch="mlp", hidden=())):
        torch_count = sum(p.numel() for p in build_lenet(config).parameters())
        assert computed.parameters_at(config, 28) == torch_count, config


def test_parameters_at_200_by_hand():
    # LeNet: conv1 6*25+6, conv2 16*6*25+16; 200 -> 200 (pad 2) -> 100 -> 96 -> 48, so the
    # flatten has 16*48*48 = 36,864 values; then 36,864*120+120, 120*84+84, 84*10+10.
    lenet = 156 + 2416 + 36_864 * 120 + 120 + 120 * 84 + 84 + 84 * 10 + 10
    assert computed.parameters_at(D2L, 200) == lenet == 4_437_386
    mlp = 40_000 * 72 + 72 + 72 * 64 + 64 + 64 * 10 + 10
    assert computed.parameters_at(D2L.replace(**MLP_LIKE_LENET), 200) == mlp == 2_885_394


def test_what_view_and_reshape_return():
    rows = {(r["case"], r["op"]): r for r in computed.view_reshape(repeats=2, block_s=1e-4)}
    for case, _, layout, _ in computed.VIEW_CASES:
        view, reshape, copy = (rows[(case, op)] for op in ("view", "reshape",
                                                            "contiguous().view"))
        if layout == "channels_last":  # flattening crosses the layout's strides: view refuses
            assert view["shares"] is None and "not compatible" in view["error"]
            assert reshape["shares"] is False and copy["shares"] is False
            assert view["times"] is None and len(copy["times"]) == 2
        else:  # contiguous, or transposed but only split (784 -> 1 x 28 x 28): both views
            assert view["shares"] and reshape["shares"]
            assert copy["shares"] is (layout == "contiguous")
            assert len(view["times"]) == len(reshape["times"]) == 2 and copy["times"] is None


def test_the_view_reshape_experiment_reports_each_case(store):
    experiment_id = experiments.launch(EXPERIMENTS["qa-view-reshape"], store,
                                       executor=Recorder())
    report = experiments.report(experiment_id, store)
    assert report["runs"] == [] and len(report["cases"]) == 3 * len(computed.VIEW_CASES)
    assert len(report["comparisons"]) == len(computed.VIEW_CASES)
    assert {c["quantity"] for c in report["comparisons"]} == {"call_time"}
    assert {c["method"] for c in report["comparisons"]} == {"paired"}
    assert "reshape against view" in report["verdict"] and "view refuses" in report["verdict"]
    assert "reshape against contiguous().view" in report["verdict"]


def test_mlp_vs_cnn_reports_parameters_at_both_sizes(store):
    experiment_id = experiments.launch(EXPERIMENTS["qa-mlp-vs-cnn"], store, seeds=1,
                                       executor=Recorder())
    sizes = {r["variant"]: r["parameters"] for r in
             experiments.report(experiment_id, store)["sizes"]}
    assert sizes == {"LeNet": {"28": 61_706, "200": 4_437_386},
                     "MLP 72/64": {"28": 61_842, "200": 2_885_394}}
