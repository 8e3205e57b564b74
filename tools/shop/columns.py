"""How one column of a shop table is checked: what it must hold, and the first bad value.

``Column`` says what a column holds (an id pattern, an enum, bounded finite numbers, texts,
timestamps, lists); ``check_column`` checks a column of a frame against it, converts it to
its canonical dtype in place and describes the first bad row (file, row, column, what was
expected, what was found). The tables' columns themselves are in ``tools.shop.store.SCHEMA``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: The largest magnitude a number of the shop may have (prices, quantities, revenue...):
#: anything larger is a unit or parsing mistake, and 1e308 times a quantity is infinity.
MAX_NUMBER = 1e12


@dataclass(frozen=True)
class Column:
    """What one column must hold."""

    name: str
    kind: str  # id, str, text, int, float, bool, ts, enum, list
    nullable: bool = False
    pattern: str | None = None
    choices: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None

    def expected(self) -> str:
        """Say in words what the column expects."""
        if self.kind == "id":
            return f"an id matching {self.pattern}"
        if self.kind == "enum":
            return "one of " + ", ".join(self.choices)
        if self.kind in ("int", "float"):
            word = "an integer" if self.kind == "int" else "a number"
            bounds = []
            if self.min is not None:
                bounds.append(f">= {self.min:g}")
            if self.max is not None:
                bounds.append(f"<= {self.max:g}")
            return word + (" " + " and ".join(bounds) if bounds else "")
        return {
            "str": "a non-empty text",
            "text": "a text (may be empty)",
            "bool": "true or false",
            "ts": "a timestamp",
            "list": "a list of texts",
        }[self.kind] + (" or null" if self.nullable else "")



def _problem(
    file: str, frame: pd.DataFrame, mask: pd.Series, col: Column, expected: str = ""
) -> str | None:
    """Describe the first row flagged by ``mask`` (a boolean Series aligned to ``frame``)."""
    if not bool(mask.any()):
        return None
    pos = int(mask.to_numpy().nonzero()[0][0])
    got = frame[col.name].iloc[pos]
    if hasattr(got, "item") and not hasattr(got, "__len__"):
        got = got.item()  # np.int64(0) -> 0, so the message reads as the data does
    n = int(mask.sum())
    more = f" ({n - 1} more rows like it)" if n > 1 else ""
    where = f"{file} row {pos + 1}, column '{col.name}'"
    return f"{where}: expected {expected or col.expected()}, got {got!r}{more}"


def _is_null(series: pd.Series) -> pd.Series:
    return series.isna()


def check_column(file: str, frame: pd.DataFrame, col: Column) -> str | None:
    """Check one column and convert it to its canonical dtype in place."""
    s = frame[col.name]
    null = _is_null(s) if s.dtype == object or not hasattr(s, "list") else s.isna()
    if not col.nullable and col.kind not in ("text", "list"):
        msg = _problem(file, frame, null, col)
        if msg:
            return msg
    present = ~null
    kind = col.kind
    if kind in ("id", "str", "text", "enum"):
        if isinstance(s.dtype, pd.StringDtype):
            bad = pd.Series(False, index=s.index)  # a string column holds only strings
        else:
            bad = ~s.map(lambda v: isinstance(v, str)) & present
        if kind == "text":
            frame[col.name] = s.where(present, "")
        msg = _problem(file, frame, bad, col)
        if msg:
            return msg
        s = frame[col.name]
        if kind == "text":
            return None
        # Check each distinct value once (ids repeat across hundreds of thousands of events).
        uniques = pd.Series(s.dropna().unique()).astype(str)
        if kind == "id" and col.pattern:
            bad_values = uniques[~uniques.str.fullmatch(col.pattern[1:-1])]
        elif kind == "str":
            bad_values = uniques[uniques.str.strip() == ""]
        else:
            bad_values = uniques[~uniques.isin(col.choices)]
        if bad_values.empty:
            return None
        return _problem(file, frame, s.isin(list(bad_values)) & present, col)
    if kind in ("int", "float"):
        num = pd.to_numeric(s, errors="coerce")
        # inf, -inf and magnitudes past MAX_NUMBER first: a total over them is infinite.
        values = num.to_numpy(dtype="float64", na_value=np.nan)
        huge = pd.Series(~(np.abs(values) <= MAX_NUMBER) & ~np.isnan(values), index=s.index)
        noun = "integer" if kind == "int" else "number"
        msg = _problem(file, frame, huge, col, f"a finite {noun} of at most {MAX_NUMBER:g} in size")
        if msg:
            return msg
        bad = num.isna() & present
        if kind == "int":
            bad |= present & num.notna() & (num != num.round())
        if col.min is not None:
            bad |= num < col.min
        if col.max is not None:
            bad |= num > col.max
        msg = _problem(file, frame, bad, col)
        if msg:
            return msg
        if kind == "int":
            frame[col.name] = num.astype("Int64") if col.nullable else num.astype("int64")
        else:
            frame[col.name] = num.astype("float64")
        return None
    if kind == "bool":
        if s.dtype == bool:
            return None
        bad = ~s.map(lambda v: isinstance(v, bool)) & present
        msg = _problem(file, frame, bad, col)
        if msg:
            return msg
        frame[col.name] = s.astype(bool)
        return None
    if kind == "ts":
        # One fixed unit (microseconds), so that save -> load -> save gives the same bytes.
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            frame[col.name] = s.dt.tz_convert("UTC").dt.as_unit("us")
            return None
        conv = pd.to_datetime(s, errors="coerce", utc=True)
        bad = conv.isna() & present
        msg = _problem(file, frame, bad, col)
        if msg:
            return msg
        frame[col.name] = conv.dt.as_unit("us")
        return None
    if kind == "list":

        bad = ~s.map(lambda v: _as_str_list(v) is not None)
        msg = _problem(file, frame, bad, col)
        if msg:
            return msg
        frame[col.name] = s.map(_as_str_list)
        return None
    raise AssertionError(f"unknown column kind {kind}")


def _as_str_list(value: Any) -> list[str] | None:
    """A list of texts from a list, tuple, numpy array or None; None when it is not one."""
    if value is None:
        return []
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)) and all(isinstance(x, str) for x in value):
        return list(value)
    return None

