"""Per-family tool subsets for the OpenAI path: a fixed prompt under 1,500 cl100k tokens."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.utils.function_calling import convert_to_openai_tool

from agent.loop.graph import build_graph
from agent.loop.runner import AgentRunner
from agent.loop.tokens import count_message_tokens, count_tokens
from agent.offline.families import FAMILY_TOOLS, GENERAL_TOOLS, ToolSelector
from tests.fakes import ScriptedChatModel
from tools.shop.vocabulary import ShopVocabulary

#: The fixed prompt (system prompt + tool schemas) a model call may cost at most.
FIXED_PROMPT_LIMIT = 1500


@pytest.fixture(scope="module")
def runner(demo_settings: Any, demo_deps: Any) -> AgentRunner:
    return AgentRunner(demo_settings, deps=demo_deps)


@pytest.fixture(scope="module")
def selector(demo_deps: Any) -> ToolSelector:
    shop = demo_deps.shop
    return ToolSelector(ShopVocabulary.build(shop.products, shop.customers, shop.meta))


def test_every_familys_fixed_prompt_is_under_the_limit(runner: AgentRunner) -> None:
    system = count_message_tokens([SystemMessage(content=runner.system_prompt)])
    size = {
        t.name: count_tokens(str(convert_to_openai_tool(t)).replace("'", '"')) for t in runner.tools
    }
    for family, tools in [*FAMILY_TOOLS.items(), ("general", GENERAL_TOOLS)]:
        total = system + sum(size[t] for t in tools)
        assert total < FIXED_PROMPT_LIMIT, (family, total)
    assert system + sum(size.values()) > FIXED_PROMPT_LIMIT  # why the subsets exist


@pytest.mark.parametrize(
    ("request_text", "needed"),
    [
        ("pull up customer c3021 pls", {"lookup_customer"}),
        ("预算一万元，用邮件和短信渠道", {"optimize_campaign"}),
        ("draft an SMS for the top 3 at-risk customers",
         {"find_customers", "recommend_products", "draft_message"}),
        ("两百元以内的跑鞋有哪些？", {"search_products"}),
        ("is targeting customers in Shanghai fair?", {"audit_fairness"}),
        ("hmm", set(GENERAL_TOOLS)),
    ],
)  # fmt: skip
def test_a_request_gets_the_tools_of_its_family(
    selector: ToolSelector, request_text: str, needed: set[str]
) -> None:
    chosen = selector([HumanMessage(request_text)])
    assert needed <= set(chosen)
    assert len(chosen) < len(FAMILY_TOOLS) + 1


def test_a_follow_up_keeps_the_earlier_turns_tools(selector: ToolSelector) -> None:
    conversation = [
        HumanMessage("how many loyal customers like running?"),
        AIMessage("**120 customers** match."),
        HumanMessage("and draft them an SMS"),
    ]
    chosen = set(selector(conversation))
    assert {"find_customers", "draft_message", "recommend_products"} <= chosen


def test_the_graph_shows_the_model_only_the_selected_tools(runner: AgentRunner) -> None:
    model = ScriptedChatModel(script=[AIMessage(content="ok")], sent=[], tool_schemas=[])
    graph = build_graph(
        model,
        runner.tools,
        system_prompt="system",
        tool_selector=lambda messages: ["lookup_customer", "match_campaigns"],
    )
    graph.invoke({"messages": [HumanMessage("Tell me about C00042")], "steps": 0})
    shown = [s["function"]["name"] for s in model.tool_schemas]
    assert shown == ["lookup_customer", "match_campaigns"]
