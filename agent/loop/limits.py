"""Limits with clear answers: request size and request rates.

- ``check_request`` refuses a request text larger than ``AGENT_MAX_REQUEST_BYTES`` (8 KB by
  default, counted in UTF-8) before anything else happens: no trace, no model call, no
  session write. Every front end goes through it (``AgentRunner.stream``, so ``ask``, the
  app and the Python API; the app also checks before taking a queue slot).
- ``RateLimiter`` counts requests per key in a sliding window (per session and per user in
  the app, ``AGENT_RATE_LIMIT_SESSION`` and ``AGENT_RATE_LIMIT_USER`` per minute) and says
  how long to wait. It holds at most ``max_keys`` keys (least recently used dropped), so a
  flood of new sessions cannot grow it without bound.
- ``RequestGate`` puts the three together for a front end: ``admit(text, session, user)``.

Each refusal is a ``LimitError`` whose message says what the limit is, which setting sets it
and, for rates, how many seconds to wait. Written here rather than taken from a library: the
rate-limit packages on PyPI are ASGI middlewares keyed by address, and the app needs limits
keyed by its own session ids and users, inside the Gradio callback.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass


class LimitError(ValueError):
    """A request refused by a limit; the message says which and what to do."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        """Store the message and, for rate limits, the seconds to wait."""
        super().__init__(message)
        self.retry_after = retry_after


class RequestTooLargeError(LimitError):
    """The request text is larger than ``AGENT_MAX_REQUEST_BYTES``."""


class RateLimitedError(LimitError):
    """Too many requests in the window, for a session or a user."""


def check_request(text: str, max_bytes: int) -> None:
    """Refuse a request text over ``max_bytes`` (UTF-8).

    Raises:
        RequestTooLargeError: naming the size, the limit and the setting.
    """
    size = len(text.encode("utf-8", errors="replace"))
    if size > max_bytes:
        raise RequestTooLargeError(
            f"the request is {size:,} bytes; the limit is {max_bytes:,} bytes "
            "(AGENT_MAX_REQUEST_BYTES). Shorten it, or split it into several requests."
        )


class RateLimiter:
    """At most ``limit`` hits per ``window_s`` seconds for each key (thread-safe, bounded)."""

    def __init__(
        self,
        limit: int,
        window_s: float = 60.0,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """A limiter; ``limit`` 0 or less disables it."""
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self.clock = clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count one request for ``key``; None when allowed, else the seconds to wait."""
        if self.limit <= 0:
            return None
        now = self.clock()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                hits = self._hits[key] = deque()
                while len(self._hits) > self.max_keys:
                    self._hits.popitem(last=False)
            else:
                self._hits.move_to_end(key)
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(0.0, hits[0] + self.window_s - now)
            hits.append(now)
            return None

    def __len__(self) -> int:
        return len(self._hits)


@dataclass
class RequestGate:
    """What a front end checks before it runs a request: its size and the request rates."""

    max_bytes: int
    per_session: RateLimiter
    per_user: RateLimiter

    @classmethod
    def from_limits(
        cls, max_bytes: int, session_per_min: int, user_per_min: int, *, max_keys: int = 10_000
    ) -> RequestGate:
        """A gate with per-minute limits per session and per user."""
        return cls(
            max_bytes=max_bytes,
            per_session=RateLimiter(session_per_min, 60.0, max_keys=max_keys),
            per_user=RateLimiter(user_per_min, 60.0, max_keys=max_keys),
        )

    def admit(self, text: str, session: str, user: str | None) -> None:
        """Refuse the request when it is too large or comes too often.

        Raises:
            RequestTooLargeError: the text is over the size limit.
            RateLimitedError: the session or the user asked too often; says how long to wait.
        """
        check_request(text, self.max_bytes)
        wait = self.per_session.hit(f"session:{session}")
        if wait is not None:
            raise RateLimitedError(
                f"too many requests in this conversation: at most {self.per_session.limit} a "
                f"minute (AGENT_RATE_LIMIT_SESSION); try again in {max(1, round(wait))} s.",
                retry_after=wait,
            )
        if user:
            wait = self.per_user.hit(f"user:{user}")
            if wait is not None:
                raise RateLimitedError(
                    f"too many requests from {user}: at most {self.per_user.limit} a minute "
                    f"(AGENT_RATE_LIMIT_USER); try again in {max(1, round(wait))} s.",
                    retry_after=wait,
                )
