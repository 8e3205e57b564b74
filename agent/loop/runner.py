"""``AgentRunner``: the one entry point every front end uses (CLI, Python API, UI, batch).

``run(text, session)`` returns an ``AgentResult``; ``stream(text, session)`` yields the same
steps as they happen and ends with the result. Every step is written to the redacting trace
(one JSONL file per run under ``settings.trace_dir``). Sessions keep their conversation in
memory so that follow-ups ("and draft them an SMS") work.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Collection, Iterator
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from pydantic import BaseModel

from agent.loop.graph import build_graph
from agent.loop.limits import check_request
from agent.loop.llm import build_chat_model
from agent.loop.redact import Redactor, install_log_redaction
from agent.loop.results import (
    AgentResult,
    Clarification,
    ClarificationOption,
    RunUpdate,
    ToolArtifact,
    ToolCallRecord,
)
from agent.loop.sessions import SessionStore
from agent.loop.trace import TraceWriter
from agent.offline.families import ToolSelector
from agent.settings import Settings
from tools.copy.templates import render_template
from tools.deps import ToolDeps
from tools.registry import build_tools
from tools.shop.vocabulary import ShopVocabulary

__all__ = ["AgentResult", "AgentRunner", "Clarification", "ClarificationOption", "RunUpdate",
           "ToolArtifact", "ToolCallRecord"]

logger = logging.getLogger(__name__)


class AgentRunner:
    """Runs requests through the tool loop and keeps per-session conversations."""

    def __init__(
        self,
        settings: Settings,
        *,
        deps: ToolDeps | None = None,
        model: BaseChatModel | None = None,
        tool_names: Collection[str] | None = None,
    ) -> None:
        """Build the loop for ``settings``.

        Args:
            settings: the product's settings.
            deps: the stores to share (built from ``settings`` when omitted).
            model: a chat model to use instead of the one ``settings`` name.
            tool_names: offer the model only these tools (all when omitted); a front end
                passes what its caller may use (the API's key scopes).
        """
        self.settings = settings
        self.deps = deps or ToolDeps(settings.tool_config())
        if deps is None and model is None:
            # Draft copy: the OpenAI model writes it (or SmolLM2 polishes it) from the
            # grounded template; the guard keeps it only when it passes. Callers that pass
            # their own deps set ``deps.copy_rewriter`` themselves.
            if settings.local_polish:
                from agent.loop.polish import build_local_rewriter

                self.deps.copy_rewriter = build_local_rewriter()
            elif settings.provider == "openai":
                from agent.loop.copy_llm import build_llm_rewriter

                self.deps.copy_rewriter = build_llm_rewriter(settings)
        self.tools = [
            t for t in build_tools(self.deps) if tool_names is None or t.name in tool_names
        ]
        self.model = model or build_chat_model(settings, self.deps)
        self.provider = "custom" if model is not None else settings.provider
        self.system_prompt = render_template(
            "system.md",
            shop_name=settings.shop_name,
            as_of=str(self.deps.shop.meta.get("as_of", "the latest data")),
        )
        self.tool_selector: ToolSelector | None = None
        if self.provider == "openai":
            # The offline reading names the request's family: only its tools are sent.
            shop = self.deps.shop
            self.tool_selector = ToolSelector(
                ShopVocabulary.build(shop.products, shop.customers, shop.meta)
            )
        self.graph = build_graph(
            self.model,
            self.tools,
            system_prompt=self.system_prompt,
            max_steps=settings.max_steps,
            first_tool_choice=settings.first_tool_choice,
            tool_selector=self.tool_selector,
        )
        self.redactor = Redactor.from_shop(self.deps.shop, settings)
        # Every log record of the process is redacted from here on (payloads never leak);
        # the installation lasts as long as this runner's redactor.
        install_log_redaction(self.redactor)
        self.sessions = SessionStore(
            settings.state_dir / "sessions",
            max_sessions=settings.max_sessions,
            ttl_days=settings.session_ttl_days,
        )

    # -- sessions ---------------------------------------------------------------------------

    def history(self, session: str) -> list[BaseMessage]:
        """The newest turns of a session, as the model is sent them (a copy)."""
        return self.sessions.load(
            session,
            max_turns=self.settings.max_history_turns,
            max_bytes=self.settings.max_history_bytes,
        )

    def reset(self, session: str) -> None:
        """Forget a session's conversation."""
        self.sessions.forget(session)

    def check_draft(self, draft: Any) -> Any:
        """The copy guard's verdict on a draft as a reviewer edited it (the drafting rules)."""
        from tools.copy.guard import check_draft_in_shop

        return check_draft_in_shop(draft, self.deps.shop, self.settings.link_allowlist)

    def sms_size(self, text: str) -> Any:
        """Encoding, length and parts of an SMS text (``tools.copy.rules.SmsSize``)."""
        from tools.copy.rules import sms_size

        return sms_size(text)

    def check_contacts(self, pairs: list[tuple[str, str]]) -> list[Any]:
        """Consent and frequency rules for (customer id, channel) pairs as the shop is now.

        Returns ``agent.loop.contacts.ContactCheck`` per pair (an export re-checks with it).
        """
        from agent.loop.contacts import check_contacts

        return check_contacts(self.deps, pairs)

    def record_review(self, run_id: str, action: str, data: dict[str, Any]) -> None:
        """Append a reviewer's action (edit, approve, reject, export) to the run's trace.

        The event is redacted like every other; ``trace show RUN_ID`` lists it last.
        """
        trace = TraceWriter(self.settings.trace_dir, self.redactor, run_id=run_id)
        trace.event("review", {"action": action, **data})

    # -- running ----------------------------------------------------------------------------

    def run(
        self, text: str, session: str | None = None, *, caller: str | None = None
    ) -> AgentResult:
        """Answer one request (see ``stream`` for the steps as they happen)."""
        final: AgentResult | None = None
        for update in self.stream(text, session, caller=caller):
            if update.result is not None:
                final = update.result
        assert final is not None
        return final

    def stream(
        self, text: str, session: str | None = None, *, caller: str | None = None
    ) -> Iterator[RunUpdate]:
        """Run one request, yielding each step and finally the ``AgentResult``.

        ``caller`` names who asked (a front end and its API key's name, never the key); it is
        recorded in the run's ``request`` event.

        Raises:
            RequestTooLargeError: ``text`` is over ``AGENT_MAX_REQUEST_BYTES`` (checked first:
                nothing is traced, sent or stored).
        """
        check_request(text, self.settings.max_request_bytes)
        session = session or uuid.uuid4().hex[:12]
        trace = TraceWriter(
            self.settings.trace_dir, self.redactor, max_bytes=self.settings.trace_max_bytes
        )
        request: dict[str, Any] = {"text": text, "session": session, "provider": self.provider}
        if caller is not None:
            request["caller"] = caller
        trace.event("request", request)
        prior = self.history(session)
        # Personal data typed into a request never reaches the model or the session file.
        messages: list[BaseMessage] = [*prior, HumanMessage(content=self.redactor.redact(text))]
        calls: dict[str, ToolCallRecord] = {}
        artifacts: list[ToolArtifact] = []
        drafts: list[Any] = []
        answer = ""
        reading: dict[str, Any] | None = None
        clarification: Clarification | None = None
        stopped: Literal["done", "step_limit", "model_error"] = "done"
        started = time.perf_counter()
        try:
            inputs = {"messages": messages, "steps": 0}
            for update in self.graph.stream(inputs, stream_mode="updates"):
                for node, delta in update.items():
                    for message in (delta or {}).get("messages", []):
                        messages.append(message)
                        if node == "model" and isinstance(message, AIMessage):
                            yield from self._on_model(message, trace, calls)
                        elif isinstance(message, ToolMessage):
                            record = calls.get(message.tool_call_id)
                            yield from self._on_tool(message, record, trace, artifacts, drafts)
            last = messages[-1]
            if isinstance(last, AIMessage) and last.tool_calls:
                stopped = "step_limit"
                answer = self._partial_answer(calls, reason="step_limit")
            else:
                answer = str(last.content)
                if isinstance(last, AIMessage):
                    reading, clarification = _reading_of(last)
        except Exception as exc:
            if not _is_model_failure(exc):
                trace.event("error", {"type": type(exc).__name__, "message": str(exc)})
                raise
            stopped = "model_error"
            logger.warning("model call failed: %s", type(exc).__name__)
            trace.event("error", {"type": type(exc).__name__, "message": str(exc)})
            answer = self._partial_answer(calls, reason=f"{type(exc).__name__}: {exc}")
            messages.append(AIMessage(content=answer))
        trace.event(
            "answer",
            {"text": answer, "stopped": stopped},
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        self.sessions.append(session, messages[len(prior):])
        result = AgentResult(
            answer=answer,
            run_id=trace.run_id,
            session_id=session,
            provider=self.provider,
            tool_calls=list(calls.values()),
            artifacts=artifacts,
            drafts=drafts,
            trace=list(trace.events),
            stopped=stopped,
            reading=reading,
            clarification=clarification,
        )
        yield RunUpdate(kind="result", text=answer, result=result)

    def _on_model(
        self, message: AIMessage, trace: TraceWriter, calls: dict[str, ToolCallRecord]
    ) -> Iterator[RunUpdate]:
        meta = message.response_metadata or {}
        route = meta.get("route")
        data: dict[str, Any] = {"content": str(message.content)}
        if route is not None:
            trace.event("route", {"route": route})
        if meta.get("reading") is not None:
            trace.event("reading", {"reading": meta["reading"]})
        if message.tool_calls:
            data["tool_calls"] = [
                {"name": c["name"], "args": c["args"]} for c in message.tool_calls
            ]
        trace.event(
            "model",
            data,
            duration_ms=meta.get("duration_ms"),
            tokens_in=meta.get("tokens_in"),
            tokens_out=meta.get("tokens_out"),
        )
        if message.tool_calls and str(message.content).strip():
            yield RunUpdate(kind="thinking", text=str(message.content))
        for call in message.tool_calls:
            record = ToolCallRecord(
                id=str(call["id"]), name=call["name"], args=dict(call["args"]), ok=True
            )
            calls[record.id] = record
            trace.event("tool_call", {"id": record.id, "name": record.name, "args": record.args})
            yield RunUpdate(kind="tool_call", call=record)

    def _on_tool(
        self,
        message: ToolMessage,
        record: ToolCallRecord | None,
        trace: TraceWriter,
        artifacts: list[ToolArtifact],
        drafts: list[Any],
    ) -> Iterator[RunUpdate]:
        duration = (message.response_metadata or {}).get("duration_ms")
        if record is None:  # a call the model never made: keep it visible, not fatal
            record = ToolCallRecord(
                id=message.tool_call_id, name=str(message.name), args={}, ok=True
            )
        record.duration_ms = duration
        if message.status == "error":
            record.ok = False
            record.error = str(message.content)
            trace.event(
                "tool_error",
                {"id": record.id, "name": record.name, "error": record.error},
                duration_ms=duration,
            )
        else:
            result = message.artifact
            record.summary = result.summary() if hasattr(result, "summary") else ""
            artifacts.append(
                ToolArtifact(call_id=record.id, tool=record.name, args=record.args, result=result)
            )
            payload = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
            trace.event(
                "tool_result",
                {
                    "id": record.id,
                    "name": record.name,
                    "summary": record.summary,
                    "result": payload,
                },
                duration_ms=duration,
            )
            if record.name == "draft_message" and result is not None:
                drafts.append(result)
                guard = getattr(result, "guard", None)
                trace.event(
                    "guard",
                    {
                        "draft_id": getattr(result, "draft_id", None),
                        "verdict": guard.model_dump(mode="json") if guard is not None else None,
                    },
                )
        yield RunUpdate(kind="tool_result", call=record)

    def _partial_answer(self, calls: dict[str, ToolCallRecord], reason: str) -> str:
        if reason == "step_limit":
            head = (
                f"I stopped after {self.settings.max_steps} steps (the step limit) before "
                "finishing. Here is what I found so far:"
            )
        else:
            head = f"The model could not be reached ({reason}). Here is what I found before that:"
        lines = [head]
        for call in calls.values():
            status = call.summary if call.ok else f"failed: {call.error}"
            lines.append(f"- {call.name}: {status}")
        if len(lines) == 1:
            lines.append("- nothing yet")
        return "\n".join(lines)


def _reading_of(message: AIMessage) -> tuple[dict[str, Any] | None, Clarification | None]:
    """The reading and the clarifying question a final message carries, if any."""
    extra = message.additional_kwargs or {}
    reading = extra.get("reading")
    asked = extra.get("clarification")
    clarification = Clarification.model_validate(asked) if isinstance(asked, dict) else None
    return (dict(reading) if isinstance(reading, dict) else None), clarification


def _is_model_failure(exc: Exception) -> bool:
    """Endpoint failures (timeouts, rate limits, 5xx, refused connections) end a run cleanly."""
    try:
        import httpx
        import openai
    except ImportError:  # pragma: no cover - both are dependencies
        return False
    return isinstance(exc, (openai.APIError, httpx.HTTPError, ConnectionError, TimeoutError))
