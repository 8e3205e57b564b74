"""What a run returns: its tool calls, artifacts, clarifying question and streamed steps.

``AgentRunner`` (``agent.loop.runner``) builds these; every front end reads them (the CLI's
JSON, the Python API, the chat app's panels, the HTTP API's responses).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.loop.trace import TraceEvent


class ToolCallRecord(BaseModel):
    """One tool call of a run, in call order."""

    id: str
    name: str
    args: dict[str, Any]
    ok: bool
    error: str | None = None
    summary: str = ""
    duration_ms: float | None = None


class ToolArtifact(BaseModel):
    """The full typed result of a successful tool call."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    call_id: str
    tool: str
    args: dict[str, Any]
    result: Any


class ClarificationOption(BaseModel):
    """One likely reading offered with a clarifying question."""

    label: str = Field(description="The reading in a few words, for a button.")
    request: str = Field(description="The full request to send if the user picks this option.")


class Clarification(BaseModel):
    """A short question the model asked instead of guessing, with the likely readings."""

    question: str
    options: list[ClarificationOption] = Field(default_factory=list)


class AgentResult(BaseModel):
    """What a run hands back: the answer, its trace, tool calls, artifacts and drafts.

    ``reading`` is how the model read the request (the offline model's typed reading as
    JSON; None for models that give none); ``clarification`` is set when the model asked a
    question instead of acting.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    answer: str
    run_id: str
    session_id: str
    provider: str
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    artifacts: list[ToolArtifact] = Field(default_factory=list)
    drafts: list[Any] = Field(default_factory=list)
    trace: list[TraceEvent] = Field(default_factory=list)
    stopped: Literal["done", "step_limit", "model_error"] = "done"
    reading: dict[str, Any] | None = None
    clarification: Clarification | None = None

    def to_json(self) -> dict[str, Any]:
        """The CLI's ``--json`` object."""
        return {
            "answer": self.answer,
            "run_id": self.run_id,
            "session_id": self.session_id,
            "provider": self.provider,
            "stopped": self.stopped,
            "reading": self.reading,
            "clarification": (
                self.clarification.model_dump(mode="json") if self.clarification else None
            ),
            "tool_calls": [
                {
                    "name": c.name,
                    "args": c.args,
                    "ok": c.ok,
                    **({"error": c.error} if c.error else {}),
                }
                for c in self.tool_calls
            ],
            "drafts": [d.model_dump(mode="json") for d in self.drafts],
            "artifacts": [
                {
                    "tool": a.tool,
                    "args": a.args,
                    "result": a.result.model_dump(mode="json")
                    if isinstance(a.result, BaseModel)
                    else a.result,
                }
                for a in self.artifacts
            ],
        }


class RunUpdate(BaseModel):
    """One streamed step: a tool call starting, a tool result, or the final result."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    kind: Literal["thinking", "tool_call", "tool_result", "result"]
    text: str = ""
    call: ToolCallRecord | None = None
    result: AgentResult | None = None
