"""``python -m agent ask "TEXT" [--json] [--session ID]``: one request through the agent."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agent.cli.common import PathArg, fail, load_settings, print_json, run_guarded


def register(groups: dict[str, Any]) -> None:
    """Add the ``ask`` command."""
    parser = groups["root"].add_parser(
        "ask",
        help="ask the agent in plain English or Chinese",
        description=(
            "Send one request to the agent (offline model by default; set AGENT_PROVIDER=openai "
            "and AGENT_OPENAI_BASE_URL for an OpenAI-compatible server). Prints the answer and "
            "the tool steps; --json prints one object with answer, run_id, tool_calls, drafts "
            "and artifacts. A request over AGENT_MAX_REQUEST_BYTES (8 KB) is refused (exit "
            "code 2)."
        ),
    )
    parser.add_argument("text", help='the request, e.g. "Tell me about C00042"')
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--session", help="continue a conversation (any id; follow-ups reuse its results)"
    )
    parser.add_argument("--data", type=PathArg("read", "dir", "--data"), metavar="DIR",
                        help="shop data directory (default: AGENT_DATA_DIR or demo)")
    parser.set_defaults(func=run_guarded(run_ask))


def run_ask(args: argparse.Namespace) -> int:
    """Run the request and print the result."""
    from agent.loop.limits import LimitError
    from agent.loop.llm import ModelConfigError
    from agent.loop.runner import AgentRunner
    from agent.loop.sessions import SessionError
    from tools.errors import DataNotFoundError, DataValidationError

    try:
        runner = AgentRunner(load_settings(args))
        result = runner.run(args.text, session=args.session)
    except (
        LimitError, ModelConfigError, SessionError, DataNotFoundError, DataValidationError
    ) as exc:
        return fail(str(exc))
    if args.json:
        print_json(result.to_json())
        return 0
    out = sys.stdout
    for call in result.tool_calls:
        status = "ok" if call.ok else f"error: {call.error}"
        out.write(f"[step] {call.name}({_short(call.args)}) -> {call.summary or status}\n")
    out.write("\n" + result.answer + "\n")
    out.write(f"\n(run {result.run_id}; session {result.session_id}; ")
    out.write(f"see `python -m agent trace show {result.run_id}`)\n")
    return 0


def _short(args: dict[str, Any]) -> str:
    text = ", ".join(f"{k}={v!r}" for k, v in args.items())
    return text if len(text) <= 100 else text[:97] + "..."
