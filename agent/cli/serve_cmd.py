"""``serve`` (the HTTP API), ``mcp [--http]`` (the MCP server) and ``api-key new`` (a key).

- ``python -m agent serve [--host H] [--port P] [--workers N]`` runs the API on uvicorn
  (defaults: ``AGENT_API_HOST``, ``AGENT_API_PORT``, ``AGENT_API_WORKERS``).
- ``python -m agent mcp`` serves MCP over stdio; ``--http`` over streamable HTTP at
  ``http://HOST:PORT/mcp`` (``AGENT_API_HOST``, ``AGENT_MCP_PORT``).
- ``python -m agent api-key new NAME --scopes read,draft`` makes a key, prints it once and
  prints ``AGENT_API_KEYS`` with it added (only its hash is ever stored).

A host beyond loopback without any key configured is refused (exit code 2).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from agent.cli.common import PathArg, fail, load_settings
from agent.settings import API_SCOPES, Settings

# The servers (FastAPI, uvicorn, the MCP SDK, the agent) are imported by the commands that
# run them, so that every other command starts as fast as before.


def register(groups: dict[str, Any]) -> None:
    """Add ``serve``, ``mcp`` and ``api-key`` to the root group."""
    root = groups["root"]
    serve = root.add_parser(
        "serve",
        help="run the HTTP API (FastAPI on uvicorn)",
        description=(
            "Serve the HTTP API: /v1/ask (JSON or Server-Sent Events), /v1/tools, /v1/runs, "
            "/v1/batches, /v1/customers/{id}/export and DELETE /v1/customers/{id}, /healthz and "
            "/readyz; the OpenAPI document at /openapi.json, docs at /docs. Keys come from "
            "AGENT_API_KEYS and are required beyond loopback."
        ),
    )
    serve.add_argument("--host", help="address to bind (default AGENT_API_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default AGENT_API_PORT, 8000)")
    serve.add_argument("--workers", type=int, help="worker processes (default AGENT_API_WORKERS)")
    serve.add_argument("--data", type=PathArg("read", "dir", "--data"), metavar="DIR",
                       help="shop data directory (default: AGENT_DATA_DIR or demo)")
    serve.set_defaults(func=cmd_serve)

    mcp = root.add_parser(
        "mcp",
        help="run the MCP server (stdio, or streamable HTTP with --http)",
        description=(
            "Serve the tools, a customer-profile and a run-trace resource, and the "
            "plan_campaign and draft_for_segment prompts over the Model Context Protocol: on "
            "stdin/stdout (for Claude Desktop and other local clients) or, with --http, at "
            "http://HOST:PORT/mcp (keys from AGENT_API_KEYS, required beyond loopback)."
        ),
    )
    mcp.add_argument("--http", action="store_true", help="serve streamable HTTP, not stdio")
    mcp.add_argument("--host", help="with --http: address (default AGENT_API_HOST)")
    mcp.add_argument("--port", type=int, help="with --http: port (default AGENT_MCP_PORT, 8001)")
    mcp.add_argument("--data", type=PathArg("read", "dir", "--data"), metavar="DIR",
                     help="shop data directory (default: AGENT_DATA_DIR or demo)")
    mcp.set_defaults(func=cmd_mcp)

    key = root.add_parser("api-key", help="make an API key for the API and MCP servers")
    key_sub = key.add_subparsers(dest="key_command", metavar="SUBCOMMAND", required=True)
    new = key_sub.add_parser(
        "new",
        help="make a key: print it once, and AGENT_API_KEYS with its hash added",
        description=(
            "Make a random API key with a name and scopes. The key is printed once (give it to "
            "the caller); the server keeps only its SHA-256, in AGENT_API_KEYS, which is "
            "printed with the new key added to the keys already configured."
        ),
    )
    new.add_argument("name", help="who uses the key, e.g. crm (letters, digits, . _ -)")
    new.add_argument(
        "--scopes",
        default="read",
        help=f"comma-separated: {', '.join(API_SCOPES)} (default read)",
    )
    new.add_argument("--json", action="store_true", help='print {"key", "name", "api_keys"}')
    new.set_defaults(func=cmd_key_new)


def _settings_and_keys(args: argparse.Namespace) -> tuple[Settings, Any] | str:
    """The settings and their key ring, or the message of what is wrong with them."""
    from pydantic import ValidationError

    from agent.api.keys import ApiConfigError, KeyRing

    try:
        settings = load_settings(args)
        return settings, KeyRing(settings.api_keys)
    except ValidationError as exc:
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {str(e['msg']).removeprefix('Value error, ')}"
            for e in exc.errors(include_input=False)
        )
    except ApiConfigError as exc:
        return str(exc)


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the HTTP API."""
    from agent.api.server import bind_refusal, serve_api

    loaded = _settings_and_keys(args)
    if isinstance(loaded, str):
        return fail(loaded)
    settings, keys = loaded
    host = args.host or settings.api_host
    port = settings.api_port if args.port is None else args.port
    workers = args.workers or settings.api_workers
    refusal = bind_refusal(host, keys)
    if refusal:
        return fail(refusal)
    if args.data:  # the app is built from the environment in each worker process
        os.environ["AGENT_DATA_DIR"] = str(settings.data_dir)
    serve_api(host, port, workers)
    return 0


def cmd_mcp(args: argparse.Namespace) -> int:
    """Run the MCP server."""
    import anyio

    from agent.api.server import bind_refusal, run_mcp_stdio, serve_mcp_http

    loaded = _settings_and_keys(args)
    if isinstance(loaded, str):
        return fail(loaded)
    settings, keys = loaded
    if not args.http:
        anyio.run(run_mcp_stdio, settings)
        return 0
    host = args.host or settings.api_host
    port = settings.mcp_port if args.port is None else args.port
    refusal = bind_refusal(host, keys, "the MCP server")
    if refusal:
        return fail(refusal)
    serve_mcp_http(settings, host, port)
    return 0


def cmd_key_new(args: argparse.Namespace) -> int:
    """Make a key and print it with the settings that hold its hash."""
    from pydantic import ValidationError

    from agent.api.keys import hash_key, new_key
    from agent.settings import ApiKeySpec

    scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
    unknown = [s for s in scopes if s not in API_SCOPES]
    if unknown or not scopes:
        return fail(f"--scopes: use {', '.join(API_SCOPES)} (got {args.scopes!r})")
    key = new_key()
    try:
        existing = Settings().api_keys
        if args.name in existing:
            return fail(f"a key named {args.name!r} exists already; pick another name")
        spec = ApiKeySpec.model_validate({"hash": hash_key(key), "scopes": scopes})
        keys = {**existing, args.name: spec}
        Settings(api_keys=keys)  # the name is checked like the settings check it
    except ValidationError as exc:
        return fail(str(exc.errors()[0]["msg"]).removeprefix("Value error, "))
    value = json.dumps({n: s.model_dump() for n, s in keys.items()})
    if args.json:
        sys.stdout.write(json.dumps({"key": key, "name": args.name, "api_keys": value}) + "\n")
        return 0
    sys.stdout.write(
        f"key for {args.name} ({', '.join(scopes)}), shown once; give it to the caller:\n"
        f"  {key}\n"
        f"AGENT_API_KEYS with its hash added to the {len(existing)} key(s) configured now; "
        "set it where the server reads its settings (environment or .env):\n"
        f"  AGENT_API_KEYS='{value}'\n"
    )
    return 0
