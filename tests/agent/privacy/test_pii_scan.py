"""Data minimisation: no prompt, trace, session or log line holds a customer's personal data.

Every request family (profile, segment, search, recommend, plan, drafts for a customer and
for a segment sample, campaign match, fairness audit, the explain and "and draft them"
follow-ups, the find-recommend-draft chain; English and Chinese) runs through the agent with
a recording model: the offline model, wrapped so that every message list it is sent (system
prompt, requests, tool calls and the tool results it reads) is kept. Then every recorded
prompt, every trace line, every session file and every log line (DEBUG, every logger) is
scanned for every personal value of every demo customer: e-mail, phone, street address,
notes (whole, and the e-mail, phone or address inside them) and the full name ("First
Last", and family name first, as in Chinese). Last names are scanned with the first name:
some are ordinary words of the catalog ("Green", "Wood"), see ``agent.loop.redact``.
A configured API key must never show in traces, sessions or logs. The same scan runs on the
HTTP bodies an OpenAI-compatible endpoint receives, and on every response of the HTTP API and the
MCP server (every request family, tools, runs, a batch; the live servers of
``tests/agent/conftest.py``) and every trace and state file they leave; the API's keys must
never show there either. The one response meant to carry contact details, a data export for a
subject access request (admin keys only), is left out on purpose.
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import ahocorasick  # type: ignore[import-not-found,unused-ignore]
import pytest
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from agent.offline.model import OfflineChatModel
from agent.settings import Settings
from tests.agent.conftest import GOLDEN
from tests.conftest import DEMO_DIR
from tools.shop.vocabulary import ShopVocabulary

API_KEY = "sk-test-" + "Zq8Ld0Xv" * 4
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"  # as `python -m agent -v` prints

# Customers whose free-text notes carry an e-mail, phone or address, and customers whose
# last names are catalog words (looked up by id, drafted for, matched).
NOTE_REQUESTS = [
    "Tell me about C00023",
    "Draft an SMS for C00029",
    "给 C00203 写一封邮件",
    "Which campaigns fit C00144?",
    "Recommend products for C00072",
    "Tell me about C00146",
]
CHAINS = [
    "Find at-risk customers who like outdoor gear, recommend them products and draft an "
    "email for the top 3",
    "找出喜欢户外装备的流失风险客户，给他们推荐商品，并为前3位起草邮件",
]
SESSIONS = [
    ("follow-up", "How many loyal customers like running?"),
    ("follow-up", "and draft them an SMS"),
    ("explain", "Recommend products for C00003"),
    ("explain", "Why these products?"),
    ("audit", "Is a campaign for at-risk customers fair?"),
    ("plan-zh", "用 3000 美元预算，通过短信为忠诚客户做营销计划"),
    ("plan-zh", "为前3位起草短信"),
]


class RecordingModel(OfflineChatModel):
    """The offline model, recording every message list it is sent."""

    sent: list[list[BaseMessage]]

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.sent.append(list(messages))
        return super()._generate(messages, *args, **kwargs)


def message_text(message: BaseMessage) -> str:
    """Everything a model reads of a message: content, tool calls and extra fields."""
    parts = [str(message.content)]
    if isinstance(message, AIMessage) and message.tool_calls:
        parts.append(json.dumps(message.tool_calls, ensure_ascii=False, default=str))
    if message.additional_kwargs:
        parts.append(json.dumps(message.additional_kwargs, ensure_ascii=False, default=str))
    return "\n".join(parts)


# --------------------------------------------------------------------------- the scanner

_CJK = re.compile(r"[\u4e00-\u9fff]")
_EMBEDDED = [
    ("email in notes", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("phone in notes", re.compile(r"\+?\d[\d ()-]{7,}\d")),
    ("address in notes", re.compile(r"\d+ [A-Z][a-z]+ (?:Lane|Street|Road|Avenue|Way|Drive)")),
    ("address in notes", re.compile(r"[\u4e00-\u9fff]{2,}\d+号")),
]


@dataclass(frozen=True)
class Hit:
    customer_id: str
    kind: str
    value: str


class PersonalValues:
    """Every personal value of every customer, found in one pass (Aho-Corasick)."""

    def __init__(self, customers: Any, shop_text: str) -> None:
        self._automaton: Any = ahocorasick.Automaton()
        self.count = 0
        self.skipped: list[str] = []
        shop_lower = shop_text.lower()
        for row in customers.itertuples(index=False):
            cid, first, last = row.customer_id, row.first_name.strip(), row.last_name.strip()
            self._add(cid, "email", row.email)
            self._add(cid, "phone", row.phone)
            self._add(cid, "address", row.address)
            self._add(cid, "notes", row.notes)
            for kind, pattern in _EMBEDDED:
                for found in pattern.findall(row.notes or ""):
                    self._add(cid, kind, found)
            if first and last:
                names = [f"{first} {last}", f"{last} {first}", f"{last}, {first}"]
                if _CJK.search(last):
                    names.append(f"{last}{first}")
                for name in names:
                    if name.lower() in shop_lower:  # e.g. a product called like a name
                        self.skipped.append(name)
                        continue
                    self._add(cid, "name", name)
        self._automaton.make_automaton()

    def _add(self, cid: str, kind: str, value: str) -> None:
        value = (value or "").strip()
        if len(value) < (2 if _CJK.search(value) else 6):
            return
        key = value.lower()
        if key not in self._automaton:
            self._automaton.add_word(key, (cid, kind, value))
            self.count += 1

    def scan(self, text: str) -> list[Hit]:
        """Personal values in ``text`` (Latin values only as whole words)."""
        low = text.lower()
        if len(low) != len(text):
            low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
        hits = []
        for end, (cid, kind, value) in self._automaton.iter(low):
            start = end - len(value) + 1
            if not _CJK.search(value) and (
                (start > 0 and text[start - 1].isalnum())
                or (end + 1 < len(text) and text[end + 1].isalnum())
            ):
                continue
            hits.append(Hit(cid, kind, value))
        return hits


def _shop_text(shop: Any) -> str:
    parts = []
    for col in ("title", "title_zh", "description", "description_zh", "brand"):
        parts += shop.products[col].astype(str).tolist()
    for col in ("name", "offer", "description"):
        parts += shop.campaigns[col].astype(str).tolist()
    return "\n".join(parts)


@pytest.fixture(scope="module")
def values(demo_deps: Any) -> PersonalValues:
    return PersonalValues(demo_deps.shop.customers, _shop_text(demo_deps.shop))


# --------------------------------------------------------------------------- the runs


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter(LOG_FORMAT))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def recorded(demo_deps: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Run every request family once with DEBUG logging on; keep what was sent and stored."""
    from agent.loop.runner import AgentRunner

    state = tmp_path_factory.mktemp("pii-state")
    settings = Settings(data_dir=DEMO_DIR, state_dir=state, openai_api_key=API_KEY)
    shop = demo_deps.shop
    model = RecordingModel(
        vocabulary=ShopVocabulary.build(shop.products, shop.customers, shop.meta), sent=[]
    )
    handler = _ListHandler()
    stream = io.StringIO()
    verbose = logging.StreamHandler(stream)  # what `-v` would print to stderr
    verbose.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.addHandler(verbose)
    root.setLevel(logging.DEBUG)
    try:
        runner = AgentRunner(settings, deps=demo_deps, model=model)
        results = []
        for text, _tools in GOLDEN:
            results.append(runner.run(text))
        for text in [*NOTE_REQUESTS, *CHAINS, "Tell me about C99999"]:
            results.append(runner.run(text))
        for session, text in SESSIONS:
            results.append(runner.run(text, session=session))
        logging.getLogger("tests.pii").info("settings in use: %s", settings)
        logging.getLogger("tests.pii").debug("key check %s", settings.openai_api_key)
    finally:
        root.removeHandler(handler)
        root.removeHandler(verbose)
        root.setLevel(old_level)
    yield {
        "settings": settings,
        "results": results,
        "prompts": model.sent,
        "logs": handler.lines + stream.getvalue().splitlines(),
    }


def _state_files(settings: Settings, folder: str) -> list[Path]:
    return sorted((settings.state_dir / folder).glob("*"))


def _session_texts(state_dir: Path) -> dict[str, str]:
    """Every stored session's messages as they are on disk, by session id."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(state_dir / "sessions" / "sessions.sqlite")) as db:
        rows = db.execute("SELECT session_id, data FROM messages ORDER BY session_id, seq")
        out: dict[str, str] = {}
        for session, data in rows:
            out[session] = out.get(session, "") + data + "\n"
    return out


def _report(hits: list[tuple[str, Hit]]) -> str:
    return "\n".join(f"{where}: {h.kind} of {h.customer_id}: {h.value!r}" for where, h in hits[:20])


# --------------------------------------------------------------------------- the checks


def test_the_scan_is_armed(values: PersonalValues, demo_deps: Any) -> None:
    """The scanner knows every customer's values and finds them (and not catalog words)."""
    c = demo_deps.shop.customers
    assert values.count > 4 * len(c)
    row = c[c["customer_id"] == "C00023"].iloc[0]
    text = f"call {row['phone']} or mail {row['email'].upper()}; {row['notes']}"
    found = {h.value.lower() for h in values.scan(text)}
    embedded = re.search(r"\+1 \d{3} 555-\d{4}", row["notes"])
    assert embedded is not None
    assert {row["phone"], row["email"], row["notes"], embedded.group(0)} <= found
    zh = c[c["customer_id"] == "C00203"].iloc[0]
    assert values.scan(f"客户{zh['last_name']}{zh['first_name']}你好")
    assert not values.scan("Forest Green hiking backpack in Wood and White")
    assert not values.scan(f"Hi {row['first_name']}, your picks are ready")


def test_every_request_family_ran(recorded: dict[str, Any]) -> None:
    called = {c.name for r in recorded["results"] for c in r.tool_calls if c.ok}
    assert called >= {
        "lookup_customer",
        "find_customers",
        "search_products",
        "recommend_products",
        "optimize_campaign",
        "match_campaigns",
        "draft_message",
        "audit_fairness",
    }
    drafts = [d for r in recorded["results"] for d in r.drafts]
    assert len(drafts) >= 12 and {d.language for d in drafts} == {"en", "zh"}
    tool_messages = [m for sent in recorded["prompts"] for m in sent if isinstance(m, ToolMessage)]
    assert len(tool_messages) >= 40  # the model read every tool result
    # The one personal field the model may see is there (drafts greet by first name).
    assert any(d.first_name and d.first_name in d.body for d in drafts)


def test_no_prompt_holds_personal_data(recorded: dict[str, Any], values: PersonalValues) -> None:
    hits = []
    for n, sent in enumerate(recorded["prompts"]):
        for message in sent:
            for hit in values.scan(message_text(message)):
                hits.append((f"prompt {n} {message.type}", hit))
    assert not hits, _report(hits)


def test_no_trace_line_holds_personal_data_or_the_key(
    recorded: dict[str, Any], values: PersonalValues
) -> None:
    files = _state_files(recorded["settings"], "traces")
    assert len(files) == len(recorded["results"])
    hits = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert API_KEY not in text
        for n, line in enumerate(text.splitlines(), start=1):
            hits += [(f"{path.name}:{n}", h) for h in values.scan(line)]
    assert not hits, _report(hits)


def test_no_session_file_holds_personal_data_or_the_key(
    recorded: dict[str, Any], values: PersonalValues
) -> None:
    sessions = _session_texts(recorded["settings"].state_dir)
    assert len(sessions) >= len(GOLDEN)
    hits = []
    for session, text in sessions.items():
        assert API_KEY not in text
        hits += [(session, h) for h in values.scan(text)]
    assert not hits, _report(hits)


def test_no_log_line_holds_personal_data_or_the_key(
    recorded: dict[str, Any], values: PersonalValues
) -> None:
    lines = recorded["logs"]
    assert any("draft for" in line for line in lines)  # the runs did log
    assert any("settings in use" in line for line in lines)
    hits = []
    for line in lines:
        assert API_KEY not in line, line
        hits += [("log", h) for h in values.scan(line)]
    assert not hits, _report(hits)


def test_a_typed_personal_value_is_kept_from_traces_and_logs(
    demo_deps: Any, values: PersonalValues, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A marketer pasting an e-mail or the API key into a request: traces and logs redact it."""
    from agent.loop.runner import AgentRunner

    row = demo_deps.shop.customers.iloc[41]
    settings = Settings(data_dir=DEMO_DIR, state_dir=tmp_path, openai_api_key=API_KEY)
    runner = AgentRunner(settings, deps=demo_deps)
    caplog.set_level(logging.DEBUG)
    text = f"Tell me about {row['customer_id']} ({row['email']}, key {API_KEY})"
    runner.run(text, session="typed")
    logging.getLogger("tests.pii").info("user asked: %s", text)
    trace = "\n".join(p.read_text(encoding="utf-8") for p in settings.trace_dir.glob("*.jsonl"))
    assert row["email"] not in trace and API_KEY not in trace
    assert "[email]" in trace and "[api_key]" in trace
    assert row["email"] not in caplog.text and API_KEY not in caplog.text


def test_a_typed_personal_value_never_reaches_the_model_or_the_session(
    demo_deps: Any, tmp_path: Path
) -> None:
    from agent.loop.runner import AgentRunner

    shop = demo_deps.shop
    row = shop.customers.iloc[41]
    model = RecordingModel(
        vocabulary=ShopVocabulary.build(shop.products, shop.customers, shop.meta), sent=[]
    )
    settings = Settings(data_dir=DEMO_DIR, state_dir=tmp_path, openai_api_key=API_KEY)
    runner = AgentRunner(settings, deps=demo_deps, model=model)
    text = f"Tell me about {row['customer_id']} ({row['email']}, key {API_KEY})"
    result = runner.run(text, session="typed")
    assert [c.name for c in result.tool_calls] == ["lookup_customer"]  # still understood
    prompts = "\n".join(message_text(m) for sent in model.sent for m in sent)
    session = _session_texts(tmp_path)["typed"]
    for where in (prompts, session):
        assert row["email"] not in where and API_KEY not in where


# --------------------------------------------------------------------------- OpenAI provider


class FakeToolModel:
    """A loopback OpenAI-compatible endpoint that asks for one tool call, then answers.

    It records every request body (what a remote model would receive) and the bearer token.
    """

    CALLS = {
        "Tell me about C00023": ("lookup_customer", {"customer_id": "C00023"}),
        "Draft an SMS for C00029": ("draft_message", {"customer_id": "C00029", "channel": "sms"}),
        "Recommend products for C00203": ("recommend_products", {"customer_id": "C00203"}),
        "Find at-risk customers": ("find_customers", {"filter": {"segments": ["at_risk"]}}),
    }

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.tokens: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                fake.bodies.append(body)
                fake.tokens.append(str(self.headers.get("authorization", "")))
                reply = json.dumps(fake.reply(body)).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def reply(self, body: dict[str, Any]) -> dict[str, Any]:
        last = body["messages"][-1]
        message: dict[str, Any] = {"role": "assistant", "content": "Here is what I found."}
        if last["role"] == "user":
            name, args = self.CALLS[last["content"]]
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": name, "arguments": json.dumps(args)},
                    }
                ],
            }
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "fake",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }


def test_openai_provider_receives_no_personal_data_and_logs_no_key(
    demo_deps: Any, values: PersonalValues, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from agent.loop.runner import AgentRunner

    fake = FakeToolModel()
    fake.thread.start()
    try:
        settings = Settings(
            data_dir=DEMO_DIR,
            state_dir=tmp_path,
            provider="openai",
            max_retries=0,
            openai_base_url=f"http://127.0.0.1:{fake.server.server_address[1]}/v1",
            openai_api_key=API_KEY,
        )
        caplog.set_level(logging.DEBUG)
        runner = AgentRunner(settings, deps=demo_deps)
        for text in FakeToolModel.CALLS:
            result = runner.run(text)
            assert result.stopped == "done" and all(c.ok for c in result.tool_calls), text
    finally:
        fake.server.shutdown()
        fake.server.server_close()
    assert fake.tokens and all(t == f"Bearer {API_KEY}" for t in fake.tokens)  # it was used
    wire = json.dumps(fake.bodies, ensure_ascii=False)
    assert '"role": "tool"' in wire  # tool results went over the wire
    hits = [("request body", h) for h in values.scan(wire)]
    assert not hits, _report(hits)
    stored = "\n".join(
        p.read_text(encoding="utf-8") for p in sorted(tmp_path.rglob("*.json*")) if p.is_file()
    )
    assert API_KEY not in stored and API_KEY not in caplog.text
    assert not values.scan(caplog.text)


# --------------------------------------------------------------------------- API and MCP


def _mcp_bodies(live: Any, ids: list[str]) -> list[tuple[str, str]]:
    """Tool results, resources and a prompt through the MCP server over HTTP."""
    import anyio
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async def session() -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        async with (
            httpx2.AsyncClient(headers=live.keys["writer"].headers, timeout=600) as http,
            Client(streamable_http_client(live.mcp, http_client=http), read_timeout_seconds=600)
            as client,
        ):
            for cid in ids:
                for name, args in (
                    ("lookup_customer", {"customer_id": cid}),
                    ("match_campaigns", {"customer_id": cid}),
                    ("draft_message", {"customer_id": cid, "channel": "email"}),
                ):
                    result = await client.call_tool(name, args)
                    out.append((f"mcp {name} {cid}", result.model_dump_json()))
                profile = await client.read_resource(f"customer://{cid}/profile")
                out.append((f"mcp profile {cid}", profile.model_dump_json()))
            for resource in (await client.list_resources()).resources[:10]:
                trace = await client.read_resource(str(resource.uri))
                out.append((f"mcp {resource.uri}", trace.model_dump_json()))
            prompt = await client.get_prompt("draft_for_segment", {"segment": "at_risk",
                                                                   "channel": "sms"})
            out.append(("mcp prompt", prompt.model_dump_json()))
        return out

    return anyio.run(session)


@pytest.fixture(scope="module")
def served(live: Any) -> list[tuple[str, str]]:
    """The body of every response, by where it came from.

    Every request family through the HTTP API (JSON and SSE), the tools, the runs, a batch and
    the MCP server.
    """
    ids = sorted({m for text in NOTE_REQUESTS for m in re.findall(r"C\d{5}", text)})
    bodies: list[tuple[str, str]] = []
    with live.client("writer") as client:
        for text in [*(t for t, _ in GOLDEN), *NOTE_REQUESTS, *CHAINS, "Tell me about C99999"]:
            bodies.append((f"ask {text}", client.post("/v1/ask", json={"text": text}).text))
        for session, text in SESSIONS:
            body = {"text": text, "session": f"pii-{session}"}
            bodies.append((f"ask {session}: {text}", client.post("/v1/ask", json=body).text))
        for text in [*NOTE_REQUESTS[:3], CHAINS[0]]:
            streamed = client.post("/v1/ask/stream", json={"text": text})
            bodies.append((f"stream {text}", streamed.text))
        for cid in ids:
            for name, args in (
                ("lookup_customer", {"customer_id": cid}),
                ("recommend_products", {"customer_id": cid}),
                ("match_campaigns", {"customer_id": cid}),
                ("draft_message", {"customer_id": cid, "channel": "email"}),
                ("draft_message", {"customer_id": cid, "channel": "sms"}),
            ):
                answer = client.post(f"/v1/tools/{name}", json=args)
                bodies.append((f"tool {name} {cid}", answer.text))
        for name, args in (
            ("find_customers", {"filter": {"segments": ["at_risk"]}}),
            ("optimize_campaign", {"budget": 2000, "audience": {"segments": ["loyal"]}}),
            ("audit_fairness", {"audience": {"segments": ["at_risk"]}}),
        ):
            bodies.append((f"tool {name}", client.post(f"/v1/tools/{name}", json=args).text))
        job = client.post("/v1/batches", json={"customer_ids": ids, "channel": "email"}).json()
        deadline = time.monotonic() + 600
        while client.get(f"/v1/batches/{job['id']}").json()["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        bodies.append(("batch", client.get(f"/v1/batches/{job['id']}").text))
        bodies.append(("batch drafts", client.get(f"/v1/batches/{job['id']}/drafts").text))
        runs = client.get("/v1/runs", params={"limit": 1000})
        bodies.append(("runs", runs.text))
        for run in runs.json()["runs"]:
            bodies.append((f"run {run['run_id']}", client.get(f"/v1/runs/{run['run_id']}").text))
    bodies += _mcp_bodies(live, ids)
    return bodies


def test_no_api_or_mcp_response_holds_personal_data(
    served: list[tuple[str, str]], values: PersonalValues
) -> None:
    assert len(served) > 150
    drafted = [body for where, body in served if where.startswith("tool draft_message")]
    assert any('"guard"' in body for body in drafted)  # drafts were made, and scanned
    hits = [(where, hit) for where, body in served for hit in values.scan(body)]
    assert not hits, _report(hits)


def test_no_trace_or_state_of_the_api_holds_personal_data_or_a_key(
    served: list[tuple[str, str]], live: Any, values: PersonalValues
) -> None:
    state = live.settings.state_dir
    files = [
        p for folder in ("traces", "sessions", "api", "batch")
        for p in sorted((state / folder).rglob("*")) if p.is_file()
    ]  # fmt: skip
    assert any(p.name.startswith("api-access-") for p in files)
    hits = []
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        for key in live.keys.values():
            assert key.secret not in text, path
        hits += [(str(path.relative_to(state)), h) for h in values.scan(text)]
    assert not hits, _report(hits)
