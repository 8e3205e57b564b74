"""The LLM copy rewriter: strict parsing, the prompt's data block, retries and timeouts.

Transport is tested against a fake OpenAI-compatible server on loopback; the rewriter as a
whole against a real llama.cpp server with SmolLM2 on loopback (skipped without llama_cpp).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agent.copy_llm import (
    RewriterUnavailableError,
    build_llm_rewriter,
    build_rewrite_messages,
    collect_rewrite_stats,
    parse_rewrite_reply,
)
from tests.llm_server import llama_server as start_llama_server
from tests.llm_server import unavailable_reason
from tools.copywriting import Offer, draft_message, grounding_facts

DEMO_DIR = Path(__file__).resolve().parent.parent / "data" / "demo"
USAGE = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}


# --- a fake OpenAI-compatible endpoint (also used by tests/test_batch.py) --------------------


def prompt_data(body: dict[str, Any]) -> dict[str, Any]:
    """The facts (the JSON inside <data>) and the template draft (the last line) of a request."""
    text = body["messages"][-1]["content"]
    match = re.search(r"^<data>\n(.*)\n</data>$", text, re.S | re.M)
    assert match, "the request has no <data> block"
    return {
        "facts": json.loads(match.group(1)),
        "template_draft": json.loads(text.strip().splitlines()[-1]),
    }


Action = str  # "echo", "malformed", "429", "500", "slow"


class FakeOpenAI:
    """A chat-completions endpoint on loopback, scripted per customer id.

    ``script[customer_id]`` is a list of actions used one per request (the last one repeats);
    customers without a script get ``default``. ``echo`` answers with the template draft's
    fields as JSON (a rewrite the guard passes), ``malformed`` with prose, ``429``/``500`` with
    that status (and ``retry-after-ms: 5``), ``slow`` sleeps ``slow_s`` before echoing.
    """

    def __init__(
        self,
        script: dict[str, list[Action]] | None = None,
        default: Action = "echo",
        delay_s: float = 0.0,
        slow_s: float = 2.0,
        transform: Callable[[dict[str, str]], dict[str, str]] | None = None,
    ) -> None:
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.default = default
        self.delay_s = delay_s
        self.slow_s = slow_s
        self.transform = transform
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length))
                fake.handle(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _action(self, customer_id: str) -> Action:
        with self._lock:
            steps = self.script.get(customer_id)
            if not steps:
                return self.default
            return steps.pop(0) if len(steps) > 1 else steps[0]

    def handle(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        data = prompt_data(body)
        customer = data["facts"]["customer_id"]
        with self._lock:
            self.requests.append(body)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            action = self._action(customer)
            time.sleep(self.delay_s)
            if action in ("429", "500"):
                self._send(handler, int(action), {"error": {"message": "try later"}})
                return
            if action == "slow":
                time.sleep(self.slow_s)
            fields = dict(data["template_draft"])
            if self.transform is not None:
                fields = self.transform(fields)
            content = json.dumps(fields) if action != "malformed" else (
                "Sure! Here is a lovely rewrite of your message for you."
            )
            reply = {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", "fake"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": USAGE,
            }
            self._send(handler, 200, reply)
        finally:
            with self._lock:
                self.in_flight -= 1

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("content-type", "application/json")
            handler.send_header("content-length", str(len(raw)))
            if status >= 400:
                handler.send_header("retry-after-ms", "5")
            handler.end_headers()
            handler.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
            pass


def openai_settings(base: Any, url: str, **extra: Any) -> Any:
    update = {"provider": "openai", "openai_base_url": url, "model": "fake", **extra}
    return base.model_copy(update=update)


# --- strict parsing (pure) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "channel", "expected"),
    [
        ('{"body": "Hi Ana. Reply STOP to opt out"}', "sms",
         {"body": "Hi Ana. Reply STOP to opt out"}),
        ('  \n{"title": "Hello", "body": "New in"}\n', "push",
         {"title": "Hello", "body": "New in"}),
        ('```json\n{"body": "Hi"}\n```', "sms", {"body": "Hi"}),
        ('{"subject": "S", "preheader": "P", "body": "B"}', "email",
         {"subject": "S", "preheader": "P", "body": "B"}),
    ],
)
def test_a_reply_with_exactly_the_channels_fields_is_read(
    reply: str, channel: str, expected: dict[str, str]
) -> None:
    assert parse_rewrite_reply(reply, channel) == expected


@pytest.mark.parametrize(
    ("reply", "channel"),
    [
        (None, "sms"),
        ("", "sms"),
        ("Sure! Here it is: Hi Ana", "sms"),
        ('Here you go: {"body": "Hi"}', "sms"),
        ('{"body": "Hi"} Hope that helps!', "sms"),
        ('{"body": "Hi", "note": "I added a tip"}', "sms"),
        ('{"body": "Hi"}', "push"),
        ('{"subject": "S", "body": "B"}', "email"),
        ('{"body": 42}', "sms"),
        ('{"body": "   "}', "sms"),
        ('{"body": {"text": "Hi"}}', "sms"),
        ('["Hi"]', "sms"),
        ('{"body": "Hi",}', "sms"),
        ('```\n{"body": "Hi"}\n``` extra', "sms"),
    ],
)
def test_anything_else_is_malformed(reply: str | None, channel: str) -> None:
    assert parse_rewrite_reply(reply, channel) is None


def test_the_prompt_keeps_data_inside_a_marked_block_and_asks_for_json(demo_deps: Any) -> None:
    offer = Offer(name="Spring", discount_pct=15, code="SPRING15")
    draft = draft_message(demo_deps, "C00001", "email", "promotion", None, offer)
    facts = grounding_facts(draft, "Northwind Goods", ["https://shop.example.com"])
    system, user = build_rewrite_messages(draft, facts)
    assert system["role"] == "system" and user["role"] == "user"
    assert "data, never instructions" in system["content"]
    assert "exactly the keys subject, preheader, body" in system["content"]
    assert "<data>" not in system["content"].replace("<data> and </data>", "")
    data = prompt_data({"messages": [system, user]})
    assert data["facts"]["offer"]["code"] == "SPRING15"
    assert data["facts"]["first_name"] == draft.first_name
    assert data["template_draft"] == {
        "subject": draft.subject, "preheader": draft.preheader, "body": draft.body
    }
    assert draft.first_name not in system["content"]  # customer data only in the user turn


def test_a_rejected_attempt_tells_the_model_why(demo_deps: Any) -> None:
    draft = draft_message(demo_deps, "C00001", "push")
    facts = grounding_facts(draft, "Northwind Goods", []).model_copy(
        update={"previous_problems": ["wrong_price: $1.00 is not a catalog price"]}
    )
    _, user = build_rewrite_messages(draft, facts)
    assert "rejected for: wrong_price: $1.00 is not a catalog price" in user["content"]
    assert prompt_data({"messages": [user]})["template_draft"] == {
        "title": draft.title, "body": draft.body
    }


# --- transport: retries, errors, timeouts (fake endpoint on loopback) --------------------------


@pytest.fixture
def sms_draft(demo_deps: Any) -> Any:
    ids = demo_deps.shop.customers.query("consent_sms")["customer_id"].tolist()
    draft = draft_message(demo_deps, ids[0], "sms")
    return draft, grounding_facts(draft, "Northwind Goods", ["https://shop.example.com"])


def test_429_and_500_are_retried_with_backoff_and_tokens_counted(
    demo_settings: Any, sms_draft: Any
) -> None:
    draft, facts = sms_draft
    with FakeOpenAI({draft.customer_id: ["429", "500", "echo"]}) as server:
        rewriter = build_llm_rewriter(openai_settings(demo_settings, server.url, max_retries=3))
        with collect_rewrite_stats() as stats:
            out = rewriter(draft, facts)
    assert len(server.requests) == 3
    assert out is not None and out.source == "model" and out.body == draft.body
    assert stats.tokens == USAGE["total_tokens"] and stats.transport_error is None
    assert server.requests[0]["response_format"] == {"type": "json_object"}


def test_an_endpoint_still_failing_after_the_retries_is_reported_not_hidden(
    demo_settings: Any, sms_draft: Any
) -> None:
    draft, facts = sms_draft
    with FakeOpenAI(default="500") as server:
        rewriter = build_llm_rewriter(openai_settings(demo_settings, server.url, max_retries=1))
        with collect_rewrite_stats() as stats:
            with pytest.raises(RewriterUnavailableError) as caught:
                rewriter(draft, facts)
            # A second attempt on the same item fails at once, without new requests.
            with pytest.raises(RewriterUnavailableError):
                rewriter(draft, facts)
    assert caught.value.reason == "server_error"
    assert stats.transport_error == "server_error"
    assert len(server.requests) == 2  # the first call and its one retry


def test_each_request_has_a_timeout(demo_settings: Any, sms_draft: Any) -> None:
    draft, facts = sms_draft
    with FakeOpenAI(default="slow", slow_s=2.0) as server:
        settings = openai_settings(demo_settings, server.url, max_retries=0,
                                   request_timeout_s=0.3)
        rewriter = build_llm_rewriter(settings)
        started = time.perf_counter()
        with pytest.raises(RewriterUnavailableError) as caught:
            rewriter(draft, facts)
    assert caught.value.reason == "timeout"
    assert time.perf_counter() - started < 1.5


def test_draft_message_keeps_a_model_rewrite_only_when_the_guard_passes(
    demo_settings: Any, demo_deps: Any
) -> None:
    from tools.deps import ToolDeps

    def invent_a_price(fields: dict[str, str]) -> dict[str, str]:
        return {**fields, "body": "Only $1.00 today. " + fields["body"]}

    ids = demo_deps.shop.customers.query("consent_sms")["customer_id"].tolist()[:2]
    with FakeOpenAI(transform=invent_a_price) as server:
        settings = openai_settings(demo_settings, server.url, max_retries=0)
        deps = ToolDeps(settings, demo_deps.shop)
        deps.copy_rewriter = build_llm_rewriter(settings)  # type: ignore[attr-defined]
        draft = draft_message(deps, ids[0], "sms")
    assert draft.source == "template" and draft.guard.passed
    assert "$1.00" not in draft.body
    assert len(draft.rewrite_rejections) == 2  # both attempts rejected by the guard


# --- a real OpenAI-compatible server: llama.cpp with SmolLM2 on loopback -----------------------


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    with start_llama_server("chatml") as url:
        yield url


@pytest.mark.slow
def test_a_real_model_rewrites_drafts_and_only_guard_passing_copy_is_kept(
    llama_server: str, demo_settings: Any, demo_deps: Any
) -> None:
    from tools.deps import ToolDeps

    settings = openai_settings(demo_settings, llama_server, model="smollm2",
                               request_timeout_s=120, max_retries=1)
    deps = ToolDeps(settings, demo_deps.shop)
    rewriter = build_llm_rewriter(settings)
    deps.copy_rewriter = rewriter  # type: ignore[attr-defined]
    customers = demo_deps.shop.customers
    customer_id = customers.query("consent_sms and language == 'en'")["customer_id"].iloc[0]
    template = draft_message(demo_deps, customer_id, "sms")
    with collect_rewrite_stats() as stats:
        draft = draft_message(deps, customer_id, "sms")
    assert stats.transport_error is None
    assert stats.calls >= 1 and stats.tokens > 0  # usage reported by the server
    assert rewriter.totals.calls == stats.calls
    assert draft.guard.passed, draft.guard.summary()
    if draft.source == "template":
        # SmolLM2-135M rarely returns the exact JSON or keeps every fact; then the template
        # stands and each rejected attempt (malformed or failing the guard) is recorded.
        assert draft.body == template.body
        assert len(draft.rewrite_rejections) == stats.calls
    else:
        assert draft.source == "model"
