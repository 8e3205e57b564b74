"""The core the HTTP API and the MCP server share: one runner, traced tool calls, the access log.

:class:`AgentService` owns the :class:`~agent.loop.runner.AgentRunner` (built in the
background at start-up; ``/readyz`` says when it is ready), a pool of worker threads that do
the agent's work (``api_concurrency`` at once, each call bounded by ``api_timeout_s``), and
what both front ends do the same way:

- ``ask``/``ask_stream``: ``AgentRunner.run``/``stream`` with the caller recorded in the run's
  trace, one request at a time per session, and only the tools the caller's scopes allow;
- ``call_tool``: ``tools.registry.call_tool`` (the CLI's validation) recorded as a run of its
  own (request, tool call, result or error, answer) with the caller;
- ``record_access``: every HTTP call (method, path, status, duration, run) as an event of the
  day's access trace, run id ``api-access-YYYYMMDD``, with the key's name and never the key;
- a reload when the shop's data files change (an erasure through the API, or ``data forget``
  or an import from the CLI while the server runs), so no answer comes from stale data.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from agent.api.guard import forbidden
from agent.api.keys import Caller, KeyRing, tool_scope
from agent.api.problems import ProblemError
from agent.loop.runner import AgentRunner, RunUpdate
from agent.loop.trace import TraceWriter, list_runs, load_run
from agent.settings import Settings
from tools.errors import ToolInputError
from tools.registry import TOOL_SPECS, args_model, call_tool, describe_tool, load_tool_functions

logger = logging.getLogger(__name__)

T = TypeVar("T")
#: Every tool, in the model's order.
TOOL_NAMES: tuple[str, ...] = tuple(func for _, func in TOOL_SPECS)
#: How often the data files are checked for a change (seconds).
DATA_CHECK_S = 2.0
#: Session locks kept at most (unlocked ones are dropped beyond this).
MAX_SESSION_LOCKS = 1000


class AgentService:
    """The agent behind the API and MCP servers (thread-safe)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keys = KeyRing(settings.api_keys)
        self.executor = ThreadPoolExecutor(
            max_workers=settings.api_concurrency, thread_name_prefix="agent-work"
        )
        self.started_at = datetime.now(UTC)
        self.warmup_error: str | None = None
        self._ready = threading.Event()
        self._lock = threading.RLock()
        self._base: AgentRunner | None = None
        self._restricted: dict[frozenset[str], AgentRunner] = {}
        self._data_stamp: tuple[tuple[str, int, int], ...] = ()
        self._checked_at = 0.0
        self._session_locks: dict[str, threading.Lock] = {}
        self._access: TraceWriter | None = None
        self._access_lock = threading.Lock()  # never held long: the event loop takes it
        self._on_ready: list[Callable[[], None]] = []
        self._started = False
        self._start_lock = threading.Lock()  # not the build lock: the event loop takes it

    # -- life cycle -------------------------------------------------------------------------

    def start(self, on_ready: Callable[[], None] | None = None) -> None:
        """Build the runner and warm its stores in the background; then call ``on_ready``.

        Starting again (a second app over the same service) only adds ``on_ready``, run at
        once when the service is ready already.
        """
        with self._start_lock:
            first = not self._started
            self._started = True
            if on_ready is not None and not self._ready.is_set():
                self._on_ready.append(on_ready)
                on_ready = None
        if on_ready is not None:
            on_ready()
        if first:
            threading.Thread(target=self._warm_up, name="agent-warmup", daemon=True).start()

    def _warm_up(self) -> None:
        started = time.perf_counter()
        try:
            runner = self._build()
            deps = runner.deps
            _ = deps.profiles, deps.products, deps.recommender
        except Exception as exc:
            self.warmup_error = f"{type(exc).__name__}: {exc}"
            logger.error("the agent could not start: %s", self.warmup_error, exc_info=exc)
            self._ready.set()
            return
        logger.info("agent ready in %.1f s", time.perf_counter() - started)
        with self._start_lock:
            self._ready.set()
            hooks = list(self._on_ready)
        for hook in hooks:
            try:
                hook()
            except Exception:
                logger.exception("a start-up hook failed")

    def _build(self) -> AgentRunner:
        with self._lock:
            stamp = self._stamp()
            runner = AgentRunner(self.settings)
            self._base, self._restricted = runner, {}
            self._data_stamp, self._checked_at = stamp, time.monotonic()
            return runner

    def close(self) -> None:
        """Stop taking work (running calls finish in their threads)."""
        self.executor.shutdown(wait=False, cancel_futures=True)

    @property
    def ready(self) -> bool:
        """Whether the runner is built and warm."""
        return self._ready.is_set() and self.warmup_error is None and self._base is not None

    def _stamp(self) -> tuple[tuple[str, int, int], ...]:
        folder = self.settings.data_dir
        if not folder.is_dir():
            return ()
        stats = []
        for path in sorted(folder.iterdir()):
            if path.is_file():
                st = path.stat()
                stats.append((path.name, st.st_mtime_ns, st.st_size))
        return tuple(stats)

    def base_runner(self) -> AgentRunner:
        """The runner with every tool, rebuilt when the data files changed (blocks until ready)."""
        if not self._ready.wait(self.settings.api_timeout_s):
            raise ProblemError(503, "starting", "Starting", "the agent is still starting")
        if self.warmup_error is not None or self._base is None:
            raise ProblemError(
                503, "not-configured", "The agent could not start", str(self.warmup_error)
            )
        now = time.monotonic()
        if now - self._checked_at > DATA_CHECK_S:
            with self._lock:
                self._checked_at = now
                if self._stamp() != self._data_stamp:
                    logger.info("the shop's data files changed: reloading")
                    return self._build()
        return self._base

    def reload(self) -> None:
        """Rebuild the runner from the data files as they are now (after an erasure)."""
        self._build()

    def runner_for(self, caller: Caller) -> AgentRunner:
        """A runner offering the model only the tools the caller's scopes allow."""
        base = self.base_runner()
        allowed = frozenset(caller.allowed_tools(TOOL_NAMES))
        if allowed == frozenset(TOOL_NAMES):
            return base
        with self._lock:
            runner = self._restricted.get(allowed)
            if runner is None or runner.deps is not base.deps:
                runner = AgentRunner(self.settings, deps=base.deps, tool_names=allowed)
                runner.sessions = base.sessions  # one conversation store for every runner
                self._restricted[allowed] = runner
            return runner

    # -- running work -----------------------------------------------------------------------

    async def call(self, func: Callable[..., T], *args: Any, seconds: float | None = None) -> T:
        """Run ``func`` on a worker thread, bounded by a time limit (``api_timeout_s``).

        Raises:
            ProblemError: 504 when the call takes longer than that (a call that already
                started finishes in its thread; its run is still traced).
        """
        limit = self.settings.api_timeout_s if seconds is None else seconds
        future = asyncio.wrap_future(self.executor.submit(func, *args))
        try:
            return await asyncio.wait_for(future, limit)
        except TimeoutError:
            raise ProblemError(
                504,
                "timeout",
                "Took too long",
                f"the call took longer than {limit:g} s (AGENT_API_TIMEOUT_S); a run that had "
                "started still finishes and shows in GET /v1/runs",
            ) from None

    def _session_lock(self, session: str) -> threading.Lock:
        with self._lock:
            lock = self._session_locks.get(session)
            if lock is None:
                if len(self._session_locks) >= MAX_SESSION_LOCKS:
                    for key in [k for k, v in self._session_locks.items() if not v.locked()]:
                        del self._session_locks[key]
                lock = self._session_locks[session] = threading.Lock()
            return lock

    # -- ask --------------------------------------------------------------------------------

    def ask(self, caller: Caller, text: str, session: str | None) -> dict[str, Any]:
        """One request through the agent; the ``ask --json`` object."""
        final: dict[str, Any] | None = None
        for update in self.ask_stream(caller, text, session):
            if update.result is not None:
                final = update.result.to_json()
        assert final is not None
        return final

    def ask_stream(self, caller: Caller, text: str, session: str | None) -> Iterator[RunUpdate]:
        """The steps of one request as they happen, then the result (one session at a time)."""
        runner = self.runner_for(caller)
        if session is None:
            yield from runner.stream(text, None, caller=caller.label)
            return
        runner.history(session)  # a malformed session id fails here, before the wait
        with self._session_lock(session):
            yield from runner.stream(text, session, caller=caller.label)

    # -- tools ------------------------------------------------------------------------------

    def describe_tools(self, caller: Caller) -> list[dict[str, Any]]:
        """Every tool with the scope it needs and whether the caller may call it.

        Each has its name, description and JSON argument schema (the validation of the CLI's
        ``tool`` command).
        """
        out = []
        for name, func in load_tool_functions().items():
            scope = tool_scope(name)
            out.append(
                {
                    "name": name,
                    "description": describe_tool(func)[0],
                    "scope": scope,
                    "allowed": caller.allows(scope),
                    "schema": args_model(func).model_json_schema(),
                }
            )
        return out

    def check_tool(self, caller: Caller, name: str) -> None:
        """Refuse an unknown tool (404, naming close ones) or one the caller's scopes lack (403)."""
        if name not in TOOL_NAMES:
            import difflib

            close = difflib.get_close_matches(name, TOOL_NAMES, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ProblemError(
                404, "unknown-tool", "Unknown tool",
                f"no tool {name!r}{hint} (tools: {', '.join(TOOL_NAMES)})",
            )  # fmt: skip
        scope = tool_scope(name)
        if not caller.allows(scope):
            raise forbidden(caller, scope, f"calling {name}")

    def call_tool(
        self, caller: Caller, name: str, args: dict[str, Any]
    ) -> tuple[Any, str]:
        """Validate and call one tool, recorded as a run of its own; the JSON result and run id.

        Raises:
            ProblemError: unknown tool or missing scope.
            ToolInputError: arguments that do not validate (the message names the argument).
        """
        self.check_tool(caller, name)
        runner = self.base_runner()
        trace = TraceWriter(self.settings.trace_dir, runner.redactor)
        trace.event(
            "request",
            {"text": f"tool {name}", "provider": "tool", "caller": caller.label},
        )
        call_id = "call_" + secrets.token_hex(6)
        trace.event("tool_call", {"id": call_id, "name": name, "args": args})
        started = time.perf_counter()
        try:
            result = call_tool(runner.deps, name, args)
        except Exception as exc:
            took = round((time.perf_counter() - started) * 1000, 2)
            if isinstance(exc, ToolInputError):
                data = {"id": call_id, "name": name, "error": str(exc)}
                trace.event("tool_error", data, duration_ms=took)
            else:
                data = {"type": type(exc).__name__, "message": str(exc)}
                trace.event("error", data, duration_ms=took)
            trace.event("answer", {"text": f"{name} failed: {exc}", "stopped": "done"})
            raise
        took = round((time.perf_counter() - started) * 1000, 2)
        payload = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
        summary = result.summary() if hasattr(result, "summary") else name
        trace.event(
            "tool_result",
            {"id": call_id, "name": name, "summary": summary, "result": payload},
            duration_ms=took,
        )
        guard = getattr(result, "guard", None)
        if name == "draft_message" and guard is not None:
            trace.event(
                "guard",
                {
                    "draft_id": getattr(result, "draft_id", None),
                    "verdict": guard.model_dump(mode="json"),
                },
            )
        trace.event("answer", {"text": summary, "stopped": "done"})
        return payload, trace.run_id

    # -- runs -------------------------------------------------------------------------------

    def list_runs(self, limit: int) -> list[dict[str, Any]]:
        """The most recent runs, newest first (``trace list --json``)."""
        return [r.model_dump(mode="json") for r in list_runs(self.settings.trace_dir, limit)]

    def show_run(self, run_id: str) -> dict[str, Any]:
        """One run's redacted events (``trace show --json``)."""
        run = load_run(self.settings.trace_dir, run_id)
        return {
            "run_id": run.run_id,
            "events": [e.model_dump(mode="json") for e in run.events],
            "problems": run.problems,
        }

    # -- the access trace -------------------------------------------------------------------

    def record_access(
        self,
        caller: Caller,
        method: str,
        path: str,
        status: int,
        duration_ms: float,
        run_id: str | None,
    ) -> None:
        """Append one call to the day's access trace (never raises: a call is not failed by it)."""
        base = self._base
        if base is None:
            return
        day = datetime.now(UTC).strftime("%Y%m%d")
        run = f"api-access-{day}"
        try:
            with self._access_lock:
                writer = self._access
                if writer is None or writer.run_id != run or not writer.path.exists():
                    writer = self._access = TraceWriter(
                        self.settings.trace_dir, base.redactor, run_id=run, fsync="never"
                    )
            data: dict[str, Any] = {
                "text": f"{method} {path} -> {status} ({caller.label})",
                "caller": caller.label,
                "method": method,
                "path": path,
                "status": status,
            }
            if run_id:
                data["run_id"] = run_id
            writer.event("request", data, duration_ms=duration_ms)
        except OSError as exc:
            logger.warning("could not record an API call in the access trace: %s", exc)
