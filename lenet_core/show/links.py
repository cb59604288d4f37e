"""Shareable links: a page's state as URL query parameters, and back, checked in one place.

A link is data from anyone: every parameter is read against what its page accepts (Train's
against the TrainConfig specs, the others' against a small schema the page gives with its
current choices, such as the run ids that exist). A bad or unknown parameter is reported in
one plain line that names it, and its field keeps its default. The lines may hold the link's
text, so they are for plain-text display only (st.text), never Markdown or HTML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import PRESETS, SPECS, TrainConfig, check

MAX_SHOWN = 60  # characters of a link's text quoted in a message


@dataclass(frozen=True)
class Param:
    """What one page parameter accepts."""

    kind: str  # "int", "choice", "ids" (a comma-separated list of choices) or "pair" (two ints)
    lo: int = 0  # "int", "pair": the smallest value
    hi: int = 0  # the largest
    choices: tuple = ()  # "choice", "ids": the values allowed (strings)
    most: int = 64  # "ids": at most this many


def quoted(text: str) -> str:
    """A link's text for a message: shortened, in quotes, control characters escaped."""
    short = text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"
    return repr(short)


def ignored(name: str, why: str) -> str:
    return f"Link parameter {quoted(name)} ignored: {why}."


def _int(text: str, lo: int, hi: int) -> int:
    v = int(text.strip())
    if not lo <= v <= hi:
        raise ValueError
    return v


def parse(name: str, text: str, p: Param) -> Any:
    """One parameter's value; ValueError with the reason when it is not one `p` accepts."""
    if p.kind == "int":
        try:
            return _int(text, p.lo, p.hi)
        except ValueError:
            raise ValueError(f"must be a whole number from {p.lo} to {p.hi}") from None
    if p.kind == "pair":
        try:
            a, b = text.split(",")
            return _int(a, p.lo, p.hi), _int(b, p.lo, p.hi)
        except ValueError:
            raise ValueError(f"must be two whole numbers from {p.lo} to {p.hi}, "
                             "such as 5,3") from None
    if p.kind == "choice":
        if text not in p.choices:
            raise ValueError("not one of the choices here")
        return text
    ids = [t for t in text.split(",") if t]
    unknown = [t for t in ids if t not in p.choices]
    if unknown or not ids or len(ids) > p.most:
        raise ValueError(f"no such item here: {quoted(unknown[0])}" if unknown
                         else f"needs 1 to {p.most} comma-separated items")
    return list(dict.fromkeys(ids))


def read(params: Mapping[str, str], schema: Mapping[str, Param]) -> tuple[dict[str, Any], list[str]]:
    """The valid parameters' values, and one line for each parameter that is bad or unknown."""
    values, problems = {}, []
    for name, text in params.items():
        if name not in schema:
            problems.append(ignored(name, "this page has no such setting"))
            continue
        try:
            values[name] = parse(name, text, schema[name])
        except ValueError as e:
            problems.append(ignored(name, f"{e} (got {quoted(text)})"))
    return values, problems


def write(values: Mapping[str, Any]) -> dict[str, str]:
    """Values (ints, strings, pairs, lists of ids) as query parameters; None leaves one out."""
    out = {}
    for name, v in values.items():
        if v is None:
            continue
        out[name] = ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)
    return out


# --- Train: the form's fields, read against their specs ----------------------------------------

def _field_text(name: str, v: Any) -> str:
    spec = SPECS[name]
    if v is None:
        return ""
    if spec.kind == "bool":
        return "true" if v else "false"
    return ",".join(map(str, v)) if spec.is_list else str(v)


def _field_value(name: str, text: str) -> Any:
    """A field's value from a link; ValueError when it is not one the field takes."""
    spec = SPECS[name]
    if spec.kind.startswith("optional") and text.strip().lower() in ("", "none"):
        return None
    if spec.kind == "bool":
        if text.lower() not in ("true", "false"):
            raise ValueError("must be true or false")
        return text.lower() == "true"
    short = text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"  # its message quotes it
    try:
        value = spec.parse(text)
    except ValueError:
        raise ValueError(spec.problem(short) or "cannot be read") from None
    if problem := spec.problem(value):
        raise ValueError(spec.problem(short) if isinstance(value, str) else problem)
    return value


def train_params(preset: str, values: Mapping[str, Any]) -> dict[str, str]:
    """The Train form as a link: its preset (unless the first), and each valid field that
    differs from the preset's value."""
    base = PRESETS[preset]
    out = {} if preset == next(iter(PRESETS)) else {"preset": preset}
    for name, spec in SPECS.items():
        v = values.get(name)
        if isinstance(v, list):
            v = tuple(v)
        if name in values and not spec.problem(v) and v != getattr(base, name):
            out[name] = _field_text(name, v)
    return out


def read_train(params: Mapping[str, str]) -> tuple[str, dict[str, Any], list[str]]:
    """A Train link: (the preset, the fields it sets, a line for each parameter ignored).
    Fields that cannot go together (three stages of 7x7 kernels) are ignored, by name."""
    problems = []
    preset = params.get("preset", next(iter(PRESETS)))
    if preset not in PRESETS:
        problems.append(ignored("preset", f"must be one of {', '.join(PRESETS)} "
                                          f"(got {quoted(preset)})"))
        preset = next(iter(PRESETS))
    values: dict[str, Any] = {}
    for name, text in params.items():
        if name == "preset":
            continue
        if name not in SPECS:
            problems.append(ignored(name, "the form has no such field"))
            continue
        try:
            values[name] = _field_value(name, text)
        except ValueError as e:
            problems.append(ignored(name, f"{e}; got {quoted(text)}" if "got" not in str(e)
                                    else str(e)))
    base: TrainConfig = PRESETS[preset]
    for name, message in check({**base.__dict__, **values}).items():
        if name in values:
            problems.append(ignored(name, message))
            values.pop(name)
    return preset, values, problems

