"""The MCP server through the SDK's own client, over stdio and over streamable HTTP.

Over stdio it is a real ``python -m agent mcp`` process, as Claude Desktop starts it; over HTTP
the live server, with keys.

Tool results must be the CLI's (``python -m agent tool NAME ARGS``) on the same shop.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from agent.__main__ import main
from agent.api.service import TOOL_NAMES
from tests.agent.conftest import Live
from tests.api_servers import ROOT, agent_env, fresh_state

#: Calls whose results are compared with the CLI's.
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("lookup_customer", {"customer_id": "C00042"}),
    (
        "optimize_campaign",
        {
            "budget": 3000,
            "channels": [{"channel": "email"}, {"channel": "sms"}],
            "audience": {"segments": ["at_risk"]},
        },
    ),
    ("draft_message", {"customer_id": "C00003", "channel": "sms", "goal": "win-back"}),
]
#: Fields that differ between two calls with the same arguments (a draft's id and clock, the
#: solver's time).
VOLATILE = ("draft_id", "created_at", "seconds")


def stable(value: Any) -> Any:
    """``value`` without the fields that differ between two identical calls."""
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def cli_result(name: str, args: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> Any:
    capsys.readouterr()
    assert main(["tool", name, json.dumps(args)]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def stdio_session(warm: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Everything one stdio client session saw, and the server's state directory."""
    state = fresh_state(tmp_path_factory.mktemp("mcp-stdio"), warm)
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "agent", "mcp"], env=agent_env(state), cwd=str(ROOT)
    )

    async def session() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with Client(params, read_timeout_seconds=600) as client:
            seen["instructions"] = client.instructions
            seen["tools"] = (await client.list_tools()).tools
            seen["calls"] = [await client.call_tool(n, a) for n, a in CALLS]
            seen["bad"] = await client.call_tool("recommend_products", {"customer_id": "C00003",
                                                                        "k": "lots"})
            seen["unknown"] = await client.call_tool("lookup_customr", {"customer_id": "C00042"})
            seen["templates"] = (await client.list_resource_templates()).resource_templates
            seen["profile"] = await client.read_resource("customer://C00042/profile")
            runs = (await client.list_resources()).resources
            seen["runs"] = runs
            seen["trace"] = await client.read_resource(str(runs[0].uri))
            with pytest.raises(MCPError) as missing:
                await client.read_resource("run://r20000101-000000-000-000000/trace")
            seen["missing_run"] = missing.value
            seen["prompts"] = (await client.list_prompts()).prompts
            seen["prompt"] = await client.get_prompt(
                "draft_for_segment", {"segment": "at_risk", "channel": "sms"}
            )
            with pytest.raises(MCPError) as no_budget:
                await client.get_prompt("plan_campaign", {})
            seen["no_budget"] = no_budget.value
        return seen

    seen = anyio.run(session)
    seen["state"] = state
    return seen


def test_stdio_lists_every_tool_with_its_schema(stdio_session: dict[str, Any]) -> None:
    tools = stdio_session["tools"]
    assert [t.name for t in tools] == list(TOOL_NAMES)
    lookup = tools[0].input_schema
    assert lookup["required"] == ["customer_id"] and "customer_id" in lookup["properties"]
    writing = {t.name for t in tools if not t.annotations.read_only_hint}
    assert writing == {"optimize_campaign", "export_assignment", "read_out_campaign"}
    assert "first name" in stdio_session["instructions"]


def test_stdio_tool_results_are_the_cli_s(
    stdio_session: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AGENT_STATE_DIR", str(stdio_session["state"]))
    monkeypatch.setenv("AGENT_DATA_DIR", str(ROOT / "data" / "demo"))
    for (name, args), result in zip(CALLS, stdio_session["calls"], strict=True):
        assert not result.is_error, result.content
        assert json.loads(result.content[0].text) == result.structured_content
        assert stable(result.structured_content) == stable(cli_result(name, args, capsys)), name
    plan = stdio_session["calls"][1].structured_content
    assert plan["selected"] and plan["fairness"]  # a real plan, with its audit


def test_stdio_errors_name_the_argument_or_the_tool(stdio_session: dict[str, Any]) -> None:
    bad, unknown = stdio_session["bad"], stdio_session["unknown"]
    assert bad.is_error and "k:" in bad.content[0].text
    assert unknown.is_error and "did you mean lookup_customer" in unknown.content[0].text


def test_stdio_resources_and_prompts(stdio_session: dict[str, Any]) -> None:
    assert {t.uri_template for t in stdio_session["templates"]} == {
        "customer://{customer_id}/profile", "run://{run_id}/trace",
    }  # fmt: skip
    profile = json.loads(stdio_session["profile"].contents[0].text)
    assert profile == stdio_session["calls"][0].structured_content
    trace = json.loads(stdio_session["trace"].contents[0].text)
    assert trace["events"][0]["data"]["caller"] == "mcp:stdio"
    assert "no trace" in str(stdio_session["missing_run"])
    assert {p.name for p in stdio_session["prompts"]} == {"plan_campaign", "draft_for_segment"}
    text = stdio_session["prompt"].messages[0].content.text
    assert "at_risk" in text and "draft_message" in text and "${" not in text
    assert "budget is required" in str(stdio_session["no_budget"])


def test_stdio_calls_are_traced_with_the_caller(stdio_session: dict[str, Any]) -> None:
    traces = sorted((stdio_session["state"] / "traces").glob("r*.jsonl"))
    requests = [json.loads(p.read_text("utf-8").splitlines()[0])["data"] for p in traces]
    tools = [r["text"] for r in requests if r.get("caller") == "mcp:stdio"]
    assert {f"tool {name}" for name, _ in CALLS} <= set(tools)


# --------------------------------------------------------------------------- over HTTP


async def _http_session(live: Live, key: str | None) -> dict[str, Any]:
    headers = live.keys[key].headers if key else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=300) as http,
        Client(streamable_http_client(live.mcp, http_client=http), read_timeout_seconds=300)
        as client,
    ):
        tools = [t.name for t in (await client.list_tools()).tools]
        lookup = await client.call_tool("lookup_customer", {"customer_id": "C00042"})
        draft = await client.call_tool("draft_message", {"customer_id": "C00003", "channel": "sms"})
        return {"tools": tools, "lookup": lookup, "draft": draft}


def test_http_serves_each_key_the_tools_of_its_scopes(live: Live) -> None:
    writer = anyio.run(_http_session, live, "writer")
    reader = anyio.run(_http_session, live, "reader")
    assert writer["tools"] == list(TOOL_NAMES)
    planning = ("draft_message", "optimize_campaign", "export_assignment", "read_out_campaign")
    assert reader["tools"] == [n for n in TOOL_NAMES if n not in planning]
    assert not writer["draft"].is_error and writer["draft"].structured_content["channel"] == "sms"
    assert reader["draft"].is_error and "'draft' scope" in reader["draft"].content[0].text
    with live.client("reader") as api:
        over_api = api.post("/v1/tools/lookup_customer", json={"customer_id": "C00042"}).json()
    assert writer["lookup"].structured_content == reader["lookup"].structured_content == over_api


def test_http_refuses_a_client_without_a_key(live: Live) -> None:
    hello = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    with httpx2.Client(timeout=60) as http:
        refused = http.post(live.mcp, json=hello)
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
    assert refused.json()["type"].endswith(":unauthenticated")
    with pytest.raises((MCPError, ExceptionGroup)):
        anyio.run(_http_session, live, None)
