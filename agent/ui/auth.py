"""The app's sign-in: hashed passwords, a minimum strength, and failed sign-ins slowed down.

- **Stored hashed.** ``AGENT_UI_USERS`` maps each user to a password *hash*
  (``scrypt$16384$8$1$<salt>$<key>``, standard-library ``hashlib.scrypt``, about 16 MB and
  tens of milliseconds per check). ``python -m agent ui hash-password USER`` asks for the
  password, checks its strength and prints the entry. ``load_users`` refuses, at start-up
  and with one clear line, a blank password, a password stored in plain text (with the
  command that hashes it), a malformed hash or a blank user name.
- **Strength.** ``password_problem``: at least 12 characters, at least 5 different ones,
  not containing the user name, and at least two kinds of character (letters, digits,
  other) unless it is a passphrase of 20 characters or more.
- **Slowed down.** ``LoginThrottle`` counts failed sign-ins per user and per client address:
  after ``free_failures`` in a row, each further attempt must wait 1 s, then 2, 4, ... up
  to 5 minutes after the last failure; a success clears the user and the address. It keeps
  at most ``max_keys`` keys. ``LoginThrottleMiddleware`` applies it to Gradio's ``POST
  /login`` (answering 429 with ``Retry-After`` while a key must wait) and learns from the
  answer whether the sign-in failed, so the password check itself stays Gradio's.

Written with the standard library (``hashlib.scrypt``, ``hmac.compare_digest``) rather than
``argon2-cffi``: no new dependency, and scrypt is a memory-hard function recommended for
password storage. The throttle is hand-written because it must key on Gradio's user names.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

SCHEME = "scrypt"
#: scrypt cost: N (CPU and memory), r (block size), p (parallelism): 16 MB per check.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_LENGTH = 12
PASSPHRASE_LENGTH = 20
#: The sign-in routes of Gradio's app.
LOGIN_PATHS = frozenset({"/login", "/login/"})
#: The largest sign-in form read (a user name and a password).
MAX_LOGIN_BODY = 16 * 1024


class UsersError(ValueError):
    """``AGENT_UI_USERS`` holds something the app refuses to start with."""


# --------------------------------------------------------------------------- hashing


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """The stored form of a password: ``scrypt$N$r$p$<salt>$<key>`` (base64)."""
    salt = salt or secrets.token_bytes(16)
    key = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32,
        maxmem=64 * 1024 * 1024,
    )
    return f"{SCHEME}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def _parse_hash(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        return None
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt = base64.b64decode(parts[4], validate=True)
        key = base64.b64decode(parts[5], validate=True)
    except ValueError:
        return None
    if n < 2**10 or n & (n - 1) or not (1 <= r <= 64) or not (1 <= p <= 16) or len(key) < 16:
        return None
    return n, r, p, salt, key


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a stored hash (constant-time comparison)."""
    parsed = _parse_hash(stored)
    if parsed is None:
        return False
    n, r, p, salt, key = parsed
    got = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=len(key),
        maxmem=256 * 1024 * 1024,
    )
    return hmac.compare_digest(got, key)


def password_problem(password: str, user: str = "") -> str | None:
    """Why ``password`` is too weak, or None when it is strong enough."""
    if not password.strip():
        return "the password is blank"
    if len(password) < MIN_LENGTH:
        return f"the password has {len(password)} characters; use at least {MIN_LENGTH}"
    if len(set(password)) < 5:
        return "the password repeats too few characters; use at least 5 different ones"
    if len(user) >= 3 and user.lower() in password.lower():
        return "the password contains the user name"
    kinds = sum(
        (
            any(c.isalpha() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if kinds < 2 and len(password) < PASSPHRASE_LENGTH:
        return (
            "mix letters with digits or symbols, or use a passphrase of at least "
            f"{PASSPHRASE_LENGTH} characters"
        )
    return None


def load_users(raw: MutableMapping[str, Any]) -> dict[str, str]:
    """The users of ``AGENT_UI_USERS`` as name -> hash, refusing anything unsafe.

    Args:
        raw: The setting's value (user -> ``SecretStr`` or text).

    Raises:
        UsersError: a blank user name, a blank password, a password stored in plain text,
            or a malformed hash; the message names the user and the fix.
    """
    users: dict[str, str] = {}
    for name, value in raw.items():
        secret = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
        if not str(name).strip() or any(c.isspace() for c in str(name)):
            raise UsersError(f"AGENT_UI_USERS: user name {name!r} is blank or has spaces")
        if not secret.strip():
            raise UsersError(
                f"AGENT_UI_USERS: user {name!r} has a blank password; set a hash made by "
                f"python -m agent ui hash-password {name}"
            )
        if not secret.startswith(f"{SCHEME}$"):
            raise UsersError(
                f"AGENT_UI_USERS: the password of user {name!r} is stored in plain text; store "
                f"its hash instead (python -m agent ui hash-password {name} prints the entry)"
            )
        if _parse_hash(secret) is None:
            raise UsersError(
                f"AGENT_UI_USERS: the hash of user {name!r} is malformed; make a new one with "
                f"python -m agent ui hash-password {name}"
            )
        users[str(name)] = secret
    return users


def authenticator(users: dict[str, str]) -> Callable[[str, str], bool]:
    """Gradio's ``auth`` callable: checks a password against the user's hash.

    An unknown user is checked against a dummy hash, so the answer takes as long.
    """
    dummy = hash_password(secrets.token_urlsafe(16))

    def check(user: str, password: str) -> bool:
        stored = users.get(user)
        ok = verify_password(password, stored or dummy)
        return ok and stored is not None

    return check


def users_entry(user: str, password: str) -> str:
    """The ``AGENT_UI_USERS`` JSON for one user (what ``ui hash-password`` prints)."""
    return json.dumps({user: hash_password(password)})


# --------------------------------------------------------------------------- throttling


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0


class LoginThrottle:
    """Failed sign-ins per user and per address, and how long the next attempt must wait."""

    def __init__(
        self,
        free_failures: int = 5,
        *,
        base_s: float = 1.0,
        max_wait_s: float = 300.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """A throttle that lets ``free_failures`` failures pass before slowing down."""
        self.free_failures = free_failures
        self.base_s = base_s
        self.max_wait_s = max_wait_s
        self.max_keys = max_keys
        self.clock = clock
        self._failures: OrderedDict[str, _Failures] = OrderedDict()
        self._lock = threading.Lock()

    def _keys(self, user: str, address: str) -> list[str]:
        return [f"user:{user.lower()}", f"address:{address}"]

    def _wait_of(self, record: _Failures, now: float) -> float:
        excess = record.count - self.free_failures
        if excess < 0:
            return 0.0
        delay = min(self.base_s * 2.0**excess, self.max_wait_s)
        if record.count and now - record.last > self.max_wait_s * 2:
            return 0.0  # long quiet: the slate is clean again (see failed())
        return max(0.0, record.last + delay - now)

    def wait(self, user: str, address: str) -> float:
        """Seconds until the next sign-in of ``user`` from ``address`` is allowed (0: now)."""
        now = self.clock()
        with self._lock:
            return max(
                (self._wait_of(r, now) for k in self._keys(user, address)
                 if (r := self._failures.get(k)) is not None),
                default=0.0,
            )

    def failed(self, user: str, address: str) -> None:
        """Count a failed sign-in."""
        now = self.clock()
        with self._lock:
            for key in self._keys(user, address):
                record = self._failures.get(key)
                if record is None or now - record.last > self.max_wait_s * 2:
                    record = self._failures[key] = _Failures()
                self._failures.move_to_end(key)
                record.count += 1
                record.last = now
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, user: str, address: str) -> None:
        """Clear the user's and the address's failures."""
        with self._lock:
            for key in self._keys(user, address):
                self._failures.pop(key, None)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class LoginThrottleMiddleware:
    """ASGI middleware: slows down Gradio's ``POST /login`` per user and per address."""

    def __init__(self, app: ASGIApp, throttle: LoginThrottle) -> None:
        """Wrap ``app``; ``throttle`` keeps the counts."""
        self.app = app
        self.throttle = throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass every request through; count and slow down sign-ins."""
        if (
            scope.get("type") != "http"
            or scope.get("method") != "POST"
            or scope.get("path") not in LOGIN_PATHS
        ):
            await self.app(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = bool(message.get("more_body", False))
            if len(body) > MAX_LOGIN_BODY:
                await _reply(send, 413, "The sign-in form is too large.")
                return
        form = parse_qs(body.decode("utf-8", errors="replace"))
        user = (form.get("username") or [""])[0].strip()
        client = scope.get("client") or ("unknown", 0)
        address = str(client[0])
        wait = self.throttle.wait(user, address)
        if wait > 0:
            await _reply(
                send, 429,
                f"Too many failed sign-ins; try again in {math.ceil(wait)} s.",
                retry_after=math.ceil(wait),
            )
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message.get("type") == "http.response.start":
                status = int(message.get("status", 0))
            await send(message)

        await self.app(scope, replay, watch)
        if status == 200:
            self.throttle.succeeded(user, address)
        elif 400 <= status < 500:
            self.throttle.failed(user, address)


async def _reply(send: Send, status: int, detail: str, retry_after: int | None = None) -> None:
    body = json.dumps({"detail": detail}).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
