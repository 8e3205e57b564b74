"""Conversations kept between runs, in memory and on disk (``ask --session ID`` across calls).

Each session is one JSON file under ``settings.state_dir / "sessions"``, written atomically.
Typed tool results (the messages' artifacts) are stored with their model's import path and
re-validated on load; only models from this project's ``tools`` package are restored.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage, ToolMessage, messages_from_dict, messages_to_dict
from pydantic import BaseModel, ValidationError

from tools.files import atomic_write

logger = logging.getLogger(__name__)

SESSION_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_IN_MEMORY = 200


class SessionError(ValueError):
    """A session id is malformed or its file cannot be read."""


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


class SessionStore:
    """Per-session message lists, cached in memory and persisted as JSON."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cache: OrderedDict[str, list[BaseMessage]] = OrderedDict()
        self._lock = threading.Lock()

    def _path(self, session: str) -> Path:
        if not SESSION_ID.match(session):
            raise SessionError(
                f"session id {session!r} must be 1-64 letters, digits, '.', '_' or '-'"
            )
        return self.directory / f"{session}.json"

    def load(self, session: str) -> list[BaseMessage]:
        """The session's messages (empty for a new session)."""
        path = self._path(session)
        with self._lock:
            if session in self._cache:
                return list(self._cache[session])
        if not path.is_file():
            return []
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            messages = messages_from_dict(raw)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise SessionError(f"{path}: cannot read the session ({exc})") from exc
        for message in messages:
            if isinstance(message, ToolMessage):
                message.artifact = _unpack(message.artifact)
        with self._lock:
            self._cache[session] = messages
        return list(messages)

    def save(self, session: str, messages: list[BaseMessage]) -> None:
        """Keep the messages in memory and write them to disk atomically."""
        path = self._path(session)
        with self._lock:
            self._cache[session] = list(messages)
            self._cache.move_to_end(session)
            while len(self._cache) > MAX_IN_MEMORY:
                self._cache.popitem(last=False)
        packed = []
        for message in messages:
            if isinstance(message, ToolMessage):
                message = message.model_copy(update={"artifact": _pack(message.artifact)})
            packed.append(message)
        text = json.dumps(messages_to_dict(packed), ensure_ascii=False, default=str)

        def write(tmp: Path) -> None:
            tmp.write_text(text, encoding="utf-8")

        atomic_write(path, write)

    def forget(self, session: str) -> None:
        """Drop a session from memory and disk."""
        path = self._path(session)
        with self._lock:
            self._cache.pop(session, None)
        path.unlink(missing_ok=True)

    def all_files(self) -> list[Path]:
        """Every stored session file."""
        return sorted(self.directory.glob("*.json")) if self.directory.is_dir() else []
