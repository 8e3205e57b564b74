"""Erasing a customer inside one file: traces, sessions, drafts, exports, batch checkpoints.

``erase_in_file`` removes the subject from one file of the state directory (or of the data
directory, for files that are not tables) and says what it removed. Nothing is written in
place: the new version of each file is staged in the erasure's transaction
(``tools.shop.journal.ShopTransaction``) and every file switches at once when it commits, so
a killed erasure leaves everything or nothing erased. Without a transaction (a dry run)
nothing is written at all.

- a session mentioning the customer is deleted whole (a conversation cut in the middle
  would no longer load); in the SQLite session store, every row of such a session goes;
- in a trace, every event record about the customer is removed, the id in any text
  becomes ``[erased]`` and so does the first name in texts that named the id;
- JSONL, JSON, CSV/TSV and text files lose the lines, records and rows about the
  customer (deleted when nothing else was in them);
- SQLite databases (batch checkpoints) are copied (SQLite's backup, so the write-ahead log
  is included), the rows mentioning the customer are deleted from the copy with
  ``secure_delete`` on and the copy is vacuumed, so no deleted page survives; the copy
  then replaces the database and its old write-ahead log;
- Parquet and files of unknown format mentioning the customer are deleted.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from agent.privacy.models import ErasureStep, Place
from agent.privacy.scan import (
    SQLITE_SUFFIXES,
    TEXT_SUFFIXES,
    file_mentions,
    parquet_mentions,
    sqlite_matches,
)
from agent.privacy.subject import DROP, Subject, about, scrub_record
from tools.shop.journal import ShopTransaction

logger = logging.getLogger(__name__)


def erase_in_file(
    path: Path, place: Place, subject: Subject, tx: ShopTransaction | None
) -> ErasureStep | None:
    """Stage the subject's removal from one file in ``tx``; None when it does not mention them.

    With ``tx`` None (a dry run) only say what would be removed.
    """
    suffix = path.suffix.lower()
    if path.name.endswith(("-wal", "-shm")):
        return None  # handled with its database
    try:
        if suffix in SQLITE_SUFFIXES:
            return _erase_in_sqlite(path, place, subject, tx)
        if suffix == ".parquet":
            removed = parquet_mentions(path, subject)
            if not removed:
                return None
            if tx is not None:
                tx.remove(path)
            return ErasureStep(
                place=place, path=str(path), removed=1, unit="files", action="deleted"
            )
        if suffix not in TEXT_SUFFIXES:
            if not file_mentions(path, subject):
                return None
            if tx is not None:
                tx.remove(path)
            return ErasureStep(
                place=place,
                path=str(path),
                removed=1,
                unit="files",
                action="deleted (a file of unknown format mentioning the customer)",
            )
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        logger.warning("cannot read %s (%s)", path, exc)
        return None
    if not subject.mentioned_in(text):
        return None
    if place == "sessions":
        if tx is not None:
            tx.remove(path)
        return ErasureStep(
            place=place,
            path=str(path),
            removed=1,
            unit="sessions",
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
        if tx is not None:
            tx.remove(path)
        return ErasureStep(
            place=place,
            path=str(path),
            removed=removed,
            unit=unit,
            action="deleted (nothing else was in it)",
        )
    if tx is not None:
        _stage_text(tx, path, new_text)
    action = "events scrubbed, file rewritten" if place == "traces" else "rewritten"
    return ErasureStep(place=place, path=str(path), removed=removed, unit=unit, action=action)


def _stage_text(tx: ShopTransaction, path: Path, text: str) -> None:
    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    tx.stage(path, write)


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
        elif clean is not DROP and not trace:
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
    if clean is DROP:
        return None, 1, "records"
    return json.dumps(clean, ensure_ascii=False, indent=2) + "\n", max(before, 1), "records"


def _count_records(doc: Any, subject: Subject) -> int:
    if isinstance(doc, dict):
        if about(doc, subject):
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
    path: Path, place: Place, subject: Subject, tx: ShopTransaction | None
) -> ErasureStep | None:
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as ro:
            found = sqlite_matches(ro, subject)
            sessions = _session_ids(found) if place == "sessions" else set()
            removed, unit = (len(sessions), "sessions") if sessions else (len(found), "rows")
    except sqlite3.Error as exc:
        logger.warning("cannot read SQLite file %s (%s)", path, exc)
        return None
    if not found:
        return None
    if tx is not None:

        def write(tmp: Path) -> None:
            _scrubbed_copy(path, tmp, found, sessions)

        tx.stage(path, write, clear=[Path(f"{path}-wal"), Path(f"{path}-shm")])
    action = "rows deleted (secure_delete), database vacuumed"
    if sessions:
        action = "sessions deleted whole (secure_delete), database vacuumed"
    return ErasureStep(place=place, path=str(path), removed=removed, unit=unit, action=action)


def _session_ids(found: list[tuple[str, int, dict[str, Any]]]) -> set[str]:
    """The sessions a session store's matching rows belong to (deleted whole)."""
    return {str(row["session_id"]) for _table, _rowid, row in found if "session_id" in row}


def _scrubbed_copy(
    source: Path, target: Path, found: list[tuple[str, int, dict[str, Any]]], sessions: set[str]
) -> None:
    """Copy a database to ``target`` without the matching rows (or sessions), no free pages."""
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src, closing(
        sqlite3.connect(target, isolation_level=None)
    ) as db:
        src.backup(db)  # a consistent copy, write-ahead log included
        # secure_delete overwrites deleted content; VACUUM rebuilds the file without free
        # pages; a rollback journal (not WAL) leaves no side file behind once closed.
        db.execute("PRAGMA journal_mode = DELETE")
        db.execute("PRAGMA secure_delete = ON")
        db.execute("BEGIN IMMEDIATE")
        for table, rowid, _row in found:
            db.execute(f'DELETE FROM "{table}" WHERE rowid = ?', (rowid,))
        if sessions:
            marks = ", ".join("?" * len(sessions))
            for (table,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            ).fetchall():
                columns = [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]
                if "session_id" in columns:
                    db.execute(
                        f'DELETE FROM "{table}" WHERE session_id IN ({marks})', sorted(sessions)
                    )
        db.execute("COMMIT")
        db.execute("VACUUM")
