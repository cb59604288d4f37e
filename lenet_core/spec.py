"""Spec: what one TrainConfig field means and which values it takes.

A spec sits beside its field (`spec_field`): the CLI's flags and the Train form's widgets are
generated from it, and it says why a value is not valid (`problem`) and reads one from text
(`parse`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Spec:
    """What a field means and which values it takes, for people (form, CLI help) and checks."""

    label: str  # the form's label
    help: str  # one sentence, shared by the CLI's --help and the form's tooltip
    group: str  # the form section it appears in (GROUPS)
    kind: str  # "choice", "int", "optional-int", "float", "optional-float", "bool", or the
    # lists "ints" and "floats"
    choices: tuple = ()  # "choice": the values allowed (strings or whole numbers)
    lo: float = 0  # smallest value (each entry's, for "ints")
    hi: float = 0  # largest value
    lo_open: bool = False  # lo itself is not allowed
    hi_open: bool = False  # hi itself is not allowed
    length: tuple[int, int] = (1, 1)  # a list's fewest and most entries
    flag: str | None = None  # the CLI flag, when not --field-name
    wide: bool = False  # takes a whole row of the form

    def problem(self, v: Any) -> str | None:
        """Why `v` is not a valid value, or None."""
        if self.kind == "choice":
            same_type = isinstance(v, type(self.choices[0])) and not isinstance(v, bool)
            return None if same_type and v in self.choices else \
                f"must be one of {', '.join(map(str, self.choices))}; got {v!r}"
        if self.kind == "bool":
            return None if isinstance(v, bool) else f"must be true or false, got {v!r}"
        if self.kind == "optional-float" and v is None:
            return None
        if self.kind in ("float", "optional-float"):
            return self._float_problem(v)
        if self.kind == "optional-int" and v is None:
            return None
        if self.is_list:
            if not isinstance(v, (tuple, list)):
                return f"must be a list of {'whole ' * (self.kind == 'ints')}numbers, got {v!r}"
            lo, hi = self.length
            if not lo <= len(v) <= hi:
                want = str(lo) if lo == hi else f"{lo} to {hi}"
                return f"needs {want} values, got {len(v)}"
            check = self._int_problem if self.kind == "ints" else self._float_problem
            return next((p for p in map(check, v) if p), None)
        return self._int_problem(v)

    @property
    def is_list(self) -> bool:
        return self.kind in ("ints", "floats")

    def _float_problem(self, v: Any) -> str | None:
        ok = _is_number(v) and math.isfinite(v) and (self.lo < v if self.lo_open
                                                     else self.lo <= v) \
            and (v < self.hi if self.hi_open else v <= self.hi)
        return None if ok else (f"must be a number in {'(' if self.lo_open else '['}"
                                f"{_num(self.lo)}, {_num(self.hi)}{')' if self.hi_open else ']'}"
                                f", got {v!r}")

    def _int_problem(self, v: Any) -> str | None:
        if isinstance(v, bool) or not isinstance(v, int) or not self.lo <= v <= self.hi:
            return f"must be a whole number from {_num(self.lo)} to {_num(self.hi)}, got {v!r}"
        return None

    def parse(self, text: str | list[str]) -> Any:
        """A value from typed text (the CLI's words, a form's text box); raises ValueError.
        A list takes a list of words or one text such as "6, 16" (empty: no entries)."""
        if self.is_list:
            words = text.replace(",", " ").split() if isinstance(text, str) else text
            return tuple((int if self.kind == "ints" else float)(w) for w in words)
        if self.kind in ("int", "optional-int"):
            return int(text)
        if self.kind in ("float", "optional-float"):
            return float(text)
        if self.kind == "choice" and self.choices and isinstance(self.choices[0], int):
            return int(text)
        return text

    def text(self, v: Any) -> str:
        """The inverse of parse, for a text box: (6, 16) -> "6, 16"."""
        return ", ".join(str(x) for x in v) if self.is_list else str(v)


def spec_field(default: Any, label: str, help: str, group: str, kind: str, **kw: Any) -> Any:
    """A dataclass field with its default and its Spec (read back from the field's metadata)."""
    return dataclasses.field(default=default, metadata={"spec": Spec(label, help, group, kind, **kw)})


def _num(x: float) -> str:  # a bound in a message; the seed's 19 digits are said as 2^63 - 1
    if float(x).is_integer() and x >= 2**32 and (int(x) + 1).bit_count() == 1:
        return f"2^{(int(x) + 1).bit_length() - 1} - 1"
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
