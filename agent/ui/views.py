"""Pure mapping from agent results to what the chat app (``app.py``) shows.

Every function here takes agent results (``RunUpdate``, ``AgentResult``, tool artifacts such
as ``CustomerProfile``, ``CampaignPlan`` or ``Draft``) and returns plain UI values: chat
message dicts, Markdown, pandas DataFrames and matplotlib figures. Nothing here touches
Gradio, the network or global state, so the mapping is tested on its own
(``tests/agent/ui/test_ui_views.py``) and the app's callbacks stay thin.

This module holds the chat steps, error messages and the status line, and re-exports the
rest, so ``agent.ui.views`` stays the one place the app imports from:
``agent.ui.format`` (field access and formatting), ``agent.ui.panels`` (profile, segment
and product panels), ``agent.ui.plan`` (campaign plan table and charts) and
``agent.ui.drafts`` (draft review queue and export).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from agent.offline.labels import Words
from agent.ui.drafts import (
    DRAFT_COLUMNS,
    EXPORT_FIELDS,
    FAIL_MARK,
    PASS_MARK,
    STATUS_LABELS,
    DraftItem,
    DraftStatus,
    SessionView,
    add_drafts,
    draft_choices,
    draft_detail,
    drafts_table,
    edit_draft,
    editable_fields,
    export_records,
    find_draft,
    guard_passed,
    guard_problem_codes,
    guard_problems,
    guard_text,
    replace_item,
    set_status,
    write_exports,
)
from agent.ui.format import (
    artifacts_of,
    field,
    humanize,
    latest_artifact,
    money,
    percent,
    to_plain,
)
from agent.ui.panels import (
    PRODUCT_COLUMNS,
    SEGMENT_COLUMNS,
    describe_filter,
    product_columns,
    products_table,
    profile_card,
    segment_columns,
    segment_rows,
    segment_summary,
    segment_table,
)
from agent.ui.plan import (
    CHANNEL_COLOURS,
    FALLBACK_COLOURS,
    PLAN_COLUMNS,
    plan_chart,
    plan_rows,
    plan_summary,
    plan_table,
    unspent,
    what_if_chart,
    what_if_points,
)

__all__ = [
    "CHANNEL_COLOURS",
    "ChatMessageDict",
    "DRAFT_COLUMNS",
    "DraftItem",
    "DraftStatus",
    "EXPORT_FIELDS",
    "FAIL_MARK",
    "FALLBACK_COLOURS",
    "PASS_MARK",
    "PLAN_COLUMNS",
    "PRODUCT_COLUMNS",
    "SEGMENT_COLUMNS",
    "STATUS_LABELS",
    "STEP_ICON",
    "SessionView",
    "THINKING_MARK",
    "Words",
    "add_drafts",
    "apply_update",
    "describe_filter",
    "artifacts_of",
    "draft_choices",
    "draft_detail",
    "drafts_table",
    "edit_draft",
    "editable_fields",
    "export_records",
    "field",
    "find_draft",
    "format_args",
    "friendly_error",
    "guard_passed",
    "guard_problem_codes",
    "guard_problems",
    "guard_text",
    "humanize",
    "latest_artifact",
    "money",
    "panel_for",
    "percent",
    "plan_chart",
    "plan_rows",
    "plan_summary",
    "plan_table",
    "product_columns",
    "products_table",
    "profile_card",
    "replace_item",
    "run_info",
    "segment_columns",
    "segment_rows",
    "segment_summary",
    "segment_table",
    "set_status",
    "status_line",
    "step_message",
    "thinking_message",
    "to_plain",
    "unspent",
    "what_if_chart",
    "what_if_points",
    "write_exports",
]


#: Chat message dicts in Gradio's "messages" format.
ChatMessageDict = dict[str, Any]

STEP_ICON = "🔧"
THINKING_MARK = "💭"


# --------------------------------------------------------------------------- chat steps


def format_args(args: Mapping[str, Any] | None, words: Words | None = None) -> str:
    """A tool call's arguments as a short JSON code block (Markdown)."""
    if not args:
        return f"_{(words or Words()).ui('step_no_arguments')}_"
    text = json.dumps(dict(args), ensure_ascii=False, indent=2, default=str)
    return f"```json\n{text}\n```"


def step_message(call: Any, *, done: bool, words: Words | None = None) -> ChatMessageDict:
    """A collapsible chat step for one tool call (pending while it runs, done after).

    Args:
        call: A ``ToolCallRecord`` (id, name, args, ok, error, summary, duration_ms).
        done: Whether the tool has returned.
        words: The reader's words (the tool's name as words; English by default).
    """
    w = words or Words()
    name = str(field(call, "name", default="tool"))
    args = format_args(field(call, "args", default={}), w)
    parts = [f"**{w.ui('step_arguments')}**\n\n{args}"]
    metadata: dict[str, Any] = {
        "title": f"{STEP_ICON} {w.label('tool', name)}",
        "id": str(field(call, "id", default=name)),
        "status": "done" if done else "pending",
    }
    if done:
        if field(call, "ok", default=True):
            summary = field(call, "summary", default="") or "done"
            parts.append(f"**{w.ui('step_result')}:** {summary}")
        else:
            metadata["title"] = f"⚠️ {w.label('tool', name)}: {w.ui('step_failed')}"
            parts.append(f"**{w.ui('step_error')}:** {field(call, 'error', default='?')}")
        duration_ms = field(call, "duration_ms")
        if duration_ms is not None:
            metadata["duration"] = round(float(duration_ms) / 1000.0, 4)
    else:
        parts.append(f"_{w.ui('step_running')}_")
    return {"role": "assistant", "content": "\n\n".join(parts), "metadata": metadata}


def thinking_message(text: str) -> ChatMessageDict:
    """The model's visible note before its tool calls ("Finding the customers..."), as narration."""
    return {"role": "assistant", "content": f"{THINKING_MARK} {text}"}


def apply_update(
    history: Sequence[ChatMessageDict], update: Any, words: Words | None = None
) -> list[ChatMessageDict]:
    """The chat after one streamed ``RunUpdate`` (a new list; ``history`` is not changed).

    A ``tool_call`` adds a pending step, its ``tool_result`` replaces that step with the
    finished one (same id), ``thinking`` adds the model's note as narration and ``result``
    adds the answer.
    """
    out = [dict(m) for m in history]
    kind = field(update, "kind")
    call = field(update, "call")
    if kind == "tool_call" and call is not None:
        out.append(step_message(call, done=False, words=words))
    elif kind == "tool_result" and call is not None:
        finished = step_message(call, done=True, words=words)
        call_id = finished["metadata"]["id"]
        for i in range(len(out) - 1, -1, -1):
            meta = out[i].get("metadata") or {}
            if meta.get("id") == call_id:
                out[i] = finished
                break
        else:
            out.append(finished)
    elif kind == "thinking":
        text = str(field(update, "text", default="")).strip()
        if text:
            out.append(thinking_message(text))
    elif kind == "result":
        text = str(field(update, "text", default="")).strip()
        result = field(update, "result")
        answer = text or str(field(result, "answer", default="")).strip()
        empty = f"_{(words or Words()).say('review', 'no_answer')}_"
        out.append({"role": "assistant", "content": answer or empty})
    return out


def friendly_error(exc: BaseException, words: Words | None = None) -> str:
    """A message for the chat that explains a failure without a stack trace.

    Said in the interface's language (``[LANG.error]`` of ``prompts/labels.toml``); a tool's
    own message (a bad argument, a bad file) is quoted as the tool wrote it.
    """
    w = words or Words()
    kind = type(exc).__name__
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if kind == "ToolInputError":
        return w.say("error", "tool_input", message=message)
    if isinstance(exc, TimeoutError) or kind in _TIMEOUTS:
        return w.say("error", "timeout")
    if isinstance(exc, ConnectionError) or kind in _UNREACHABLE:
        return w.say("error", "unreachable")
    if kind in {"AuthenticationError", "PermissionDeniedError"}:
        return w.say("error", "auth")
    if kind == "RateLimitError":
        return w.say("error", "rate_limit")
    if kind in {"ValidationError", "ValueError"} and message:
        return w.say("error", "invalid", message=message)
    if isinstance(exc, OSError):  # a disk or permission fault; its message names server paths
        return w.say("error", "file")
    return w.say("error", "fault", error_type=kind)


#: Error kinds of the OpenAI client and httpx, recognised by name (neither is imported here).
_TIMEOUTS = frozenset({"APITimeoutError", "ReadTimeout", "ConnectTimeout", "TimeoutException"})
_UNREACHABLE = frozenset({"APIConnectionError", "ConnectError"})


# --------------------------------------------------------------------------- status line


def status_line(
    provider: str, shop_name: str, counts: Mapping[str, int], as_of: Any,
    words: Words | None = None,
) -> str:
    """The status line: model provider and data set (shop, counts, as-of date)."""
    w = words if words is not None else Words("en")
    model = w.label("status", f"model_{provider}", default=provider)
    numbers = w.say("status", "counts", **{
        k: f"{counts.get(k, 0):,}" for k in ("customers", "products", "purchases")})
    parts = [
        f"🟢 **{w.say('status', 'model')}** {model}",
        f"**{w.say('status', 'data')}** {shop_name} — {numbers}",
    ]
    if as_of:
        parts.append(w.say("status", "as_of", day=str(as_of)[:10]))
    return " · ".join(parts)


def panel_for(result: Any) -> str:
    """The panel tab to show after a run: the most actionable thing it produced."""
    if field(result, "drafts"):
        return "drafts"
    if latest_artifact(result, "optimize_campaign") is not None:
        return "plan"
    if artifacts_of(result, "recommend_products") or artifacts_of(result, "search_products"):
        return "products"
    return "customers"


def run_info(result: Any, seconds: float, words: Words | None = None) -> str:
    """A line under the chat about the last run: its id, tool calls and time.

    ``python -m agent trace show ID`` prints the run's trace.
    """
    w = words or Words()
    calls = field(result, "tool_calls", default=[]) or []
    failed = sum(1 for c in calls if not field(c, "ok", default=True))
    run_id = field(result, "run_id", default="?")
    parts = [
        w.ui("run_last", run_id=run_id),
        w.count("call", len(calls)) + (w.ui("run_failed", n=failed) if failed else ""),
        w.ui("run_seconds", seconds=f"{seconds:.1f}"),
    ]
    stopped = field(result, "stopped", default="done")
    if stopped != "done":
        parts.append(w.ui("run_stopped", why=humanize(stopped).lower()))
    return " · ".join(parts)
