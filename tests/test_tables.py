"""lenet_core.tables and fmt: the dashboard's tables and text, as plain Python."""

import math

import pytest

from lenet_core.config import D2L, SPECS
from lenet_core.model import build_lenet
from lenet_core.show import fmt, tables


def test_config_diff_flags_only_what_differs():
    rows = tables.config_diff({"a": D2L, "b": D2L.replace(lr=0.1, conv_channels=(6, 32))})
    assert {r["Hyperparameter"] for r in rows if r["Differs"]} == {"lr", "conv_channels"}
    lr = next(r for r in rows if r["Hyperparameter"] == "lr")
    assert (lr["a"], lr["b"]) == ("0.9", "0.1")
    assert len(rows) == len(SPECS)


def test_sort_rows_puts_missing_values_last_both_ways():
    rows = [{"k": 2}, {"k": None}, {"k": 3}, {"k": 1}]
    assert [r["k"] for r in tables.sort_rows(rows, "k", True)] == [3, 2, 1, None]
    assert [r["k"] for r in tables.sort_rows(rows, "k", False)] == [1, 2, 3, None]


@pytest.mark.parametrize(("seconds", "text"), [(None, "–"), (math.inf, "–"), (12.3, "12 s"),
                                               (83, "1:23"), (4000, "1:06:40")])
def test_duration(seconds, text):
    assert fmt.duration(seconds) == text


def test_each_layers_parameter_formula_adds_up_to_torchs_count():
    grown = D2L.replace(conv_channels=(6, 16, 32), kernel_size=3, hidden=(64,))
    net = dict(build_lenet(grown).named_children())
    for row in tables.layer_table(grown):
        count = sum(p.numel() for p in net[row["Layer"]].parameters())
        assert row["Parameters"] == count
        if count:
            assert row["How"].endswith(f"= {count:,}")
    conv3 = next(r for r in tables.layer_table(grown) if r["Layer"] == "conv3")
    assert (conv3["How"], conv3["Kernel"], conv3["Padding"]) == ("32 × (16×3×3) + 32 = 4,640",
                                                                "3×3", "0")
