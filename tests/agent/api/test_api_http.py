"""The HTTP API on a real uvicorn server on loopback, driven by httpx as a client would.

Answers are compared with the CLI's (``ask --json``, ``tool NAME ARGS``) run in this process on
the same shop; errors must be problem documents naming what is wrong; keys, scopes and limits
must refuse what they refuse.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from httpx_sse import connect_sse

from agent.__main__ import main
from agent.api.app import create_app
from agent.settings import Settings
from tests.agent.conftest import Live
from tests.conftest import DEMO_DIR

PROBLEM = "application/problem+json"
#: Fields that differ between two runs of the same request (ids and clocks).
VOLATILE = frozenset({"run_id", "session_id", "draft_id", "created_at"})


def stable(value: Any) -> Any:
    """``value`` without the fields that differ between two identical runs."""
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def assert_problem(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    """The response is a problem document of ``status`` whose detail has every word."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"].startswith("urn:marketing-agent:problem:")
    assert body["title"] and "Traceback" not in response.text
    for word in words:
        assert word in body["detail"], (word, body["detail"])
    return body


def cli_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> Any:
    capsys.readouterr()
    assert main(args) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.fixture
def cli_env(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI in this process on the servers' shop and state."""
    for key in ("AGENT_PROVIDER", "AGENT_API_KEYS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AGENT_DATA_DIR", str(live.settings.data_dir))
    monkeypatch.setenv("AGENT_STATE_DIR", str(live.settings.state_dir))


# --------------------------------------------------------------------------- documents


def test_openapi_document_lists_every_endpoint_and_the_key_scheme(live: Live) -> None:
    with live.client(None) as client:
        doc = client.get("/openapi.json").json()
        docs = client.get("/docs")
        script = client.get("/docs-static/swagger-ui-bundle.js")
        redoc = client.get("/redoc")
    assert set(doc["paths"]) >= {
        "/v1/ask", "/v1/ask/stream", "/v1/tools", "/v1/tools/{name}", "/v1/runs",
        "/v1/runs/{run_id}", "/v1/batches", "/v1/batches/{job_id}",
        "/v1/batches/{job_id}/drafts", "/v1/customers/{customer_id}/export",
        "/v1/customers/{customer_id}", "/healthz", "/readyz",
    }  # fmt: skip
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "delete" in doc["paths"]["/v1/customers/{customer_id}"]
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    # Offline: the pages load their scripts from this server, never from a CDN.
    assert "cdn." not in docs.text and "/docs-static/swagger-ui-bundle.js" in docs.text
    assert script.status_code == 200 and len(script.content) > 100_000
    assert redoc.status_code == 200 and "cdn." not in redoc.text


def test_health_and_readiness_need_no_key(live: Live) -> None:
    with live.client(None) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json()["status"] == "ready"


# --------------------------------------------------------------------------- ask


def test_ask_returns_the_object_of_ask_json(
    live: Live, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "给 C00002 写一条短信"
    with live.client("writer") as client:
        response = client.post("/v1/ask", json={"text": text})
    assert response.status_code == 200
    body = response.json()
    assert response.headers["x-run-id"] == body["run_id"]
    cli = cli_json(["ask", text, "--json"], capsys)
    assert stable(body) == stable(cli)
    assert [c["name"] for c in body["tool_calls"]] == ["recommend_products", "draft_message"]
    assert body["drafts"][0]["channel"] == "sms" and body["drafts"][0]["guard"]["passed"]


def test_a_session_carries_a_follow_up_across_calls(live: Live) -> None:
    with live.client("writer") as client:
        first = client.post(
            "/v1/ask", json={"text": "How many loyal customers like running?", "session": "api-s1"}
        ).json()
        second = client.post(
            "/v1/ask", json={"text": "and draft them an SMS", "session": "api-s1"}
        ).json()
    assert [c["name"] for c in first["tool_calls"]] == ["find_customers"]
    assert second["session_id"] == "api-s1"
    assert second["drafts"] and {d["channel"] for d in second["drafts"]} == {"sms"}


def test_a_bad_session_id_is_a_problem_naming_the_session(live: Live) -> None:
    with live.client("reader") as client:
        response = client.post("/v1/ask", json={"text": "hello", "session": "../../etc"})
    assert_problem(response, 422, "session")


def test_the_stream_sends_each_step_before_the_result(live: Live) -> None:
    with (
        live.client("writer") as client,
        connect_sse(client, "POST", "/v1/ask/stream", json={"text": "Draft an SMS for C00003"})
        as source,
    ):
        assert source.response.headers["content-type"].startswith("text/event-stream")
        events = [(e.event, e.json()) for e in source.iter_sse()]
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "result" and kinds.count("result") == 1
    result = events[-1][1]
    started = [d["call"]["name"] for k, d in events if k == "tool_call"]
    finished = [d["call"]["name"] for k, d in events if k == "tool_result"]
    assert started == finished == [c["name"] for c in result["tool_calls"]]
    assert started == ["recommend_products", "draft_message"]
    assert kinds.index("tool_call") < kinds.index("tool_result") < len(kinds) - 1
    assert result["drafts"][0]["customer_id"] == "C00003"


# --------------------------------------------------------------------------- tools and runs


def test_tool_results_are_the_cli_s(
    live: Live, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = [
        ("search_products", {"query": "waterproof hiking backpack", "k": 5}),
        ("find_customers", {"filter": {"segments": ["at_risk"], "categories": ["outdoor_gear"]}}),
        ("recommend_products", {"customer_id": "C00003", "k": 4}),
    ]
    with live.client("reader") as client:
        for name, args in calls:
            response = client.post(f"/v1/tools/{name}", json=args)
            assert response.status_code == 200, response.text
            assert response.headers["x-run-id"].startswith("r")
            assert response.json() == cli_json(["tool", name, json.dumps(args)], capsys), name


def test_tool_errors_name_the_argument(live: Live) -> None:
    with live.client("reader") as client:
        assert_problem(client.post("/v1/tools/lookup_customer", json={}), 422, "customer_id")
        assert_problem(
            client.post("/v1/tools/recommend_products", json={"customer_id": "C00003", "k": "x"}),
            422, "k",
        )  # fmt: skip
        assert_problem(
            client.post("/v1/tools/lookup_customer", json={"customer_id": "C99999"}),
            422, "C99999",
        )  # fmt: skip
        assert_problem(client.post("/v1/tools/lookup_custmer", json={}), 404, "lookup_customer")
        body = assert_problem(client.post("/v1/tools/lookup_customer", json=[1]), 422)
        assert body["errors"][0]["field"] == "body"
        assert_problem(client.get("/v1/no-such-thing"), 404, "/v1/no-such-thing")


def test_runs_show_the_caller_by_key_name_and_never_the_key(live: Live) -> None:
    with live.client("writer") as client:
        run_id = client.post("/v1/ask", json={"text": "Tell me about C00042"}).json()["run_id"]
        runs = client.get("/v1/runs", params={"limit": 50}).json()["runs"]
        listed = [r["run_id"] for r in runs]
        run = client.get(f"/v1/runs/{run_id}").json()
        tool_run = client.post("/v1/tools/lookup_customer", json={"customer_id": "C00042"})
        tool_trace = client.get(f"/v1/runs/{tool_run.headers['x-run-id']}").json()
        assert_problem(client.get("/v1/runs/r20000101-000000-000-000000"), 404, "no trace")
        assert_problem(client.get("/v1/runs/bad%20id!"), 422, "invalid run id")
    assert run_id in listed
    assert run["events"][0]["data"]["caller"] == "api:writer"
    assert [e["kind"] for e in tool_trace["events"]] == [
        "request", "tool_call", "tool_result", "answer",
    ]  # fmt: skip
    assert tool_trace["events"][0]["data"]["caller"] == "api:writer"
    day = datetime.now(UTC).strftime("%Y%m%d")
    access = Path(live.settings.trace_dir, f"api-access-{day}.jsonl").read_text("utf-8")
    assert f"GET /v1/runs/{run_id} -> 200 (api:writer)" in access
    assert f'"run_id": "{run_id}"' in access.replace('":"', '": "')  # the ask's access event
    stored = "\n".join(
        p.read_text("utf-8", errors="replace") for p in live.settings.state_dir.rglob("*.json*")
    )
    for key in live.keys.values():
        assert key.secret not in stored


# --------------------------------------------------------------------------- access


def test_a_key_is_required_and_checked(live: Live) -> None:
    with httpx.Client(base_url=live.api, timeout=60) as client:
        missing = client.post("/v1/ask", json={"text": "Tell me about C00042"})
        wrong = client.get("/v1/runs", headers={"Authorization": "Bearer sk-mkt-not-a-key"})
        by_header = client.get("/v1/runs", headers={"X-API-Key": live.keys["reader"].secret})
    assert_problem(missing, 401, "Bearer")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert_problem(wrong, 401)
    assert by_header.status_code == 200


def test_scopes_limit_what_a_key_may_do(live: Live) -> None:
    with live.client("reader") as reader, live.client("planner") as planner:
        draft = {"customer_id": "C00003", "channel": "sms"}
        assert_problem(reader.post("/v1/tools/draft_message", json=draft), 403, "'draft'")
        assert_problem(
            reader.post("/v1/batches", json={"customer_ids": ["C00003"], "channel": "sms"}),
            403, "'draft'",
        )  # fmt: skip
        assert_problem(reader.get("/v1/customers/C00003/export"), 403, "'admin'")
        assert_problem(planner.post("/v1/tools/lookup_customer", json={"customer_id": "C00003"}),
                       403, "'read'")  # fmt: skip
        tools = {t["name"]: t for t in reader.get("/v1/tools").json()["tools"]}
    assert len(tools) == 10
    assert not tools["draft_message"]["allowed"] and tools["lookup_customer"]["allowed"]
    assert tools["optimize_campaign"]["scope"] == "plan"
    readout = tools["read_out_campaign"]
    assert readout["scope"] == "plan" and not readout["allowed"]


def test_a_key_without_admin_cannot_erase(live: Live) -> None:
    with live.client("writer") as writer:
        assert_problem(writer.delete("/v1/customers/C00007"), 403, "'admin'")
        still = writer.post("/v1/tools/lookup_customer", json={"customer_id": "C00007"})
    assert still.status_code == 200 and still.json()["customer_id"] == "C00007"


def test_ask_offers_the_model_only_the_tools_of_the_key(live: Live) -> None:
    request = {"text": "Draft an SMS for C00003"}
    with live.client("reader") as reader, live.client("writer") as writer:
        read_only = reader.post("/v1/ask", json=request).json()
        drafting = writer.post("/v1/ask", json=request).json()
    assert "draft_message" not in [c["name"] for c in read_only["tool_calls"]]
    assert read_only["drafts"] == []
    assert [c["name"] for c in drafting["tool_calls"]][-1] == "draft_message"


def test_without_keys_only_this_machine_is_served(tmp_path: Path) -> None:
    """No keys configured: a loopback client is the operator; any other address is refused."""
    settings = Settings(data_dir=DEMO_DIR, state_dir=tmp_path / "state", api_keys={})
    app = create_app(settings)

    async def get(host: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=(host, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            return await client.get("/v1/tools")

    assert anyio.run(get, "127.0.0.1").status_code == 200
    assert_problem(anyio.run(get, "10.1.2.3"), 403, "AGENT_API_KEYS")


# --------------------------------------------------------------------------- limits


def test_an_oversized_request_gets_413(live: Live) -> None:
    with live.client("limits", live.limited) as client:
        body = client.post(
            "/v1/tools/find_customers", json={"filter": {"segments": ["at_risk"] * 1000}}
        )
        text = client.post("/v1/ask", json={"text": "Tell me about C00042. " * 20})
    assert_problem(body, 413, "4,096 bytes")
    assert_problem(text, 413, "text", "200")


def test_a_flood_from_one_key_gets_429_and_other_keys_go_on(live: Live) -> None:
    with live.client("flood", live.limited) as flood, live.client("limits", live.limited) as other:
        codes = [flood.get("/v1/tools").status_code for _ in range(6)]
        refused = flood.get("/v1/tools")
        served = other.get("/v1/tools")
    assert codes == [200] * 6
    assert_problem(refused, 429, "flood", "a minute")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert served.status_code == 200


def test_a_call_over_the_time_limit_gets_504(live: Live) -> None:
    with live.client("limits", live.limited) as client:
        response = client.post(
            "/v1/ask",
            json={"text": "Plan a $5,000 campaign over email and SMS for at-risk customers"},
        )
    assert_problem(response, 504, "0.05 s")


# --------------------------------------------------------------------------- batches


def wait_done(client: httpx.Client, job_id: str, timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/v1/batches/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"batch {job_id} not done after {timeout} s")


def test_a_batch_drafts_for_its_audience_and_streams_the_drafts(
    live: Live, demo_deps: Any
) -> None:
    customers = demo_deps.shop.customers.set_index("customer_id")
    ids = list(customers.index[:40]) + ["C99999", "c00001"]
    with live.client("writer") as client:
        created = client.post("/v1/batches", json={"customer_ids": ids, "channel": "email"})
        assert created.status_code == 202, created.text
        job_id = created.json()["id"]
        assert created.headers["location"] == f"/v1/batches/{job_id}"
        job = wait_done(client, job_id)
        drafts = client.get(f"/v1/batches/{job_id}/drafts")
        listed = [j["id"] for j in client.get("/v1/batches").json()["batches"]]
    assert job["status"] == "done", job["error"]
    assert job["caller"] == "api:writer" and job_id in listed
    assert drafts.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in drafts.text.splitlines()]
    assert len(lines) == job["summary"]["drafted"] == job["progress"]["drafted"] > 0
    assert job["summary"]["unknown_ids"] == ["C99999"]
    assert job["summary"]["skipped"]["duplicate"] == 1  # c00001 is C00001
    for line in lines:
        assert line["customer_id"] in ids
        assert bool(customers.loc[line["customer_id"], "consent_email"])
    assert not {"out", "csv", "checkpoint"} & set(job["summary"])  # no server path shown


def test_a_batch_request_names_no_path_and_one_audience(live: Live) -> None:
    with live.client("writer") as client:
        both = client.post(
            "/v1/batches",
            json={"customer_ids": ["C00001"], "segment_filter": {}, "channel": "sms"},
        )
        path = client.post(
            "/v1/batches", json={"customer_ids": ["C00001"], "channel": "sms", "out": "/tmp/x"}
        )
        channel = client.post("/v1/batches", json={"customer_ids": ["C00001"], "channel": "fax"})
        segment = client.post(
            "/v1/batches", json={"segment_filter": {"segments": ["gold"]}, "channel": "sms"}
        )
        assert_problem(client.get("/v1/batches/b0000000000000000"), 404, "b0000000000000000")
        assert_problem(client.get("/v1/batches/../etc/drafts"), 404)
    assert_problem(both, 422, "exactly one audience")
    assert_problem(path, 422, "out")
    assert_problem(channel, 422, "channel")
    assert_problem(segment, 422, "segment_filter.segments")


def test_an_unexpected_fault_is_a_500_with_a_reference_and_no_traceback(live: Live) -> None:
    record = live.settings.state_dir / "api" / "batches" / "b00000000000000ff.json"
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text('{"id": "b00000000000000ff", "status": "lost"}', encoding="utf-8")
    with live.client("reader") as client:
        response = client.get("/v1/batches/b00000000000000ff")
    body = assert_problem(response, 500, "reference")
    assert "BatchRecord" not in response.text and "validation" not in response.text.lower()
    assert body["type"].endswith(":internal-error")
