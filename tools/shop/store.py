"""Load, validate and change the shop's data: five Parquet tables and a small ``shop.json``.

Validation is vectorised (a demo shop loads in well under a second) and strict: the first
bad value of each column is reported with its file, row and what was expected; numbers must
be finite and at most ``MAX_NUMBER``; duplicate ids and dangling references are reported; no
row is ever dropped silently.

Every change goes through ``write_shop_change`` (``save_shop`` and ``save_table`` too): one
transaction that stages the new files beside the old ones and switches them in one
committed step (``tools.shop.journal``), so a killed process leaves either the old shop or
the new one. ``load_shop`` finishes (or rolls back) a change a killed process left behind
before it reads, and reads under a shared lock, so it never sees half of a change.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tools.errors import DataNotFoundError, DataValidationError
from tools.shop.columns import MAX_NUMBER, Column, check_column
from tools.shop.journal import Recovery, ShopTransaction, recover, shop_lock
from tools.shop.schemas import CHANNELS, EVENT_TYPES, LANGUAGES

logger = logging.getLogger(__name__)

TABLES: tuple[str, ...] = ("customers", "products", "events", "campaigns", "exposures")
META_FILE = "shop.json"
__all__ = [
    "MAX_NUMBER",
    "META_FILE",
    "PRIMARY_KEYS",
    "REFERENCES",
    "SCHEMA",
    "TABLES",
    "Column",
    "ShopData",
    "check_references",
    "empty_table",
    "load_shop",
    "save_shop",
    "save_table",
    "validate_table",
    "write_shop_change",
]

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
    #: What opening the shop did about a change a killed process had left (else None).
    recovered: Recovery | None = None

    def table(self, name: str) -> pd.DataFrame:
        """Return one table by name."""
        frame: pd.DataFrame = getattr(self, name)
        return frame

    def counts(self) -> dict[str, int]:
        """Rows per table, plus purchase lines."""
        out = {name: len(self.table(name)) for name in TABLES}
        out["purchases"] = int((self.events["event_type"] == "purchase").sum())
        return out



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
    problems = [p for col in SCHEMA[name] if (p := check_column(file, frame, col))]
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

    A change that a killed process left is finished first (or rolled back when it had not
    been committed); ``ShopData.recovered`` says which. The tables are read under a shared
    lock, so a change being switched in by another process is never seen half-done.

    Raises:
        DataNotFoundError: the directory or one of its tables is missing.
        DataValidationError: a table is malformed or references dangle.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataNotFoundError(f"shop data directory not found: {data_dir}")
    recovered = recover(data_dir)
    with shop_lock(data_dir, exclusive=False):
        frames, paths = _read_tables(data_dir, TABLES)
        meta = _read_meta(data_dir)
        version = _hash_files(paths)
    shop = _shop_of(frames, meta, data_dir)
    shop.version, shop.recovered = version, recovered
    if check_refs:
        problems = check_references(shop)
        if problems:
            raise DataValidationError("\n".join(problems))
    logger.info("loaded shop %s (version %s): %s", data_dir, shop.version, shop.counts())
    return shop


def _shop_of(frames: dict[str, pd.DataFrame], meta: dict[str, Any], source: Path) -> ShopData:
    return ShopData(
        customers=frames["customers"],
        products=frames["products"],
        events=frames["events"],
        campaigns=frames["campaigns"],
        exposures=frames["exposures"],
        meta=meta,
        source_dir=source,
    )


def _read_tables(
    data_dir: Path, names: tuple[str, ...]
) -> tuple[dict[str, pd.DataFrame], list[Path]]:
    """Read and validate the named tables (no recovery, no lock: the caller holds them)."""
    frames: dict[str, pd.DataFrame] = {}
    paths = []
    for name in names:
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
    return frames, paths


def _read_meta(data_dir: Path) -> dict[str, Any]:
    meta_path = data_dir / META_FILE
    if not meta_path.is_file():
        return {}
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataValidationError(
            f"{meta_path} line {exc.lineno}: not valid JSON ({exc.msg})"
        ) from exc
    if not isinstance(meta, dict):
        raise DataValidationError(f"{meta_path}: expected a JSON object")
    return meta


#: Stages more files in a shop change (an erasure's traces, sessions, caches...).
ExtraChanges = Callable[[ShopTransaction], None]


def write_shop_change(
    data_dir: Path,
    tables: Mapping[str, pd.DataFrame],
    meta: Mapping[str, Any] | None = None,
    *,
    label: str = "change",
    also: ExtraChanges | None = None,
    base: ShopData | None = None,
) -> ShopData:
    """Change a shop in one transaction: every file switches, or none does.

    The one way to write a shop (imports, erasures, results joined to the tables, any
    future write). The given tables are validated against the data model, the shop they
    make with the tables left as they are is checked for dangling references, every new
    file is staged beside the old one, and a journal commits the switch
    (``tools.shop.journal``). A process killed at any point leaves the old shop or the new
    one; the next ``load_shop`` finishes or rolls back what it left.

    Args:
        data_dir: The shop folder (created when missing; then all five tables are needed).
        tables: New versions of some or all of ``TABLES``, by name.
        meta: The new ``shop.json`` content, or None to keep it.
        label: What the change is, in a few words (logged, and shown when a killed change
            is finished or rolled back), e.g. ``"import transactions"``.
        also: Called with the open transaction to stage more files in the same switch
            (``tx.stage(path, write)``, ``tx.remove(path)``), e.g. state files an erasure
            rewrites; it may raise to abandon the whole change.
        base: The shop as the caller loaded it: its tables are used for the ones not given
            when the files on disk are still that version (else they are read again).

    Returns:
        The shop as written, with its new data version.

    Raises:
        DataValidationError: a table is malformed, an id dangles, or an unknown table name.
        DataNotFoundError: tables are missing and ``data_dir`` holds no shop to keep them from.
    """
    data_dir = Path(data_dir)
    unknown = [name for name in tables if name not in TABLES]
    if unknown:
        raise DataValidationError(
            f"unknown table(s) {', '.join(unknown)}; tables: {', '.join(TABLES)}"
        )
    checked = {name: validate_table(name, frame) for name, frame in tables.items()}
    with ShopTransaction(data_dir, label) as tx:
        shop: ShopData | None = None
        if checked or meta is not None:
            kept = tuple(t for t in TABLES if t not in checked)
            on_disk = [data_dir / f"{name}.parquet" for name in TABLES]
            if base is not None and all(p.is_file() for p in on_disk) and (
                base.version == _hash_files(on_disk)
            ):
                current = {name: base.table(name) for name in kept}
            else:
                current, _ = _read_tables(data_dir, kept)
            new_meta = dict(meta) if meta is not None else _read_meta(data_dir)
            shop = _shop_of({**current, **checked}, new_meta, data_dir)
            problems = check_references(shop)
            if problems:
                raise DataValidationError("\n".join(problems))
            for name, frame in checked.items():
                tx.stage(data_dir / f"{name}.parquet", _parquet_writer(frame))
            if meta is not None:
                text = json.dumps(new_meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

                def write_meta(tmp: Path) -> None:
                    tmp.write_text(text, encoding="utf-8")

                tx.stage(data_dir / META_FILE, write_meta)
        if also is not None:
            also(tx)
        tx.commit()
    if shop is None:
        return load_shop(data_dir, check_refs=False)
    shop.version = _hash_files([data_dir / f"{name}.parquet" for name in TABLES])
    return shop


def _parquet_writer(frame: pd.DataFrame) -> Callable[[Path], None]:
    table = pa.Table.from_pandas(frame, preserve_index=False)

    def write(tmp: Path) -> None:
        pq.write_table(table, tmp, compression="zstd")

    return write


def save_table(name: str, frame: pd.DataFrame, data_dir: Path) -> Path:
    """Validate and replace one table of an existing shop (a one-table ``write_shop_change``)."""
    write_shop_change(data_dir, {name: frame}, label=f"save {name}")
    return Path(data_dir) / f"{name}.parquet"


def save_shop(shop: ShopData, data_dir: Path, *, label: str = "save shop") -> Path:
    """Validate and write every table plus ``shop.json`` to ``data_dir`` in one transaction."""
    write_shop_change(
        data_dir, {name: shop.table(name) for name in TABLES}, shop.meta, label=label
    )
    return Path(data_dir)


def empty_table(name: str) -> pd.DataFrame:
    """An empty table with the model's columns (for importers that lack a table)."""
    return pd.DataFrame({c.name: pd.Series([], dtype=object) for c in SCHEMA[name]})
