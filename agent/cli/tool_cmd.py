"""``tool NAME 'JSON-ARGS'`` calls one tool directly; ``tool --list`` shows every tool.

The same validation as the agent's tool calls (``tools.call_tool``): arguments are checked
against the tool's schema, and a mistake is reported in one line naming the field.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import json
import sys
from typing import Any

from agent.cli.common import PathArg, fail, load_settings, print_json, run_guarded, to_jsonable
from tools.errors import ToolInputError


def register(groups: dict[str, Any]) -> None:
    """Add ``tool`` to the root group."""
    parser = groups["root"].add_parser(
        "tool",
        help="call one tool with JSON arguments, or list the tools",
        description=(
            "Call one tool with its arguments as a JSON object and print the result as JSON, "
            'e.g. python -m agent tool lookup_customer \'{"customer_id": "C00001"}\'. '
            "With --list, show every tool with its description and argument schema."
        ),
    )
    parser.add_argument("name", nargs="?", metavar="NAME", help="the tool's name (see --list)")
    parser.add_argument(
        "args_json",
        nargs="?",
        default="{}",
        metavar="JSON-ARGS",
        help="the arguments as one JSON object (default {})",
    )
    parser.add_argument("--list", action="store_true", help="list the tools and their arguments")
    parser.add_argument("--json", action="store_true", help="with --list: print one JSON object")
    parser.add_argument("--pretty", action="store_true", help="indent the JSON result")
    parser.add_argument("--data", type=PathArg("read", "dir", "--data"), metavar="DIR",
                        help="the shop's data directory")
    parser.set_defaults(func=run_guarded(cmd_tool))


def tool_names() -> list[str]:
    """Names of every registered tool, without importing their modules."""
    from tools.registry import TOOL_SPECS

    return [func for _, func in TOOL_SPECS]


def load_tools() -> dict[str, Any]:
    """Import every tool function, turning a missing or broken module into a clear error."""
    from tools.registry import TOOL_SPECS

    funcs: dict[str, Any] = {}
    for module_name, func_name in TOOL_SPECS:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ToolInputError(
                f"cannot load tool {func_name}: module {module_name} failed to import ({exc})"
            ) from exc
        if not hasattr(module, func_name):
            raise ToolInputError(f"cannot load tool {func_name}: {module_name} does not define it")
        funcs[func_name] = getattr(module, func_name)
    return funcs


def describe_tools() -> list[dict[str, Any]]:
    """Every tool's name, description and JSON argument schema, in the model's order."""
    from tools.registry import args_model, describe_tool

    out = []
    for name, func in load_tools().items():
        description, _ = describe_tool(func)
        out.append(
            {
                "name": name,
                "description": description,
                "schema": args_model(func).model_json_schema(),
            }
        )
    return out


def parse_args_json(text: str) -> dict[str, Any]:
    """Parse the JSON-ARGS argument; errors name the position and what was expected."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ToolInputError(
            f"JSON-ARGS is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno} "
            f'(character {exc.pos}); quote the whole object, e.g. \'{{"k": "v"}}\''
        ) from exc
    if not isinstance(value, dict):
        raise ToolInputError(
            f"JSON-ARGS must be a JSON object of argument names to values, "
            f"got {type(value).__name__}"
        )
    return value


def cmd_tool(args: argparse.Namespace) -> int:
    """Call a tool, or list them."""
    if args.list:
        tools = describe_tools()
        if args.json:
            print_json({"tools": tools})
            return 0
        for tool in tools:
            sys.stdout.write(f"{tool['name']}\n  {tool['description']}\n")
            schema = json.dumps(tool["schema"], ensure_ascii=False, indent=2)
            sys.stdout.write("  arguments: " + schema.replace("\n", "\n  ") + "\n\n")
        return 0
    if not args.name:
        return fail("name a tool (python -m agent tool NAME 'JSON-ARGS') or use --list")
    names = tool_names()
    if args.name not in names:
        close = difflib.get_close_matches(args.name, names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ToolInputError(f"unknown tool {args.name!r}{hint} (tools: {', '.join(names)})")
    call_args = parse_args_json(args.args_json)
    load_tools()  # a missing module is reported clearly before the call

    from tools.deps import ToolDeps
    from tools.registry import call_tool

    result = call_tool(ToolDeps(load_settings(args).tool_config()), args.name, call_args)
    payload = result.model_dump(mode="json") if hasattr(result, "model_dump") else result
    if args.pretty:
        sys.stdout.write(
            json.dumps(to_jsonable(payload), ensure_ascii=False, indent=2, default=str) + "\n"
        )
    else:
        print_json(payload)
    return 0
