"""What every importer shares: the summary and result types, text helpers, saving.

``ImportSummary`` and ``ImportResult`` are what an import returns; the helpers turn source
texts into readable titles, build customers without personal data (no consent unless the
user assumes it), validate the tables against ``tools.shop.store``'s data model and attach the
summary to the shop's metadata (``_finish``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field

from tools.errors import ToolInputError
from tools.shop.schemas import CHANNELS, Channel
from tools.shop.store import TABLES, ShopData, validate_table, write_shop_change

logger = logging.getLogger(__name__)

#: Stock given to imported products: neither source records stock levels.
DEFAULT_STOCK = 100


class ImportSummary(BaseModel):
    """What an import read, kept and excluded (printed by the CLI, stored in ``shop.json``)."""

    source: str
    layout: str
    rows_read: int = Field(description="Transaction lines read from the source.")
    rows_imported: int = Field(description="Purchase lines imported.")
    excluded: dict[str, int] = Field(default_factory=dict, description="Excluded lines by reason.")
    counts: dict[str, int] = Field(default_factory=dict, description="Rows per imported table.")
    notes: list[str] = Field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        """One plain line: lines read, imported and excluded."""
        excluded = sum(self.excluded.values())
        return (
            f"{self.layout}: read {self.rows_read:,} lines, imported {self.rows_imported:,}, "
            f"excluded {excluded:,}"
        )


@dataclass
class ImportResult:
    """An imported, validated shop (not yet written) and its summary."""

    shop: ShopData
    summary: ImportSummary


# --------------------------------------------------------------------------- shared helpers


def _title_case(series: pd.Series) -> pd.Series:
    """``"KID'S ICE - CRUSHED"`` -> ``"Kid's Ice - Crushed"`` (str.title capitalises after ')."""
    out: pd.Series = series.str.title().str.replace(r"'S\b", "'s", regex=True)
    return out


def _readable(series: pd.Series) -> pd.Series:
    """Title-case texts written all in capitals (``"WHITE LANTERN"`` -> ``"White Lantern"``)."""
    shouting = series.str.upper() == series
    return _title_case(series).where(shouting & series.str.contains("[A-Z]", regex=True), series)


def _text(series: pd.Series) -> pd.Series:
    """Strings with missing values as empty texts, surrounding blanks removed."""
    out: pd.Series = series.astype(object).where(series.notna(), "").astype(str).str.strip()
    return out


def _first_nonempty(*columns: pd.Series) -> pd.Series:
    """Row-wise first non-empty text of several aligned string Series."""
    out = columns[0].copy()
    for col in columns[1:]:
        out = out.where(out != "", col)
    return out


def _most_common(frame: pd.DataFrame, key: str, value: str) -> pd.Series:
    """For each ``key``, its most frequent non-empty ``value`` (ties: alphabetical first)."""
    pairs = frame.loc[frame[value] != "", [key, value]]
    counts = pairs.groupby([key, value], sort=True).size().reset_index(name="n")
    counts = counts.sort_values([key, "n"], ascending=[True, False], kind="stable")
    top = counts.drop_duplicates(key)
    return pd.Series(top[value].to_numpy(), index=top[key].to_numpy())


def _customers_frame(
    ids: pd.Series,
    signup_at: pd.Series,
    *,
    assume_consent: Sequence[Channel],
    age: pd.Series | None = None,
    country: pd.Series | str = "",
    notes: pd.Series | str = "",
) -> pd.DataFrame:
    """Customers without personal data: empty names and contact fields, gender unknown."""
    n = len(ids)
    frame = pd.DataFrame(
        {
            "customer_id": ids.to_numpy(),
            "first_name": "",
            "last_name": "",
            "email": "",
            "phone": "",
            "address": "",
            "city": "",
            "country": country if isinstance(country, str) else country.to_numpy(),
            "age": age.to_numpy() if age is not None else pd.array([pd.NA] * n, dtype="Int64"),
            "gender": "unknown",
            "language": "en",
            "signup_at": signup_at.to_numpy(),
        },
        index=range(n),
    )
    for channel in CHANNELS:
        frame[f"consent_{channel}"] = channel in assume_consent
        frame[f"consent_{channel}_at"] = pd.Series(
            pd.NaT, index=frame.index, dtype="datetime64[us, UTC]"
        )
    frame["notes"] = notes if isinstance(notes, str) else notes.to_numpy()
    return frame


def _consent_note(assume_consent: Sequence[Channel]) -> str:
    if not assume_consent:
        return (
            "No marketing consent is recorded in the source, so every customer is imported as "
            "NOT consenting on every channel (nobody is contactable). If you hold consent "
            "elsewhere, re-import with --assume-consent CHANNELS."
        )
    return (
        f"Consent on {', '.join(assume_consent)} was ASSUMED at import (--assume-consent), not "
        "recorded in the source; the time consent was given is unknown. Confirm you hold it."
    )


def _excluded_note(label: str, excluded: dict[str, int]) -> str:
    """One sentence counting excluded lines by reason, e.g. "Excluded lines: 3 no customer."."""
    return f"{label}: " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in excluded.items()) + "."


def _validated(frames: dict[str, pd.DataFrame], meta: dict[str, Any]) -> ShopData:
    """Validate each table against the data model and bundle them into a shop."""
    checked = {name: validate_table(name, frames[name]) for name in TABLES}
    return ShopData(
        customers=checked["customers"],
        products=checked["products"],
        events=checked["events"],
        campaigns=checked["campaigns"],
        exposures=checked["exposures"],
        meta=meta,
    )


def check_import_destination(out: Path, *, overwrite: bool = False) -> Path:
    """Refuse an import destination before any input is read, and say why.

    Raises:
        ToolInputError: ``out`` is a file (or lies under one), already holds a shop and
            ``overwrite`` is false, or cannot be written.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ToolInputError(f"--out {out} is a file; give a directory for the shop's files")
    existing = [f"{t}.parquet" for t in TABLES if (out / f"{t}.parquet").exists()]
    if existing and not overwrite:
        raise ToolInputError(
            f"{out} already holds a shop ({', '.join(existing)}); choose another --out "
            "directory or pass --overwrite to replace it"
        )
    ancestor = out
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ToolInputError(f"--out {out}: {ancestor} is a file, not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ToolInputError(f"--out {out}: cannot write in {ancestor} (permission denied)")
    return out


def save_imported_shop(result: ImportResult, out: Path, *, overwrite: bool = False) -> Path:
    """Write an imported shop to ``out`` in one transaction; refuse to replace a shop unless asked.

    The five tables and ``shop.json`` switch together (``write_shop_change``): a run killed
    while writing leaves the previous shop, or none, never a mix.

    Raises:
        ToolInputError: ``out`` is a file, or already holds shop files and ``overwrite`` is
            false.
    """
    out = check_import_destination(out, overwrite=overwrite)
    tables = {name: result.shop.table(name) for name in TABLES}
    layout = str(result.shop.meta.get("layout", "data"))
    try:
        write_shop_change(out, tables, result.shop.meta, label=f"import {layout}")
    except PermissionError as exc:
        raise ToolInputError(f"--out {out}: cannot write ({exc.strerror})") from exc
    return out


def _finish(
    frames: dict[str, pd.DataFrame],
    *,
    source: Path,
    layout: str,
    rows_read: int,
    excluded: dict[str, int],
    notes: list[str],
    started: float,
    name: str,
    currency: str,
    assume_consent: Sequence[Channel],
    extra_meta: dict[str, Any] | None = None,
) -> ImportResult:
    """Validate the frames, attach the summary to the shop's metadata and return both."""
    shop = _validated(frames, {})
    summary = ImportSummary(
        source=str(source),
        layout=layout,
        rows_read=rows_read,
        rows_imported=int((shop.events["event_type"] == "purchase").sum()),
        excluded=excluded,
        counts=shop.counts(),
        notes=notes,
        seconds=round(time.perf_counter() - started, 2),
    )
    shop.meta = {
        "name": name,
        "source": str(source),
        "layout": layout,
        "currency": currency,
        "imported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "personal_data": "none (identifiers only)" if layout == "complete-journey" else "none",
        "consent": _consent_note(assume_consent),
        "assumed_consent": list(assume_consent),
        "import": summary.model_dump(mode="json"),
        **(extra_meta or {}),
    }
    logger.info("%s", summary.summary())
    return ImportResult(shop=shop, summary=summary)
