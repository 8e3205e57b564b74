"""Golden requests for the offline model on the demo shop, in English and Chinese.

Each request must call the right tools in the right order, and every number the answer
states must come from a tool result (or the request itself).
"""

from __future__ import annotations

from typing import Any

import pytest

from agent.loop.runner import AgentResult, AgentRunner
from tests.agent.conftest import GOLDEN
from tests.grounding import ungrounded_numbers


@pytest.fixture(scope="module")
def runner(demo_settings: Any, demo_deps: Any) -> AgentRunner:
    return AgentRunner(demo_settings, deps=demo_deps)


def names(result: AgentResult) -> list[str]:
    return [c.name for c in result.tool_calls]


def assert_grounded(result: AgentResult, request: str) -> None:
    sources = [a.result.model_dump(mode="json") for a in result.artifacts]
    sources += [c.args for c in result.tool_calls]
    sources += [c.error for c in result.tool_calls if c.error]
    bad = ungrounded_numbers(result.answer, sources, request)
    assert not bad, f"numbers not returned by any tool: {bad}\n{result.answer}"


@pytest.mark.parametrize(("request_text", "expected"), GOLDEN)
def test_golden_requests(runner: AgentRunner, request_text: str, expected: list[str]) -> None:
    result = runner.run(request_text)
    assert names(result) == expected, result.answer
    assert all(c.ok for c in result.tool_calls), [c.error for c in result.tool_calls]
    assert result.answer.strip()
    assert_grounded(result, request_text)
    if any("\u4e00" <= ch <= "\u9fff" for ch in request_text):
        assert any("\u4e00" <= ch <= "\u9fff" for ch in result.answer)


def test_profile_answer_states_the_tool_facts(runner: AgentRunner) -> None:
    result = runner.run("Tell me about C00042")
    profile = result.artifacts[0].result
    assert profile.customer_id == "C00042"
    assert profile.segment in result.answer
    assert f"{profile.churn_risk:.0%}" in result.answer


def test_search_honours_the_price_filter(runner: AgentRunner) -> None:
    result = runner.run("Find waterproof hiking backpacks under $150")
    assert result.tool_calls[0].args["max_price"] == 150
    hits = result.artifacts[0].result.hits
    assert hits and all(h.price <= 150 for h in hits)
    for hit in hits:
        assert hit.product_id in result.answer


def test_chain_find_recommend_draft_for_top_three(runner: AgentRunner) -> None:
    text = (
        "Find at-risk customers who like outdoor gear, recommend them products and draft an "
        "email for the top 3"
    )
    result = runner.run(text)
    assert names(result) == ["find_customers"] + ["recommend_products"] * 3 + ["draft_message"] * 3
    found = result.artifacts[0].result
    assert found.filter.segments == ["at_risk"]
    assert found.filter.consent_channel == "email"
    targets = found.customer_ids[:3]
    assert [d.customer_id for d in result.drafts] == targets
    for draft in result.drafts:
        assert draft.channel == "email"
        assert draft.guard.passed, draft.guard.problems
    assert_grounded(result, text)


def test_chain_in_chinese(runner: AgentRunner) -> None:
    text = "找出喜欢户外装备的流失风险客户，给他们推荐商品，并为前3位起草邮件"
    result = runner.run(text)
    assert names(result) == ["find_customers"] + ["recommend_products"] * 3 + ["draft_message"] * 3
    assert len(result.drafts) == 3


def test_follow_up_uses_the_previous_segment(runner: AgentRunner) -> None:
    first = runner.run("How many loyal customers like running?", session="follow-up")
    assert names(first) == ["find_customers"]
    second = runner.run("and draft them an SMS", session="follow-up")
    assert names(second)[0] == "find_customers"
    filt = second.tool_calls[0].args["filter"]
    assert filt["segments"] == ["loyal"] and filt["consent_channel"] == "sms"
    assert second.drafts and all(d.channel == "sms" for d in second.drafts)


def test_explain_previous_recommendations(runner: AgentRunner) -> None:
    first = runner.run("Recommend products for C00003", session="explain")
    reasons = [i.reason for i in first.artifacts[0].result.items]
    second = runner.run("Why these products?", session="explain")
    assert second.tool_calls == []
    for reason in reasons:
        assert reason in second.answer


def test_unknown_request_lists_capabilities(runner: AgentRunner) -> None:
    result = runner.run("What is the weather in Paris tomorrow?")
    assert result.tool_calls == []
    assert "Recommend products for C00042" in result.answer


def test_unknown_customer_is_reported_not_invented(runner: AgentRunner) -> None:
    result = runner.run("Tell me about C99999")
    assert [c.ok for c in result.tool_calls] == [False]
    assert "C99999" in result.answer
    assert_grounded(result, "Tell me about C99999")


def test_plan_without_budget_asks_for_one(runner: AgentRunner) -> None:
    result = runner.run("Plan a campaign for at-risk customers")
    assert result.tool_calls == []
    assert "budget" in result.answer.lower()


def test_trace_records_route_calls_and_answer(runner: AgentRunner) -> None:
    result = runner.run("Recommend products for C00003")
    kinds = [e.kind for e in result.trace]
    assert kinds[0] == "request" and kinds[-1] == "answer"
    assert "route" in kinds and "tool_call" in kinds and "tool_result" in kinds
    route = next(e for e in result.trace if e.kind == "route").data["route"]
    assert route["intents"] and route["entities"]["customer_ids"] == ["C00003"]
    model_events = [e for e in result.trace if e.kind == "model"]
    assert all(e.tokens_in and e.tokens_in > 0 for e in model_events)


def test_plan_carries_its_fairness_audit_into_answer_and_trace(runner: AgentRunner) -> None:
    result = runner.run("Plan a $2,000 campaign over email for at-risk customers")
    plan = result.artifacts[0].result
    assert plan.fairness is not None
    assert {a.attribute for a in plan.fairness.attributes} == {"gender", "age_band"}
    assert "Fairness audit" in result.answer
    traced = next(e for e in result.trace if e.kind == "tool_result")
    assert traced.data["result"]["fairness"]["attributes"]
