"""The OpenAI path end to end: the same graph over HTTP against a real server on loopback.

llama-cpp-python serves SmolLM2-135M with the OpenAI protocol. The tiny model never picks a
tool by itself, so the run forces the first tool call (``first_tool_choice``), as a user of a
small local model would; the rest of the loop (tool execution, the model reading the tool
result, the trace with tokens) is the real thing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agent.loop.runner import AgentRunner
from agent.settings import Settings
from tests.llm_server import llama_server, unavailable_reason


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    with llama_server() as url:
        yield url


@pytest.mark.slow
def test_openai_path_calls_a_tool_over_http_and_answers(
    base_url: str, demo_settings: Any, demo_deps: Any
) -> None:
    settings = demo_settings.model_copy(
        update={
            "provider": "openai",
            "openai_base_url": base_url,
            "model": "smollm2",
            "first_tool_choice": "lookup_customer",
            "max_steps": 3,
            "max_output_tokens": 48,
            "request_timeout_s": 120,
        }
    )
    runner = AgentRunner(settings, deps=demo_deps)
    assert runner.provider == "openai"
    result = runner.run("Tell me about customer C00042")
    assert result.tool_calls, result.answer
    first = result.tool_calls[0]
    assert first.name == "lookup_customer"
    # The tiny model may fill the id wrongly; then the tool error went back to it.
    assert first.ok or "customer" in (first.error or "").lower()
    assert result.answer.strip()
    model_events = [e for e in result.trace if e.kind == "model"]
    assert model_events and all((e.tokens_in or 0) > 0 for e in model_events)


def test_dead_endpoint_is_reported_not_raised(demo_settings: Any, demo_deps: Any) -> None:
    from tests.llm_server import free_port

    settings: Settings = demo_settings.model_copy(
        update={
            "provider": "openai",
            "openai_base_url": f"http://127.0.0.1:{free_port()}/v1",
            "max_retries": 1,
            "request_timeout_s": 2,
        }
    )
    runner = AgentRunner(settings, deps=demo_deps)
    result = runner.run("Tell me about C00042")
    assert result.stopped == "model_error"
    assert "could not be reached" in result.answer
    assert [e.kind for e in result.trace][-2:] == ["error", "answer"]
