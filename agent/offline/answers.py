"""The offline model's words: answers composed from tool results only.

Phrases live in ``prompts/offline_answers.toml`` (English and Chinese) and are rendered
strictly; the codes in tool results (segments, categories, channels, consent, reasons, guard
problems) are said as words through ``prompts/labels.toml`` (``agent.offline.labels``), so a
Chinese request gets an all-Chinese answer. Every number and product an answer names is read
from a tool's typed result; nothing here computes a new fact. The plan, match and audit
sections are in ``agent.offline.sections``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from agent.offline.labels import Words
from agent.offline.phrases import capabilities, phrases, say, stage_note
from agent.offline.saying import clarification, clarify_text, reading_line, reading_notes
from agent.offline.sections import audit_section, match_section, money, pct, plan_section

if TYPE_CHECKING:
    from agent.offline.routing import Route
    from agent.offline.turns import Turn

__all__ = ["capabilities", "clarification", "compose", "explain", "say", "stage_note"]


def describe_filter(w: Words, filt: Any) -> str:
    """A segment filter as words ("segment: at risk; likes: outdoor gear")."""
    if filt is None:
        return "-"
    data = (
        filt.model_dump(exclude_none=True, exclude={"limit"})
        if hasattr(filt, "model_dump")
        else dict(filt)
    )
    kinds = {"segments": "segment", "categories": "category", "consent_channel": "channel",
             "language": "language", "value_tier": "value_tier"}  # fmt: skip
    parts = []
    for key, value in data.items():
        if key == "limit" or value is None:
            continue
        values = value if isinstance(value, list) else [value]
        kind = kinds.get(key)
        shown = w.join(w.label(kind, v) if kind else v for v in values)
        parts.append(say(w.lang, "filter_part", name=w.label("filter", key), value=shown))
    return say(w.lang, "reading_sep").join(parts) or w.label("filter", "all")


# -- per-tool sections ----------------------------------------------------------------------


def _profile(w: Words, p: Any) -> str:
    lang = w.lang
    recency = (
        say(lang, "recency_days", days=p.recency_days)
        if p.recency_days is not None
        else say(lang, "recency_never")
    )
    cats = w.join(f"{w.category(c.category)} ({pct(c.share)})" for c in p.top_categories[:3])
    consent = w.join(f"{w.channel(ch)} {w.consent(c.granted)}" for ch, c in p.consent.items())
    channel = w.channel(p.preferred_channel) if p.preferred_channel else say(lang, "none")
    if p.preferred_channel_reason:
        channel = say(lang, "with_reason", what=channel, why=w.prose(p.preferred_channel_reason))
    name = getattr(p, "first_name", "") or ""
    return say(
        lang,
        "profile",
        customer=say(lang, "named_id", name=name, id=p.customer_id) if name else p.customer_id,
        segment=w.segment(p.segment),
        orders=w.count("order", int(p.frequency)),
        spend=money(p.monetary),
        currency=p.currency,
        recency=recency,
        churn=pct(p.churn_risk),
        value=money(p.expected_value_90d),
        categories=cats or say(lang, "none"),
        brands=w.join(p.favourite_brands[:3]) or say(lang, "none"),
        band=w.label("price_band", p.price_band) if p.price_band else say(lang, "none"),
        channel=channel,
        consent=consent or say(lang, "none"),
    )


def _who(w: Words, p: Any) -> str:
    name = getattr(p, "first_name", "") or ""
    return say(w.lang, "named_id", name=name, id=p.customer_id) if name else str(p.customer_id)


def _segment(w: Words, r: Any) -> str:
    filt = describe_filter(w, r.filter)
    if not r.count:
        return say(w.lang, "find_none", filter=filt)
    sample = w.join(
        say(w.lang, "find_member", who=_who(w, p), segment=w.segment(p.segment),
            churn=pct(p.churn_risk))
        for p in r.sample[:5]
    )  # fmt: skip
    lines = [say(w.lang, "find_head", count=f"{r.count:,}", filter=filt)]
    if sample:
        lines.append(say(w.lang, "find_sample", sample=sample))
    return "\n".join(lines)


def _title(lang: str, item: Any) -> str:
    zh = getattr(item, "title_zh", "") or ""
    return zh if lang == "zh" and zh else str(item.title)


def _matched(w: Words, fields: list[str]) -> str:
    return w.join(w.label("matched", f) for f in fields) or "-"


def _search(w: Words, r: Any, query: str) -> str:
    hits = list(r.hits)
    if not hits:
        return say(w.lang, "search_none", query=query)
    lines = [say(w.lang, "search_head", query=query, n=len(hits))]
    for rank, h in enumerate(hits, 1):
        lines.append(
            say(
                w.lang,
                "search_item",
                rank=rank,
                title=_title(w.lang, h),
                product_id=h.product_id,
                price=money(h.price),
                currency=h.currency,
                brand=h.brand or "-",
                category=w.category(h.category),
                matched=_matched(w, list(h.matched_fields)),
            )
        )
    return "\n".join(lines)


def _recommend(w: Words, r: Any) -> str:
    who = _who(w, r)
    if not r.items:
        return say(w.lang, "rec_none", customer_id=who)
    lines = [say(w.lang, "rec_head", customer_id=who)]
    for rank, item in enumerate(r.items, 1):
        lines.append(
            say(
                w.lang,
                "rec_item",
                rank=rank,
                title=_title(w.lang, item),
                product_id=item.product_id,
                price=money(item.price),
                currency=item.currency,
                reason=w.prose(item.reason),
            )
        )
    return "\n".join(lines)


def _problems(w: Words, guard: Any) -> str:
    if w.lang == "en":  # the guard's own sentence names the product or word at fault
        return "; ".join(p.message for p in guard.problems)
    return w.join(dict.fromkeys(w.label("problem", p.code) for p in guard.problems))


def _draft(w: Words, d: Any) -> str:
    guard = d.guard
    verdict = (
        say(w.lang, "guard_pass")
        if guard.passed
        else say(w.lang, "guard_fail", problems=_problems(w, guard))
    )
    lines = [
        say(
            w.lang,
            "draft_head",
            channel=w.channel(d.channel),
            customer_id=_who(w, d),
            language=w.label("language", d.language),
            verdict=verdict,
        )
    ]
    if getattr(d, "subject", None):
        lines.append(say(w.lang, "draft_subject", subject=d.subject))
    if getattr(d, "title", None):
        lines.append(say(w.lang, "draft_title", title=d.title))
    lines.append(say(w.lang, "draft_body", body=d.body))
    return "\n".join(lines)


def _generic(w: Words, result: Any) -> str:
    return say(w.lang, "generic", summary=result.summary())


# -- the answer -----------------------------------------------------------------------------


def compose(
    route: Route,
    turn: Turn,
    earlier: list[Turn],
    categories: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """Write the final answer for a turn: the reading first, then the tool results.

    ``categories`` are the shop's display names of its categories (id -> language -> name).
    """
    words = Words(route.language, categories or {})
    head = reading_line(route.reading, words)
    notes = reading_notes(route.reading)
    body = _body(route, turn, earlier, words)
    return "\n\n".join(part for part in (head, notes, body) if part)


def _body(route: Route, turn: Turn, earlier: list[Turn], w: Words) -> str:
    lang = w.lang
    reading = route.reading
    if reading.decline:
        reason = reading.decline_reason or reading.decline
        key = f"decline_{reason}" if f"decline_{reason}" in phrases()["en"] else "decline_other"
        return say(lang, key) + "\n\n" + capabilities(lang)
    if route.clarify is not None:
        return clarify_text(route)
    if "explain" in route.stages:
        return explain(route, earlier, w)
    sections: list[str] = []
    ran = {s.stage for s in turn.stages}
    if {"recommend", "draft"} & set(route.stages) and not {"recommend", "draft"} & ran:
        sections.append(say(lang, "no_targets"))
    for stage in turn.stages:
        for call, message in zip(stage.calls, stage.results, strict=False):
            if message.status == "error":
                sections.append(say(lang, "tool_failed", tool=w.label("tool", call["name"]),
                                    error=message.content))
                continue
            if stage.stage == "resolve":
                continue  # said in the reading
            sections.append(_section(w, call, message.artifact))
    if not sections:
        sections.append(say(lang, "no_targets"))
    return "\n\n".join(sections)


def _section(w: Words, call: dict[str, Any], result: Any) -> str:
    name = call["name"]
    if name == "lookup_customer":
        return _profile(w, result)
    if name == "find_customers":
        return _segment(w, result)
    if name == "search_products":
        return _search(w, result, str(call["args"].get("query", "")))
    if name == "recommend_products":
        return _recommend(w, result)
    if name == "optimize_campaign":
        return plan_section(w, result)
    if name == "draft_message":
        return _draft(w, result)
    if name == "match_campaigns":
        return match_section(w, result)
    if name == "audit_fairness":
        return audit_section(w, result)
    return _generic(w, result)


def explain(route: Route, earlier: list[Turn], words: Words | None = None) -> str:
    """Explain the latest result of the conversation from the reasons its tools returned."""
    w = words or Words(route.language)
    lang = w.lang
    for turn in reversed(earlier):
        for stage in reversed(turn.stages):
            for call, message in zip(stage.calls, stage.results, strict=False):
                if message.status == "error":
                    continue
                result = message.artifact
                name = call["name"]
                if name == "recommend_products":
                    return "\n".join(
                        [say(lang, "explain_rec", customer_id=_who(w, result))]
                        + [
                            say(lang, "explain_item", title=_title(lang, i), id=i.product_id,
                                why=w.prose(i.reason))
                            for i in result.items
                        ]
                    )  # fmt: skip
                if name == "optimize_campaign":
                    return plan_section(w, result, explaining=True)
                if name == "find_customers":
                    return say(lang, "explain_find", filter=describe_filter(w, result.filter))
                if name == "search_products":
                    head = say(lang, "explain_search", query=call["args"].get("query", ""))
                    hits = [
                        say(lang, "explain_hit", title=_title(lang, h), id=h.product_id,
                            score=f"{h.score:.3f}", matched=_matched(w, list(h.matched_fields)))
                        for h in result.hits
                    ]  # fmt: skip
                    return "\n".join([head, *hits])
                if name == "lookup_customer":
                    return _profile(w, result)
    return say(lang, "no_previous")
