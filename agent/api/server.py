"""Starting the servers: the start-up check, uvicorn for the API, stdio or HTTP for MCP.

A server that binds beyond loopback without any API key configured is refused before it
starts (the chat app does the same without logins): anyone on the network could use it.
"""

from __future__ import annotations

import logging
from typing import Any

from agent.api.guard import AccessGuard, is_loopback
from agent.api.keys import KeyRing
from agent.api.mcp_server import build_mcp_server
from agent.api.service import AgentService
from agent.settings import Settings

logger = logging.getLogger(__name__)


def bind_refusal(host: str, keys: KeyRing, what: str = "the API") -> str | None:
    """Why serving ``what`` on ``host`` is refused, or ``None`` when it is allowed."""
    if is_loopback(host) or keys.enabled:
        return None
    return (
        f"refusing to serve {what} on {host!r} without API keys: anyone on the network could "
        "use it. Create a key (python -m agent api-key new NAME --scopes read) and set "
        "AGENT_API_KEYS, or bind to 127.0.0.1 (AGENT_API_HOST)."
    )


def serve_api(host: str, port: int, workers: int) -> None:
    """Run the HTTP API with uvicorn until interrupted.

    Each worker builds the app from the environment's settings (``create_app_from_env``).
    """
    import uvicorn

    uvicorn.run(
        "agent.api.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        ws="none",
        server_header=False,
        log_level="info",
        timeout_graceful_shutdown=10,
    )


def build_mcp_http_app(service: AgentService, host: str) -> Any:
    """The MCP server over streamable HTTP at ``/mcp`` (with ``/healthz``), behind the guard."""
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "ready": service.ready})

    settings = service.settings
    app = build_mcp_server(service).streamable_http_app(
        streamable_http_path="/mcp",
        host=host,
        max_request_body_size=settings.api_max_body_bytes,
        custom_starlette_routes=[Route("/healthz", healthz, methods=["GET"])],
    )
    return AccessGuard(
        app,
        keys=service.keys,
        via="mcp",
        rate_per_minute=settings.api_rate_per_minute,
        max_body_bytes=settings.api_max_body_bytes,
        on_done=service.record_access,
        public_paths={"/healthz"},
    )


def serve_mcp_http(settings: Settings, host: str, port: int) -> None:
    """Run the MCP server over streamable HTTP until interrupted."""
    import uvicorn

    service = AgentService(settings)
    service.start()
    try:
        uvicorn.run(
            build_mcp_http_app(service, host),
            host=host,
            port=port,
            ws="none",
            server_header=False,
            log_level="info",
            timeout_graceful_shutdown=10,
        )
    finally:
        service.close()


async def run_mcp_stdio(settings: Settings) -> None:
    """Serve MCP over this process's stdin and stdout until the client closes them.

    While it serves, anything else written to stdout goes to stderr (the SDK diverts the
    descriptor), so stray output cannot corrupt the protocol.
    """
    from mcp.server.stdio import stdio_server

    service = AgentService(settings)
    server = build_mcp_server(service)
    try:
        async with stdio_server() as (read, write):
            service.start()
            await server.run(read, write, server.create_initialization_options())
    finally:
        service.close()
