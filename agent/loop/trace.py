"""The reasoning trace: every step of a run, personal data redacted, appended as JSONL.

Storage: one file per run, ``<trace_dir>/<run_id>.jsonl``, holding one JSON record per
event in the order they happened. This is the "one JSONL record per run, with events" of
the design: the run is the file, its events are the lines. Each event is appended and
flushed at once, so a run whose process dies halfway still leaves every step before the
crash on disk, and nothing ever rewrites a file. The last event of a run (``answer`` or
``error``) is also fsynced, which makes a finished run durable even through a power loss;
fsyncing every event is available (``fsync="every_event"``) but costs about 5 ms per event
on this machine, too much for a run of ten steps that should add under 50 ms in total.
``trace_dir`` lives under the git-ignored state directory (``Settings.trace_dir``).

Everything in an event's ``data`` goes through the :class:`~agent.loop.redact.Redactor` before
it is kept in memory or written: a trace never holds a customer's e-mail, phone, address,
last name or notes, nor an API key.

Run ids sort by time: ``r20250101-120000-123-a1b2c3`` is ``r``, the UTC date, time and
milliseconds of the start, and six random hex digits.

What ``data`` holds per kind (as ``agent.loop.runner`` writes it; ``trace show`` reads these keys
and shows any other data compactly):

- ``request``: ``text``, ``session``, ``provider``.
- ``route``: ``route``, the offline router's decision (``intents``, ``stages``,
  ``language``, ``entities``).
- ``reading``: ``reading``, the offline model's typed reading of the request (intents,
  customers, audience, products, amounts, channels, what was carried over, what could not be
  used, and the words each part came from).
- ``model``: ``content`` and ``tool_calls`` (``[{name, args}]``) of one model turn.
- ``tool_call``: ``id``, ``name``, ``args`` (validated).
- ``tool_result``: ``id``, ``name``, ``summary`` (one line), ``result`` (the typed result).
- ``tool_error``: ``id``, ``name``, ``error``.
- ``guard``: ``draft_id`` and ``verdict`` (``passed``, ``problems`` of ``{code, message}``).
- ``answer``: ``text``, ``stopped``.
- ``error``: ``type`` and ``message``.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import secrets
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from agent.loop.redact import Redactor
from tools.errors import ToolInputError

logger = logging.getLogger(__name__)

EventKind = Literal[
    "request",
    "route",
    "reading",
    "model",
    "tool_call",
    "tool_result",
    "tool_error",
    "guard",
    "answer",
    "error",
    "review",
]
FsyncPolicy = Literal["every_event", "end_of_run", "never"]
#: Kinds that end a run (fsynced under the default policy).
RUN_END_KINDS = frozenset({"answer", "error", "review"})
_RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
#: Characters of the request kept in a run summary.
SUMMARY_REQUEST_CHARS = 80


class TraceNotFoundError(ToolInputError):
    """No trace exists for the given run id (the message lists recent run ids)."""


class TraceEvent(BaseModel):
    """One step of a run, as stored (``data`` already redacted)."""

    run_id: str
    seq: int = Field(ge=1, description="Position of the event in its run, from 1.")
    kind: EventKind
    at: datetime = Field(description="When the event was recorded (UTC).")
    duration_ms: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class RunSummary(BaseModel):
    """One line about a run, for ``trace list``."""

    run_id: str
    started_at: datetime | None
    request: str = Field(description="The request, redacted and shortened.")
    tool_names: list[str]
    ok: bool = Field(description="The run produced an answer and recorded no error.")
    events: int
    duration_ms: float | None = Field(description="From the first to the last event.")


class RunTrace(BaseModel):
    """A run's events as read back, plus any problem found in its file."""

    run_id: str
    events: list[TraceEvent]
    problems: list[str] = Field(default_factory=list)


def new_run_id(now: datetime | None = None) -> str:
    """A new time-sortable run id such as ``r20250101-120000-123-a1b2c3``."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return f"r{now:%Y%m%d-%H%M%S}-{now.microsecond // 1000:03d}-{secrets.token_hex(3)}"


def check_run_id(run_id: str) -> str:
    """Return ``run_id`` if it is a safe file name, else raise ``ToolInputError``."""
    if not _RUN_ID_RE.match(run_id) or ".." in run_id:
        raise ToolInputError(
            f"invalid run id {run_id!r}: use letters, digits, '-', '_' or '.' (like r20250101-...)"
        )
    return run_id


class TraceWriter:
    """Records the events of one run: redacts, keeps them in memory and appends to disk.

    Thread-safe: events from parallel tool calls get distinct, ordered sequence numbers.
    """

    def __init__(
        self,
        trace_dir: Path,
        redactor: Redactor,
        run_id: str | None = None,
        *,
        fsync: FsyncPolicy = "end_of_run",
        max_bytes: int | None = None,
    ) -> None:
        """Open (or continue) the trace of a run.

        Args:
            trace_dir: directory of trace files (created if missing).
            redactor: applied to every event's data before it is stored.
            run_id: the run's id; a new time-sortable id when omitted. An existing run's
                file is appended to, its numbering continued.
            fsync: when to force the file to disk: ``"end_of_run"`` (the default: on the
                ``answer`` or ``error`` event), ``"every_event"`` or ``"never"``. Every
                event is flushed to the operating system either way.
            max_bytes: the largest the run's file may grow (``AGENT_TRACE_MAX_BYTES`` for a
                request). The first event that would pass it is recorded as a marker,
                ``{"truncated": true, "bytes": N}``; later events are not recorded (their
                numbers are skipped) except the run's end, which keeps up to
                ``TRUNCATED_TEXT`` characters of each text so the answer stays readable.
        """
        self.trace_dir = Path(trace_dir)
        self.redactor = redactor
        self.run_id = check_run_id(run_id) if run_id else new_run_id()
        self.fsync = fsync
        self.max_bytes = max_bytes
        self.events: list[TraceEvent] = []
        self._lock = threading.Lock()
        self.trace_dir.mkdir(parents=True, exist_ok=True)
        self._seq = 0
        self._bytes = 0
        if self.path.exists():
            with self.path.open("rb") as handle:
                self._seq = sum(1 for line in handle if line.strip())
            self._bytes = self.path.stat().st_size

    @property
    def path(self) -> Path:
        """The run's JSONL file."""
        return self.trace_dir / f"{self.run_id}.jsonl"

    def event(
        self,
        kind: EventKind,
        data: dict[str, Any] | BaseModel | None = None,
        duration_ms: float | None = None,
        tokens_in: int | None = None,
        tokens_out: int | None = None,
    ) -> TraceEvent:
        """Redact ``data``, then record it as the run's next event and return the event."""
        clean = self.redactor.redact_obj(data if data is not None else {})
        if not isinstance(clean, dict):
            clean = {"value": clean}
        with self._lock:
            self._seq += 1
            event = TraceEvent(
                run_id=self.run_id,
                seq=self._seq,
                kind=kind,
                at=datetime.now(UTC),
                duration_ms=None if duration_ms is None else round(float(duration_ms), 3),
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                data=clean,
            )
            line = event.model_dump_json() + "\n"
            if self.max_bytes is not None and self._bytes + len(line) > self.max_bytes:
                if self._bytes > self.max_bytes and kind not in RUN_END_KINDS:
                    return event  # past the limit: not recorded (the marker says so)
                event = event.model_copy(update={"data": _truncated(clean, len(line), kind)})
                line = event.model_dump_json() + "\n"
                self._bytes = max(self._bytes, self.max_bytes) + 1
            self._bytes += len(line)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                if self.fsync == "every_event" or (
                    self.fsync == "end_of_run" and kind in RUN_END_KINDS
                ):
                    os.fsync(handle.fileno())
            self.events.append(event)
        return event


#: Characters of each text a truncated run-ending event keeps.
TRUNCATED_TEXT = 2000


def _truncated(data: dict[str, Any], size: int, kind: str) -> dict[str, Any]:
    """An event's data past the run's size limit: a marker (and short texts for its end)."""
    out: dict[str, Any] = {"truncated": True, "bytes": size}
    if kind in RUN_END_KINDS:
        for key, value in data.items():
            if isinstance(value, str):
                out[key] = value[:TRUNCATED_TEXT]
            elif isinstance(value, bool):
                out[key] = value
    return out


def _run_files(trace_dir: Path) -> list[Path]:
    """Trace files, newest run first (run ids sort by their start time)."""
    if not trace_dir.is_dir():
        return []
    return sorted(trace_dir.glob("*.jsonl"), key=lambda p: p.stem, reverse=True)


def read_run(path: Path) -> RunTrace:
    """Read one trace file, keeping every good line and describing any bad one.

    A truncated last line (a run killed mid-write) or any other unreadable line is skipped
    and reported in ``problems``; the rest of the run is returned.
    """
    events: list[TraceEvent] = []
    problems: list[str] = []
    lines = path.read_bytes().split(b"\n")
    last_index = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for index, raw in enumerate(lines):
        if not raw.strip():
            continue
        try:
            events.append(TraceEvent.model_validate_json(raw))
        except ValidationError as exc:
            where = "last line" if index == last_index else f"line {index + 1}"
            reason = "truncated" if index == last_index and not raw.endswith(b"}") else "invalid"
            first = exc.errors()[0]["msg"] if exc.errors() else str(exc)
            problems.append(f"{path.name}: {where} is {reason} and was skipped ({first})")
    return RunTrace(run_id=path.stem, events=events, problems=problems)


def load_run(trace_dir: Path, run_id: str) -> RunTrace:
    """Read a run's trace with any problems found in its file.

    Raises:
        TraceNotFoundError: no trace for ``run_id``; the message lists recent run ids.
    """
    check_run_id(run_id)
    path = Path(trace_dir) / f"{run_id}.jsonl"
    if not path.is_file():
        ids = [p.stem for p in _run_files(Path(trace_dir))]
        if not ids:
            raise TraceNotFoundError(f"no trace for run {run_id!r}: no runs in {trace_dir}")
        close = difflib.get_close_matches(run_id, ids, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise TraceNotFoundError(
            f"no trace for run {run_id!r}{hint} (recent runs: {', '.join(ids[:5])})"
        )
    return read_run(path)


def load_trace(trace_dir: Path, run_id: str) -> list[TraceEvent]:
    """A run's events in order; problems in the file are logged as warnings, not raised.

    Raises:
        TraceNotFoundError: no trace for ``run_id``; the message lists recent run ids.
    """
    run = load_run(trace_dir, run_id)
    for problem in run.problems:
        logger.warning("%s", problem)
    return run.events


def summarize_run(run: RunTrace) -> RunSummary:
    """The one-line summary of a run."""
    events = run.events
    request = next((e.data.get("text") for e in events if e.kind == "request"), None)
    text = " ".join(str(request or "").split())
    if len(text) > SUMMARY_REQUEST_CHARS:
        text = text[: SUMMARY_REQUEST_CHARS - 1] + "…"
    tools = [str(e.data.get("name", "?")) for e in events if e.kind == "tool_call"]
    ok = any(e.kind == "answer" for e in events) and not any(e.kind == "error" for e in events)
    duration = None
    if events:
        duration = (events[-1].at - events[0].at).total_seconds() * 1000
    return RunSummary(
        run_id=run.run_id,
        started_at=events[0].at if events else None,
        request=text,
        tool_names=tools,
        ok=ok,
        events=len(events),
        duration_ms=duration,
    )


def list_runs(trace_dir: Path, limit: int = 20) -> list[RunSummary]:
    """Summaries of the most recent runs, newest first."""
    if limit < 1:
        raise ToolInputError(f"limit must be at least 1, got {limit}")
    return [summarize_run(read_run(path)) for path in _run_files(Path(trace_dir))[:limit]]
