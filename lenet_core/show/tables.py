"""The dashboard's tables, as plain rows: the layer table, config differences, final numbers.

Each function takes lenet_core values (`Run`s, `TrainConfig`s) and returns lists of dicts or
(label, text) pairs that any front end can show. No Streamlit here.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from ..config import SPECS, TrainConfig
from ..model import build_lenet, summary
from ..runs.environment import FIELDS, LABELS, Environment
from ..runs.records import Run
from . import fmt


def _pair(v: int | tuple[int, ...]) -> str:
    """A layer's kernel, stride or padding as the book writes it: 5×5, 2×2, 2."""
    return "×".join(map(str, v if isinstance(v, tuple) else (v, v)))


def _geometry(layer) -> dict[str, str]:
    """Kernel, stride and padding of a conv or pooling layer; blanks for the others."""
    if not hasattr(layer, "kernel_size"):
        return {"Kernel": "", "Stride": "", "Padding": ""}
    stride = layer.stride if isinstance(layer.stride, tuple) else (layer.stride,)
    padding = layer.padding if isinstance(layer.padding, tuple) else (layer.padding,)
    return {"Kernel": _pair(layer.kernel_size), "Stride": str(stride[0]),
            "Padding": str(padding[0])}


def parameter_formula(layer) -> str:
    """How a layer's parameter count comes about: out × (in × k × k) + out biases for a
    convolution, out × in + out for a fully connected layer, 2 × features for batch norm; ""
    for layers without any."""
    if isinstance(layer, nn.Conv2d):
        out, inp, kh, kw = layer.weight.shape
        return f"{out} × ({inp}×{kh}×{kw}) + {out} = {out * inp * kh * kw + out:,}"
    if isinstance(layer, nn.Linear):
        out, inp = layer.weight.shape
        return f"{out} × {inp} + {out} = {out * inp + out:,}"
    if isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)) and layer.affine:
        n = layer.num_features  # its running mean and variance are kept too, but not learned
        per = "channel" if isinstance(layer, nn.BatchNorm2d) else "unit"
        return f"2 × {n} (a scale and a shift per {per}) = {2 * n:,}"
    return ""


def layer_table(config: TrainConfig) -> list[dict[str, Any]]:
    """The seed's "检查模型" (check the model) printout: layer, output shape, plus each
    layer's kernel, stride, padding and parameters (with how they are counted)."""
    layers = dict(build_lenet(config).named_children())
    return [{"Layer": r.layer, "Type": r.type, **_geometry(layers[r.layer]),
             "Output shape": " × ".join(str(d) for d in r.output_shape),
             "Parameters": r.params, "How": parameter_formula(layers[r.layer])}
            for r in summary(config)]


def config_diff(configs: dict[str, TrainConfig]) -> list[dict[str, Any]]:
    """One row per hyperparameter, one column per run, and whether the runs disagree on it."""
    rows = []
    for name in SPECS:
        values = {label: fmt.value(getattr(c, name)) for label, c in configs.items()}
        rows.append({"Hyperparameter": name, **values,
                     "Differs": len(set(values.values())) > 1})
    return rows


def environment_diff(environments: dict[str, Environment]) -> list[dict[str, Any]]:
    """config_diff's rows for where the runs trained ("environment: torch", ...): runs whose
    environments differ may differ for that reason alone. "unknown" (a run from before
    environments were recorded) differs from any known value: nothing says they match."""
    rows = []
    for name in FIELDS:
        values = {label: getattr(env, name) for label, env in environments.items()}
        rows.append({"Hyperparameter": f"environment: {LABELS[name]}", **values,
                     "Differs": len(set(values.values())) > 1})
    return rows


FINAL_COLUMNS = ("Test acc (%)", "Train acc (%)", "Train loss", "Examples/s", "Train time (s)")


def final_metrics_row(run: Run) -> dict[str, Any]:
    def pct(v: float | None) -> float | None:
        return None if v is None else 100 * v

    return {"Run": fmt.short_label(run), "Status": run.status, "Dataset": run.config.dataset,
            "Test acc (%)": pct(run.test_acc), "Train acc (%)": pct(run.train_acc),
            "Train loss": run.train_loss,
            "Examples/s": None if run.examples_per_sec is None else round(run.examples_per_sec),
            "Train time (s)": run.train_time,
            "Epochs": run.config.epochs}


def sort_rows(rows: list[dict[str, Any]], key: str, descending: bool) -> list[dict[str, Any]]:
    """Sorted by one column; rows missing the value go last either way."""
    have = [r for r in rows if r.get(key) is not None]
    missing = [r for r in rows if r.get(key) is None]
    return sorted(have, key=lambda r: r[key], reverse=descending) + missing


def key_figures(run: Run) -> list[tuple[str, str]]:
    """A finished run's headline numbers as (label, text) pairs."""
    return [("Test acc", fmt.percent(run.test_acc)), ("Train acc", fmt.percent(run.train_acc)),
            ("Train loss", fmt.number(run.train_loss)),
            ("Examples/s", "–" if run.examples_per_sec is None else f"{run.examples_per_sec:,.0f}"),
            ("Train time", fmt.duration(run.train_time))]
