"""Programmatic access: the HTTP API (FastAPI on uvicorn) and the MCP server.

Both are front ends like the chat app: they reach the domain only through
``agent.loop.runner.AgentRunner`` and ``tools.registry`` (plus ``agent.batch`` and
``agent.privacy`` for batches and data rights), through one :class:`~agent.api.service.
AgentService`. ``python -m agent serve`` starts the API, ``python -m agent mcp [--http]`` the
MCP server. Modules: ``keys`` (API keys and scopes), ``guard`` (the ASGI middleware that
authenticates, limits and records every call), ``problems`` (RFC 9457 errors), ``service`` (the
shared core), ``batches`` (batch jobs that survive a restart), ``models`` (request bodies),
``app`` and ``routes_*`` (the FastAPI app), ``mcp_server`` (the MCP server), ``server``
(start-up checks and uvicorn).
"""
