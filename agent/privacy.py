"""Rights of the data subject: export everything held on a customer, or erase it everywhere.

``export_customer(settings, customer_id)`` gathers what the product holds on one customer:
their row of the customers table (personal fields and consent included), their events and
campaign exposures, rows of any other table of the data directory keyed by them (the demo's
``truth/`` tables), their computed profile, and every record of the state directory that
mentions them: trace events, session messages, batch checkpoint rows and output lines, and
exported drafts.

``forget_customer(settings, customer_id)`` removes them from all of those places:

- **data files**: the customers, events and exposures tables are rewritten without them
  (validated, atomically, through ``tools.store.save_table``); other Parquet tables of the
  data directory with a ``customer_id`` column lose their rows. The data version changes.
- **caches and indexes** under ``settings.cache_dir``: every profile cache holding the
  customer and everything named after the old data version is deleted (rebuilt on next
  use); any other cache file mentioning the id is deleted too. The product index holds no
  customer data and is kept.
- **traces**: each trace file mentioning the id is rewritten atomically; in its events every
  record about the customer (a profile, a draft, tool arguments) is removed, the id in any
  text becomes ``[erased]``, and so does the first name in texts that named the id.
- **sessions**: a stored conversation mentioning the customer is deleted whole (a
  conversation cut in the middle would no longer load).
- **batch checkpoints** (SQLite under ``state_dir/batch``): rows mentioning the customer are
  deleted with ``secure_delete`` on, then the database is vacuumed and its write-ahead log
  truncated, so no copy of the rows remains in free pages.
- **drafts and exports** (JSONL, JSON, CSV and text files anywhere under the state
  directory, such as batch outputs and approved-draft exports): lines, rows and records
  about the customer are removed; files are rewritten atomically.

Afterwards every file under the data and state directories is scanned again (Parquet by
its columns, SQLite by its tables, anything else byte by byte, for the id, e-mail, phone and
full name) and whatever still mentions the customer is listed in the report's
``leftovers`` (empty when the erasure is complete).

Not covered: copies outside the data and state directories (batch output written with
``--out`` elsewhere, files a user downloaded); pass such directories as ``extra_dirs``.
Running processes (the UI) keep their in-memory copy until restarted.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import logging
import re
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, Field

from agent.settings import Settings
from tools.errors import ToolInputError
from tools.store import TABLES, ShopData, atomic_write, load_shop, save_table

logger = logging.getLogger(__name__)

#: What an erased value is replaced with.
ERASED = "[erased]"
#: Tables of the shop keyed by customer (rewritten without the customer).
CUSTOMER_TABLES: tuple[str, ...] = ("customers", "events", "exposures")
TEXT_SUFFIXES = frozenset({".json", ".jsonl", ".csv", ".txt", ".md", ".log", ".tsv"})
SQLITE_SUFFIXES = frozenset({".sqlite", ".sqlite3", ".db"})
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_ID_RE = re.compile(r"^C\d+$")
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
#: Personal values shorter than this are not searched for on their own (too ordinary);
#: values with Chinese characters count from two characters.
MIN_VALUE_CHARS = 6

Place = Literal[
    "data files",
    "profile cache",
    "indexes",
    "traces",
    "sessions",
    "batch checkpoints",
    "batch outputs",
    "exports",
    "state files",
    "other files",
]


# --------------------------------------------------------------------------- the subject


@dataclass
class Subject:
    """The customer being exported or erased: their id and the values that identify them."""

    customer_id: str
    first_name: str = ""
    #: E-mail, phone, address, full names and notes: erased wherever they appear.
    personal: list[str] = field(default_factory=list)
    in_data: bool = True

    def __post_init__(self) -> None:
        self._id = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(self.customer_id)}(?![0-9])")
        name = self.first_name.strip()
        self._first: re.Pattern[str] | None = None
        if name and _CJK.search(name):
            self._first = re.compile(re.escape(name))
        elif len(name) >= 2:
            self._first = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
        values = sorted(
            {v for v in self.personal if len(v) >= (2 if _CJK.search(v) else MIN_VALUE_CHARS)},
            key=len,
        )
        self._personal = [
            re.compile(re.escape(v), re.IGNORECASE) for v in reversed(values)
        ]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Subject:
        """The subject of one customers-table row."""

        def text(key: str) -> str:
            value = row.get(key)
            return value.strip() if isinstance(value, str) else ""

        first, last = text("first_name"), text("last_name")
        personal = [text("email"), text("phone"), text("address"), text("notes")]
        if last:
            personal += [f"{first} {last}", f"{last} {first}", f"{last}, {first}"]
            if _CJK.search(last):
                personal.append(f"{last}{first}")
        phone = text("phone")
        if phone:
            personal.append(re.sub(r"[\s-]", "", phone))
        return cls(
            customer_id=str(row["customer_id"]),
            first_name=first,
            personal=[p for p in personal if p],
        )

    def mentioned_in(self, text: str) -> bool:
        """Whether ``text`` names the customer (by id or by a personal value).

        JSON written with ``ensure_ascii`` (unicode escapes) is searched decoded too.
        """
        if "\\u" in text:
            text = text + "\n" + _UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
        return bool(self._id.search(text)) or any(p.search(text) for p in self._personal)

    def id_in(self, text: str) -> bool:
        """Whether ``text`` holds the customer id (as a whole id, not inside a longer one)."""
        return bool(self._id.search(text))

    def scrub_text(self, text: str) -> str:
        """``text`` with the personal values, the id and (next to the id) the first name erased."""
        for pattern in self._personal:
            text = pattern.sub(ERASED, text)
        if self._id.search(text):
            text = self._id.sub(ERASED, text)
            if self._first is not None:
                text = self._first.sub(ERASED, text)
        return text

    def personal_values(self) -> list[str]:
        """The personal values searched for (longest first)."""
        return [p.pattern for p in self._personal]


class _Drop:
    """Marker: the record is about the subject and is removed."""


_DROP = _Drop()


def _about(obj: dict[str, Any], subject: Subject) -> bool:
    return any(isinstance(v, str) and v.strip() == subject.customer_id for v in obj.values())


def scrub_record(obj: Any, subject: Subject) -> Any:
    """Remove the subject from a JSON-like value.

    A dict with a field equal to the id (``customer_id``, ``id``, ...) is a record about the
    customer: it is removed from lists and replaced by ``"[erased]"`` elsewhere; a key equal
    to the id drops its entry; an id in a list is dropped; texts are scrubbed with
    :meth:`Subject.scrub_text`. Returns the marker ``_DROP`` when ``obj`` itself is about
    the subject.
    """
    if isinstance(obj, str):
        if obj.strip() == subject.customer_id:
            return _DROP
        return subject.scrub_text(obj)
    if isinstance(obj, dict):
        if _about(obj, subject):
            return _DROP
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if str(key).strip() == subject.customer_id:
                continue
            clean = scrub_record(value, subject)
            out[subject.scrub_text(str(key))] = ERASED if clean is _DROP else clean
        return out
    if isinstance(obj, list):
        return [c for v in obj if (c := scrub_record(v, subject)) is not _DROP]
    return obj


_ANY_ID = re.compile(r"(?<![A-Za-z0-9_])C\d{5,}(?![0-9])")
#: What another customer's id in an exported text becomes.
OTHER_CUSTOMER = "[another customer]"


def project_record(obj: Any, subject: Subject) -> Any:
    """Keep only what is about the subject in a JSON-like value (for exports).

    Records about other customers (a dict with another customer's id and not the subject's)
    and other customers' ids in lists are removed; other ids in texts become
    ``"[another customer]"``. A record's shared context (a run's request, a filter) stays.
    """
    if isinstance(obj, str):
        if _ANY_ID.fullmatch(obj.strip()) and obj.strip() != subject.customer_id:
            return _DROP
        start, end = obj.find("{"), obj.rfind("}")
        if 0 <= start < end and _ANY_ID.search(obj):  # a JSON payload inside a text
            try:
                inner = json.loads(obj[start : end + 1])
            except json.JSONDecodeError:
                pass
            else:
                kept = project_record(inner, subject)
                payload = "{}" if kept is _DROP else json.dumps(kept, ensure_ascii=False)
                obj = obj[:start] + payload + obj[end + 1 :]
        return _ANY_ID.sub(
            lambda m: m.group(0) if m.group(0) == subject.customer_id else OTHER_CUSTOMER, obj
        )
    if isinstance(obj, dict):
        ids = {
            v.strip() for v in obj.values() if isinstance(v, str) and _ANY_ID.fullmatch(v.strip())
        }
        if ids and subject.customer_id not in ids:
            return _DROP
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if _ANY_ID.fullmatch(str(key)) and str(key) != subject.customer_id:
                continue
            kept = project_record(value, subject)
            if kept is not _DROP:
                out[str(key)] = kept
        return out
    if isinstance(obj, list):
        return [k for v in obj if (k := project_record(v, subject)) is not _DROP]
    return obj


def mentions(obj: Any, subject: Subject) -> bool:
    """Whether a JSON-like value mentions the subject anywhere."""
    text = json.dumps(obj, ensure_ascii=False, default=str)
    return subject.mentioned_in(text)


# --------------------------------------------------------------------------- reports


class PlaceRecords(BaseModel):
    """Records about the customer found in one file."""

    place: Place
    path: str
    records: list[Any] = Field(default_factory=list)


class TraceRun(BaseModel):
    """The events of one run that mention the customer."""

    run_id: str
    events: list[dict[str, Any]]


class CustomerExport(BaseModel):
    """Everything held on one customer (the answer to a subject access request)."""

    customer_id: str
    exported_at: datetime
    data_dir: str
    state_dir: str
    customer: dict[str, Any] | None = Field(
        description="The customers-table row: personal fields, consent per channel."
    )
    events: list[dict[str, Any]] = Field(default_factory=list)
    exposures: list[dict[str, Any]] = Field(default_factory=list)
    other_tables: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict, description="Rows of other data tables keyed by the customer."
    )
    profile: dict[str, Any] | None = Field(
        default=None, description="The computed profile (segment, scores, churn, consent)."
    )
    traces: list[TraceRun] = Field(default_factory=list)
    sessions: list[PlaceRecords] = Field(default_factory=list)
    files: list[PlaceRecords] = Field(
        default_factory=list,
        description="Drafts, exports, batch checkpoints and outputs, other state files.",
    )
    notes: list[str] = Field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many records of each kind the export holds."""
        out = {
            "customer": int(self.customer is not None),
            "events": len(self.events),
            "exposures": len(self.exposures),
            "other table rows": sum(len(v) for v in self.other_tables.values()),
            "profile": int(self.profile is not None),
            "trace events": sum(len(r.events) for r in self.traces),
            "session messages": sum(len(s.records) for s in self.sessions),
        }
        for item in self.files:
            out[item.place] = out.get(item.place, 0) + len(item.records)
        return out


class ErasureStep(BaseModel):
    """What was removed (or would be, in a dry run) from one place."""

    place: Place
    path: str
    removed: int = Field(description="Rows, lines, events, records or files removed.")
    unit: str
    action: str = Field(description="What was done: rewritten, deleted, scrubbed, ...")


class ErasureReport(BaseModel):
    """The outcome of ``forget_customer``."""

    customer_id: str
    dry_run: bool
    steps: list[ErasureStep] = Field(default_factory=list)
    data_version_before: str | None = None
    data_version_after: str | None = None
    leftovers: list[str] = Field(
        default_factory=list, description="Files still mentioning the customer (should be none)."
    )
    notes: list[str] = Field(default_factory=list)

    def by_place(self) -> dict[str, int]:
        """Removed counts summed per place."""
        out: dict[str, int] = {}
        for step in self.steps:
            out[step.place] = out.get(step.place, 0) + step.removed
        return out


# --------------------------------------------------------------------------- helpers


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        return None if pd.isna(value) else value.isoformat()
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return _jsonable(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, float) and value != value:  # NaN
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):
        return value.item()
    return value


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _jsonable(v) for k, v in row.items()} for row in frame.to_dict("records")]


def normalise_id(customer_id: str) -> str:
    """The customer id as stored (trimmed, upper case), or ``ToolInputError`` if malformed."""
    cid = customer_id.strip().upper()
    if not _ID_RE.match(cid):
        raise ToolInputError(f"customer_id {customer_id!r} is not a customer id like 'C00042'")
    return cid


def _suggest(cid: str, known: list[str]) -> str:
    close = difflib.get_close_matches(cid, known, n=3, cutoff=0.6)
    if known and len(cid) < len(known[0]):  # "C42" for "C00042"
        padded = f"C{int(cid[1:]):0{len(known[0]) - 1}d}"
        if padded in known:
            close = [padded, *[c for c in close if c != padded]][:3]
    return f"; did you mean {', '.join(close)}?" if close else ""


def _walk(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and not path.name.startswith(".tmp"):
            yield path


def _write_text(path: Path, text: str) -> None:
    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    atomic_write(path, write)


@dataclass
class _Layout:
    """Where things live for one settings object."""

    settings: Settings
    extra_dirs: list[Path]

    @property
    def state(self) -> Path:
        return self.settings.state_dir

    @property
    def cache(self) -> Path:
        return self.settings.cache_dir

    def place_of(self, path: Path) -> Place:
        """The place a state-directory file belongs to."""
        s = self.settings
        if path.is_relative_to(s.cache_dir):
            return "profile cache" if path.is_relative_to(s.cache_dir / "profiles") else "indexes"
        if path.is_relative_to(s.trace_dir):
            return "traces"
        if path.is_relative_to(s.state_dir / "sessions"):
            return "sessions"
        if path.is_relative_to(s.state_dir / "batch"):
            if path.suffix in SQLITE_SUFFIXES or path.name.endswith(("-wal", "-shm")):
                return "batch checkpoints"
            return "batch outputs"
        if path.is_relative_to(s.state_dir / "exports"):
            return "exports"
        if path.is_relative_to(s.state_dir):
            return "state files"
        return "other files"

    def scanned_files(self) -> Iterator[Path]:
        """Every file of the state directory and the extra directories (not the cache)."""
        seen: set[Path] = set()
        for root in [self.state, *self.extra_dirs]:
            for path in _walk(root):
                if path in seen or path.is_relative_to(self.cache):
                    continue
                if path.is_relative_to(self.settings.data_dir):
                    continue  # the data directory is handled table by table
                seen.add(path)
                yield path


def _subject_for(shop: ShopData | None, cid: str) -> Subject:
    if shop is not None:
        rows = shop.customers[shop.customers["customer_id"] == cid]
        if len(rows):
            return Subject.from_row({str(k): v for k, v in rows.iloc[0].to_dict().items()})
    return Subject(customer_id=cid, in_data=False)


def _load(settings: Settings) -> ShopData | None:
    try:
        return load_shop(settings.data_dir)
    except (OSError, ValueError) as exc:  # a broken shop still lets the state be scrubbed
        logger.warning("cannot load the shop in %s (%s)", settings.data_dir, exc)
        return None


# --------------------------------------------------------------------------- reading files


def _jsonl_records(path: Path) -> Iterator[tuple[str, Any]]:
    """(raw line, parsed value or None) per non-empty line."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            raw = line.rstrip("\n")
            if not raw.strip():
                continue
            try:
                yield raw, json.loads(raw)
            except json.JSONDecodeError:
                yield raw, None


def _sqlite_tables(db: sqlite3.Connection) -> list[tuple[str, list[str]]]:
    tables = []
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        if str(name).startswith("sqlite_"):
            continue
        cols = [str(r[1]) for r in db.execute(f'PRAGMA table_info("{name}")')]
        tables.append((str(name), cols))
    return tables


def _sqlite_matches(
    db: sqlite3.Connection, subject: Subject
) -> list[tuple[str, int, dict[str, Any]]]:
    """(table, rowid, row) of every row with a text value mentioning the subject."""
    found = []
    for table, cols in _sqlite_tables(db):
        for row in db.execute(f'SELECT rowid, * FROM "{table}"'):
            values = dict(zip(cols, row[1:], strict=True))
            if any(isinstance(v, str) and subject.mentioned_in(v) for v in values.values()):
                found.append((table, int(row[0]), values))
    return found


def _parquet_mentions(path: Path, subject: Subject) -> int:
    """Rows of a Parquet file mentioning the subject (0 for unreadable files)."""
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError):
        return 0
    frame = table.to_pandas()
    if "customer_id" in frame.columns:
        return int((frame["customer_id"].astype(str) == subject.customer_id).sum())
    hits = 0
    for col in frame.columns:
        if frame[col].dtype == object:
            hits += int(frame[col].map(lambda v: isinstance(v, str) and subject.id_in(v)).sum())
    return hits


def _file_mentions(path: Path, subject: Subject) -> bool:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _parquet_mentions(path, subject) > 0
    if suffix in SQLITE_SUFFIXES:
        try:
            with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
                if _sqlite_matches(db, subject):
                    return True
        except sqlite3.Error:
            pass
    data = path.read_bytes()
    text = data.decode("utf-8", errors="replace")
    return subject.mentioned_in(text)


# --------------------------------------------------------------------------- export


def export_customer(
    settings: Settings, customer_id: str, *, extra_dirs: list[Path] | None = None
) -> CustomerExport:
    """Everything held on a customer, as one JSON-ready model.

    Args:
        settings: Where the shop's data and the state (traces, sessions, ...) live.
        customer_id: The customer's id, e.g. "C00042".
        extra_dirs: More directories to search (batch outputs written elsewhere).

    Raises:
        ToolInputError: a malformed id, or an id of which nothing is held (close ids named).
    """
    cid = normalise_id(customer_id)
    layout = _Layout(settings, [Path(d).resolve() for d in extra_dirs or []])
    shop = _load(settings)
    subject = _subject_for(shop, cid)
    export = CustomerExport(
        customer_id=cid,
        exported_at=datetime.now(UTC),
        data_dir=str(settings.data_dir),
        state_dir=str(settings.state_dir),
        customer=None,
    )
    if shop is not None and subject.in_data:
        c = shop.customers
        export.customer = _rows(c[c["customer_id"] == cid])[0]
        export.events = _rows(shop.events[shop.events["customer_id"] == cid])
        export.exposures = _rows(shop.exposures[shop.exposures["customer_id"] == cid])
        export.profile = _profile(settings, shop, cid, export.notes)
    for path in _walk(settings.data_dir):
        rel = path.relative_to(settings.data_dir)
        if path.suffix != ".parquet" or (len(rel.parts) == 1 and path.stem in TABLES):
            continue
        try:
            frame = pq.read_table(path).to_pandas()
        except (pa.ArrowException, OSError):
            continue
        if "customer_id" in frame.columns:
            rows = _rows(frame[frame["customer_id"].astype(str) == cid])
            if rows:
                export.other_tables[str(rel)] = rows
    for path in layout.scanned_files():
        place = layout.place_of(path)
        if place == "traces" and path.suffix == ".jsonl":
            events = [
                project_record(rec, subject)
                for raw, rec in _jsonl_records(path)
                if rec is not None and subject.mentioned_in(raw)
            ]
            if events:
                export.traces.append(TraceRun(run_id=path.stem, events=events))
            continue
        records = [
            r for r in (project_record(x, subject) for x in _records_of(path, subject))
            if r is not _DROP
        ]
        if records:
            target = export.sessions if place == "sessions" else export.files
            target.append(PlaceRecords(place=place, path=str(path), records=records))
    if export.customer is None and not (export.traces or export.sessions or export.files):
        known = shop.customers["customer_id"].tolist() if shop is not None else []
        raise ToolInputError(f"unknown customer_id {cid!r}{_suggest(cid, known)}")
    if export.customer is None:
        export.notes.append(f"{cid} is not in the data files (erased?); state records follow")
    return export


def _profile(settings: Settings, shop: ShopData, cid: str, notes: list[str]) -> dict[str, Any]:
    from tools.profiles import load_profile_store

    try:
        store = load_profile_store(shop, settings.cache_dir)
        data: dict[str, Any] = store.get(cid).model_dump(mode="json")
        return data
    except (ToolInputError, OSError, ValueError, KeyError) as exc:
        notes.append(f"profile not available: {exc}")
        return {}


def _records_of(path: Path, subject: Subject) -> list[Any]:
    """Records of a state file that mention the subject."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".jsonl":
            return [
                rec if rec is not None else raw
                for raw, rec in _jsonl_records(path)
                if subject.mentioned_in(raw)
            ]
        if suffix == ".json":
            doc = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(doc, list):
                return [r for r in doc if mentions(r, subject)]
            return [doc] if mentions(doc, subject) else []
        if suffix in (".csv", ".tsv"):
            text = path.read_text(encoding="utf-8", errors="replace")
            reader = csv.DictReader(io.StringIO(text), delimiter="\t" if suffix == ".tsv" else ",")
            return [row for row in reader if subject.mentioned_in(json.dumps(row))]
        if suffix in SQLITE_SUFFIXES:
            with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
                out = []
                for table, _rowid, row in _sqlite_matches(db, subject):
                    parsed = {
                        k: _maybe_json(v) for k, v in row.items()
                    }
                    out.append({"table": table, "row": parsed})
                return out
        if suffix == ".parquet":
            frame = pq.read_table(path).to_pandas()
            if "customer_id" in frame.columns:
                return _rows(frame[frame["customer_id"].astype(str) == subject.customer_id])
            return []
        if suffix in TEXT_SUFFIXES:
            return [
                line
                for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
                if subject.mentioned_in(line)
            ]
    except (OSError, ValueError, sqlite3.Error, pa.ArrowException) as exc:
        return [f"unreadable file ({type(exc).__name__}: {exc})"] if _file_mentions(
            path, subject
        ) else []
    if _file_mentions(path, subject):
        return [f"binary file mentioning {subject.customer_id}"]
    return []


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


# --------------------------------------------------------------------------- erasure


def forget_customer(
    settings: Settings,
    customer_id: str,
    *,
    dry_run: bool = False,
    extra_dirs: list[Path] | None = None,
) -> ErasureReport:
    """Erase a customer from the data files, caches, traces, sessions, drafts and checkpoints.

    Args:
        settings: Where the shop's data and the state live.
        customer_id: The customer's id, e.g. "C00042".
        dry_run: Only report what would be removed.
        extra_dirs: More directories to scrub (batch outputs written elsewhere).

    Raises:
        ToolInputError: a malformed id, or an id of which nothing is held (close ids named).
    """
    cid = normalise_id(customer_id)
    layout = _Layout(settings, [Path(d).resolve() for d in extra_dirs or []])
    shop = _load(settings)
    subject = _subject_for(shop, cid)
    report = ErasureReport(customer_id=cid, dry_run=dry_run)
    report.data_version_before = shop.version if shop is not None else None
    apply = not dry_run

    # 1. The state first: if anything fails halfway, the customer is still in the data
    #    files, so running forget again finds them (and their first name) once more.
    for path in list(layout.scanned_files()):
        step = _erase_in_file(path, layout.place_of(path), subject, apply)
        if step is not None:
            report.steps.append(step)
    # 2. The data files.
    if shop is not None and subject.in_data:
        report.steps.extend(_erase_in_data(settings, shop, subject, apply))
    report.steps.extend(_erase_in_other_tables(settings, subject, apply))
    # 3. Caches holding the customer, and (when the data changed) all of the old version.
    changed = any(step.place == "data files" for step in report.steps)
    old_version = report.data_version_before if changed else None
    report.steps.extend(_erase_in_cache(settings, old_version, subject, apply))
    if not report.steps and not subject.in_data:
        known = shop.customers["customer_id"].tolist() if shop is not None else []
        raise ToolInputError(
            f"unknown customer_id {cid!r}: nothing is held on them{_suggest(cid, known)}"
        )
    if apply:
        after = _load(settings)
        report.data_version_after = after.version if after is not None else None
        report.leftovers = leftovers(settings, subject, extra_dirs=layout.extra_dirs)
        logger.info(
            "erased %s: %s (%d leftovers)", cid, report.by_place(), len(report.leftovers)
        )
    report.notes.append(
        "copies outside the data and state directories (batch --out elsewhere, downloads) "
        "are not touched unless given as extra directories; restart a running UI"
    )
    return report


def leftovers(
    settings: Settings, subject: Subject, *, extra_dirs: list[Path] | None = None
) -> list[str]:
    """Files under the data, state and extra directories that still mention the subject."""
    found: list[str] = []
    roots = [settings.data_dir, settings.state_dir, *(extra_dirs or [])]
    seen: set[Path] = set()
    for root in roots:
        for path in _walk(root):
            if path in seen:
                continue
            seen.add(path)
            if _file_mentions(path, subject):
                found.append(str(path))
    return found


def _erase_in_data(
    settings: Settings, shop: ShopData, subject: Subject, apply: bool
) -> list[ErasureStep]:
    steps = []
    for name in CUSTOMER_TABLES:
        frame = shop.table(name)
        keep = frame["customer_id"].astype(str) != subject.customer_id
        removed = int((~keep).sum())
        if not removed:
            continue
        if apply:
            save_table(name, frame[keep].reset_index(drop=True), settings.data_dir)
        steps.append(
            ErasureStep(
                place="data files",
                path=str(settings.data_dir / f"{name}.parquet"),
                removed=removed,
                unit="rows",
                action="rewritten without the customer's rows",
            )
        )
    return steps


def _erase_in_other_tables(settings: Settings, subject: Subject, apply: bool) -> list[ErasureStep]:
    steps = []
    data_dir = settings.data_dir
    for path in _walk(data_dir):
        rel = path.relative_to(data_dir)
        if len(rel.parts) == 1 and path.stem in TABLES:
            continue
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            try:
                table = pq.read_table(path)
            except (pa.ArrowException, OSError):
                continue
            if "customer_id" not in table.column_names:
                continue
            frame = table.to_pandas()
            keep = frame["customer_id"].astype(str) != subject.customer_id
            removed = int((~keep).sum())
            if not removed:
                continue
            if apply:
                _write_parquet(path, frame[keep].reset_index(drop=True))
            steps.append(
                ErasureStep(
                    place="data files", path=str(path), removed=removed, unit="rows",
                    action="rewritten without the customer's rows",
                )
            )
        elif suffix in TEXT_SUFFIXES:
            step = _erase_in_file(path, "data files", subject, apply)
            if step is not None:
                steps.append(step)
    return steps


def _write_parquet(path: Path, frame: pd.DataFrame) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)

    def write(tmp: Path) -> None:
        pq.write_table(table, tmp, compression="zstd")

    atomic_write(path, write)


def _erase_in_cache(
    settings: Settings, old_version: str | None, subject: Subject, apply: bool
) -> list[ErasureStep]:
    """Delete profile caches holding the customer and everything keyed by the old version."""
    cache = settings.cache_dir
    if not cache.is_dir():
        return []
    doomed: dict[Path, str] = {}
    profiles = cache / "profiles"
    if profiles.is_dir():
        for folder in sorted(p for p in profiles.iterdir() if p.is_dir()):
            if (old_version and folder.name.startswith(old_version)) or any(
                _file_mentions(f, subject) for f in _walk(folder)
            ):
                doomed[folder] = "profile cache"
    if old_version:
        for path in sorted(cache.rglob(f"*{old_version}*")):
            if not any(path.is_relative_to(d) for d in doomed):
                doomed[path] = "profile cache" if path.is_relative_to(profiles) else "indexes"
    for path in _walk(cache):
        if any(path.is_relative_to(d) for d in doomed):
            continue
        if _file_mentions(path, subject):
            doomed[path] = "profile cache" if path.is_relative_to(profiles) else "indexes"
    steps = []
    for path, place in doomed.items():
        files = sum(1 for _ in _walk(path)) if path.is_dir() else 1
        if apply:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        steps.append(
            ErasureStep(
                place=place,  # type: ignore[arg-type]
                path=str(path),
                removed=files,
                unit="files",
                action="deleted (a cache of the old data version; rebuilt on next use)",
            )
        )
    return steps


def _erase_in_file(path: Path, place: Place, subject: Subject, apply: bool) -> ErasureStep | None:
    """Remove the subject from one file; None when the file does not mention them."""
    suffix = path.suffix.lower()
    if path.name.endswith(("-wal", "-shm")):
        return None  # handled with its database
    try:
        if suffix in SQLITE_SUFFIXES:
            return _erase_in_sqlite(path, place, subject, apply)
        if suffix == ".parquet":
            removed = _parquet_mentions(path, subject)
            if not removed:
                return None
            if apply:
                path.unlink()
            return ErasureStep(
                place=place, path=str(path), removed=1, unit="files", action="deleted"
            )
        if suffix not in TEXT_SUFFIXES:
            if not _file_mentions(path, subject):
                return None
            if apply:
                path.unlink()
            return ErasureStep(
                place=place, path=str(path), removed=1, unit="files",
                action="deleted (a file of unknown format mentioning the customer)",
            )
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        logger.warning("cannot read %s (%s)", path, exc)
        return None
    if not subject.mentioned_in(text):
        return None
    if place == "sessions":
        if apply:
            path.unlink()
        return ErasureStep(
            place=place, path=str(path), removed=1, unit="sessions",
            action="deleted (the conversation mentioned the customer)",
        )
    if suffix == ".jsonl":
        new_text, removed, unit = _scrub_jsonl(text, subject, trace=place == "traces")
    elif suffix == ".json":
        new_text, removed, unit = _scrub_json(text, subject)
    elif suffix in (".csv", ".tsv"):
        new_text, removed, unit = _scrub_csv(text, subject, "\t" if suffix == ".tsv" else ",")
    else:
        new_text, removed, unit = _scrub_lines(text, subject)
    if new_text is None:
        if apply:
            path.unlink()
        return ErasureStep(
            place=place, path=str(path), removed=removed, unit=unit,
            action="deleted (nothing else was in it)",
        )
    if apply:
        _write_text(path, new_text)
    action = "events scrubbed, file rewritten" if place == "traces" else "rewritten"
    return ErasureStep(place=place, path=str(path), removed=removed, unit=unit, action=action)


def _scrub_jsonl(text: str, subject: Subject, *, trace: bool) -> tuple[str | None, int, str]:
    lines_out: list[str] = []
    removed = 0
    kept_any = False
    for raw in text.splitlines():
        if not raw.strip():
            continue
        if not subject.mentioned_in(raw):
            lines_out.append(raw)
            kept_any = True
            continue
        removed += 1
        try:
            record = json.loads(raw)
        except json.JSONDecodeError:
            continue  # a truncated line about the customer: dropped
        clean = scrub_record(record, subject)
        if trace and isinstance(clean, dict) and "run_id" in clean:
            if not isinstance(clean.get("data"), dict):
                clean["data"] = {"erased": True}
            lines_out.append(json.dumps(clean, ensure_ascii=False))
            kept_any = True
        elif clean is not _DROP and not trace:
            lines_out.append(json.dumps(clean, ensure_ascii=False))
            kept_any = True
    if not kept_any:
        return None, removed, "events" if trace else "lines"
    return "\n".join(lines_out) + "\n", removed, "events" if trace else "lines"


def _scrub_json(text: str, subject: Subject) -> tuple[str | None, int, str]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        return _scrub_lines(text, subject)
    before = _count_records(doc, subject)
    clean = scrub_record(doc, subject)
    if clean is _DROP:
        return None, 1, "records"
    return json.dumps(clean, ensure_ascii=False, indent=2) + "\n", max(before, 1), "records"


def _count_records(doc: Any, subject: Subject) -> int:
    if isinstance(doc, dict):
        if _about(doc, subject):
            return 1
        return sum(_count_records(v, subject) for v in doc.values())
    if isinstance(doc, list):
        return sum(_count_records(v, subject) for v in doc)
    return 0


def _scrub_csv(text: str, subject: Subject, delimiter: str) -> tuple[str | None, int, str]:
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if not rows:
        return text, 0, "rows"
    header, body = rows[0], rows[1:]
    kept = []
    removed = 0
    for row in body:
        if any(subject.mentioned_in(cell) for cell in row):
            removed += 1
        else:
            kept.append(row)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow([subject.scrub_text(h) for h in header])
    writer.writerows(kept)
    return out.getvalue(), removed, "rows"


def _scrub_lines(text: str, subject: Subject) -> tuple[str | None, int, str]:
    out = []
    removed = 0
    for line in text.splitlines():
        if not subject.mentioned_in(line):
            out.append(line)
            continue
        removed += 1
        if line.strip() == subject.customer_id:
            continue  # a line that is only the id (an ids file): dropped
        out.append(subject.scrub_text(line))
    return "\n".join(out) + ("\n" if out else ""), removed, "lines"


def _erase_in_sqlite(
    path: Path, place: Place, subject: Subject, apply: bool
) -> ErasureStep | None:
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as ro:
            found = _sqlite_matches(ro, subject)
    except sqlite3.Error as exc:
        logger.warning("cannot read SQLite file %s (%s)", path, exc)
        return None
    if not found:
        return None
    if apply:
        db = sqlite3.connect(path, isolation_level=None)
        try:
            # secure_delete overwrites deleted content; VACUUM rebuilds the file without free
            # pages and the TRUNCATE checkpoint empties the write-ahead log.
            db.execute("PRAGMA secure_delete = ON")
            db.execute("BEGIN IMMEDIATE")
            for table, rowid, _row in found:
                db.execute(f'DELETE FROM "{table}" WHERE rowid = ?', (rowid,))
            db.execute("COMMIT")
            db.execute("VACUUM")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.close()
    return ErasureStep(
        place=place, path=str(path), removed=len(found), unit="rows",
        action="rows deleted (secure_delete), database vacuumed, WAL truncated",
    )


# --------------------------------------------------------------------------- CLI helpers


def write_export(export: CustomerExport, out: Path) -> Path:
    """Write an export as indented JSON (atomically) and return the path."""
    text = export.model_dump_json(indent=2)

    def write(tmp: Path) -> None:
        tmp.write_text(text + "\n", encoding="utf-8")

    atomic_write(out, write)
    return out


__all__ = [
    "ERASED",
    "CustomerExport",
    "ErasureReport",
    "ErasureStep",
    "Subject",
    "export_customer",
    "forget_customer",
    "leftovers",
    "scrub_record",
    "write_export",
]
