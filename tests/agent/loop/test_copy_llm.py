"""The LLM copy rewriter: strict parsing, the prompt's data block, retries and timeouts.

Transport is tested against a fake OpenAI-compatible server on loopback; the rewriter as a
whole against a real llama.cpp server with SmolLM2 on loopback (skipped without llama_cpp).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from agent.loop.copy_llm import (
    RewriterUnavailableError,
    build_llm_rewriter,
    build_rewrite_messages,
    collect_rewrite_stats,
    parse_rewrite_reply,
)
from tests.fakes import USAGE, FakeOpenAI, openai_settings, prompt_data
from tests.llm_server import llama_server as start_llama_server
from tests.llm_server import unavailable_reason
from tools.copy.drafting import draft_message, grounding_facts
from tools.copy.models import Offer

# --- strict parsing (pure) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "channel", "expected"),
    [
        (
            '{"body": "Hi Ana. Reply STOP to opt out"}',
            "sms",
            {"body": "Hi Ana. Reply STOP to opt out"},
        ),
        (
            '  \n{"title": "Hello", "body": "New in"}\n',
            "push",
            {"title": "Hello", "body": "New in"},
        ),
        ('```json\n{"body": "Hi"}\n```', "sms", {"body": "Hi"}),
        (
            '{"subject": "S", "preheader": "P", "body": "B"}',
            "email",
            {"subject": "S", "preheader": "P", "body": "B"},
        ),
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
        "subject": draft.subject,
        "preheader": draft.preheader,
        "body": draft.body,
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
        "title": draft.title,
        "body": draft.body,
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
        settings = openai_settings(demo_settings, server.url, max_retries=0, request_timeout_s=0.3)
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
        deps = ToolDeps(settings.tool_config(), demo_deps.shop)
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

    settings = openai_settings(
        demo_settings, llama_server, model="smollm2", request_timeout_s=120, max_retries=1
    )
    deps = ToolDeps(settings.tool_config(), demo_deps.shop)
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
