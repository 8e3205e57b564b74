"""Batch jobs started through the API: kept on disk, resumed after a server restart.

A job is a :class:`~agent.api.models.BatchRecord` in ``<state>/api/batches/<id>.json``; its
drafts go to ``<id>.jsonl`` beside it (customer ids sent inline are kept in ``<id>.ids``), so
no path ever comes from a caller. The work is ``agent.batch.run_batch`` with ``resume=True``:
the batch's own SQLite checkpoint records every draft as it is committed, so a job whose
server died goes on where it stopped and never drafts a customer twice.

Who runs a job: the process that holds the job's lock file (``<id>.lock``, an exclusive
``flock`` released by the kernel when the process dies). A job still ``queued`` or
``running`` with a free lock is orphaned: a server resumes such jobs when it starts, and
again on the next ``GET`` of the job, whichever comes first (with several workers, the one
that takes the lock). Progress is read from the checkpoint while the job runs.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent.api.keys import Caller
from agent.api.models import BatchRecord, BatchRequest
from agent.api.problems import ProblemError, validation_problem
from agent.batch.audience import check_products
from agent.batch.runner import BatchOptions, Checkpoint, checkpoint_path, run_batch
from agent.settings import Settings
from tools.deps import ToolDeps
from tools.errors import ToolInputError
from tools.files import atomic_write

logger = logging.getLogger(__name__)

JOB_ID = re.compile(r"^b[0-9a-f]{16}$")
#: Summary fields that are server paths (never shown to callers).
PATH_FIELDS = frozenset({"out", "csv", "checkpoint"})
UNFINISHED = ("queued", "running")


class BatchManager:
    """Creates, runs, resumes and reports batch jobs (one job at a time per process)."""

    def __init__(self, settings: Settings, deps: Callable[[], ToolDeps]) -> None:
        self.settings = settings
        self.folder = settings.state_dir / "api" / "batches"
        self._deps = deps
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch")
        self._active: set[str] = set()
        self._lock = threading.Lock()

    # -- paths --------------------------------------------------------------------------------

    def _path(self, job_id: str, suffix: str) -> Path:
        return self.folder / f"{job_id}{suffix}"

    def _options(self, job_id: str, request: dict[str, Any]) -> BatchOptions:
        ids = self._path(job_id, ".ids")
        return BatchOptions.model_validate(
            {
                "segment_filter": request.get("segment_filter"),
                "ids_path": ids if request.get("customer_ids") is not None else None,
                "channel": request.get("channel"),
                "goal": request.get("goal", "re-engage"),
                "product_ids": request.get("product_ids") or [],
                "recommend": request.get("recommend", False),
                "offer": request.get("offer"),
                "limit": request.get("limit"),
                "out": self._path(job_id, ".jsonl"),
                "resume": True,
            }
        )

    # -- records ------------------------------------------------------------------------------

    def _write(self, record: BatchRecord) -> None:
        text = record.model_dump_json(indent=1)
        _write_text(self._path(record.id, ".json"), text)

    def load(self, job_id: str) -> BatchRecord:
        """A job's record.

        Raises:
            ProblemError: 404 for an unknown or malformed id.
        """
        path = self._path(job_id, ".json")
        if not JOB_ID.match(job_id) or not path.is_file():
            raise ProblemError(
                404, "batch-not-found", "Batch not found",
                f"no batch job {job_id!r} (GET /v1/batches lists them)",
            )  # fmt: skip
        return BatchRecord.model_validate_json(path.read_text(encoding="utf-8"))

    def list(self) -> list[BatchRecord]:
        """Every job, newest first."""
        if not self.folder.is_dir():
            return []
        records = []
        for path in self.folder.glob("b*.json"):
            try:
                records.append(BatchRecord.model_validate_json(path.read_text(encoding="utf-8")))
            except (OSError, ValidationError) as exc:
                logger.warning("skipping unreadable batch record %s: %s", path.name, exc)
        return sorted(records, key=lambda r: r.created_at, reverse=True)

    # -- creating and running -------------------------------------------------------------------

    def create(self, caller: Caller, request: BatchRequest) -> BatchRecord:
        """Check the request, store the job and start it.

        Raises:
            ProblemError: 422 naming what is wrong (audience, channel, products, offer).
        """
        sources = [s for s in ("segment_filter", "customer_ids") if getattr(request, s) is not None]
        if len(sources) != 1:
            raise ProblemError(
                422, "invalid-request", "Invalid request",
                "give exactly one audience: segment_filter or customer_ids"
                + (f" (got {' and '.join(sources)})" if sources else ""),
            )  # fmt: skip
        job_id = "b" + secrets.token_hex(8)
        data = request.model_dump(mode="json")
        try:
            options = self._options(job_id, data)
        except ValidationError as exc:
            raise validation_problem(exc.errors(include_input=False, include_url=False)) from None
        check_products(self._deps(), options.product_ids)
        self.folder.mkdir(parents=True, exist_ok=True)
        if request.customer_ids is not None:
            lines = "".join(f"{cid}\n" for cid in request.customer_ids)
            _write_text(self._path(job_id, ".ids"), lines)
        now = datetime.now(UTC)
        record = BatchRecord(
            id=job_id, status="queued", created_at=now, updated_at=now, caller=caller.label,
            request=data,
        )  # fmt: skip
        self._write(record)
        self.start(job_id)
        return record

    def start(self, job_id: str) -> None:
        """Run the job in the background unless this process is already running it."""
        with self._lock:
            if job_id in self._active:
                return
            self._active.add(job_id)
        try:
            self._pool.submit(self._run, job_id)
        except RuntimeError:  # shutting down
            with self._lock:
                self._active.discard(job_id)

    def resume_unfinished(self) -> None:
        """Start every job left queued or running (a server that died, or a restart)."""
        for record in self.list():
            if record.status in UNFINISHED:
                logger.info("resuming batch job %s", record.id)
                self.start(record.id)

    def close(self) -> None:
        """Stop taking jobs (a running one is cut when the process exits; it resumes later)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, job_id: str) -> None:
        try:
            with JobLock(self._path(job_id, ".lock")) as held:
                if held:
                    self._work(job_id)
        except Exception:
            logger.exception("batch job %s could not run", job_id)
        finally:
            with self._lock:
                self._active.discard(job_id)

    def _work(self, job_id: str) -> None:
        record = self.load(job_id)
        if record.status not in UNFINISHED:
            return
        record.status, record.starts = "running", record.starts + 1
        record.updated_at = datetime.now(UTC)
        self._write(record)
        try:
            summary = run_batch(self.settings, self._options(job_id, record.request), self._deps())
        except (ToolInputError, ValidationError) as exc:
            record.status, record.error = "failed", str(exc)
        except Exception as exc:
            reference = secrets.token_hex(6)
            logger.exception("batch job %s failed (reference %s)", job_id, reference)
            record.status = "failed"
            record.error = (
                f"unexpected {type(exc).__name__}; the server log has reference {reference}"
            )
        else:
            record.status = "done"
            record.summary = summary.model_dump(mode="json", exclude=set(PATH_FIELDS))
        record.updated_at = datetime.now(UTC)
        self._write(record)

    # -- reading ------------------------------------------------------------------------------

    def report(self, job_id: str) -> dict[str, Any]:
        """The job's record and its progress; an orphaned job is resumed first."""
        record = self.load(job_id)
        if record.status in UNFINISHED:
            self.start(job_id)
        return {**record.model_dump(mode="json"), "progress": self.progress(job_id)}

    def progress(self, job_id: str) -> dict[str, Any] | None:
        """Counts from the job's checkpoint (``None`` before its audience is stored)."""
        path = checkpoint_path(self.settings, self._path(job_id, ".jsonl"))
        if not path.is_file():
            return None
        ckpt = Checkpoint(path)
        try:
            stored = ckpt.job()
            if stored is None:
                return None
            counts = ckpt.counts(stored[0])
        finally:
            ckpt.close()
        failed = sum(counts["failed"].values())
        return {
            "audience": stored[2],
            "eligible": counts["eligible"],
            "drafted": counts["drafted"],
            "failed": failed,
            "pending": max(0, counts["eligible"] - counts["drafted"] - failed),
            "skipped": counts["skipped"],
        }

    def drafts(self, job_id: str) -> Iterator[str]:
        """The job's drafts as JSON lines (once the job is done).

        Raises:
            ProblemError: 404 unknown job, 409 not done yet.
        """
        record = self.load(job_id)
        out = self._path(job_id, ".jsonl")
        if record.status != "done":
            detail = f"batch job {job_id} is {record.status}"
            detail += f" ({record.error})" if record.error else "; its drafts come when it is done"
            raise ProblemError(409, "batch-not-done", "Batch not done", detail)
        if not out.is_file():
            raise ProblemError(
                404, "batch-not-found", "Drafts gone",
                f"the drafts of batch job {job_id} are no longer on the server",
            )  # fmt: skip
        return _lines(out)


def _write_text(path: Path, text: str) -> None:
    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    atomic_write(path, write)


def _lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield line if line.endswith("\n") else line + "\n"


class JobLock:
    """An exclusive, non-blocking ``flock`` on a job's lock file; ``held`` says if it was had."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = -1

    def __enter__(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            self.fd = -1
            return False
        return True

    def __exit__(self, *exc: object) -> None:
        if self.fd >= 0:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
