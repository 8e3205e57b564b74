"""Finding a customer in files: walking the directories, reading each format, the rescan.

``Layout`` says which place (traces, sessions, batch checkpoints, ...) a state file belongs
to and lists the files to search. ``file_mentions`` tells whether a file still mentions the
subject (Parquet by its columns, SQLite by its tables, anything else byte by byte);
``leftovers`` runs it over the data, state and extra directories after an erasure.
``records_of`` reads the records about the subject from one file (for exports).
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from agent.privacy.models import Place
from agent.privacy.subject import Subject, mentions
from agent.settings import Settings

TEXT_SUFFIXES = frozenset({".json", ".jsonl", ".csv", ".txt", ".md", ".log", ".tsv"})
SQLITE_SUFFIXES = frozenset({".sqlite", ".sqlite3", ".db"})


def jsonable(value: Any) -> Any:
    """A pandas / numpy value as plain JSON (timestamps as ISO text, NaN and NaT as None)."""
    if value is None:
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        return None if pd.isna(value) else value.isoformat()
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return jsonable(value.tolist())
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
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


def frame_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a frame as JSON-ready dicts."""
    return [{str(k): jsonable(v) for k, v in row.items()} for row in frame.to_dict("records")]


#: Names of files that are not content: temporaries, and a shop change's journal and
#: pending list (``tools.shop.journal``; gone once the shop is opened again).
SKIPPED_PREFIXES = (".tmp", ".shop-")


def walk(root: Path) -> Iterator[Path]:
    """Every regular file under ``root`` (sorted; no symlinks, temporaries or journals)."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and not path.name.startswith(SKIPPED_PREFIXES):
            yield path


@dataclass
class Layout:
    """Where things live for one settings object."""

    settings: Settings
    extra_dirs: list[Path]

    @property
    def state(self) -> Path:
        """The state directory."""
        return self.settings.state_dir

    @property
    def cache(self) -> Path:
        """The cache directory (profile caches and indexes)."""
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
            for path in walk(root):
                if path in seen or path.is_relative_to(self.cache):
                    continue
                if path.is_relative_to(self.settings.data_dir):
                    continue  # the data directory is handled table by table
                seen.add(path)
                yield path


# --------------------------------------------------------------------------- reading files


def jsonl_records(path: Path) -> Iterator[tuple[str, Any]]:
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


def sqlite_matches(
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


def parquet_mentions(path: Path, subject: Subject) -> int:
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


def file_mentions(path: Path, subject: Subject) -> bool:
    """Whether a file mentions the subject (by its columns, its tables or its bytes)."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return parquet_mentions(path, subject) > 0
    if suffix in SQLITE_SUFFIXES:
        try:
            with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
                if sqlite_matches(db, subject):
                    return True
        except sqlite3.Error:
            pass
    data = path.read_bytes()
    text = data.decode("utf-8", errors="replace")
    return subject.mentioned_in(text)


def leftovers(
    settings: Settings, subject: Subject, *, extra_dirs: list[Path] | None = None
) -> list[str]:
    """Files under the data, state and extra directories that still mention the subject."""
    found: list[str] = []
    roots = [settings.data_dir, settings.state_dir, *(extra_dirs or [])]
    seen: set[Path] = set()
    for root in roots:
        for path in walk(root):
            if path in seen:
                continue
            seen.add(path)
            if file_mentions(path, subject):
                found.append(str(path))
    return found


# --------------------------------------------------------------------------- export reading


def records_of(path: Path, subject: Subject) -> list[Any]:
    """Records of a state file that mention the subject."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".jsonl":
            return [
                rec if rec is not None else raw
                for raw, rec in jsonl_records(path)
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
                for table, _rowid, row in sqlite_matches(db, subject):
                    parsed = {k: _maybe_json(v) for k, v in row.items()}
                    out.append({"table": table, "row": parsed})
                return out
        if suffix == ".parquet":
            frame = pq.read_table(path).to_pandas()
            if "customer_id" in frame.columns:
                return frame_rows(frame[frame["customer_id"].astype(str) == subject.customer_id])
            return []
        if suffix in TEXT_SUFFIXES:
            return [
                line
                for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
                if subject.mentioned_in(line)
            ]
    except (OSError, ValueError, sqlite3.Error, pa.ArrowException) as exc:
        return (
            [f"unreadable file ({type(exc).__name__}: {exc})"]
            if file_mentions(path, subject)
            else []
        )
    if file_mentions(path, subject):
        return [f"binary file mentioning {subject.customer_id}"]
    return []


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
