"""A scripted fake chat model: replays given replies, records every prompt it was sent."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool


class ScriptRanOutError(AssertionError):
    """The model was called more often than the test scripted."""


class ScriptedChatModel(BaseChatModel):
    """Returns the scripted messages in order; fails loudly when they run out."""

    script: list[AIMessage]
    sent: list[list[BaseMessage]] = []
    tool_schemas: list[dict[str, Any]] = []

    @property
    def _llm_type(self) -> str:
        return "scripted-fake"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[Any, AIMessage]:
        """Record the tool schemas the model would be shown; return the same recorder."""
        self.tool_schemas.extend(convert_to_openai_tool(t) for t in tools)
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.sent.append(list(messages))
        if not self.script:
            raise ScriptRanOutError(f"script ran out after {len(self.sent) - 1} replies")
        reply = self.script.pop(0)
        return ChatResult(generations=[ChatGeneration(message=reply)])


def tool_call(name: str, args: dict[str, Any], call_id: str = "c1") -> AIMessage:
    """An AI message asking for one tool call."""
    return AIMessage(
        content="", tool_calls=[{"name": name, "args": args, "id": call_id, "type": "tool_call"}]
    )
