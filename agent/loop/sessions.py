"""Conversations kept between runs, in one SQLite file (``ask --session ID`` across calls).

**Storage.** ``<state_dir>/sessions/sessions.sqlite`` (WAL mode) holds a ``sessions`` table
(id, created and last used, turns, bytes) and a ``messages`` table with one row per message:
session, position, turn, the message as JSON. A run *appends* its turn (the request, the
model's steps, the tool results, the answer) in one transaction: a 200-turn conversation is
never rewritten, and a process killed mid-write loses at most that turn.

**What the model is sent.** ``load(session, max_turns, max_bytes)`` reads only the newest
turns: at most ``max_turns`` (``AGENT_MAX_HISTORY_TURNS``) and, oldest first, fewer while
they pass ``max_bytes`` (``AGENT_MAX_HISTORY_BYTES``); the newest turn is always kept, so a
follow-up ("and draft them an SMS") still sees the results it refers to.

**Bounds.** Sessions unused for ``ttl_days`` (``AGENT_SESSION_TTL_DAYS``) are deleted, and
beyond ``max_sessions`` (``AGENT_MAX_SESSIONS``) the least recently used go first; the
store prunes on its first write and then at most once a minute. A small in-memory cache (the
newest turns of ``cache_sessions`` sessions) saves re-reading a live conversation.

Typed tool results (the messages' artifacts) are stored with their model's import path and
re-validated on load; only models from this project's ``tools`` package are restored.
Sessions written by older versions as one JSON file each are moved into the database the
first time they are read.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from langchain_core.messages import (
    BaseMessage,
    HumanMessage,
    ToolMessage,
    message_to_dict,
    messages_from_dict,
)
from pydantic import BaseModel, ValidationError

logger = logging.getLogger(__name__)

SESSION_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
DB_NAME = "sessions.sqlite"
#: Sessions whose newest turns are kept in memory.
CACHE_SESSIONS = 32
#: Turns ever read back from one session (the newest), whatever the caller's limits.
MAX_LOADED_TURNS = 64
#: Seconds between two prunings of old sessions.
PRUNE_EVERY_S = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    turns INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS messages (
    session_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    turn INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);
CREATE INDEX IF NOT EXISTS sessions_updated ON sessions (updated_at);
"""


class SessionError(ValueError):
    """A session id is malformed or its stored conversation cannot be read."""


def _pack(artifact: Any) -> Any:
    if isinstance(artifact, BaseModel):
        cls = type(artifact)
        name = f"{cls.__module__}:{cls.__qualname__}"
        return {"__model__": name, "data": artifact.model_dump(mode="json")}
    return artifact


def _unpack(artifact: Any) -> Any:
    if isinstance(artifact, dict) and "__model__" in artifact:
        module_name, _, qualname = str(artifact["__model__"]).partition(":")
        if not module_name.startswith("tools."):
            return artifact["data"]
        try:
            cls = getattr(importlib.import_module(module_name), qualname)
            return cls.model_validate(artifact["data"])
        except (ImportError, AttributeError, ValidationError):
            # Written by an older version (a moved or changed model): keep the plain data.
            logger.info("session artifact %s no longer loads; kept as plain data", module_name)
            return artifact["data"]
    return artifact


def _encode(message: BaseMessage) -> str:
    if isinstance(message, ToolMessage):
        message = message.model_copy(update={"artifact": _pack(message.artifact)})
    return json.dumps(message_to_dict(message), ensure_ascii=False, default=str)


def _decode(rows: list[str], where: str) -> list[BaseMessage]:
    try:
        messages = messages_from_dict([json.loads(r) for r in rows])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise SessionError(f"{where}: cannot read the session ({exc})") from exc
    for message in messages:
        if isinstance(message, ToolMessage):
            message.artifact = _unpack(message.artifact)
    return messages


def _turns(messages: list[BaseMessage]) -> list[list[BaseMessage]]:
    """Split messages into turns, each starting at a request (a human message)."""
    turns: list[list[BaseMessage]] = []
    for message in messages:
        if isinstance(message, HumanMessage) or not turns:
            turns.append([])
        turns[-1].append(message)
    return turns


class SessionStore:
    """Conversations in one SQLite file: append a turn, read the newest turns, prune."""

    def __init__(
        self,
        directory: Path,
        *,
        max_sessions: int = 1000,
        ttl_days: float = 30.0,
        cache_sessions: int = CACHE_SESSIONS,
    ) -> None:
        """Open (or create) the store under ``directory``."""
        self.directory = Path(directory)
        self.path = self.directory / DB_NAME
        self.max_sessions = max_sessions
        self.ttl_s = ttl_days * 86400.0
        self.cache_sessions = cache_sessions
        self._cache: OrderedDict[str, list[BaseMessage]] = OrderedDict()
        self._lock = threading.Lock()
        self._pruned_at = 0.0

    # -- database ---------------------------------------------------------------------------

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            yield db

    def _check(self, session: str) -> str:
        if not SESSION_ID.match(session):
            raise SessionError(
                f"session id {session!r} must be 1-64 letters, digits, '.', '_' or '-'"
            )
        return session

    # -- reading ----------------------------------------------------------------------------

    def load(
        self, session: str, *, max_turns: int | None = None, max_bytes: int | None = None
    ) -> list[BaseMessage]:
        """The session's newest turns (at most ``MAX_LOADED_TURNS``; empty for a new session).

        Args:
            session: The session id.
            max_turns: At most this many turns, the newest.
            max_bytes: Fewer turns while they pass this size (the newest is always kept).

        Raises:
            SessionError: a malformed id, or a stored message that cannot be read.
        """
        self._check(session)
        with self._lock:
            cached = self._cache.get(session)
            if cached is not None:
                self._cache.move_to_end(session)
        if cached is None:
            self._migrate_legacy(session)
            with self._db() as db:
                rows = db.execute(
                    "SELECT turn, bytes, data FROM messages WHERE session_id = ? AND turn > "
                    "COALESCE((SELECT MAX(turn) FROM messages WHERE session_id = ?), 0) - ? "
                    "ORDER BY seq",
                    (session, session, MAX_LOADED_TURNS),
                ).fetchall()
            cached = _decode([str(r[2]) for r in rows], f"{self.path} session {session}")
            self._remember(session, cached)
        return self._budget(cached, max_turns, max_bytes)

    def _budget(
        self, messages: list[BaseMessage], max_turns: int | None, max_bytes: int | None
    ) -> list[BaseMessage]:
        turns = _turns(messages)
        if max_turns is not None:
            turns = turns[-max_turns:] if max_turns > 0 else turns[-1:]
        if max_bytes is not None:
            sizes = [sum(len(_encode(m)) for m in turn) for turn in turns]
            while len(turns) > 1 and sum(sizes) > max_bytes:
                turns.pop(0)
                sizes.pop(0)
        return [m for turn in turns for m in turn]

    def _remember(self, session: str, messages: list[BaseMessage]) -> None:
        turns = _turns(messages)[-MAX_LOADED_TURNS:]
        with self._lock:
            self._cache[session] = [m for turn in turns for m in turn]
            self._cache.move_to_end(session)
            while len(self._cache) > self.cache_sessions:
                self._cache.popitem(last=False)

    # -- writing ----------------------------------------------------------------------------

    def append(self, session: str, messages: list[BaseMessage]) -> None:
        """Add one turn (the new messages of a run) to the session, in one transaction."""
        self._check(session)
        if not messages:
            return
        encoded = [_encode(m) for m in messages]
        now = time.time()
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute(
                "SELECT COALESCE(MAX(seq), 0), COALESCE(MAX(turn), 0) FROM messages "
                "WHERE session_id = ?",
                (session,),
            ).fetchone()
            seq, turn = int(row[0]), int(row[1]) + 1
            db.executemany(
                "INSERT INTO messages (session_id, seq, turn, bytes, data) VALUES (?, ?, ?, ?, ?)",
                [(session, seq + n, turn, len(text), text) for n, text in enumerate(encoded, 1)],
            )
            added = sum(len(t) for t in encoded)
            db.execute(
                "INSERT INTO sessions (session_id, created_at, updated_at, turns, bytes) "
                "VALUES (?, ?, ?, 1, ?) ON CONFLICT(session_id) DO UPDATE SET "
                "updated_at = excluded.updated_at, turns = turns + 1, bytes = bytes + ?",
                (session, now, now, added, added),
            )
            db.execute("COMMIT")
        with self._lock:
            cached = self._cache.get(session)
        if cached is not None:
            self._remember(session, [*cached, *messages])
        self._maybe_prune()

    def save(self, session: str, messages: list[BaseMessage]) -> None:
        """Replace the whole session with ``messages`` (split into turns at each request)."""
        self.forget(session)
        for turn in _turns(messages):
            self.append(session, turn)

    def forget(self, session: str) -> None:
        """Drop a session from memory and disk."""
        self._check(session)
        with self._lock:
            self._cache.pop(session, None)
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM messages WHERE session_id = ?", (session,))
            db.execute("DELETE FROM sessions WHERE session_id = ?", (session,))
            db.execute("COMMIT")
        (self.directory / f"{session}.json").unlink(missing_ok=True)

    # -- bounds -----------------------------------------------------------------------------

    def _maybe_prune(self) -> None:
        now = time.monotonic()
        if now - self._pruned_at >= PRUNE_EVERY_S:
            self._pruned_at = now
            self.prune()

    def prune(self) -> int:
        """Delete expired sessions and the least recently used beyond the cap; return how many."""
        cutoff = time.time() - self.ttl_s
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            doomed = [
                str(r[0])
                for r in db.execute(
                    "SELECT session_id FROM sessions WHERE updated_at < ? UNION "
                    "SELECT session_id FROM sessions WHERE session_id NOT IN ("
                    "  SELECT session_id FROM sessions ORDER BY updated_at DESC LIMIT ?)",
                    (cutoff, max(self.max_sessions, 0)),
                )
            ]
            for chunk in range(0, len(doomed), 500):
                part = doomed[chunk : chunk + 500]
                marks = ", ".join("?" * len(part))
                db.execute(f"DELETE FROM messages WHERE session_id IN ({marks})", part)
                db.execute(f"DELETE FROM sessions WHERE session_id IN ({marks})", part)
            db.execute("COMMIT")
        if doomed:
            with self._lock:
                for session in doomed:
                    self._cache.pop(session, None)
            logger.info("pruned %d session(s) (expired or beyond %d)", len(doomed),
                        self.max_sessions)
        return len(doomed)

    def count(self) -> int:
        """How many sessions are stored."""
        with self._db() as db:
            return int(db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])

    # -- older versions ---------------------------------------------------------------------

    def _migrate_legacy(self, session: str) -> None:
        """Move a session stored as one JSON file (older versions) into the database."""
        legacy = self.directory / f"{session}.json"
        if not legacy.is_file():
            return
        try:
            raw = json.loads(legacy.read_text(encoding="utf-8"))
            messages = _decode([json.dumps(r) for r in raw], str(legacy))
        except (json.JSONDecodeError, TypeError) as exc:
            raise SessionError(f"{legacy}: cannot read the session ({exc})") from exc
        self.save(session, messages)
        legacy.unlink(missing_ok=True)

    def all_files(self) -> list[Path]:
        """The files that hold sessions (the database, and any not yet moved JSON file)."""
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir() if p.suffix in (".json", ".sqlite"))
