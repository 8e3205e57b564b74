"""Token counting works offline, matches cl100k_base, and plugs into ChatOpenAI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, Field

from agent.loop import tokens
from agent.loop.tokens import (
    count_message_tokens,
    count_tokens,
    count_tool_schema_tokens,
    token_ids,
)


@pytest.fixture
def fresh_tiktoken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty tiktoken cache and an unloaded encoding: as on a new machine."""
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    tokens.get_encoding.cache_clear()
    yield cache
    tokens.get_encoding.cache_clear()


def test_counts_a_known_sentence_offline_on_a_fresh_machine(fresh_tiktoken: Path) -> None:
    # The socket guard (conftest) blocks every non-loopback connection: a download would fail.
    # OpenAI's cookbook gives these cl100k_base ids for this sentence.
    assert token_ids("tiktoken is great!") == [83, 1609, 5963, 374, 2294, 0]
    assert count_tokens("tiktoken is great!") == 6
    assert count_tokens("") == 0


def test_special_token_text_in_user_input_is_counted_not_rejected() -> None:
    assert count_tokens("<|endoftext|>") > 1


def test_chinese_text_is_counted() -> None:
    assert count_tokens("给流失风险高的客户写一条短信") > 5


def test_message_count_matches_openais_published_example() -> None:
    # OpenAI cookbook "How to count tokens with tiktoken": 129 prompt tokens for gpt-4-0613.
    messages = [
        SystemMessage(
            "You are a helpful, pattern-following assistant that translates corporate jargon "
            "into plain English."
        ),
        SystemMessage("New synergies will help drive top-line growth.", name="example_user"),
        SystemMessage(
            "Things working well together will increase revenue.", name="example_assistant"
        ),
        SystemMessage(
            "Let's circle back when we have more bandwidth to touch base on opportunities for "
            "increased leverage.",
            name="example_user",
        ),
        SystemMessage(
            "Let's talk later when we're less busy about how to do better.",
            name="example_assistant",
        ),
        HumanMessage(
            "This late pivot means we don't have time to boil the ocean for the client deliverable."
        ),
    ]
    assert count_message_tokens(messages) == 129
    as_dicts = [
        {"role": "system" if m.type == "system" else "user", "content": m.content}
        | ({"name": m.name} if m.name else {})
        for m in messages
    ]
    assert count_message_tokens(as_dicts) == 129
    assert count_message_tokens([]) == 0


def test_tool_calls_and_tool_results_add_their_tokens() -> None:
    call = {"name": "lookup_customer", "args": {"customer_id": "C00042"}, "id": "call_1"}
    plain = count_message_tokens([AIMessage("")])
    with_call = count_message_tokens([AIMessage("", tool_calls=[call])])
    assert with_call - plain == count_tokens(
        '[{"name": "lookup_customer", "arguments": {"customer_id": "C00042"}}]'
    )
    result = ToolMessage('{"segment": "at_risk"}', tool_call_id="call_1")
    blocks = HumanMessage(content=[{"type": "text", "text": "hello"}, "world"])
    assert (
        count_message_tokens([result])
        == 3 + count_tokens("tool") + count_tokens('{"segment": "at_risk"}') + 3
    )
    assert count_message_tokens([blocks]) == 3 + 1 + count_tokens("helloworld") + 3


def test_tool_schema_tokens_grow_with_the_schema() -> None:
    class LookupCustomer(BaseModel):
        """Look up one customer's profile."""

        customer_id: str = Field(description="The customer's id, like C00042.")

    class FindCustomers(BaseModel):
        """Find customers matching a filter of segments, churn risk and consent."""

        segments: list[str] = Field(description="Segment names, e.g. at_risk, champions.")
        min_churn_risk: float = Field(description="Lowest churn probability, 0 to 1.")

    one = count_tool_schema_tokens([LookupCustomer])
    both = count_tool_schema_tokens([LookupCustomer, FindCustomers])
    assert 15 < one < both
    assert both - one == count_tool_schema_tokens([FindCustomers])


def test_chat_openai_counts_with_our_ids_without_a_download(fresh_tiktoken: Path) -> None:
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(
        model="gpt-4o-mini",
        api_key="not-needed",  # type: ignore[arg-type]
        base_url="http://127.0.0.1:9/v1",
        custom_get_token_ids=token_ids,
    )
    assert model.get_num_tokens("tiktoken is great!") == 6
    assert list(fresh_tiktoken.iterdir()) == []  # nothing was fetched into the cache
