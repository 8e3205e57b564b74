"""The tool loop: tool errors go back to the model, steps are bounded."""

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import StructuredTool

from agent.loop.graph import build_graph
from tests.fakes import ScriptedChatModel, tool_call
from tools.errors import ToolInputError


def _price(product_id: str) -> str:
    """Price of a product.

    Args:
        product_id: A product id such as P00001.
    """
    if product_id != "P00001":
        raise ToolInputError(f"unknown product id {product_id!r}; did you mean 'P00001'?")
    return "12.50"


TOOLS = [StructuredTool.from_function(_price, name="get_price")]


def _run(script: list[AIMessage], max_steps: int = 8) -> tuple[list[Any], ScriptedChatModel]:
    model = ScriptedChatModel(script=script, sent=[], tool_schemas=[])
    graph = build_graph(model, TOOLS, system_prompt="system", max_steps=max_steps)
    out = graph.invoke({"messages": [HumanMessage("price of P00002?")], "steps": 0})
    return out["messages"], model


def test_tool_input_error_goes_back_to_the_model_which_fixes_its_call() -> None:
    messages, model = _run(
        [
            tool_call("get_price", {"product_id": "P00002"}, "a"),
            tool_call("get_price", {"product_id": "P00001"}, "b"),
            AIMessage(content="It costs 12.50."),
        ]
    )
    tool_messages = [m for m in messages if isinstance(m, ToolMessage)]
    assert tool_messages[0].status == "error"
    assert "did you mean 'P00001'" in str(tool_messages[0].content)
    assert tool_messages[1].content == "12.50"
    assert messages[-1].content == "It costs 12.50."
    # The model saw the error text in its second prompt, after the system prompt.
    assert any("unknown product id" in str(m.content) for m in model.sent[1])
    assert model.sent[0][0].content == "system"


def test_invalid_arguments_and_unknown_tools_become_tool_errors() -> None:
    messages, _ = _run(
        [
            tool_call("get_price", {"wrong": 1}, "a"),
            tool_call("no_such_tool", {}, "b"),
            AIMessage(content="done"),
        ]
    )
    errors = [m for m in messages if isinstance(m, ToolMessage)]
    assert [e.status for e in errors] == ["error", "error"]
    assert "product_id" in str(errors[0].content)
    assert "no_such_tool" in str(errors[1].content)


def test_step_limit_stops_the_loop() -> None:
    script = [tool_call("get_price", {"product_id": "P00001"}, f"c{i}") for i in range(5)]
    messages, model = _run(script, max_steps=2)
    assert len(model.sent) == 2  # two model steps, then the loop ends
    assert isinstance(messages[-1], AIMessage) and messages[-1].tool_calls


def test_offline_model_calls_only_the_tools_it_was_given() -> None:
    import pandas as pd

    from agent.offline.model import build_offline_model
    from tools.shop.vocabulary import ShopVocabulary

    vocab = ShopVocabulary.build(
        pd.DataFrame({"category": ["kitchen"], "brand": ["Copperleaf"], "title_zh": ["锅"]}),
        pd.DataFrame({"city": ["London"]}),
    )
    model = build_offline_model(vocab)
    with_lookup = model.bind_tools([StructuredTool.from_function(_price, name="lookup_customer")])
    reply = with_lookup.invoke([HumanMessage("Tell me about C00042")])
    assert [c["name"] for c in reply.tool_calls] == ["lookup_customer"]
    without = model.bind_tools(TOOLS)  # no lookup_customer: it must not ask for it
    reply = without.invoke([HumanMessage("Tell me about C00042")])
    assert reply.tool_calls == []
