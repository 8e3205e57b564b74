"""A conversation read back as turns: each request with the stages of tool calls it ran.

The offline model is stateless: it recomputes where a request stands from the messages, so
a replayed or resumed session needs no hidden state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage


class StageResult:
    """The tool calls of one stage and what came back."""

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self.calls: list[dict[str, Any]] = []
        self.results: list[ToolMessage] = []

    def artifacts(self, tool: str | None = None) -> list[Any]:
        """Typed results of the successful calls (optionally of one tool)."""
        names = {c["id"]: c["name"] for c in self.calls}
        return [
            m.artifact
            for m in self.results
            if m.status != "error"
            and m.artifact is not None
            and (tool is None or names.get(m.tool_call_id) == tool)
        ]


class Turn:
    """One request and the stages already run for it, read back from the messages."""

    def __init__(self, request: str, stages: list[StageResult]) -> None:
        self.request = request
        self.stages = stages

    def artifacts(self, tool: str) -> list[Any]:
        """Typed results of a tool across this turn's stages."""
        return [a for s in self.stages for a in s.artifacts(tool)]


def read_turns(messages: Sequence[BaseMessage]) -> list[Turn]:
    """Split a conversation into turns (request + stages with their tool results)."""
    turns: list[Turn] = []
    by_call: dict[str, StageResult] = {}
    for message in messages:
        if isinstance(message, HumanMessage):
            turns.append(Turn(str(message.content), []))
        elif isinstance(message, AIMessage) and message.tool_calls and turns:
            stage = StageResult(str(message.additional_kwargs.get("stage", "model")))
            stage.calls = [dict(c) for c in message.tool_calls]
            for call in message.tool_calls:
                by_call[str(call["id"])] = stage
            turns[-1].stages.append(stage)
        elif isinstance(message, ToolMessage) and message.tool_call_id in by_call:
            by_call[message.tool_call_id].results.append(message)
    return turns
