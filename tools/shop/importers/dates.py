"""Timestamps of a transactions CSV: one format per column, one date order per file.

``date_order`` decides once for a column whether ``1/2/2011`` is day or month first, from
the dates only one order can read, and refuses a column that holds both;
``parse_timestamps`` then reads the column in the first format that fits every value.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from tools.errors import DataValidationError

#: Timestamp formats tried, in order (the date order decided by ``date_order`` first).
_MONTH_FIRST = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%y %H:%M", "%m/%d/%Y")
_DAY_FIRST = ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%y %H:%M", "%d/%m/%Y")
_OTHER = ("%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")
EPOCH = "epoch seconds"
ISO = "ISO 8601"


def _parse_formats(values: pd.Series, fmt: str) -> pd.Series:
    if fmt == EPOCH:
        numbers = pd.to_numeric(values, errors="coerce")
        unit: Literal["s", "ms"] = "ms" if bool((numbers.abs() > 1e11).any()) else "s"
        epoch: pd.Series = pd.to_datetime(numbers, unit=unit, utc=True, errors="coerce")
        return epoch
    parsed: pd.Series = pd.to_datetime(
        values, format="ISO8601" if fmt == ISO else fmt, utc=True, errors="coerce"
    )
    return parsed


def _first_row(values: pd.Series, examples: pd.Series) -> tuple[int, str]:
    """(1-based row, value) of the first row holding one of ``examples``."""
    pos = int(values.isin(set(examples)).to_numpy().nonzero()[0][0])
    return pos + 1, str(values.iloc[pos])


def date_order(
    values: pd.Series, *, file: str, column: str, day_first: bool = False
) -> tuple[bool, str]:
    """Decide, for a whole column, whether dates such as ``1/2/2011`` are day or month first.

    The evidence is the dates only one order can read: ``13/2/2011`` is day first,
    ``2/13/2011`` month first. One kind of evidence decides; none leaves month first (or
    day first with ``day_first``); both kinds mean the column mixes orders and is refused,
    because reading it either way would silently move some dates.

    Returns:
        Whether to read day first, and a note with the evidence for the user.

    Raises:
        DataValidationError: the column mixes both orders, or ``day_first`` is set and some
            dates can only be month first (file, rows and values named).
    """
    unique = pd.Series(values[values != ""].unique()).astype(str)
    parts = unique.str.extract(r"^\s*(\d{1,2})/(\d{1,2})/\d{2,4}(?:\s|$)")
    first = pd.to_numeric(parts[0], errors="coerce")
    second = pd.to_numeric(parts[1], errors="coerce")
    day_only = unique[(first > 12) & (second <= 12)]
    month_only = unique[(second > 12) & (first <= 12)]
    where = f"{file}, column '{column}'"
    if len(day_only) and len(month_only):
        d_row, d_val = _first_row(values, day_only)
        m_row, m_val = _first_row(values, month_only)
        raise DataValidationError(
            f"{where}: the dates mix day-first and month-first: {len(day_only):,} distinct "
            f"date(s) fit only day first (row {d_row}: {d_val!r}) and {len(month_only):,} only "
            f"month first (row {m_row}: {m_val!r}); reading either way would move the others. "
            "Correct those rows (--day-first cannot decide for a file that holds both)"
        )
    if day_first:
        if len(month_only):
            row, val = _first_row(values, month_only)
            raise DataValidationError(
                f"{where}: --day-first was given but {len(month_only):,} distinct date(s) can "
                f"only be month first (row {row}: {val!r}); drop --day-first or correct them"
            )
        return True, f"Dates in column '{column}' read day first, as --day-first asks."
    if len(day_only):
        row, val = _first_row(values, day_only)
        return True, (
            f"Dates in column '{column}' read day first: {len(day_only):,} distinct date(s) fit "
            f"only day first (e.g. row {row}: {val!r}) and none only month first."
        )
    if len(month_only):
        row, val = _first_row(values, month_only)
        return False, (
            f"Dates in column '{column}' read month first: {len(month_only):,} distinct date(s) "
            f"fit only month first (e.g. row {row}: {val!r}) and none only day first."
        )
    if bool(first.notna().any()):
        return False, (
            f"Dates in column '{column}' read month first, but no date decides it (every day "
            "and month is 12 or less): if the file is day first, import it again with "
            "--day-first."
        )
    return False, ""


def parse_timestamps(
    values: pd.Series, *, file: str, column: str, day_first: bool = False
) -> tuple[pd.Series, str, list[str]]:
    """Read a column of timestamps in the first format that fits every value.

    Naive times are taken as UTC. Whether ``1/2/2011`` is 2 January or 1 February is decided
    once for the whole column from the dates only one order can read (``date_order``); the
    evidence is in the notes.

    Returns:
        The UTC timestamps (NaT for empty values), the format used and notes for the user.

    Raises:
        DataValidationError: no format fits, or the column mixes date orders; names the
            file, row, value and formats tried.
    """
    filled = values[values != ""]
    unique = pd.Series(filled.unique())
    read_day_first, order_note = date_order(
        values, file=file, column=column, day_first=day_first
    )
    order = _DAY_FIRST if read_day_first else _MONTH_FIRST
    formats: list[str] = [ISO, *order, *_OTHER]
    if len(unique) and bool(unique.str.fullmatch(r"\d{9,}(?:\.\d+)?").all()):
        formats.insert(0, EPOCH)
    best: tuple[int, str, pd.Series] | None = None
    for fmt in formats:
        parsed = _parse_formats(unique, fmt)
        ok = int(parsed.notna().sum())
        if ok == len(unique):
            lookup = pd.Series(parsed.to_numpy(), index=unique.to_numpy())
            out = values.map(lookup)
            notes = [order_note] if order_note and fmt in order else []
            return pd.to_datetime(out, utc=True), fmt, notes
        if best is None or ok > best[0]:
            best = (ok, fmt, parsed)
    assert best is not None
    bad_values = set(unique[best[2].isna().to_numpy()])
    pos = int(values.isin(bad_values).to_numpy().nonzero()[0][0])
    raise DataValidationError(
        f"{file} row {pos + 1}, column '{column}': cannot read timestamp {values.iloc[pos]!r}; "
        f"formats tried: {', '.join(formats)}"
    )
