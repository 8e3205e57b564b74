"""Reading a campaign's results file: one row per customer, checked like an import.

A results file is CSV (with a header) or Parquet with the columns ``customer_id``,
``converted`` (true/false, yes/no or 1/0), ``revenue`` (a number, 0 or more; 0 when not
converted) and optionally ``sent_at`` (when the message went out, ISO 8601; UTC unless the
time says otherwise). Column names are matched without regard to case or surrounding
blanks. Any problem stops the read with one message naming the file, the row (1 = the first
data row), the column and what was expected; nothing is written.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tools.errors import ToolInputError

REQUIRED = ("customer_id", "converted", "revenue")
OPTIONAL = ("sent_at",)
TRUE_WORDS = {"true", "t", "yes", "y", "1", "1.0"}
FALSE_WORDS = {"false", "f", "no", "n", "0", "0.0", ""}


def read_results_file(path: Path, plan_customers: set[str], plan_id: str) -> pd.DataFrame:
    """The validated results: customer_id, converted (bool), revenue (float), sent_at (UTC).

    Raises:
        ToolInputError: the file is missing or unreadable, a column is missing, or a row holds
            an unknown or repeated customer, a value that is not a flag, a number or a time,
            or revenue without a conversion.
    """
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise ToolInputError(f"results file {path}: not found")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            raw = pq.read_table(path).to_pandas()
        elif suffix in (".csv", ".txt", ""):
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        else:
            raise ToolInputError(
                f"results file {name}: unknown type {suffix!r}; give a .csv or .parquet file"
            )
    except ToolInputError:
        raise
    except (pa.ArrowException, OSError, UnicodeDecodeError, pd.errors.ParserError,
            pd.errors.EmptyDataError) as exc:
        raise ToolInputError(f"results file {name}: cannot be read ({exc})") from None
    columns = {str(c).strip().lower(): c for c in raw.columns}
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise ToolInputError(
            f"results file {name}: missing column(s) {', '.join(missing)}; expected "
            f"{', '.join(REQUIRED)} (and optionally sent_at); found "
            f"{', '.join(map(str, raw.columns)) or 'no columns'}"
        )
    if raw.empty:
        raise ToolInputError(f"results file {name}: no rows")
    frame = pd.DataFrame({c: raw[columns[c]] for c in (*REQUIRED, *OPTIONAL) if c in columns})
    ids = frame["customer_id"].astype(str).str.strip()
    for pos, cid in enumerate(ids):
        if not cid:
            raise ToolInputError(
                f"{name} row {pos + 1}, column 'customer_id': empty; expected a customer id"
            )
    dup = ids.duplicated()
    if dup.any():
        pos = int(dup.to_numpy().nonzero()[0][0])
        raise ToolInputError(
            f"{name} row {pos + 1}, column 'customer_id': {ids.iloc[pos]!r} appears twice "
            f"({int(dup.sum())} repeated row(s)); expected one row per customer"
        )
    unknown = ~ids.isin(plan_customers)
    if unknown.any():
        pos = int(unknown.to_numpy().nonzero()[0][0])
        raise ToolInputError(
            f"{name} row {pos + 1}, column 'customer_id': {ids.iloc[pos]!r} is not in plan "
            f"{plan_id}'s assignment ({int(unknown.sum())} such row(s); the plan holds "
            f"{len(plan_customers):,} customers)"
        )
    converted = _flags(frame["converted"], name)
    revenue = _amounts(frame["revenue"], name)
    bad = (~converted) & (revenue > 0)
    if bad.any():
        pos = int(bad.to_numpy().nonzero()[0][0])
        raise ToolInputError(
            f"{name} row {pos + 1}, column 'revenue': {revenue.iloc[pos]:g} for a customer who "
            "did not convert; expected 0 (or converted = true)"
        )
    out = pd.DataFrame({"customer_id": ids, "converted": converted, "revenue": revenue})
    if "sent_at" in frame.columns:
        out["sent_at"] = _times(frame["sent_at"], name)
    return out.reset_index(drop=True)


def _flags(values: pd.Series, name: str) -> pd.Series:
    if values.dtype == bool:
        return values.astype(bool)
    text = values.astype(str).str.strip().str.lower()
    ok = text.isin(TRUE_WORDS | FALSE_WORDS)
    if not ok.all():
        pos = int((~ok).to_numpy().nonzero()[0][0])
        raise ToolInputError(
            f"{name} row {pos + 1}, column 'converted': expected true/false (or yes/no, 1/0), "
            f"got {values.iloc[pos]!r}"
        )
    return text.isin(TRUE_WORDS)


def _amounts(values: pd.Series, name: str) -> pd.Series:
    text = values.astype(str).str.strip()
    number = pd.to_numeric(text.where(text != "", "0"), errors="coerce")
    bad = number.isna() | (number < 0) | ~number.abs().lt(float("inf"))
    if bad.any():
        pos = int(bad.to_numpy().nonzero()[0][0])
        raise ToolInputError(
            f"{name} row {pos + 1}, column 'revenue': expected a number, 0 or more, got "
            f"{values.iloc[pos]!r}"
        )
    return number.astype("float64")


def _times(values: pd.Series, name: str) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        utc: pd.Series = values.dt.tz_convert("UTC")
        return utc
    text = values.astype(str).str.strip()
    stamps = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    bad = stamps.isna() & (text != "")
    if bad.any():
        pos = int(bad.to_numpy().nonzero()[0][0])
        raise ToolInputError(
            f"{name} row {pos + 1}, column 'sent_at': cannot read time {values.iloc[pos]!r}; "
            "expected ISO 8601 such as 2026-11-03T09:30:00Z"
        )
    return stamps
