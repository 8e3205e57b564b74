"""Rights of the data subject: export everything held on a customer, or erase it everywhere.

``export_customer(settings, customer_id)`` gathers what the product holds on one customer:
their row of the customers table (personal fields and consent included), their events and
campaign exposures, rows of any other table of the data directory keyed by them (the demo's
``truth/`` tables), their computed profile, and every record of the state directory that
mentions them: trace events, session messages, batch checkpoint rows and output lines, and
exported drafts.

``forget_customer(settings, customer_id)`` removes them from all of those places in one
transaction (``tools.shop.store.write_shop_change``): the new version of every file is
staged beside the old one, a journal in the shop folder commits the switch, then the files
switch. A run killed before the commit has erased nothing (its temporaries are removed when
the shop is next opened); a run killed after it is finished by the next command that opens
the shop (``load_shop``), and a later ``forget`` says so in its notes. Either way the shop
stays valid: no event or exposure ever points at a customer who is gone.

- **data files**: the customers, events and exposures tables are rewritten without them
  (validated); other Parquet tables of the data directory with a ``customer_id`` column lose
  their rows. The data version changes.
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
  deleted from a copy with ``secure_delete`` on, the copy is vacuumed (no free pages keep
  the rows) and replaces the database and its write-ahead log.
- **drafts and exports** (JSONL, JSON, CSV and text files anywhere under the state
  directory, such as batch outputs and approved-draft exports): lines, rows and records
  about the customer are removed.

Afterwards every file under the data and state directories is scanned again (Parquet by
its columns, SQLite by its tables, anything else byte by byte, for the id, e-mail, phone and
full name) and whatever still mentions the customer is listed in the report's
``leftovers`` (empty when the erasure is complete).

Not covered: copies outside the data and state directories (batch output written with
``--out`` elsewhere, files a user downloaded); pass such directories as ``extra_dirs``.
Running processes (the UI, a batch job) keep their in-memory copy until restarted, and a
file they write while the erasure runs may keep what they wrote: stop them first.

This module holds the two entry points; the work is split over ``agent.privacy.subject``
(the customer's identifying values, scrubbing and projecting records),
``agent.privacy.models`` (the reports), ``agent.privacy.scan`` (walking and reading files,
the leftover rescan), ``agent.privacy.scrub`` (erasing inside one state file) and
``agent.privacy.stores`` (data tables and caches). Their public names are re-exported here.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from agent.privacy.models import (
    CustomerExport,
    ErasureReport,
    ErasureStep,
    Place,
    PlaceRecords,
    TraceRun,
)
from agent.privacy.scan import (
    SQLITE_SUFFIXES,
    TEXT_SUFFIXES,
    Layout,
    frame_rows,
    jsonl_records,
    leftovers,
    records_of,
    walk,
)
from agent.privacy.scrub import erase_in_file
from agent.privacy.stores import (
    CUSTOMER_TABLES,
    data_erasure,
    erase_in_cache,
    erase_in_other_tables,
)
from agent.privacy.subject import (
    DROP,
    ERASED,
    MIN_VALUE_CHARS,
    OTHER_CUSTOMER,
    Subject,
    mentions,
    normalise_id,
    project_record,
    scrub_record,
    suggest,
)
from agent.settings import Settings
from tools.errors import ToolInputError
from tools.files import atomic_write
from tools.shop.journal import ShopTransaction, recover
from tools.shop.store import TABLES, ShopData, load_shop, write_shop_change

logger = logging.getLogger(__name__)

#: What an erasure is called in the shop's journal (no customer id: the journal is a file).
LABEL = "erasure of one customer (data forget)"


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
    layout = Layout(settings, [Path(d).resolve() for d in extra_dirs or []])
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
        export.customer = frame_rows(c[c["customer_id"] == cid])[0]
        export.events = frame_rows(shop.events[shop.events["customer_id"] == cid])
        export.exposures = frame_rows(shop.exposures[shop.exposures["customer_id"] == cid])
        export.profile = _profile(settings, shop, cid, export.notes)
    for path in walk(settings.data_dir):
        rel = path.relative_to(settings.data_dir)
        if path.suffix != ".parquet" or (len(rel.parts) == 1 and path.stem in TABLES):
            continue
        try:
            frame = pq.read_table(path).to_pandas()
        except (pa.ArrowException, OSError):
            continue
        if "customer_id" in frame.columns:
            rows = frame_rows(frame[frame["customer_id"].astype(str) == cid])
            if rows:
                export.other_tables[str(rel)] = rows
    for path in layout.scanned_files():
        place = layout.place_of(path)
        if place == "traces" and path.suffix == ".jsonl":
            events = [
                project_record(rec, subject)
                for raw, rec in jsonl_records(path)
                if rec is not None and subject.mentioned_in(raw)
            ]
            if events:
                export.traces.append(TraceRun(run_id=path.stem, events=events))
            continue
        if place == "sessions" and path.suffix in SQLITE_SUFFIXES:
            export.sessions.extend(_session_records(path, subject))
            continue
        records = [
            r
            for r in (project_record(x, subject) for x in records_of(path, subject))
            if r is not DROP
        ]
        if records:
            target = export.sessions if place == "sessions" else export.files
            target.append(PlaceRecords(place=place, path=str(path), records=records))
    if export.customer is None and not (export.traces or export.sessions or export.files):
        known = shop.customers["customer_id"].tolist() if shop is not None else []
        raise ToolInputError(f"unknown customer_id {cid!r}{suggest(cid, known)}")
    if export.customer is None:
        export.notes.append(f"{cid} is not in the data files (erased?); state records follow")
    return export


def _session_records(path: Path, subject: Subject) -> list[PlaceRecords]:
    """The messages of the session store that mention the subject, one entry per session.

    Each entry's path is ``<database>#<session id>``.
    """
    by_session: dict[str, list[Any]] = {}
    for item in records_of(path, subject):
        row = item.get("row", {}) if isinstance(item, dict) else {}
        if item.get("table") != "messages" or "session_id" not in row:
            continue
        record = project_record(row.get("data"), subject)
        if record is not DROP:
            by_session.setdefault(str(row["session_id"]), []).append(record)
    return [
        PlaceRecords(place="sessions", path=f"{path}#{session}", records=records)
        for session, records in sorted(by_session.items())
    ]


def _profile(settings: Settings, shop: ShopData, cid: str, notes: list[str]) -> dict[str, Any]:
    from tools.customers.profiles import load_profile_store

    try:
        store = load_profile_store(shop, settings.cache_dir)
        data: dict[str, Any] = store.get(cid).model_dump(mode="json")
        return data
    except (ToolInputError, OSError, ValueError, KeyError) as exc:
        notes.append(f"profile not available: {exc}")
        return {}


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
    layout = Layout(settings, [Path(d).resolve() for d in extra_dirs or []])
    root = settings.data_dir if settings.data_dir.is_dir() else settings.state_dir
    finished = recover(root)  # a killed erasure (of anyone) is finished before anything else
    shop = _load(settings)
    recovered = finished or (shop.recovered if shop is not None else None)
    subject = _subject_for(shop, cid)
    report = ErasureReport(customer_id=cid, dry_run=dry_run)
    report.data_version_before = shop.version if shop is not None else None
    if recovered is not None:
        report.notes.append(f"when the shop was opened, {recovered.describe()}")
    tables: dict[str, Any] = {}
    if shop is not None and subject.in_data:
        tables, data_steps = data_erasure(settings, shop, subject)
    else:
        data_steps = []

    def erase_all(tx: ShopTransaction | None) -> None:
        # The state files, the data directory's other files, then the caches: all staged in
        # the same transaction as the tables, so everything switches at once.
        for path in list(layout.scanned_files()):
            step = erase_in_file(path, layout.place_of(path), subject, tx)
            if step is not None:
                report.steps.append(step)
        report.steps.extend(data_steps)
        report.steps.extend(erase_in_other_tables(settings, subject, tx))
        old_version = report.data_version_before if tables else None
        report.steps.extend(erase_in_cache(settings, old_version, subject, tx))
        if not report.steps and not subject.in_data:
            known = shop.customers["customer_id"].tolist() if shop is not None else []
            raise ToolInputError(
                f"unknown customer_id {cid!r}: nothing is held on them{suggest(cid, known)}"
                + (f" ({recovered.describe()})" if recovered is not None else "")
            )

    if dry_run:
        erase_all(None)
    elif tables:
        after = write_shop_change(
            settings.data_dir, tables, label=LABEL, also=erase_all, base=shop
        )
        report.data_version_after = after.version
    else:
        with ShopTransaction(root, LABEL) as tx:
            erase_all(tx)
            tx.commit()
        report.data_version_after = report.data_version_before
    if not dry_run:
        report.leftovers = leftovers(settings, subject, extra_dirs=layout.extra_dirs)
        logger.info("erased %s: %s (%d leftovers)", cid, report.by_place(), len(report.leftovers))
    report.notes.append(
        "copies outside the data and state directories (batch --out elsewhere, downloads) "
        "are not touched unless given as extra directories; restart a running UI"
    )
    return report


# --------------------------------------------------------------------------- shared


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


def write_export(export: CustomerExport, out: Path) -> Path:
    """Write an export as indented JSON (atomically) and return the path."""
    text = export.model_dump_json(indent=2)

    def write(tmp: Path) -> None:
        tmp.write_text(text + "\n", encoding="utf-8")

    atomic_write(out, write)
    return out


__all__ = [
    "CUSTOMER_TABLES",
    "ERASED",
    "MIN_VALUE_CHARS",
    "OTHER_CUSTOMER",
    "SQLITE_SUFFIXES",
    "TEXT_SUFFIXES",
    "CustomerExport",
    "ErasureReport",
    "ErasureStep",
    "Place",
    "PlaceRecords",
    "Subject",
    "TraceRun",
    "export_customer",
    "forget_customer",
    "leftovers",
    "mentions",
    "normalise_id",
    "project_record",
    "scrub_record",
    "write_export",
]
