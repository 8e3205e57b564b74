"""The MCP server (official ``mcp`` SDK): every tool of the registry, two resources and two prompts.

``python -m agent mcp`` serves it over stdio (for Claude Desktop, Cursor and other local
clients), ``python -m agent mcp --http`` over streamable HTTP at ``/mcp`` on
``AGENT_API_HOST:AGENT_MCP_PORT``, behind the same :class:`~agent.api.guard.AccessGuard` as the
API (keys, scopes, rate limit, size; keys required beyond loopback).

Built on the SDK's low-level ``Server`` so that every tool call goes through
``tools.registry.call_tool`` exactly as the CLI and the API do: the argument schema is the
registry's, a bad argument is an error naming it, and each call is traced as a run with the
caller (``mcp:stdio`` or ``mcp:<key name>``). Results are the tool's JSON, as structured
content and as text.

- **Tools**: those the caller's scopes allow (all of them over stdio).
- **Resources**: ``customer://{customer_id}/profile`` (``lookup_customer``'s result, traced)
  and ``run://{run_id}/trace`` (a run's redacted trace); the 20 most recent runs are listed.
- **Prompts**: ``plan_campaign`` and ``draft_for_segment`` (texts in ``prompts/mcp/``).
"""

from __future__ import annotations

import json
import logging
import re
import string
from typing import Any

import mcp.types as types
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError

from agent.api.keys import Caller, operator
from agent.api.problems import ProblemError, as_problem
from agent.api.service import TOOL_NAMES, AgentService
from agent.settings import PROMPTS_DIR

logger = logging.getLogger(__name__)

#: JSON-RPC error code of an unknown resource (the MCP specification's -32002).
RESOURCE_NOT_FOUND = -32002
CUSTOMER_URI = re.compile(r"^customer://(?P<id>[^/]{1,64})/profile$")
RUN_URI = re.compile(r"^run://(?P<id>[^/]{1,128})/trace$")
#: Longest value of a prompt argument (they are pasted into the prompt).
MAX_PROMPT_ARG = 200
_DECLARATION = re.compile(r"^<!--\s*variables:\s*(?P<names>[^>]*?)\s*-->\s*$")

PROMPTS: dict[str, tuple[str, list[types.PromptArgument], dict[str, str]]] = {
    "plan_campaign": (
        "Plan a campaign for a budget: who gets which channel and offer, expected return, "
        "exclusions and the fairness audit.",
        [
            types.PromptArgument(name="budget", description="e.g. $5,000", required=True),
            types.PromptArgument(name="channels", description="e.g. email and SMS"),
            types.PromptArgument(name="audience", description="e.g. at-risk customers"),
        ],
        {"channels": "email, SMS and push", "audience": "customers most likely to respond"},
    ),
    "draft_for_segment": (
        "Draft a message for the top customers of a segment, with recommended products and "
        "the copy guard's verdict.",
        [
            types.PromptArgument(name="segment", description="e.g. at_risk", required=True),
            types.PromptArgument(name="channel", description="email, sms or push", required=True),
            types.PromptArgument(name="goal", description="e.g. re-engage, win-back, promotion"),
            types.PromptArgument(name="count", description="how many customers (default 3)"),
        ],
        {"goal": "re-engage", "count": "3"},
    ),
}


def render_prompt(name: str, **values: str) -> str:
    """Render ``prompts/mcp/<name>.md`` with exactly its declared variables.

    The declaration line and ``${name}`` placeholders are those of every file under
    ``prompts/`` (``tests/tools/copy/test_templates.py`` renders them all strictly); this
    front end may not import the copy room, so it renders with ``string.Template`` here.

    Raises:
        ValueError: the variables given differ from the file's declaration.
    """
    text = (PROMPTS_DIR / "mcp" / f"{name}.md").read_text(encoding="utf-8")
    first, _, body = text.partition("\n")
    match = _DECLARATION.match(first)
    declared = {n.strip() for n in match["names"].split(",") if n.strip()} if match else set()
    if declared != set(values):
        raise ValueError(
            f"prompt {name}: variables {sorted(values)} differ from {sorted(declared)}"
        )
    return string.Template(body).substitute(values).strip()


def caller_of_context(ctx: ServerRequestContext[Any, Any]) -> Caller:
    """The caller of an MCP request: the key the guard found (HTTP), or the operator (stdio)."""
    request = ctx.request
    state = getattr(request, "state", None)
    caller = getattr(state, "caller", None) if state is not None else None
    return caller if isinstance(caller, Caller) else operator("mcp", "stdio")


#: Tools that write something (a saved plan, an export file, the shop's tables); the rest only read.
WRITING_TOOLS = frozenset({"optimize_campaign", "export_assignment", "read_out_campaign"})


def build_mcp_server(service: AgentService) -> Server[Any]:
    """The low-level MCP server over ``service``."""
    from tools.registry import args_model, describe_tool, load_tool_functions

    functions = load_tool_functions()
    tools = {
        name: types.Tool(
            name=name,
            description=describe_tool(func)[0],
            input_schema=args_model(func).model_json_schema(),
            annotations=types.ToolAnnotations(
                read_only_hint=name not in WRITING_TOOLS, open_world_hint=False
            ),
        )
        for name, func in functions.items()
    }

    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        caller = caller_of_context(ctx)
        return types.ListToolsResult(
            tools=[tools[n] for n in caller.allowed_tools(TOOL_NAMES)]
        )

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        caller = caller_of_context(ctx)
        try:
            payload, run_id = await service.call(
                service.call_tool, caller, params.name, dict(params.arguments or {})
            )
        except Exception as exc:  # every failure reaches the client as a tool error
            return _tool_error(as_problem(exc))
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=_dumps(payload))],
            structured_content=payload if isinstance(payload, dict) else {"result": payload},
            meta={"marketing-agent/run_id": run_id},
        )

    async def list_resource_templates(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(
            resource_templates=[
                types.ResourceTemplate(
                    name="customer_profile",
                    uri_template="customer://{customer_id}/profile",
                    description="A customer's profile: segment, value, churn risk, tastes, "
                    "consent (first name only; no contact details).",
                    mime_type="application/json",
                ),
                types.ResourceTemplate(
                    name="run_trace",
                    uri_template="run://{run_id}/trace",
                    description="The redacted trace of a run: request, tool calls, results, "
                    "guard verdicts and the answer.",
                    mime_type="application/json",
                ),
            ]
        )

    async def list_resources(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        if not caller_of_context(ctx).allows("read"):
            return types.ListResourcesResult(resources=[])
        runs = await service.call(service.list_runs, 20)
        return types.ListResourcesResult(
            resources=[
                types.Resource(
                    uri=f"run://{run['run_id']}/trace",
                    name=str(run["run_id"]),
                    description=str(run["request"]),
                    mime_type="application/json",
                )
                for run in runs
            ]
        )

    async def read_resource(
        ctx: ServerRequestContext[Any, Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        caller = caller_of_context(ctx)
        uri = str(params.uri)
        try:
            if match := CUSTOMER_URI.match(uri):
                args = {"customer_id": match["id"]}
                data, _ = await service.call(service.call_tool, caller, "lookup_customer", args)
            elif match := RUN_URI.match(uri):
                if not caller.allows("read"):
                    raise ProblemError(403, "missing-scope", "Missing scope", "needs 'read'")
                data = await service.call(service.show_run, match["id"])
            else:
                raise MCPError(
                    RESOURCE_NOT_FOUND,
                    f"no resource {uri!r}: use customer://ID/profile or run://RUN_ID/trace",
                )
        except MCPError:
            raise
        except Exception as exc:
            problem = as_problem(exc)
            code = RESOURCE_NOT_FOUND if problem.status == 404 else types.INVALID_PARAMS
            raise MCPError(code, f"{problem.title}: {problem.detail}") from None
        return types.ReadResourceResult(
            contents=[
                types.TextResourceContents(uri=uri, text=_dumps(data), mime_type="application/json")
            ]
        )

    async def list_prompts(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        return types.ListPromptsResult(
            prompts=[
                types.Prompt(name=name, description=description, arguments=arguments)
                for name, (description, arguments, _) in PROMPTS.items()
            ]
        )

    async def get_prompt(
        ctx: ServerRequestContext[Any, Any], params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        if params.name not in PROMPTS:
            raise MCPError(
                types.INVALID_PARAMS,
                f"no prompt {params.name!r}; prompts: {', '.join(PROMPTS)}",
            )
        description, arguments, defaults = PROMPTS[params.name]
        given = {k: str(v) for k, v in (params.arguments or {}).items()}
        known = {a.name for a in arguments}
        problems = [f"unknown argument {k!r}" for k in given if k not in known]
        problems += [
            f"{a.name} is required" for a in arguments if a.required and not given.get(a.name)
        ]
        problems += [
            f"{k} is longer than {MAX_PROMPT_ARG} characters"
            for k, v in given.items()
            if len(v) > MAX_PROMPT_ARG
        ]
        if problems:
            raise MCPError(types.INVALID_PARAMS, f"prompt {params.name}: {'; '.join(problems)}")
        values = {**defaults, **{k: v.strip() for k, v in given.items() if v.strip()}}
        text = render_prompt(params.name, **values)
        return types.GetPromptResult(
            description=description,
            messages=[
                types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))
            ],
        )

    return Server(
        "marketing-agent",
        version="1.0",
        title="Marketing assistant",
        instructions=render_prompt("instructions", shop_name=service.settings.shop_name),
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_resource_templates,
        on_read_resource=read_resource,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
    )


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)


def _tool_error(problem: ProblemError) -> types.CallToolResult:
    text = f"{problem.title}: {problem.detail}"
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        is_error=True,
        structured_content={
            "error": problem.slug, "status": problem.status, "detail": problem.detail
        },
    )
