"""Endpoints of the agent itself: health, ask (JSON and Server-Sent Events), tools and runs.

Each goes through the same code as the CLI: ``AgentRunner.run``/``stream`` (``ask``),
``tools.registry.call_tool`` (``tool``), ``agent.loop.trace`` (``trace list``/``show``).
"""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time, and
# they name dependencies local to the router builders.

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Security
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.sse import EventSourceResponse, ServerSentEvent

from agent.api.guard import caller_of, forbidden
from agent.api.keys import Caller
from agent.api.models import AskRequest
from agent.api.problems import ProblemError, as_problem, problem_body
from agent.api.service import AgentService
from agent.loop.runner import RunUpdate
from agent.loop.sessions import SESSION_ID
from agent.settings import Settings

ASK_EXAMPLE = {"text": "Tell me about C00042", "session": "crm-42"}


def encode(obj: Any) -> str:
    """JSON as the CLI prints it (non-ASCII kept, anything else as text)."""
    return json.dumps(obj, ensure_ascii=False, default=str)


class Encoded(str):
    """JSON text made on a worker thread (a large answer is not encoded on the event loop)."""


def json_response(
    obj: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response of ``obj`` (or of text :class:`Encoded` already)."""
    body = obj if isinstance(obj, Encoded) else encode(obj)
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def require(scope: str, doing: str) -> Callable[..., Caller]:
    """A FastAPI dependency: the request's caller, refused (403) without ``scope``.

    It also declares the bearer scheme, so the interactive docs offer to send a key.
    """
    bearer = HTTPBearer(auto_error=False, description="An API key (python -m agent api-key new)")

    def dependency(
        request: Request,
        _: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
    ) -> Caller:
        caller = caller_of(request.state)
        if not caller.allows(scope):
            raise forbidden(caller, scope, doing)
        return caller

    return dependency


def build_agent_router(service: AgentService, settings: Settings) -> APIRouter:
    """The routes of ``/healthz``, ``/readyz``, ``/v1/ask``, ``/v1/tools`` and ``/v1/runs``.

    Limits (request text, time per call) come from ``settings``, the app's own.
    """
    router = APIRouter()
    seconds = settings.api_timeout_s
    reading = require("read", "asking the agent and reading runs")

    def checked_ask(body: Annotated[AskRequest, Body(examples=[ASK_EXAMPLE])]) -> AskRequest:
        limit = settings.api_max_request_chars
        if len(body.text) > limit:
            raise ProblemError(
                413, "too-large", "Request too large",
                f"text: {len(body.text):,} characters, more than the {limit:,} allowed "
                "(AGENT_API_MAX_REQUEST_CHARS)",
            )  # fmt: skip
        if body.session is not None and not SESSION_ID.match(body.session):
            raise ProblemError(
                422, "invalid-session", "Invalid session",
                f"session: {body.session!r} must be 1-64 letters, digits, '.', '_' or '-'",
            )  # fmt: skip
        return body

    @router.get("/healthz", tags=["health"], summary="The process is up")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        tags=["health"],
        summary="The agent is built and its stores are warm (503 until then)",
        responses={503: {"description": "Starting, or the shop could not be loaded"}},
    )
    def readyz() -> Response:
        if service.ready:
            return json_response({"status": "ready", "started_at": service.started_at})
        if service.warmup_error is not None:
            detail = f"the agent could not start: {service.warmup_error}"
            return json_response(
                problem_body(503, "not-configured", "Not ready", detail, "/readyz"), 503
            )
        return json_response(
            problem_body(503, "starting", "Not ready", "the agent is still starting", "/readyz"),
            503,
        )

    @router.post(
        "/v1/ask",
        tags=["agent"],
        summary="Ask the agent; the same object as `ask --json`",
        description=(
            "Runs one request through the agent (the tools the key's scopes allow) and returns "
            "answer, run_id, session_id, provider, stopped, tool_calls, drafts and artifacts. "
            "The run's id is also in the X-Run-Id header."
        ),
    )
    async def ask(
        body: Annotated[AskRequest, Depends(checked_ask)],
        caller: Annotated[Caller, Depends(reading)],
    ) -> Response:
        def answer() -> tuple[Encoded, str]:
            result = service.ask(caller, body.text, body.session)
            return Encoded(encode(result)), str(result["run_id"])

        text, run_id = await service.call(answer, seconds=seconds)
        return json_response(text, headers={"X-Run-Id": run_id})

    @router.post(
        "/v1/ask/stream",
        tags=["agent"],
        response_class=EventSourceResponse,
        summary="Ask the agent, streaming each step as a Server-Sent Event",
        description=(
            "Events: `thinking`, `tool_call` and `tool_result` ({kind, text, call}) as they "
            "happen, then `result` (the object of POST /v1/ask), or `error` (a problem document)."
        ),
    )
    async def ask_stream(
        body: Annotated[AskRequest, Depends(checked_ask)],
        caller: Annotated[Caller, Depends(reading)],
    ) -> AsyncIterator[ServerSentEvent]:
        async for event in _stream_updates(service, caller, body, seconds):
            yield event

    @router.get("/v1/tools", tags=["tools"], summary="Every tool with its argument schema")
    def list_tools(request: Request) -> dict[str, Any]:
        return {"tools": service.describe_tools(caller_of(request.state))}

    @router.post(
        "/v1/tools/{name}",
        tags=["tools"],
        summary="Call one tool; the same JSON as `tool NAME 'ARGS'`",
        description=(
            "The body is the tool's arguments as one JSON object, validated like the CLI (an "
            "error names the argument). Needs `read`, or `draft` for draft_message and `plan` "
            "for optimize_campaign. The call is traced as a run (X-Run-Id)."
        ),
    )
    async def call_tool(
        request: Request,
        name: Annotated[str, Path(description="The tool, e.g. lookup_customer")],
        args: Annotated[
            dict[str, Any], Body(default_factory=dict, examples=[{"customer_id": "C00042"}])
        ],
    ) -> Response:
        caller = caller_of(request.state)
        service.check_tool(caller, name)
        def result() -> tuple[Encoded, str]:
            payload, run_id = service.call_tool(caller, name, args)
            return Encoded(encode(payload)), run_id

        text, run_id = await service.call(result, seconds=seconds)
        return json_response(text, headers={"X-Run-Id": run_id})

    @router.get("/v1/runs", tags=["runs"], summary="Recent runs, newest first (`trace list`)")
    async def list_runs(
        _: Annotated[Caller, Depends(reading)],
        limit: Annotated[int, Query(ge=1, le=1000, description="Runs to list")] = 20,
    ) -> Response:
        runs = await service.call(service.list_runs, limit, seconds=seconds)
        return json_response({"runs": runs})

    @router.get(
        "/v1/runs/{run_id}", tags=["runs"], summary="One run's redacted trace (`trace show`)"
    )
    async def show_run(
        _: Annotated[Caller, Depends(reading)],
        run_id: Annotated[str, Path(description="e.g. r20250101-120000-123-a1b2c3")],
    ) -> Response:
        return json_response(await service.call(service.show_run, run_id, seconds=seconds))

    return router


def _update_event(update: RunUpdate) -> ServerSentEvent:
    if update.result is not None:
        return ServerSentEvent(event="result", data=update.result.to_json())
    call = update.call.model_dump(mode="json") if update.call is not None else None
    return ServerSentEvent(
        event=update.kind, data={"kind": update.kind, "text": update.text, "call": call}
    )


async def _stream_updates(
    service: AgentService, caller: Caller, body: AskRequest, seconds: float
) -> AsyncIterator[ServerSentEvent]:
    """Run the request on a worker thread and hand its steps over as they happen."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def put(item: tuple[str, Any]) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is gone: the run still finishes and is traced
            pass

    def produce() -> None:
        try:
            for update in service.ask_stream(caller, body.text, body.session):
                put(("update", update))
        except Exception as exc:
            put(("error", exc))
        finally:
            put(("end", None))

    service.executor.submit(produce)
    deadline = loop.time() + seconds
    while True:
        try:
            kind, item = await asyncio.wait_for(queue.get(), max(0.0, deadline - loop.time()))
        except TimeoutError:
            detail = f"the call took longer than {seconds:g} s (AGENT_API_TIMEOUT_S)"
            timed_out = problem_body(504, "timeout", "Took too long", detail)
            yield ServerSentEvent(event="error", data=timed_out)
            return
        if kind == "end":
            return
        if kind == "error":
            problem = as_problem(item)
            yield ServerSentEvent(
                event="error",
                data=problem_body(problem.status, problem.slug, problem.title, problem.detail),
            )
            continue
        yield _update_event(item)
