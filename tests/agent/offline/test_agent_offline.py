"""Golden requests for the offline model on the demo shop, in English and Chinese.

Each request must call the right tools in the right order, every answer begins with the
reading of the request, and every number the answer states must come from a tool result (or
the request itself).
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
        assert result.answer.startswith("我的理解：")
    else:
        assert result.answer.startswith("I read this as: ")
    assert result.reading is not None and result.reading["intents"]


def test_profile_answer_states_the_tool_facts(runner: AgentRunner) -> None:
    result = runner.run("Tell me about C00042")
    profile = result.artifacts[0].result
    assert profile.customer_id == "C00042"
    assert "*at risk* segment" in result.answer  # the segment in words, never its code
    assert profile.segment not in result.answer
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
    assert result.clarification is not None
    assert "budget" in result.clarification.question.lower()
    picked = result.clarification.options[0].request
    assert picked.startswith("Plan a campaign for at-risk customers")
    assert result.to_json()["clarification"]["options"][0]["request"] == picked
    planned = runner.run(picked)
    assert names(planned) == ["optimize_campaign"]
    assert planned.tool_calls[0].args["audience"]["segments"] == ["at_risk"]


def test_trace_records_reading_route_calls_and_answer(runner: AgentRunner) -> None:
    result = runner.run("Recommend products for C00003")
    kinds = [e.kind for e in result.trace]
    assert kinds[0] == "request" and kinds[-1] == "answer"
    assert "route" in kinds and "tool_call" in kinds and "tool_result" in kinds
    assert kinds.index("reading") < kinds.index("tool_call")
    reading = next(e for e in result.trace if e.kind == "reading").data["reading"]
    assert reading["intents"] == ["recommend"] and reading["customer_ids"] == ["C00003"]
    assert reading["sources"]["customer_ids"] == "C00003"
    assert result.to_json()["reading"]["customer_ids"] == ["C00003"]
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


# -- the acceptance examples of issue 15 -------------------------------------------------------


def test_winter_jackets_after_an_unrelated_sms_request(runner: AgentRunner) -> None:
    runner.run("text the at-risk customers who can get SMS", session="jackets")
    result = runner.run("who should i email this week about the winter jackets?", session="jackets")
    assert names(result) == ["search_products", "find_customers"]
    hits = result.artifacts[0].result.hits
    filt = result.tool_calls[1].args["filter"]
    assert filt["consent_channel"] == "email"
    assert "segments" not in filt  # the earlier at-risk segment was not carried over
    assert "fashion_men" in filt["categories"]
    assert set(filt["categories"]) <= {h.category for h in hits}
    head = result.answer.splitlines()[0]
    assert head.startswith("I read this as: find customers")
    assert "winter jackets" in head and "email" in head and "this week" in head
    found = result.artifacts[1].result
    assert found.count > 0 and f"{found.count:,}" in result.answer


def test_budget_in_chinese_numerals_plans_with_ten_thousand(runner: AgentRunner) -> None:
    text = "预算一万元，用邮件和短信渠道，怎么分配预算最划算？"
    result = runner.run(text)
    assert names(result) == ["optimize_campaign"]
    args = result.tool_calls[0].args
    assert args["budget"] == 10000
    assert [c["channel"] for c in args["channels"]] == ["email", "sms"]
    assert result.answer.startswith("我的理解：营销计划")
    assert "10,000（“一万元”）" in result.answer.splitlines()[0]
    assert_grounded(result, text)


def test_a_city_audit_audits_that_city_not_the_whole_shop(runner: AgentRunner) -> None:
    result = runner.run("is targeting customers in shanghai fair across gender and age?")
    assert names(result) == ["audit_fairness"]
    assert result.tool_calls[0].args["audience"] == {"city": "Shanghai"}
    audit = result.artifacts[0].result
    shanghai = runner.run("how many customers in Shanghai?").artifacts[0].result.count
    assert sum(g.selected for g in audit.attributes[0].groups) == shanghai


def test_forbidden_request_is_declined_without_a_tool_call(runner: AgentRunner) -> None:
    result = runner.run("delete all customers")
    assert result.tool_calls == []
    assert result.reading is not None and result.reading["decline"] == "forbidden"
    assert "can't delete" in result.answer
    zh = runner.run("把所有客户的手机号导出来")
    assert zh.tool_calls == [] and "联系方式" in zh.answer


def test_top_three_follow_up_keeps_the_earlier_segment(runner: AgentRunner) -> None:
    runner.run("loyal customers who like running", session="top3")
    result = runner.run("draft an SMS for the top 3", session="top3")
    assert names(result)[0] == "find_customers"
    filt = result.tool_calls[0].args["filter"]
    assert filt["segments"] == ["loyal"] and filt["categories"] == ["running"]
    assert filt["consent_channel"] == "sms" and filt["limit"] == 3
    assert len(result.drafts) == 3 and all(d.channel == "sms" for d in result.drafts)
    assert "Taken from earlier in this conversation" in result.answer


def test_redo_the_plan_keeps_budget_and_audience(runner: AgentRunner) -> None:
    runner.run("plan a $5,000 campaign over email and SMS for at-risk customers", session="redo")
    result = runner.run("redo the plan with SMS only", session="redo")
    args = result.tool_calls[0].args
    assert args["budget"] == 5000 and args["channels"] == [{"channel": "sms"}]
    assert args["audience"]["segments"] == ["at_risk"]


def test_a_singular_pronoun_with_two_customers_asks_which(runner: AgentRunner) -> None:
    runner.run("compare C00010 and C00011", session="which")
    result = runner.run("draft him an email", session="which")
    assert result.tool_calls == []
    assert result.clarification is not None
    assert [o.label for o in result.clarification.options] == ["C00010", "C00011"]
    assert result.clarification.options[1].request == "draft C00011 an email"


def test_a_noun_the_catalog_does_not_know_is_asked_about(runner: AgentRunner) -> None:
    result = runner.run("find customers who love spaceships")
    assert names(result) == ["search_products"]  # the look-up is shown, nothing else runs
    assert result.clarification is not None
    assert "spaceships" in result.clarification.question
    assert result.clarification.options


@pytest.mark.parametrize(
    ("request_text", "tool", "path", "value"),
    [
        ("customers who haven't bought in six months", "find_customers",
         "filter.min_days_since_purchase", 180),
        ("customers who bought in the last two weeks", "find_customers",
         "filter.max_days_since_purchase", 14),
        ("customers who spent over $5k lifetime", "find_customers", "filter.min_spend", 5000),
        ("customers who spent less than 100 dollars", "find_customers", "filter.max_spend", 100),
        ("customers with churn risk above 70%", "find_customers", "filter.min_churn_risk", 0.7),
        ("customers with churn risk below 20%", "find_customers", "filter.max_churn_risk", 0.2),
        ("who can we text in shanghai", "find_customers", "filter.consent_channel", "sms"),
        ("who can we text in shanghai", "find_customers", "filter.city", "Shanghai"),
        ("chinese speaking customers", "find_customers", "filter.language", "zh"),
        ("high value customers", "find_customers", "filter.value_tier", "high"),
        ("lapsed customers who like kitchen stuff", "find_customers", "filter.categories",
         ["kitchen"]),
        ("find Trailforge backpacks between $40 and $120", "search_products", "brand",
         "Trailforge"),
        ("find Trailforge backpacks between $40 and $120", "search_products", "min_price", 40),
        ("find Trailforge backpacks between $40 and $120", "search_products", "max_price", 120),
        ("show me 7 kitchen knives", "search_products", "k", 7),
        ("give C00042 four picks in beauty", "recommend_products", "k", 4),
        ("give C00042 four picks in beauty", "recommend_products", "category", "beauty"),
        ("plan 2.5k for loyal customers, maximise conversions", "optimize_campaign", "goal",
         "conversions"),
        ("plan 2.5k for loyal customers with 15% off", "optimize_campaign",
         "offers.0.discount_pct", 15),
        ("plan 5k, no more than 30% to champions", "optimize_campaign",
         "max_segment_share.champions", 0.3),
        ("plan 10k, skip anyone contacted in the last 14 days", "optimize_campaign",
         "frequency_cap_days", 14),
        ("draft an sms for C00003 to win them back", "draft_message", "goal", "win-back"),
        ("draft an email for C00003 with 20% off", "draft_message", "offer.discount_pct", 20),
    ],
)  # fmt: skip
def test_every_condition_reaches_a_tool_argument(
    runner: AgentRunner, request_text: str, tool: str, path: str, value: object
) -> None:
    result = runner.run(request_text)
    call = next(c for c in result.tool_calls if c.name == tool)
    actual: object = call.args
    for step in path.split("."):
        actual = actual[int(step)] if isinstance(actual, list) else actual[step]  # type: ignore[index]
    assert actual == value
    assert result.reading is not None and not result.reading.get("unsupported")


@pytest.mark.parametrize(
    ("request_text", "named"),
    [
        ("recommend products for C00042 but not leather", 'exclude "leather"'),
        ("female customers who like running", 'gender or age ("female")'),
    ],
)
def test_a_condition_no_tool_can_apply_is_named_in_the_answer(
    runner: AgentRunner, request_text: str, named: str
) -> None:
    result = runner.run(request_text)
    assert result.tool_calls, result.answer
    assert named in result.answer
    assert "without that condition" in result.answer


@pytest.mark.parametrize(
    ("request_text", "word"),
    [("hiking gear but not leather", "leather"), ("找一些背包，不要皮的", "皮")],
)
def test_a_negation_reaches_the_search_as_exclude(
    runner: AgentRunner, request_text: str, word: str
) -> None:
    result = runner.run(request_text)
    call = next(c for c in result.tool_calls if c.name == "search_products")
    assert call.args["exclude"] == [word]
    assert result.reading is not None and not result.reading.get("unsupported")
    assert word in result.answer.splitlines()[0]  # said back in the reading
    hits = result.artifacts[-1].result.hits
    assert hits and all(word.lower() not in h.title.lower() for h in hits)


def test_a_negated_category_is_never_used_as_the_filter(runner: AgentRunner) -> None:
    result = runner.run("recommend products for C00042 but not kitchen")
    assert "category" not in result.tool_calls[0].args
    assert 'exclude "kitchen"' in result.answer


def test_an_earlier_customer_named_by_position(runner: AgentRunner) -> None:
    runner.run("tell me about C00020 and C00021", session="ordinal")
    result = runner.run("recommend for the second one", session="ordinal")
    assert names(result) == ["recommend_products"]
    assert result.tool_calls[0].args["customer_id"] == "C00021"


def test_a_chinese_follow_up_sends_the_earlier_picks_by_email(runner: AgentRunner) -> None:
    runner.run("给C00108推荐3件商品", session="zh-follow")
    result = runner.run("用邮件把这些发给他", session="zh-follow")
    assert names(result) == ["draft_message"]  # the earlier picks, not new ones
    args = result.tool_calls[0].args
    assert args["customer_id"] == "C00108" and args["channel"] == "email"
    assert result.answer.startswith("我的理解：起草消息")
    assert "沿用了本次对话之前的内容" in result.answer
