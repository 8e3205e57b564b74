"""The tool-calling loop: a LangGraph graph of a chat model and a ``ToolNode``, bounded steps.

``build_graph`` is the only factory; every front end reaches it through
``agent.loop.runner.AgentRunner``. A step is one model call; after ``max_steps`` the loop stops and
the runner reports what was found so far.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.graph import START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolNode
from langgraph.prebuilt.tool_node import ToolCallRequest, ToolInvocationError
from langgraph.types import Command

from agent.loop.tokens import count_message_tokens, count_tokens
from tools.errors import ToolInputError


class AgentState(TypedDict):
    """The loop's state: the conversation and the model steps taken in this run."""

    messages: Annotated[list[BaseMessage], add_messages]
    steps: int


def handle_tool_error(exc: Exception) -> str:
    """Turn a fixable tool error into a message for the model; re-raise program faults."""
    if isinstance(exc, ToolInvocationError):
        return exc.message
    if isinstance(exc, ToolInputError):
        return f"Error: {exc}. Fix the arguments and call the tool again, or tell the user."
    raise exc


def _timed_tool_call(
    request: ToolCallRequest, execute: Callable[[ToolCallRequest], ToolMessage | Command[Any]]
) -> ToolMessage | Command[Any]:
    """Run one tool call and record its duration on the resulting message."""
    start = time.perf_counter()
    result = execute(request)
    if isinstance(result, ToolMessage):
        result.response_metadata = {
            **result.response_metadata,
            "duration_ms": round((time.perf_counter() - start) * 1000, 2),
        }
    return result


def route_after_model(state: AgentState, max_steps: int) -> Literal["tools", "__end__"]:
    """Go to the tools when the model asked for them and steps remain; else finish."""
    last = state["messages"][-1]
    if isinstance(last, AIMessage) and last.tool_calls and state["steps"] < max_steps:
        return "tools"
    return "__end__"  # langgraph's END


def build_graph(
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    *,
    system_prompt: str,
    max_steps: int = 8,
    first_tool_choice: str | None = None,
    tool_selector: Callable[[Sequence[BaseMessage]], Sequence[str]] | None = None,
) -> Any:
    """Compile the tool loop for a model and its tools.

    ``first_tool_choice`` ("required" or a tool name) forces a tool call on the first step
    of each request, for small models that never pick a tool by themselves.
    ``tool_selector`` (optional) names the tools to send with each model call, from the
    conversation (fewer prompt tokens); a forced first tool is always among them. Every tool
    still runs when called.
    """
    by_name = {t.name: t for t in tools}
    bindings: dict[tuple[tuple[str, ...], bool], Any] = {}

    def bound_for(names: tuple[str, ...], first: bool) -> Any:
        key = (names, first)
        if key not in bindings:
            chosen = [by_name[n] for n in names if n in by_name] or list(tools)
            choice = first_tool_choice if first else None
            bindings[key] = (
                model.bind_tools(chosen, tool_choice=choice) if choice else model.bind_tools(chosen)
            )
        return bindings[key]

    every = tuple(by_name)
    system = SystemMessage(content=system_prompt)

    def call_model(state: AgentState) -> dict[str, Any]:
        sent = [system, *state["messages"]]
        names = every
        if tool_selector is not None:
            names = tuple(tool_selector(state["messages"]))
            forced = first_tool_choice if first_tool_choice in by_name else None
            if forced and forced not in names:
                names = (forced, *names)
        start = time.perf_counter()
        reply = bound_for(names, bool(first_tool_choice) and state["steps"] == 0).invoke(sent)
        duration = round((time.perf_counter() - start) * 1000, 2)
        if not isinstance(reply, AIMessage):
            reply = AIMessage(content=str(getattr(reply, "content", reply)))
        reply.response_metadata = {
            **reply.response_metadata,
            "duration_ms": duration,
            "tokens_in": count_message_tokens(sent),
            "tokens_out": count_tokens(str(reply.content))
            + count_tokens(str(reply.tool_calls) if reply.tool_calls else ""),
        }
        return {"messages": [reply], "steps": state["steps"] + 1}

    graph = StateGraph(AgentState)
    graph.add_node("model", call_model)
    graph.add_node(
        "tools",
        ToolNode(
            list(tools), handle_tool_errors=handle_tool_error, wrap_tool_call=_timed_tool_call
        ),
    )
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", lambda s: route_after_model(s, max_steps))
    graph.add_edge("tools", "model")
    return graph.compile()
