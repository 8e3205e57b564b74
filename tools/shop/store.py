"""Load, validate and save the shop's data: five Parquet tables and a small ``shop.json``.

Validation is vectorised (a demo shop loads in well under a second) and strict: the first
bad value of each column is reported with its file, row and what was expected; duplicate ids
and dangling references are reported; no row is ever dropped silently.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tools.errors import DataNotFoundError, DataValidationError
from tools.files import atomic_write
from tools.shop.schemas import CHANNELS, EVENT_TYPES, LANGUAGES

logger = logging.getLogger(__name__)

TABLES: tuple[str, ...] = ("customers", "products", "events", "campaigns", "exposures")
META_FILE = "shop.json"


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


_CONSENT = [
    c
    for ch in CHANNELS
    for c in (Column(f"consent_{ch}", "bool"), Column(f"consent_{ch}_at", "ts", nullable=True))
]

SCHEMA: dict[str, list[Column]] = {
    "customers": [
        Column("customer_id", "id", pattern=r"^C\d{5,}$"),
        Column("first_name", "text"),
        Column("last_name", "text"),
        Column("email", "text"),
        Column("phone", "text"),
        Column("address", "text"),
        Column("city", "text"),
        Column("country", "text"),
        Column("age", "int", nullable=True, min=0, max=120),
        Column("gender", "enum", choices=("female", "male", "other", "unknown")),
        Column("language", "enum", choices=LANGUAGES),
        Column("signup_at", "ts"),
        *_CONSENT,
        Column("notes", "text"),
    ],
    "products": [
        Column("product_id", "id", pattern=r"^P\d{5,}$"),
        Column("title", "str"),
        Column("description", "text"),
        Column("title_zh", "text"),
        Column("description_zh", "text"),
        Column("category", "str"),
        Column("brand", "text"),
        Column("price", "float", min=0),
        Column("currency", "str"),
        Column("stock", "int", min=0),
        Column("tags", "list"),
        Column("reviews", "list"),
    ],
    "events": [
        Column("customer_id", "id", pattern=r"^C\d{5,}$"),
        Column("product_id", "id", pattern=r"^P\d{5,}$"),
        Column("event_type", "enum", choices=EVENT_TYPES),
        Column("quantity", "int", min=1),
        Column("unit_price", "float", min=0),
        Column("timestamp", "ts"),
    ],
    "campaigns": [
        Column("campaign_id", "id", pattern=r"^K\d{3,}$"),
        Column("name", "str"),
        Column("channel", "enum", choices=CHANNELS),
        Column("offer", "text"),
        Column("discount_pct", "float", min=0, max=100),
        Column("start_at", "ts"),
        Column("end_at", "ts"),
        Column("cost_per_contact", "float", min=0),
        Column("target_categories", "list"),
        Column("target_segments", "list"),
        Column("description", "text"),
    ],
    "exposures": [
        Column("campaign_id", "id", pattern=r"^K\d{3,}$"),
        Column("customer_id", "id", pattern=r"^C\d{5,}$"),
        Column("group", "enum", choices=("treatment", "control")),
        Column("sent_at", "ts"),
        Column("converted", "bool"),
        Column("revenue", "float", min=0),
    ],
}

PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "customers": ("customer_id",),
    "products": ("product_id",),
    "campaigns": ("campaign_id",),
    "exposures": ("campaign_id", "customer_id"),
}

# (table, column) -> (referenced table, referenced column)
REFERENCES: dict[tuple[str, str], tuple[str, str]] = {
    ("events", "customer_id"): ("customers", "customer_id"),
    ("events", "product_id"): ("products", "product_id"),
    ("exposures", "customer_id"): ("customers", "customer_id"),
    ("exposures", "campaign_id"): ("campaigns", "campaign_id"),
}


@dataclass
class ShopData:
    """The shop's five tables plus its metadata and a content hash (the data version)."""

    customers: pd.DataFrame
    products: pd.DataFrame
    events: pd.DataFrame
    campaigns: pd.DataFrame
    exposures: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    version: str = ""
    source_dir: Path | None = None

    def table(self, name: str) -> pd.DataFrame:
        """Return one table by name."""
        frame: pd.DataFrame = getattr(self, name)
        return frame

    def counts(self) -> dict[str, int]:
        """Rows per table, plus purchase lines."""
        out = {name: len(self.table(name)) for name in TABLES}
        out["purchases"] = int((self.events["event_type"] == "purchase").sum())
        return out


def _problem(file: str, frame: pd.DataFrame, mask: pd.Series, col: Column) -> str | None:
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
    return f"{where}: expected {col.expected()}, got {got!r}{more}"


def _is_null(series: pd.Series) -> pd.Series:
    return series.isna()


def _check_column(file: str, frame: pd.DataFrame, col: Column) -> str | None:
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


def validate_table(name: str, frame: pd.DataFrame, file: str | None = None) -> pd.DataFrame:
    """Check a table against the data model and return it with canonical dtypes.

    Raises:
        DataValidationError: naming the file, row, column and what was expected.
    """
    file = file or f"{name}.parquet"
    missing = [c.name for c in SCHEMA[name] if c.name not in frame.columns]
    if missing:
        raise DataValidationError(
            f"{file}: missing column(s) {', '.join(missing)}; "
            f"expected columns: {', '.join(c.name for c in SCHEMA[name])}"
        )
    frame = frame.reset_index(drop=True).copy()
    problems = [p for col in SCHEMA[name] if (p := _check_column(file, frame, col))]
    keys = PRIMARY_KEYS.get(name)
    if keys and not problems:
        dup = frame.duplicated(list(keys), keep="first")
        if bool(dup.any()):
            pos = int(dup.to_numpy().nonzero()[0][0])
            key = ", ".join(f"{k}={frame[k].iloc[pos]!r}" for k in keys)
            problems.append(
                f"{file} row {pos + 1}: duplicate id ({key}); {int(dup.sum())} duplicate row(s)"
            )
    if problems:
        raise DataValidationError("\n".join(problems))
    extra = [c for c in frame.columns if c not in {col.name for col in SCHEMA[name]}]
    ordered = [c.name for c in SCHEMA[name]] + extra
    return frame[ordered]


def check_references(shop: ShopData) -> list[str]:
    """Return a line per dangling reference kind (empty when all ids resolve)."""
    problems = []
    for (table, col), (ref_table, ref_col) in REFERENCES.items():
        frame = shop.table(table)
        known = pd.Index(shop.table(ref_table)[ref_col].unique())
        dangling = ~frame[col].isin(known)
        if bool(dangling.any()):
            pos = int(dangling.to_numpy().nonzero()[0][0])
            problems.append(
                f"{table}.parquet row {pos + 1}, column '{col}': {frame[col].iloc[pos]!r} is not "
                f"a known {ref_col} in {ref_table}.parquet ({int(dangling.sum())} such rows)"
            )
    return problems


def _hash_files(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()[:16]


def load_shop(data_dir: Path, *, check_refs: bool = True) -> ShopData:
    """Load and validate the shop in ``data_dir``.

    Raises:
        DataNotFoundError: the directory or one of its tables is missing.
        DataValidationError: a table is malformed or references dangle.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataNotFoundError(f"shop data directory not found: {data_dir}")
    frames: dict[str, pd.DataFrame] = {}
    paths = []
    for name in TABLES:
        path = data_dir / f"{name}.parquet"
        if not path.is_file():
            raise DataNotFoundError(
                f"{path}: missing; a shop needs {', '.join(t + '.parquet' for t in TABLES)}"
            )
        try:
            raw = pq.read_table(path).to_pandas()
        except (pa.ArrowException, OSError) as exc:
            raise DataValidationError(f"{path}: not a readable Parquet file ({exc})") from exc
        frames[name] = validate_table(name, raw, file=str(path))
        paths.append(path)
    meta: dict[str, Any] = {}
    meta_path = data_dir / META_FILE
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataValidationError(
                f"{meta_path} line {exc.lineno}: not valid JSON ({exc.msg})"
            ) from exc
    shop = ShopData(**frames, meta=meta, version=_hash_files(paths), source_dir=data_dir)
    if check_refs:
        problems = check_references(shop)
        if problems:
            raise DataValidationError("\n".join(problems))
    logger.info("loaded shop %s (version %s): %s", data_dir, shop.version, shop.counts())
    return shop


def save_table(name: str, frame: pd.DataFrame, data_dir: Path) -> Path:
    """Validate and write one table as Parquet (atomically)."""
    frame = validate_table(name, frame)
    path = Path(data_dir) / f"{name}.parquet"
    table = pa.Table.from_pandas(frame, preserve_index=False)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
    return path


def save_shop(shop: ShopData, data_dir: Path) -> Path:
    """Validate and write every table plus ``shop.json`` to ``data_dir``."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    problems = check_references(shop)
    if problems:
        raise DataValidationError("\n".join(problems))
    for name in TABLES:
        save_table(name, shop.table(name), data_dir)
    text = json.dumps(shop.meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    def write_meta(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    atomic_write(data_dir / META_FILE, write_meta)
    return data_dir


def empty_table(name: str) -> pd.DataFrame:
    """An empty table with the model's columns (for importers that lack a table)."""
    return pd.DataFrame({c.name: pd.Series([], dtype=object) for c in SCHEMA[name]})
