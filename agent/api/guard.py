"""The gate every HTTP call passes (API and MCP over HTTP): size, key, rate, record.

:class:`AccessGuard` is plain ASGI middleware, so the FastAPI app and the MCP SDK's Starlette
app share it. For each request, in order:

1. **Size.** A ``Content-Length`` above ``max_body_bytes`` is answered 413 at once, before
   the key is even looked at; a body sent without a length is counted as it is read and cut
   at the same limit (413 too). Counted here rather than with FastAPI's ``max_body_size``,
   which answers in plain text from outside every middleware, not as a problem document.
2. **Key.** With keys configured, ``Authorization: Bearer <key>`` (or ``X-API-Key``) must
   name one (else 401). Without keys only loopback clients are served (else 403), as the
   operator: a server bound beyond loopback without keys is refused at start-up too, and this
   check keeps a server started some other way closed.
3. **Rate.** At most ``rate_per_minute`` calls per key in any sliding minute (a moving
   window from the ``limits`` library, per process); beyond it 429 with ``Retry-After``.
4. **Record.** The caller (the key's name, never the key) is put in the request's state for
   the endpoints, and when the response is done ``on_done`` records the call (method, path,
   status, duration and the run it started).

Health probes and the API documents (``/healthz``, ``/readyz``, ``/docs``, ``/redoc``,
``/openapi.json``, and the docs pages' files under ``/docs-static/``) pass without a key and
are not recorded.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable, Collection
from typing import Any

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent.api.keys import Caller, KeyRing, operator
from agent.api.problems import PROBLEM_MEDIA_TYPE, ProblemError, problem_body


class BodyTooLargeError(HTTPException):
    """A request body sent without a length grew past the limit while it was read."""


PUBLIC_PATHS = frozenset(
    {"/healthz", "/readyz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
)
#: Where the docs pages' scripts and styles are served (public, like the pages).
DOCS_STATIC = "/docs-static"
#: ``on_done(caller, method, path, status, duration_ms, run_id)``.
DoneHook = Callable[[Caller, str, str, int, float, str | None], None]


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (a name or an address) only reaches this machine."""
    if not host:
        return False
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def too_large(limit: int) -> str:
    """The detail of a 413."""
    return (
        f"the request body is larger than {limit:,} bytes (AGENT_API_MAX_BODY_BYTES); "
        "send less, e.g. fewer customer ids per batch"
    )


class AccessGuard:
    """ASGI middleware: body size, API key, rate limit, then the call is recorded."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        keys: KeyRing,
        via: str,
        rate_per_minute: int,
        max_body_bytes: int,
        on_done: DoneHook | None = None,
        public_paths: Collection[str] = PUBLIC_PATHS,
    ) -> None:
        self.app = app
        self.keys = keys
        self.via = via
        self.max_body_bytes = max_body_bytes
        self.on_done = on_done
        self.public_paths = frozenset(public_paths)
        self.rate = RateLimitItemPerMinute(rate_per_minute)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, call the app with the caller in its state, record the call."""
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or path in self.public_paths
            or path.startswith(DOCS_STATIC + "/")
        ):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            caller = self._check(scope, headers)
        except ProblemError as problem:
            await _send_problem(send, problem, scope["path"])
            return
        scope.setdefault("state", {})["caller"] = caller
        status = {"code": 500, "run_id": None}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
                for key, value in message.get("headers", []):
                    if key.lower() == b"x-run-id":
                        status["run_id"] = value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, self._counting(receive), sending)
        finally:
            if self.on_done is not None:
                elapsed = round((time.perf_counter() - started) * 1000, 2)
                # An endpoint may record its path differently (an erasure names no customer).
                path = scope["state"].get("record_path") or scope["path"]
                self.on_done(
                    caller, scope["method"], path, int(status["code"] or 500), elapsed,
                    status["run_id"] if isinstance(status["run_id"], str) else None,
                )

    def _check(self, scope: Scope, headers: dict[str, str]) -> Caller:
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body_bytes:
            limit = self.max_body_bytes
            raise ProblemError(413, "too-large", "Request too large", too_large(limit))
        caller = self._identify(scope, headers)
        if not self.limiter.hit(self.rate, caller.name):
            reset = self.limiter.get_window_stats(self.rate, caller.name).reset_time
            wait = max(1, math.ceil(reset - time.time()))
            raise ProblemError(
                429,
                "rate-limited",
                "Too many requests",
                f"key {caller.name!r} made more than {self.rate.amount} calls in a minute "
                f"(AGENT_API_RATE_PER_MINUTE); retry in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        return caller

    def _identify(self, scope: Scope, headers: dict[str, str]) -> Caller:
        if not self.keys.enabled:
            client = scope.get("client")
            if not is_loopback(client[0] if client else None):
                raise ProblemError(
                    403,
                    "keys-required",
                    "API keys required",
                    "this server has no API keys configured, so it serves this machine only; "
                    "set AGENT_API_KEYS (python -m agent api-key new NAME)",
                )
            return operator(self.via)
        presented = headers.get("x-api-key", "")
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            presented = auth[7:]
        challenge = {"WWW-Authenticate": 'Bearer realm="marketing-agent"'}
        if not presented.strip():
            raise ProblemError(
                401,
                "unauthenticated",
                "API key required",
                "send the key as 'Authorization: Bearer <key>' (or 'X-API-Key: <key>')",
                headers=challenge,
            )
        caller = self.keys.identify(presented, self.via)
        if caller is None:
            raise ProblemError(
                401, "unauthenticated", "Unknown API key",
                "the key sent is not one of AGENT_API_KEYS", headers=challenge,
            )  # fmt: skip
        return caller


    def _counting(self, receive: Receive) -> Receive:
        """``receive`` that stops a body growing past the limit (FastAPI answers 413)."""
        seen = 0
        limit = self.max_body_bytes

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLargeError(413, too_large(limit))
            return message

        return counted


async def _send_problem(send: Send, problem: ProblemError, path: str) -> None:
    import json

    body = json.dumps(
        problem_body(
            problem.status, problem.slug, problem.title, problem.detail, path, **problem.extra
        )
    ).encode("utf-8")
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [(k.lower().encode(), v.encode()) for k, v in problem.headers.items()]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def caller_of(state: Any) -> Caller:
    """The caller the guard put in a request's state."""
    caller = getattr(state, "caller", None)
    if not isinstance(caller, Caller):
        raise RuntimeError("the request did not pass the AccessGuard")
    return caller


def forbidden(caller: Caller, scope: str, doing: str) -> ProblemError:
    """The 403 for a key without the scope a call needs."""
    return ProblemError(
        403,
        "missing-scope",
        "Missing scope",
        f"key {caller.name!r} lacks the {scope!r} scope needed for {doing} "
        f"(its scopes: {', '.join(sorted(caller.scopes)) or 'none'})",
    )
