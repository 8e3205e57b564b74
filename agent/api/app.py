"""The HTTP API: ``create_app(settings)`` builds the FastAPI app (``python -m agent serve``).

Its OpenAPI document is at ``/openapi.json``, interactive docs at ``/docs`` and ``/redoc``
(Swagger UI and ReDoc served from the ``fastapi-offline`` package: nothing from a CDN). The
app is wrapped in :class:`~agent.api.guard.AccessGuard` (keys, rate limit, size, the access
trace).
At start-up the agent is built in the background (``/readyz`` turns 200 when it is warm),
then unfinished batch jobs are resumed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from agent.api.batches import BatchManager
from agent.api.guard import DOCS_STATIC, AccessGuard
from agent.api.keys import KeyRing
from agent.api.problems import install_problem_handlers
from agent.api.routes_agent import build_agent_router
from agent.api.routes_data import build_data_router
from agent.api.service import AgentService
from agent.settings import Settings

DESCRIPTION = """
The marketing assistant over HTTP: ask the agent (JSON or Server-Sent Events), call its
tools, read the redacted trace of any run, draft for a whole audience, and export or erase
a customer's data.

Send an API key as `Authorization: Bearer <key>` (or `X-API-Key`). Keys have scopes:
`read` (ask, reading tools, runs, batch progress and drafts), `draft` (draft_message,
batches), `plan` (optimize_campaign), `admin` (export, erase). Errors are
`application/problem+json` (RFC 9457). No request names a file path.
"""


def create_app(settings: Settings, *, service: AgentService | None = None) -> FastAPI:
    """The API app over ``settings``, on its own :class:`AgentService` or on ``service``.

    The guard's limits come from ``settings``; a service passed in is shared (started if it
    is not yet, and left running when the app stops).

    Raises:
        ApiConfigError: the configured keys are inconsistent (two names, one key).
    """
    owned = service is None
    agent = service or AgentService(settings)
    batches = BatchManager(settings, lambda: agent.base_runner().deps)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        agent.start(on_ready=batches.resume_unfinished)
        yield
        batches.close()
        if owned:
            agent.close()

    app: FastAPI = FastAPIOffline(
        static_url=DOCS_STATIC,
        title="Marketing assistant API",
        version="1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    app.include_router(build_agent_router(agent, settings))
    app.include_router(build_data_router(agent, batches, settings))
    app.add_middleware(
        AccessGuard,
        keys=KeyRing(settings.api_keys),
        via="api",
        rate_per_minute=settings.api_rate_per_minute,
        max_body_bytes=settings.api_max_body_bytes,
        on_done=agent.record_access,
    )
    app.state.service = agent
    app.state.batches = batches
    return app


def create_app_from_env() -> FastAPI:
    """The app over ``Settings()`` from the environment (uvicorn's factory, for workers)."""
    return create_app(Settings())
