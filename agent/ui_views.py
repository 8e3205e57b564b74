"""Pure mapping from agent results to what the chat app (``app.py``) shows.

Every function here takes agent results (``RunUpdate``, ``AgentResult``, tool artifacts such
as ``CustomerProfile``, ``CampaignPlan`` or ``Draft``) and returns plain UI values: chat
message dicts, Markdown, pandas DataFrames and matplotlib figures. Nothing here touches
Gradio, the network or global state, so the mapping is tested on its own
(``tests/test_ui_views.py``) and the app's callbacks stay thin.

Artifacts are read through :func:`field`, which accepts pydantic models and plain dicts
alike, so a panel keeps working when a result model gains or renames an optional field.
"""

from __future__ import annotations

import csv
import html
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dc_field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from matplotlib.figure import Figure
from pydantic import BaseModel

from tools.store import atomic_write

logger = logging.getLogger(__name__)

#: Chat message dicts in Gradio's "messages" format.
ChatMessageDict = dict[str, Any]
DraftStatus = Literal["pending", "approved", "rejected"]

STEP_ICON = "🔧"
THINKING_MARK = "💭"
PASS_MARK = "✅ passed"
FAIL_MARK = "❌ failed"
STATUS_LABELS: dict[str, str] = {
    "pending": "⏳ to review",
    "approved": "👍 approved",
    "rejected": "🚫 rejected",
}
#: Channel colours of the plan chart (colour-blind safe, from the Okabe-Ito palette).
CHANNEL_COLOURS: dict[str, str] = {"email": "#0072B2", "sms": "#E69F00", "push": "#009E73"}
FALLBACK_COLOURS = ("#CC79A7", "#56B4E9", "#D55E00", "#999999")

PRODUCT_COLUMNS = ["For", "#", "Product", "Title", "Category", "Price", "Score", "Why"]
PLAN_COLUMNS = [
    "Segment",
    "Channel",
    "Offer",
    "Contacts",
    "Cost",
    "Exp. conversions",
    "Exp. revenue",
    "Revenue 95% interval",
    "Reason",
]
DRAFT_COLUMNS = ["#", "Customer", "Channel", "Headline", "Message", "Guard", "Status"]
SEGMENT_COLUMNS = [
    "Customer",
    "First name",
    "Segment",
    "Churn risk",
    "90-day value",
    "Top category",
    "Preferred channel",
]
EXPORT_FIELDS = [
    "draft_id",
    "customer_id",
    "channel",
    "language",
    "subject",
    "preheader",
    "title",
    "body",
    "products",
    "guard_passed",
    "guard_problems",
    "edited",
    "status",
    "exported_at",
]


# --------------------------------------------------------------------------- field access


def field(obj: Any, *names: str, default: Any = None) -> Any:
    """The first of ``names`` that ``obj`` has and that is not None (models or dicts)."""
    if obj is None:
        return default
    for name in names:
        if isinstance(obj, Mapping):
            value = obj.get(name)
        else:
            value = getattr(obj, name, None)
        if value is not None:
            return value
    return default


def to_plain(obj: Any) -> Any:
    """A JSON-ready copy of a pydantic model (or the value itself)."""
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    return obj


def humanize(name: Any) -> str:
    """``"at_risk"`` -> ``"At risk"`` (segment and goal names for people)."""
    text = str(name or "").replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else "-"


def money(value: Any, currency: str = "", decimals: int | None = 2) -> str:
    """A number as money with thousands separators, e.g. ``"1,234.50 USD"``.

    ``decimals=None`` keeps cents only below 1,000 (table cells: "3.15", "1,140").
    """
    if value is None:
        return "-"
    try:
        number = float(value)
        places = decimals if decimals is not None else (2 if abs(number) < 1000 else 0)
        text = f"{number:,.{places}f}"
    except (TypeError, ValueError):
        return str(value)
    return f"{text} {currency}".strip()


def percent(value: Any) -> str:
    """A 0-1 share as a whole percentage."""
    if value is None:
        return "-"
    return f"{float(value):.0%}"


def _interval(ci: Any) -> tuple[float, float] | None:
    """An interval given as ``(low, high)``, ``[low, high]`` or an object with low/high."""
    if ci is None:
        return None
    if isinstance(ci, (list, tuple)) and len(ci) == 2:
        return float(ci[0]), float(ci[1])
    low = field(ci, "low", "lower", "lo")
    high = field(ci, "high", "upper", "hi")
    if low is None or high is None:
        return None
    return float(low), float(high)


# --------------------------------------------------------------------------- chat steps


def format_args(args: Mapping[str, Any] | None) -> str:
    """A tool call's arguments as a short JSON code block (Markdown)."""
    if not args:
        return "_no arguments_"
    text = json.dumps(dict(args), ensure_ascii=False, indent=2, default=str)
    return f"```json\n{text}\n```"


def step_message(call: Any, *, done: bool) -> ChatMessageDict:
    """A collapsible chat step for one tool call (pending while it runs, done after).

    Args:
        call: A ``ToolCallRecord`` (id, name, args, ok, error, summary, duration_ms).
        done: Whether the tool has returned.
    """
    name = str(field(call, "name", default="tool"))
    parts = [f"**Arguments**\n\n{format_args(field(call, 'args', default={}))}"]
    metadata: dict[str, Any] = {
        "title": f"{STEP_ICON} {name}",
        "id": str(field(call, "id", default=name)),
        "status": "done" if done else "pending",
    }
    if done:
        if field(call, "ok", default=True):
            summary = field(call, "summary", default="") or "done"
            parts.append(f"**Result:** {summary}")
        else:
            metadata["title"] = f"⚠️ {name} failed"
            parts.append(f"**Error:** {field(call, 'error', default='unknown error')}")
        duration_ms = field(call, "duration_ms")
        if duration_ms is not None:
            metadata["duration"] = round(float(duration_ms) / 1000.0, 4)
    else:
        parts.append("_running…_")
    return {"role": "assistant", "content": "\n\n".join(parts), "metadata": metadata}


def thinking_message(text: str) -> ChatMessageDict:
    """The model's visible note before its tool calls ("Finding the customers..."), as narration."""
    return {"role": "assistant", "content": f"{THINKING_MARK} {text}"}


def apply_update(history: Sequence[ChatMessageDict], update: Any) -> list[ChatMessageDict]:
    """The chat after one streamed ``RunUpdate`` (a new list; ``history`` is not changed).

    A ``tool_call`` adds a pending step, its ``tool_result`` replaces that step with the
    finished one (same id), ``thinking`` adds the model's note as narration and ``result``
    adds the answer.
    """
    out = [dict(m) for m in history]
    kind = field(update, "kind")
    call = field(update, "call")
    if kind == "tool_call" and call is not None:
        out.append(step_message(call, done=False))
    elif kind == "tool_result" and call is not None:
        finished = step_message(call, done=True)
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
        out.append({"role": "assistant", "content": answer or "_(no answer)_"})
    return out


def friendly_error(exc: BaseException) -> str:
    """A message for the chat that explains a failure without a stack trace."""
    kind = type(exc).__name__
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if kind == "ToolInputError":
        return f"⚠️ I could not do that: {message}"
    if isinstance(exc, (ConnectionError, TimeoutError)) or kind in {
        "APIConnectionError",
        "APITimeoutError",
        "ConnectError",
        "ReadTimeout",
    }:
        return (
            "⚠️ The language model could not be reached. Check the endpoint settings "
            "(AGENT_OPENAI_BASE_URL) or switch to the offline model, then try again."
        )
    if kind in {"ValidationError", "ValueError"} and message:
        return f"⚠️ That request could not be processed: {message}"
    return (
        f"⚠️ Something went wrong while answering ({kind}). The details were written to the "
        "server log; please try again or rephrase the request."
    )


# --------------------------------------------------------------------------- artifacts


def artifacts_of(result: Any, tool: str) -> list[Any]:
    """Every artifact result of one tool in a run, in call order."""
    return [
        field(a, "result")
        for a in field(result, "artifacts", default=[])
        if field(a, "tool") == tool and field(a, "result") is not None
    ]


def latest_artifact(result: Any, tool: str) -> Any:
    """The last artifact result of one tool in a run, or None."""
    found = artifacts_of(result, tool)
    return found[-1] if found else None


# --------------------------------------------------------------------------- profile panel


def profile_card(profile: Any) -> str:
    """A customer profile as a Markdown card (first name is the only personal field)."""
    if profile is None:
        return "_Ask about a customer (e.g. “Tell me about C00042”) to see a profile here._"
    cid = field(profile, "customer_id", default="?")
    name = field(profile, "first_name", default="")
    currency = field(profile, "currency", default="")
    head = f"### 👤 {name} · `{cid}`" if name else f"### 👤 `{cid}`"
    scores = [field(profile, k) for k in ("r_score", "f_score", "m_score")]
    rfm = " ".join(f"{p}{s}" for p, s in zip("RFM", scores, strict=True) if s is not None)
    segment = humanize(field(profile, "segment"))
    recency = field(profile, "recency_days")
    last = field(profile, "last_purchase_at")
    last_text = "never purchased"
    if last is not None:
        day = last.date().isoformat() if isinstance(last, datetime) else str(last)[:10]
        last_text = f"{day} ({recency} days ago)" if recency is not None else day
    cats = ", ".join(
        f"{humanize(field(c, 'category'))} {percent(field(c, 'share'))}"
        for c in field(profile, "top_categories", default=[])[:3]
    )
    band = field(profile, "price_band")
    ratio = field(profile, "price_ratio")
    band_text = humanize(band) if band else "-"
    if band and ratio is not None:
        band_text += f" ({float(ratio):.2f}× category median)"
    channel = field(profile, "preferred_channel")
    reason = field(profile, "preferred_channel_reason", default="")
    channel_text = (channel or "none yet") + (f" — {reason}" if reason else "")
    consent = field(profile, "consent", default={})
    consent_text = " · ".join(
        f"{ch} {'✅' if field(c, 'granted', default=c is True) else '❌'}"
        for ch, c in consent.items()
    )
    place = ", ".join(p for p in (field(profile, "city"), field(profile, "country")) if p)
    views = ", ".join(
        str(field(v, "title", default=field(v, "product_id", default="")))
        for v in field(profile, "recent_views", default=[])[:4]
    )
    rows = [
        ("Segment", f"**{segment}**" + (f" ({rfm})" if rfm else "")),
        ("Churn risk", percent(field(profile, "churn_risk"))),
        ("Expected 90-day value", money(field(profile, "expected_value_90d"), currency)),
        ("Last order", last_text),
        (
            "Orders · lifetime spend",
            f"{field(profile, 'frequency', default=0)} · "
            f"{money(field(profile, 'monetary'), currency)}",
        ),
        ("Top categories", cats or "-"),
        ("Favourite brands", ", ".join(field(profile, "favourite_brands", default=[])) or "-"),
        ("Price band", band_text),
        ("Preferred channel", channel_text),
        ("Consent", consent_text or "-"),
        ("Language · place", f"{field(profile, 'language', default='-')} · {place or '-'}"),
        ("Recently viewed", views or "-"),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return f"{head}\n\n| | |\n|---|---|\n{table}\n"


def segment_summary(segment: Any) -> str:
    """A segment result's headline: how many customers matched which filter."""
    if segment is None:
        return ""
    count = int(field(segment, "count", default=0))
    filt = to_plain(field(segment, "filter", default={})) or {}
    parts = [
        f"{humanize(k)}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
        for k, v in filt.items()
        if v is not None and k != "limit"
    ]
    described = "; ".join(parts) or "all customers"
    return f"### 👥 {count:,} customers matched\n\n_Filter: {described}_"


def segment_table(segment: Any) -> pd.DataFrame:
    """The sample profiles of a segment result as a table."""
    rows = []
    for p in field(segment, "sample", default=[]) or []:
        cats = field(p, "top_categories", default=[])
        rows.append(
            [
                field(p, "customer_id", default=""),
                field(p, "first_name", default=""),
                humanize(field(p, "segment")),
                percent(field(p, "churn_risk")),
                money(field(p, "expected_value_90d")),
                humanize(field(cats[0], "category")) if cats else "-",
                field(p, "preferred_channel", default="-"),
            ]
        )
    return pd.DataFrame(rows, columns=SEGMENT_COLUMNS)


# --------------------------------------------------------------------------- products panel


def products_table(result: Any) -> pd.DataFrame:
    """Search hits and recommendations of a run in one table, with scores and reasons."""
    rows: list[list[Any]] = []
    for rec in artifacts_of(result, "recommend_products"):
        who = f"👤 {field(rec, 'customer_id', default='?')}"
        for rank, item in enumerate(field(rec, "items", default=[]), start=1):
            rows.append(_product_row(who, rank, item, field(item, "reason", default="")))
    for search in artifacts_of(result, "search_products"):
        who = f"🔎 {field(search, 'query', default='')}"
        for rank, hit in enumerate(field(search, "hits", default=[]), start=1):
            matched = field(hit, "matched_fields", default=[])
            why = f"matched {', '.join(matched)}" if matched else "similar meaning"
            rows.append(_product_row(who, rank, hit, why))
    return pd.DataFrame(rows, columns=PRODUCT_COLUMNS)


def _product_row(who: str, rank: int, item: Any, why: str) -> list[Any]:
    title = field(item, "title", default="")
    title_zh = field(item, "title_zh", default="")
    if title_zh and title_zh != title:
        title = f"{title} / {title_zh}" if title else title_zh
    score = field(item, "score")
    return [
        who,
        rank,
        field(item, "product_id", default=""),
        title,
        humanize(field(item, "category")),
        money(field(item, "price"), field(item, "currency", default="")),
        round(float(score), 3) if score is not None else None,
        why,
    ]


# --------------------------------------------------------------------------- plan panel


def plan_rows(plan: Any) -> list[Any]:
    """The allocation rows of a campaign plan."""
    return list(field(plan, "rows", default=[]) or [])


_REVENUE = ("incremental_revenue", "expected_revenue", "expected_incremental_revenue")
_REVENUE_CI = ("incremental_revenue_ci", "expected_revenue_ci", "revenue_ci")
_CONVERSIONS = ("incremental_conversions", "expected_conversions")


def plan_table(plan: Any) -> pd.DataFrame:
    """A campaign plan's rows: who gets which channel and offer, at what cost and return."""
    rows = []
    for row in plan_rows(plan):
        ci = _interval(field(row, *_REVENUE_CI))
        conversions = field(row, *_CONVERSIONS)
        rows.append(
            [
                humanize(field(row, "segment")),
                field(row, "channel", default="-"),
                field(row, "offer", default="none") or "none",
                f"{int(field(row, 'contacts', default=0)):,}",
                money(field(row, "cost"), decimals=None),
                round(float(conversions), 1) if conversions is not None else None,
                money(field(row, *_REVENUE), decimals=None),
                f"{money(ci[0], decimals=None)} – {money(ci[1], decimals=None)}" if ci else "-",
                field(row, "reason", default=""),
            ]
        )
    return pd.DataFrame(rows, columns=PLAN_COLUMNS)


def plan_summary(plan: Any) -> str:
    """A plan's headline numbers (Markdown): budget used, expected return, ROI, marginal."""
    if plan is None:
        return (
            "_Ask for a campaign plan (e.g. “Plan a $5,000 campaign over email and SMS for "
            "at-risk customers”) to see the allocation here._"
        )
    currency = field(plan, "currency", default="")
    totals = field(plan, "totals", default={}) or {}
    rows = plan_rows(plan)
    cost = field(totals, "cost", "total_cost")
    if cost is None:
        cost = sum(float(field(r, "cost", default=0.0)) for r in rows)
    revenue = field(totals, *_REVENUE)
    if revenue is None:
        revenue = sum(float(field(r, *_REVENUE, default=0.0)) for r in rows)
    contacts = field(totals, "contacts")
    if contacts is None:
        contacts = sum(int(field(r, "contacts", default=0)) for r in rows)
    roi = field(totals, "roi")
    if roi is None:
        roi = field(plan, "roi")
    budget = field(plan, "budget")
    revenue_text = money(revenue, currency)
    ci = _interval(field(totals, *_REVENUE_CI))
    if ci:
        revenue_text += f" (95% interval {money(ci[0], decimals=0)} – {money(ci[1], decimals=0)})"
    parts = [
        f"**Contacts** {int(contacts):,}",
        f"**Cost** {money(cost, currency)}" + (f" of {money(budget, currency)}" if budget else ""),
        f"**Expected incremental revenue** {revenue_text}",
    ]
    if roi is not None:
        parts.append(f"**ROI** {float(roi):.2f}×")
    marginal = field(plan, "marginal_return")
    if marginal is not None:
        parts.append(f"**Marginal return** {float(marginal):.3f} per extra unit of budget")
    goal = field(plan, "goal")
    head = "### 📈 Campaign plan" + (f" · goal: {humanize(goal).lower()}" if goal else "")
    text = head + "\n\n" + " · ".join(parts)
    notes = [str(n) for n in (field(plan, "message"), field(plan, "marginal_note")) if n]
    if notes:
        text += "".join(f"\n\n_{n[:1].upper() + n[1:].rstrip('.')}._" for n in notes)
    how = [*field(plan, "assumptions", default=[]), *field(plan, "constraints", default=[])]
    if how:
        items = "".join(f"<li>{html.escape(str(h))}</li>" for h in how)
        text += f"\n\n<details><summary>How this plan was made</summary><ul>{items}</ul></details>"
    return text


def _new_figure(width: float = 6.4, height: float = 3.6) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    return fig


def plan_chart(plan: Any) -> Figure | None:
    """A horizontal bar chart of the plan's budget by segment, stacked by channel."""
    rows = plan_rows(plan)
    if not rows:
        return None
    spend: dict[str, dict[str, float]] = {}
    for row in rows:
        seg = humanize(field(row, "segment"))
        ch = str(field(row, "channel", default="other"))
        spend.setdefault(seg, {})
        spend[seg][ch] = spend[seg].get(ch, 0.0) + float(field(row, "cost", default=0.0))
    segments = sorted(spend, key=lambda s: sum(spend[s].values()))
    channels = sorted({ch for per in spend.values() for ch in per})
    fig = _new_figure(7.5, max(2.4, 0.55 * len(segments) + 1.5))
    ax = fig.add_subplot()
    left = [0.0] * len(segments)
    for i, ch in enumerate(channels):
        values = [spend[s].get(ch, 0.0) for s in segments]
        colour = CHANNEL_COLOURS.get(ch, FALLBACK_COLOURS[i % len(FALLBACK_COLOURS)])
        ax.barh(segments, values, left=left, label=ch, color=colour, height=0.6)
        left = [a + b for a, b in zip(left, values, strict=True)]
    for y, total in enumerate(left):
        ax.annotate(
            f"{_thousands_format(total, 0)}",
            xy=(total, y),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
            color="#333333",
        )
    ax.margins(x=0.12)
    if len(segments) < 3:  # keep a lone bar from filling the whole chart
        ax.set_ylim(-1.2, len(segments) + 0.2)
    currency = field(plan, "currency", default="")
    ax.set_xlabel(f"Budget {currency}".strip())
    ax.set_title("Budget by segment and channel", loc="left", fontsize=11)
    # The legend sits on the title's line, at the right, clear of the bars.
    ax.legend(
        frameon=False,
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncol=len(channels),
        fontsize=9,
        borderaxespad=0.2,
    )
    _tidy(ax)
    return fig


def what_if_points(plan: Any) -> list[tuple[float, float]]:
    """The plan's what-if curve as sorted (budget, expected return) points."""
    curve = field(plan, "what_if", "what_if_curve", "curve", default=[]) or []
    points: list[tuple[float, float]] = []
    for point in curve:
        if isinstance(point, (list, tuple)) and len(point) >= 2:
            x, y = point[0], point[1]
        else:
            x = field(point, "budget")
            y = field(point, *_REVENUE, "expected_return", "value")
        if x is not None and y is not None:
            points.append((float(x), float(y)))
    return sorted(points)


def what_if_chart(plan: Any) -> Figure | None:
    """Expected return over a range of budgets, with the chosen budget marked."""
    points = what_if_points(plan)
    if len(points) < 2:
        return None
    fig = _new_figure(7.5, 3.2)
    ax = fig.add_subplot()
    xs, ys = zip(*points, strict=True)
    ax.plot(xs, ys, marker="o", color="#0072B2", linewidth=2, markersize=4)
    ax.fill_between(xs, ys, alpha=0.08, color="#0072B2")
    budget = field(plan, "budget")
    if budget is not None:
        ax.axvline(float(budget), color="#D55E00", linestyle="--", linewidth=1.2)
        ax.annotate(
            "this plan",
            xy=(float(budget), max(ys)),
            xytext=(4, -12),
            textcoords="offset points",
            color="#D55E00",
            fontsize=9,
        )
    currency = field(plan, "currency", default="")
    ax.set_xlabel(f"Budget {currency}".strip())
    ax.set_ylabel("Expected incremental revenue")
    ax.set_title("What if the budget changes?", loc="left", fontsize=11)
    _tidy(ax)
    return fig


def _tidy(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="x", alpha=0.25)
    ax.xaxis.set_major_formatter(_thousands)
    if ax.get_ylabel():
        ax.yaxis.set_major_formatter(_thousands)


def _thousands_format(value: float, _pos: int) -> str:
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _make_formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(_thousands_format)


_thousands = _make_formatter()


# --------------------------------------------------------------------------- drafts panel


@dataclass(frozen=True)
class DraftItem:
    """One draft in a browser session's review queue."""

    key: str
    draft: Any
    status: DraftStatus = "pending"
    edited: bool = False
    note: str = ""


@dataclass
class SessionView:
    """Everything one browser session owns: its agent session id and its drafts."""

    session_id: str
    drafts: list[DraftItem] = dc_field(default_factory=list)


def guard_passed(draft: Any) -> bool:
    """Whether the draft's guard verdict passed (a draft without a verdict has not)."""
    return bool(field(field(draft, "guard"), "passed", default=False))


def guard_problems(draft: Any) -> list[str]:
    """The guard's problems as plain sentences."""
    problems = field(field(draft, "guard"), "problems", default=[]) or []
    out = []
    for p in problems:
        text = p if isinstance(p, str) else field(p, "message", "detail", default=str(p))
        out.append(str(text))
    return out


def guard_text(draft: Any) -> str:
    """The verdict for a table cell: "✅ passed" or "❌ failed: problem; problem"."""
    if guard_passed(draft):
        return PASS_MARK
    problems = guard_problems(draft)
    return f"{FAIL_MARK}: {'; '.join(problems)}" if problems else FAIL_MARK


def add_drafts(items: Sequence[DraftItem], drafts: Iterable[Any]) -> list[DraftItem]:
    """The queue with a run's new drafts appended (keys stay unique within the session)."""
    out = list(items)
    taken = {i.key for i in out}
    for draft in drafts:
        key = str(field(draft, "draft_id", default="")) or f"d{len(out) + 1}"
        while key in taken:
            key = f"{key}-{len(out) + 1}"
        taken.add(key)
        out.append(DraftItem(key=key, draft=draft))
    return out


def _headline(draft: Any) -> str:
    return str(field(draft, "subject", "title", default="") or "")


def _shorten(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def drafts_table(items: Sequence[DraftItem]) -> pd.DataFrame:
    """The review queue as a table: who, channel, headline, message, guard verdict, status."""
    rows = []
    for n, item in enumerate(items, start=1):
        d = item.draft
        status = STATUS_LABELS[item.status] + (" · edited" if item.edited else "")
        rows.append(
            [
                n,
                field(d, "customer_id", default="-"),
                f"{field(d, 'channel', default='-')} · {field(d, 'language', default='-')}",
                _shorten(_headline(d), 60),
                _shorten(str(field(d, "body", default="")), 100),
                guard_text(d),
                status,
            ]
        )
    return pd.DataFrame(rows, columns=DRAFT_COLUMNS)


def draft_choices(items: Sequence[DraftItem]) -> list[tuple[str, str]]:
    """(label, key) pairs for the draft picker."""
    out = []
    for n, item in enumerate(items, start=1):
        d = item.draft
        mark = "✅" if guard_passed(d) else "❌"
        label = (
            f"{n} · {field(d, 'customer_id', default='-')} · "
            f"{field(d, 'channel', default='-')} · {mark} · {item.status}"
        )
        out.append((label, item.key))
    return out


def find_draft(items: Sequence[DraftItem], key: str | None) -> DraftItem | None:
    """The queue item with ``key``."""
    return next((i for i in items if i.key == key), None)


def editable_fields(draft: Any) -> list[str]:
    """Which text fields a draft's channel has (email: subject, preheader, body; ...)."""
    channel = field(draft, "channel", default="email")
    if channel == "email":
        return ["subject", "preheader", "body"]
    if channel == "push":
        return ["title", "body"]
    return ["body"]


def draft_detail(item: DraftItem | None) -> str:
    """The selected draft's verdict and products (Markdown above the editor)."""
    if item is None:
        return "_Select a draft to review, edit and approve it._"
    d = item.draft
    lines = [
        f"**{field(d, 'customer_id', default='-')}** · {field(d, 'channel', default='-')} · "
        f"{field(d, 'language', default='-')} · {STATUS_LABELS[item.status]}"
        + (" · edited" if item.edited else ""),
        f"**Guard:** {guard_text(d)}",
    ]
    products = field(d, "products", "product_ids", default=[]) or []
    if products:
        names = [
            str(p) if isinstance(p, str) else str(field(p, "product_id", default=p))
            for p in products
        ]
        lines.append(f"**Products:** {', '.join(names)}")
    if item.note:
        lines.append(f"_{item.note}_")
    return "\n\n".join(lines)


def edit_draft(
    item: DraftItem, changes: Mapping[str, str], check: Callable[[Any], Any]
) -> DraftItem:
    """Apply edited text to a draft and re-check it with the guard.

    Args:
        item: The queue item being edited.
        changes: New text per field; fields the channel does not have are ignored.
        check: Runs the copy guard on the edited draft and returns its verdict.

    Returns:
        The edited item, back to "pending" (an edit needs a fresh approval).
    """
    allowed = set(editable_fields(item.draft))
    update = {
        k: v for k, v in changes.items() if k in allowed and v != field(item.draft, k, default="")
    }
    if not update:
        return replace(item, note="No changes to save.")
    draft = item.draft
    edited: Any = (
        draft.model_copy(update=update)
        if isinstance(draft, BaseModel)
        else {**dict(draft), **update}
    )
    verdict = check(edited)
    if isinstance(edited, BaseModel):
        edited = edited.model_copy(update={"guard": verdict})
    else:
        edited["guard"] = verdict
    note = (
        "Edited and re-checked: the guard passed."
        if guard_passed(edited)
        else "Edited and re-checked: the guard found problems; fix them before approving."
    )
    return replace(item, draft=edited, status="pending", edited=True, note=note)


def set_status(item: DraftItem, status: DraftStatus) -> DraftItem:
    """Approve or reject a draft; a draft that fails the guard cannot be approved."""
    if status == "approved" and not guard_passed(item.draft):
        return replace(item, note="This draft fails the guard; edit it until it passes.")
    note = "Approved." if status == "approved" else "Rejected."
    return replace(item, status=status, note=note)


def replace_item(items: Sequence[DraftItem], new: DraftItem) -> list[DraftItem]:
    """The queue with the item of the same key replaced."""
    return [new if i.key == new.key else i for i in items]


def export_records(items: Sequence[DraftItem], exported_at: datetime) -> list[dict[str, Any]]:
    """The approved drafts as flat records (the CSV and JSONL rows)."""
    records = []
    for item in items:
        if item.status != "approved":
            continue
        d = item.draft
        products = field(d, "products", "product_ids", default=[]) or []
        records.append(
            {
                "draft_id": item.key,
                "customer_id": field(d, "customer_id", default=""),
                "channel": field(d, "channel", default=""),
                "language": field(d, "language", default=""),
                "subject": field(d, "subject", default=""),
                "preheader": field(d, "preheader", default=""),
                "title": field(d, "title", default=""),
                "body": field(d, "body", default=""),
                "products": [
                    p if isinstance(p, str) else str(field(p, "product_id", default=p))
                    for p in products
                ],
                "guard_passed": guard_passed(d),
                "guard_problems": guard_problems(d),
                "edited": item.edited,
                "status": item.status,
                "exported_at": exported_at.isoformat(),
            }
        )
    return records


def write_exports(
    items: Sequence[DraftItem], out_dir: Path, stem: str, now: datetime | None = None
) -> tuple[Path, Path] | None:
    """Write the approved drafts as ``<stem>.csv`` and ``<stem>.jsonl`` (atomically).

    Returns:
        The two paths, or None when no draft is approved.
    """
    records = export_records(items, now or datetime.now(UTC))
    if not records:
        return None
    csv_path = out_dir / f"{stem}.csv"
    jsonl_path = out_dir / f"{stem}.jsonl"

    def write_csv(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=EXPORT_FIELDS)
            writer.writeheader()
            for rec in records:
                flat = dict(rec)
                flat["products"] = " ".join(rec["products"])
                flat["guard_problems"] = "; ".join(rec["guard_problems"])
                writer.writerow(flat)

    def write_jsonl(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8") as fh:
            for rec in records:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")

    atomic_write(csv_path, write_csv)
    atomic_write(jsonl_path, write_jsonl)
    logger.info("exported %d approved drafts to %s", len(records), out_dir)
    return csv_path, jsonl_path


# --------------------------------------------------------------------------- status line


def status_line(provider: str, shop_name: str, counts: Mapping[str, int], as_of: Any) -> str:
    """The status line: model provider and data set (shop, counts, as-of date)."""
    model = {"offline": "offline model (embedded, no network)", "openai": "OpenAI-compatible"}
    parts = [
        f"🟢 **Model:** {model.get(provider, provider)}",
        f"**Data:** {shop_name} — {counts.get('customers', 0):,} customers · "
        f"{counts.get('products', 0):,} products · {counts.get('purchases', 0):,} purchases",
    ]
    if as_of:
        parts.append(f"as of {str(as_of)[:10]}")
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


def run_info(result: Any, seconds: float) -> str:
    """A line under the chat about the last run: its id, tool calls and time.

    ``python -m agent trace show ID`` prints the run's trace.
    """
    calls = field(result, "tool_calls", default=[]) or []
    failed = sum(1 for c in calls if not field(c, "ok", default=True))
    run_id = field(result, "run_id", default="?")
    parts = [
        f"Last run `{run_id}`",
        f"{len(calls)} tool call{'s' if len(calls) != 1 else ''}"
        + (f" ({failed} failed)" if failed else ""),
        f"{seconds:.1f} s",
    ]
    stopped = field(result, "stopped", default="done")
    if stopped != "done":
        parts.append(f"stopped: {humanize(stopped).lower()}")
    return " · ".join(parts)
