"""lenet_core.tables and fmt: the dashboard's tables and text, as plain Python."""

import math

import pytest

from lenet_core.config import D2L, SPECS
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
