"""The SQLite checkpoint of a batch job, its job id, and the output files built from it.

**Checkpoint format.** One SQLite database per output file,
``<state_dir>/batch/<out-name>-<hash of the out path>.sqlite``, in WAL mode with
``synchronous=NORMAL``: a committed transaction survives the process being killed (SIGKILL)
because it is in the WAL file before ``COMMIT`` returns; only a power loss can drop the last
transactions, which are then simply drafted again (``FULL`` would fsync every commit, about
5 ms here, see ``agent.loop.trace``). Its table ``items`` is keyed by ``(job_id, customer_id)``
and holds each item's spec, status (``pending``, ``done``, ``failed``, ``skipped``), reason,
error, attempts, tokens and the draft's output line. Results are committed in small
transactions (at most 64 items or 0.25 s of work each, see ``agent.batch.drafting``) so that
the checkpoint costs little next to a template draft (about a millisecond); an item finished
but not yet committed when the process dies is drafted again on resume, never twice in the
output, because the output is built from the checkpoint's rows, one per key.

**Job id and resume.** The job id is a hash of everything that decides the drafts (the
audience source and its file contents, channel, goal, products, offer, frequency cap, limit,
the shop's data version, provider and model, shop name and links), not of how they are
produced (backend, concurrency, paths). ``resume=True`` reopens the checkpoint of the same
output file and drafts what is pending or failed; a checkpoint made with different options
is refused with the differences named (``describe_differences``). Without ``resume`` an
existing checkpoint for the output file is replaced (the job starts over).

**Outputs.** ``write_outputs`` writes the JSONL (and CSV) file from the checkpoint through a
temporary file renamed into place: never half a file, one line per drafted customer.
``iter_drafts`` reads a JSONL output back as :class:`BatchDraft` lines.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent.batch.models import SKIP_REASONS, BatchDraft, BatchOptions, ItemOutcome, ItemSpec
from agent.settings import Settings
from tools.deps import ToolDeps
from tools.errors import ToolInputError
from tools.files import atomic_write

#: Columns of the CSV output, in order.
CSV_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "channel",
    "language",
    "goal",
    "subject",
    "preheader",
    "title",
    "body",
    "product_ids",
    "product_titles",
    "product_prices",
    "guard_passed",
    "guard_problems",
    "source",
    "run_id",
    "job_id",
    "draft_id",
)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS job (
    job_id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    created_at TEXT NOT NULL,
    audience INTEGER NOT NULL,
    unknown_ids TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    job_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    channel TEXT NOT NULL,
    spec TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed', 'skipped')),
    reason TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    tokens INTEGER NOT NULL DEFAULT 0,
    malformed INTEGER NOT NULL DEFAULT 0,
    guard_passed INTEGER,
    source TEXT,
    rejected INTEGER NOT NULL DEFAULT 0,
    line TEXT,
    run_id TEXT,
    updated_at TEXT,
    PRIMARY KEY (job_id, customer_id)
);
CREATE INDEX IF NOT EXISTS items_status ON items (job_id, status, seq);
"""


def checkpoint_path(settings: Settings, out: Path) -> Path:
    """Where the checkpoint of the job writing ``out`` lives (one per output file)."""
    resolved = str(Path(out).expanduser().resolve())
    key = hashlib.sha1(resolved.encode("utf-8")).hexdigest()[:12]
    return settings.state_dir / "batch" / f"{Path(out).name}-{key}.sqlite"


class Checkpoint:
    """The SQLite checkpoint of one job (single writer: the driver's main thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    @staticmethod
    def remove(path: Path) -> None:
        """Delete a checkpoint and its WAL files."""
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        """Close the database (a WAL checkpoint folds the log into the file)."""
        self.db.close()

    def job(self) -> tuple[str, dict[str, Any], int, list[str]] | None:
        """The stored job: id, fingerprint, audience size and unknown ids (or ``None``)."""
        row = self.db.execute(
            "SELECT job_id, fingerprint, audience, unknown_ids FROM job"
        ).fetchone()
        if row is None:
            return None
        return str(row[0]), json.loads(row[1]), int(row[2]), json.loads(row[3])

    def create(
        self,
        job_id: str,
        fingerprint: dict[str, Any],
        items: list[tuple[ItemSpec, str | None]],
        unknown: list[str],
    ) -> None:
        """Store the job and all its items (pending or skipped) in one transaction."""
        now = datetime.now(UTC).isoformat()
        keyed: dict[str, tuple[int, ItemSpec, str | None]] = {}
        for seq, (spec, reason) in enumerate(items):
            # Unknown ids and duplicates share a key with another row; count them apart.
            key = (
                spec.customer_id
                if reason not in ("unknown_id", "duplicate")
                else (f"{reason}:{seq}")
            )
            keyed[key] = (seq, spec, reason)
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute(
                "INSERT INTO job VALUES (?, ?, ?, ?, ?)",
                (
                    job_id,
                    json.dumps(fingerprint, sort_keys=True),
                    now,
                    len(items),
                    json.dumps(unknown),
                ),
            )
            self.db.executemany(
                "INSERT INTO items (job_id, customer_id, seq, channel, spec, status, reason, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        job_id,
                        key,
                        seq,
                        spec.channel,
                        spec.model_dump_json(),
                        "pending" if reason is None else "skipped",
                        reason,
                        now,
                    )
                    for key, (seq, spec, reason) in keyed.items()
                ],
            )

    def todo(self, job_id: str) -> list[ItemSpec]:
        """Items still to draft (pending or failed), in audience order."""
        rows = self.db.execute(
            "SELECT spec FROM items WHERE job_id = ? AND status IN ('pending', 'failed') "
            "ORDER BY seq",
            (job_id,),
        ).fetchall()
        return [ItemSpec.model_validate_json(r[0]) for r in rows]

    def commit(self, job_id: str, run_id: str, outcomes: Sequence[ItemOutcome]) -> None:
        """Record finished items in one transaction."""
        if not outcomes:
            return
        now = datetime.now(UTC).isoformat()
        rows = []
        for o in outcomes:
            line = None
            guard = source = None
            rejected = 0
            if o.status == "done" and o.line is not None:
                data = {**o.line, "job_id": job_id, "run_id": run_id}
                line = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
                guard = 1 if data["guard"]["passed"] else 0
                source = str(data["source"])
                rejected = 1 if data.get("rewrite_rejections") else 0
            rows.append(
                (
                    o.status,
                    o.reason,
                    o.error,
                    o.tokens,
                    o.malformed,
                    guard,
                    source,
                    rejected,
                    line,
                    run_id,
                    now,
                    job_id,
                    o.customer_id,
                )
            )
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "UPDATE items SET status = ?, reason = ?, error = ?, attempts = attempts + 1, "
                "tokens = tokens + ?, malformed = malformed + ?, guard_passed = ?, source = ?, "
                "rejected = ?, line = ?, run_id = ?, updated_at = ? "
                "WHERE job_id = ? AND customer_id = ? AND status IN ('pending', 'failed')",
                rows,
            )

    def counts(self, job_id: str) -> dict[str, Any]:
        """Totals of the job for its summary."""

        def grouped(status: str) -> dict[str, int]:
            rows = self.db.execute(
                "SELECT reason, COUNT(*) FROM items WHERE job_id = ? AND status = ? "
                "GROUP BY reason ORDER BY COUNT(*) DESC",
                (job_id, status),
            ).fetchall()
            return {str(r[0] or "unknown"): int(r[1]) for r in rows}

        done = self.db.execute(
            "SELECT COUNT(*), SUM(guard_passed = 0), SUM(source = 'model'), SUM(rejected) "
            "FROM items WHERE job_id = ? AND status = 'done'",
            (job_id,),
        ).fetchone()
        eligible = self.db.execute(
            "SELECT COUNT(*) FROM items WHERE job_id = ? AND status != 'skipped'", (job_id,)
        ).fetchone()[0]
        failures = self.db.execute(
            "SELECT customer_id, reason, error FROM items WHERE job_id = ? AND status = 'failed' "
            "ORDER BY seq LIMIT 20",
            (job_id,),
        ).fetchall()
        skipped = dict.fromkeys(SKIP_REASONS, 0)
        skipped.update(grouped("skipped"))
        return {
            "drafted": int(done[0] or 0),
            "guard_failures": int(done[1] or 0),
            "model_drafts": int(done[2] or 0),
            "rewrites_rejected": int(done[3] or 0),
            "eligible": int(eligible),
            "skipped": skipped,
            "failed": grouped("failed"),
            "failures": [
                {"customer_id": str(c), "reason": str(r), "error": str(e or "")}
                for c, r, e in failures
            ],
        }

    def lines(self, job_id: str) -> Iterator[str]:
        """The output lines of the drafted items, in audience order."""
        cursor = self.db.execute(
            "SELECT line FROM items WHERE job_id = ? AND status = 'done' ORDER BY seq", (job_id,)
        )
        for (line,) in cursor:
            yield str(line)


# --- job identity ------------------------------------------------------------------------------


def fingerprint_of(
    settings: Settings,
    deps: ToolDeps,
    options: BatchOptions,
    goal: str,
    source: str,
    rules: list[str],
) -> dict[str, Any]:
    """Everything that decides a job's drafts (not how they are produced), JSON-ready."""
    s = settings
    return {
        "audience": json.loads(source),
        "channel": options.channel,
        "goal": goal,
        "product_ids": options.product_ids,
        "recommend": options.recommend,
        "offer": options.offer.model_dump(mode="json") if options.offer else None,
        "frequency_rules": rules,
        "limit": options.limit,
        "data_version": deps.shop.version,
        "provider": s.provider,
        "model": s.model if s.provider == "openai" else None,
        "shop_name": s.shop_name,
        "link_allowlist": list(s.link_allowlist),
    }


def job_id_of(fingerprint: dict[str, Any]) -> str:
    """The job id of a fingerprint: ``B`` and 16 hex digits of its SHA-256."""
    text = json.dumps(fingerprint, sort_keys=True, ensure_ascii=False)
    return "B" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def describe_differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    """What differs between two fingerprints, for people (file contents only as changed)."""
    names = {
        "audience": "audience",
        "data_version": "shop data",
        "frequency_rules": "frequency rules",
        "product_ids": "products",
        "link_allowlist": "link allow-list",
    }
    parts = []
    for key in sorted(old.keys() | new.keys()):
        if old.get(key) != new.get(key):
            label = names.get(key, key.replace("_", " "))
            if key in ("audience", "data_version"):
                parts.append(f"{label} changed")
            else:
                parts.append(f"{label}: {old.get(key)!r} -> {new.get(key)!r}")
    return "; ".join(parts) or "options differ"


# --- outputs -----------------------------------------------------------------------------------


def _csv_row(line: dict[str, Any]) -> list[str]:
    products = line.get("products") or []
    guard = line.get("guard") or {}
    values: dict[str, Any] = {
        **line,
        "product_ids": ";".join(p["product_id"] for p in products),
        "product_titles": ";".join(p["title"] for p in products),
        "product_prices": ";".join(f"{p['price']:.2f} {p['currency']}" for p in products),
        "guard_passed": "true" if guard.get("passed") else "false",
        "guard_problems": "; ".join(p.get("message", "") for p in guard.get("problems", [])),
    }
    return ["" if values.get(c) is None else str(values[c]) for c in CSV_COLUMNS]


def write_outputs(ckpt: Checkpoint, job_id: str, out: Path, csv_path: Path | None) -> None:
    """Write the JSONL (and CSV) output from the checkpoint, each atomically."""

    def write_jsonl(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8") as handle:
            for line in ckpt.lines(job_id):
                handle.write(line + "\n")

    atomic_write(Path(out), write_jsonl)
    if csv_path is None:
        return

    def write_csv(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            for line in ckpt.lines(job_id):
                writer.writerow(_csv_row(json.loads(line)))

    atomic_write(Path(csv_path), write_csv)


def iter_drafts(path: Path) -> Iterator[BatchDraft]:
    """The drafts of a batch output file, one :class:`BatchDraft` per line.

    Raises:
        ToolInputError: the file is missing or a line is not a batch draft.
    """
    try:
        handle = Path(path).open(encoding="utf-8")
    except FileNotFoundError:
        raise ToolInputError(f"batch output {path}: file not found") from None
    with handle:
        for n, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                yield BatchDraft.model_validate_json(raw)
            except ValidationError as exc:
                raise ToolInputError(
                    f"batch output {path}: line {n} is not a batch draft ({exc.errors()[0]['msg']})"
                ) from None
