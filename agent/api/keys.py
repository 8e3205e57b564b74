"""API keys: named, scoped, and stored only as a hash in settings (``AGENT_API_KEYS``).

A key is ``sk-mkt-`` and 43 URL-safe characters (256 random bits), made by
``python -m agent api-key new NAME --scopes ...``, which prints the key once and the JSON to
put in ``AGENT_API_KEYS``: ``{"NAME": {"hash": "sha256:<hex>", "scopes": [...]}}``. The server
keeps only the hashes; a presented key is hashed and looked up. SHA-256 rather than a slow
password hash (bcrypt, argon2): the keys are random 256-bit secrets, which no dictionary or
brute-force attack reaches, and a slow hash would add 50 ms or more to every call.

Scopes: ``read`` (ask, the reading tools, runs, batch progress and drafts), ``draft``
(``draft_message`` and batches), ``plan`` (``optimize_campaign``, ``export_assignment``,
``read_out_campaign``), ``admin`` (export and
erase a customer). Scopes do not imply one another. Without any key configured the server
serves loopback clients only, as the operator (every scope), like the CLI.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from agent.settings import API_SCOPES, ApiKeySpec

#: Every generated key starts with this (the trace redactor also recognises the shape).
KEY_PREFIX = "sk-mkt-"
#: The scope each tool needs; tools not listed need ``read``.
TOOL_SCOPES: dict[str, str] = {
    "draft_message": "draft",
    "optimize_campaign": "plan",
    "export_assignment": "plan",
    "read_out_campaign": "plan",  # it joins the results to the shop
}


class ApiConfigError(ValueError):
    """The API or MCP server cannot start with these settings."""


@dataclass(frozen=True)
class Caller:
    """Who is calling: the key's name (never the key), the front end, and the key's scopes."""

    name: str
    via: str
    scopes: frozenset[str]

    @property
    def label(self) -> str:
        """How the caller is recorded in traces, e.g. ``api:crm`` or ``mcp:stdio``."""
        return f"{self.via}:{self.name}"

    def allows(self, scope: str) -> bool:
        """Whether the key has ``scope``."""
        return scope in self.scopes

    def allowed_tools(self, names: Iterable[str]) -> list[str]:
        """The tools of ``names`` this caller may call, in order."""
        return [n for n in names if self.allows(tool_scope(n))]


def operator(via: str, name: str = "local") -> Caller:
    """The operator on this machine (no keys configured, or MCP over stdio): every scope."""
    return Caller(name=name, via=via, scopes=frozenset(API_SCOPES))


def tool_scope(name: str) -> str:
    """The scope a tool needs."""
    return TOOL_SCOPES.get(name, "read")


def new_key() -> str:
    """A new random API key (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The stored form of a key: ``sha256:`` and the hex digest."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


class KeyRing:
    """The configured keys, by hash."""

    def __init__(self, keys: Mapping[str, ApiKeySpec]) -> None:
        """Index the keys of the settings.

        Raises:
            ApiConfigError: two names share one key.
        """
        self._by_hash: dict[str, tuple[str, frozenset[str]]] = {}
        for name, spec in keys.items():
            if spec.hash in self._by_hash:
                other = self._by_hash[spec.hash][0]
                raise ApiConfigError(
                    f"AGENT_API_KEYS: keys {other!r} and {name!r} have the same hash; "
                    "give each caller a key of its own"
                )
            self._by_hash[spec.hash] = (name, frozenset(spec.scopes))

    @property
    def enabled(self) -> bool:
        """Whether any key is configured (then every call needs one)."""
        return bool(self._by_hash)

    def identify(self, presented: str, via: str) -> Caller | None:
        """The caller holding ``presented``, or ``None`` for an unknown key."""
        entry = self._by_hash.get(hash_key(presented.strip()))
        if entry is None:
            return None
        return Caller(name=entry[0], via=via, scopes=entry[1])
