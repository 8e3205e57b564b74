"""The offline model's words: answers composed from tool results only.

Phrases live in ``prompts/offline_answers.toml`` (English and Chinese) and are rendered
strictly. Every number and product an answer names is read from a tool's typed result;
nothing here computes a new fact.
"""

from __future__ import annotations

import tomllib
from functools import cache
from string import Template
from typing import TYPE_CHECKING, Any

from agent.settings import PROMPTS_DIR

if TYPE_CHECKING:
    from agent.offline.reading import Reading
    from agent.offline.routing import Route
    from agent.offline.turns import Turn

PHRASES_FILE = PROMPTS_DIR / "offline_answers.toml"


class _Phrase(Template):
    """Only ``${name}`` is a placeholder; a bare ``$`` (as in "$5,000") is text."""

    pattern = r"""
    \$(?:
      (?P<escaped>\$)(?=\{)              |
      \{(?P<braced>[_a-z][_a-z0-9]*)\}   |
      (?P<named>(?!))                    |
      (?P<invalid>\{)
    )
    """  # type: ignore[assignment]


@cache
def _phrases() -> dict[str, dict[str, str]]:
    with PHRASES_FILE.open("rb") as fh:
        data: dict[str, dict[str, str]] = tomllib.load(fh)
    return data


def say(lang: str, key: str, **values: object) -> str:
    """Render one phrase strictly (a missing variable raises ``KeyError``)."""
    table = _phrases()["zh" if lang == "zh" else "en"]
    return _Phrase(table[key]).substitute({k: str(v) for k, v in values.items()})


def capabilities(lang: str) -> str:
    """What the offline model can do, with example requests."""
    return say(lang, "capabilities")


def stage_note(stage: str, route: Route, n: int) -> str:
    """The visible line shown while a stage runs."""
    return say(route.language, f"stage_{stage}", n=n)


def _money(value: Any) -> str:
    return f"{float(value):,.2f}"


def _pct(value: Any) -> str:
    return f"{float(value):.0%}"


def _describe_filter(filt: Any) -> str:
    if filt is None:
        return "-"
    data = (
        filt.model_dump(exclude_none=True, exclude={"limit"})
        if hasattr(filt, "model_dump")
        else filt
    )
    parts = []
    for key, value in data.items():
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(f"{key}: {shown}")
    return "; ".join(parts) or "all customers"


# -- per-tool sections ----------------------------------------------------------------------


def _profile(lang: str, p: Any) -> str:
    recency = (
        say(lang, "recency_days", days=p.recency_days)
        if p.recency_days is not None
        else say(lang, "recency_never")
    )
    cats = ", ".join(f"{c.category} ({_pct(c.share)})" for c in p.top_categories[:3])
    consent = ", ".join(
        f"{ch} {say(lang, 'yes') if c.granted else say(lang, 'no')}" for ch, c in p.consent.items()
    )
    channel = p.preferred_channel or say(lang, "none")
    if p.preferred_channel_reason:
        channel = f"{channel} ({p.preferred_channel_reason})"
    return say(
        lang,
        "profile",
        customer_id=p.customer_id,
        segment=p.segment,
        orders=p.frequency,
        spend=_money(p.monetary),
        currency=p.currency,
        recency=recency,
        churn=_pct(p.churn_risk),
        value=_money(p.expected_value_90d),
        categories=cats or say(lang, "none"),
        brands=", ".join(p.favourite_brands[:3]) or say(lang, "none"),
        band=p.price_band or say(lang, "none"),
        channel=channel,
        consent=consent or say(lang, "none"),
    )


def _segment(lang: str, r: Any) -> str:
    filt = _describe_filter(r.filter)
    if not r.count:
        return say(lang, "find_none", filter=filt)
    sample = ", ".join(f"{p.customer_id} ({p.segment}, {_pct(p.churn_risk)})" for p in r.sample[:5])
    lines = [say(lang, "find_head", count=f"{r.count:,}", filter=filt)]
    if sample:
        lines.append(say(lang, "find_sample", sample=sample))
    return "\n".join(lines)


def _title(lang: str, item: Any) -> str:
    zh = getattr(item, "title_zh", "") or ""
    return zh if lang == "zh" and zh else str(item.title)


def _search(lang: str, r: Any, query: str) -> str:
    hits = list(r.hits)
    if not hits:
        return say(lang, "search_none", query=query)
    lines = [say(lang, "search_head", query=query, n=len(hits))]
    for rank, h in enumerate(hits, 1):
        lines.append(
            say(
                lang,
                "search_item",
                rank=rank,
                title=_title(lang, h),
                product_id=h.product_id,
                price=_money(h.price),
                currency=h.currency,
                brand=h.brand or "-",
                category=h.category,
                matched=", ".join(h.matched_fields) or "-",
            )
        )
    return "\n".join(lines)


def _recommend(lang: str, r: Any) -> str:
    if not r.items:
        return say(lang, "rec_none", customer_id=r.customer_id)
    lines = [say(lang, "rec_head", customer_id=r.customer_id)]
    for rank, item in enumerate(r.items, 1):
        lines.append(
            say(
                lang,
                "rec_item",
                rank=rank,
                title=_title(lang, item),
                product_id=item.product_id,
                price=_money(item.price),
                currency=item.currency,
                reason=item.reason,
            )
        )
    return "\n".join(lines)


def _plan(lang: str, plan: Any, args: dict[str, Any]) -> str:
    rows = list(plan.rows)
    if not rows:
        return say(lang, "plan_empty", message=plan.message or plan.summary())
    lines = [
        say(
            lang,
            "plan_head",
            goal=plan.goal,
            budget=f"{_money(plan.budget)} {plan.currency}",
            summary=plan.summary(),
        )
    ]
    for row in rows:
        low, high = row.incremental_revenue_ci
        lines.append(
            say(
                lang,
                "plan_row",
                segment=row.segment,
                channel=row.channel,
                offer=f" + {row.offer}" if row.offer and row.offer != "no offer" else "",
                contacts=f"{row.contacts:,}",
                cost=_money(row.cost),
                revenue=_money(row.incremental_revenue),
                low=_money(low),
                high=_money(high),
                reason=row.reason,
            )
        )
    excluded = ", ".join(f"{reason} {n:,}" for reason, n in plan.excluded.items() if n)
    lines.append(
        say(
            lang,
            "plan_reach",
            audience=f"{plan.audience_size:,}",
            eligible=f"{plan.eligible:,}",
            excluded=excluded or say(lang, "none"),
            message=plan.message,
        )
    )
    if plan.marginal_return is not None:
        lines.append(say(lang, "plan_margin", margin=f"{plan.marginal_return:.4g}"))
    if plan.marginal_note:
        lines.append(plan.marginal_note[0].upper() + plan.marginal_note[1:] + ".")
    audit = getattr(plan, "fairness", None)
    if audit is not None:
        lines.append(audit.summary())
    return "\n".join(lines)


def _draft(lang: str, d: Any) -> str:
    guard = d.guard
    verdict = (
        say(lang, "guard_pass")
        if guard.passed
        else say(lang, "guard_fail", problems="; ".join(p.message for p in guard.problems))
    )
    lines = [
        say(
            lang,
            "draft_head",
            channel=d.channel,
            customer_id=d.customer_id,
            language=d.language,
            verdict=verdict,
        )
    ]
    if getattr(d, "subject", None):
        lines.append(say(lang, "draft_subject", subject=d.subject))
    if getattr(d, "title", None):
        lines.append(say(lang, "draft_title", title=d.title))
    lines.append(say(lang, "draft_body", body=d.body))
    return "\n".join(lines)


def _generic(lang: str, result: Any) -> str:
    return say(lang, "generic", summary=result.summary())


# -- the answer -----------------------------------------------------------------------------


def compose(route: Route, turn: Turn, earlier: list[Turn]) -> str:
    """Write the final answer for a turn: the reading first, then the tool results."""
    head = reading_line(route.reading)
    notes = reading_notes(route.reading)
    return "\n\n".join(part for part in (head, notes, _body(route, turn, earlier)) if part)


def _body(route: Route, turn: Turn, earlier: list[Turn]) -> str:
    lang = route.language
    reading = route.reading
    if reading.decline:
        reason = reading.decline_reason or reading.decline
        key = f"decline_{reason}" if f"decline_{reason}" in _phrases()["en"] else "decline_other"
        return say(lang, key) + "\n\n" + capabilities(lang)
    if route.clarify is not None:
        return _clarify_text(route)
    if "explain" in route.stages:
        return explain(route, earlier)
    sections: list[str] = []
    ran = {s.stage for s in turn.stages}
    if {"recommend", "draft"} & set(route.stages) and not {"recommend", "draft"} & ran:
        sections.append(say(lang, "no_targets"))
    for stage in turn.stages:
        for call, message in zip(stage.calls, stage.results, strict=False):
            if message.status == "error":
                sections.append(say(lang, "tool_failed", tool=call["name"], error=message.content))
                continue
            if stage.stage == "resolve":
                continue  # said in the reading
            sections.append(_section(lang, call, message.artifact))
    if not sections:
        sections.append(say(lang, "no_targets"))
    return "\n\n".join(sections)


def _section(lang: str, call: dict[str, Any], result: Any) -> str:
    name = call["name"]
    if name == "lookup_customer":
        return _profile(lang, result)
    if name == "find_customers":
        return _segment(lang, result)
    if name == "search_products":
        return _search(lang, result, str(call["args"].get("query", "")))
    if name == "recommend_products":
        return _recommend(lang, result)
    if name == "optimize_campaign":
        return _plan(lang, result, call["args"])
    if name == "draft_message":
        return _draft(lang, result)
    if name == "match_campaigns":
        return _match(lang, result)
    if name == "audit_fairness":
        return _audit(lang, result)
    return _generic(lang, result)


# -- the reading, said back -------------------------------------------------------------------

_INTENT_ORDER = ("lookup", "find", "search", "recommend", "plan", "draft", "match", "audit",
                 "explain")  # fmt: skip


def _amount(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def reading_line(reading: Reading) -> str:
    """The reading said back ("I read this as: ..."), each part with its source words."""
    lang = reading.language
    if reading.decline:
        return say(lang, "reading_head", parts=say(lang, f"reading_decline_{reading.decline}"))
    parts: list[str] = []
    intents = [i for i in _INTENT_ORDER if i in reading.intents]
    if intents:
        parts.append(" + ".join(say(lang, f"intent_{i}") for i in intents))
    src = reading.sources

    def add(field: str, key: str, **values: object) -> None:
        text = say(lang, key, **values)
        words = src.get(field, "")
        if words and words.lower() not in text.lower():
            text += say(lang, "reading_words", words=words)
        parts.append(text)

    if reading.customer_ids:
        add("customer_ids", "r_customers", value=", ".join(reading.customer_ids))
    if reading.segments:
        add("segments", "r_segments", value=", ".join(reading.segments))
    if reading.categories:
        shown = ", ".join(c.replace("_", " ") for c in reading.categories)
        customers = reading.names_customers() or {"find", "draft", "plan", "audit"} & set(
            reading.intents
        )
        add("categories", "r_categories" if customers else "r_category", value=shown)
    for field, key in (
        ("min_days_since_purchase", "r_min_days"),
        ("max_days_since_purchase", "r_max_days"),
        ("min_spend", "r_min_spend"),
        ("max_spend", "r_max_spend"),
    ):
        value = getattr(reading, field)
        if value is not None:
            add(field, key, value=_amount(float(value)))
    for field, key in (("min_churn_risk", "r_min_churn"), ("max_churn_risk", "r_max_churn")):
        value = getattr(reading, field)
        if value is not None:
            add(field, key, value=f"{float(value):.0%}")
    if reading.consent_channel:
        add("consent_channel", "r_consent", value=reading.consent_channel)
    if reading.audience_language:
        add("audience_language", "r_language", value=reading.audience_language)
    if reading.city:
        add("city", "r_city", value=reading.city)
    if reading.value_tier:
        add("value_tier", "r_value_tier", value=reading.value_tier)
    if reading.product_query and "search" in reading.intents:
        add("product_query", "r_query", value=reading.product_query)
    if reading.brands:
        add("brands", "r_brands", value=", ".join(reading.brands))
    if reading.product_ids:
        add("product_ids", "r_products", value=", ".join(reading.product_ids))
    if reading.min_price is not None:
        add("min_price", "r_min_price", value=_amount(reading.min_price))
    if reading.max_price is not None:
        add("max_price", "r_max_price", value=_amount(reading.max_price))
    if reading.budget is not None:
        add("budget", "r_budget", value=_amount(reading.budget))
    if reading.channels and ("plan" in reading.intents or "draft" in reading.intents):
        add("channels", "r_channels", value=", ".join(reading.channels))
    if reading.goal:
        add("goal", "r_goal", value=reading.goal)
    if reading.discount_pct is not None:
        add("discount_pct", "r_discount", value=f"{reading.discount_pct:g}")
    if reading.offer_code:
        add("offer_code", "r_code", value=reading.offer_code)
    if reading.top_n is not None:
        add("top_n", "r_top_n", value=reading.top_n)
    if reading.product_count is not None:
        add("product_count", "r_count", value=reading.product_count)
    if reading.taste_query and not reading.categories:
        add("taste_query", "r_taste", value=reading.taste_query)
    if reading.when:
        add("when", "r_when", value=reading.when)
    if not parts:
        parts.append(say(lang, "r_nothing"))
    return say(lang, "reading_head", parts="; ".join(parts))


def reading_notes(reading: Reading) -> str:
    """What came from earlier turns, what was corrected, and what could not be applied."""
    lang = reading.language
    lines: list[str] = []
    if reading.carried:
        fields = ", ".join(dict.fromkeys(c.field.replace("_", " ") for c in reading.carried))
        lines.append(say(lang, "r_carried", fields=fields, why=reading.carried[0].why))
    typos = [f"{k.removeprefix('typo:')} -> {v}" for k, v in reading.sources.items()
             if k.startswith("typo:")]  # fmt: skip
    if typos:
        lines.append(say(lang, "r_typos", typos=", ".join(typos)))
    for item in reading.unsupported:
        kind, _, what = item.partition(":")
        if kind == "exclude":
            lines.append(say(lang, "r_unsupported_exclude", what=what))
        elif kind == "protected":
            lines.append(say(lang, "r_unsupported_protected", what=what))
        else:
            lines.append(say(lang, "r_unsupported", what=item))
    return "\n".join(lines)


def clarification(route: Route) -> dict[str, Any] | None:
    """The ``clarification`` payload of a final message (None when the model did not ask)."""
    if route.clarify is None:
        return None
    return {
        "question": _question(route),
        "options": [
            {"label": label, "request": request} for label, request in route.clarify.options
        ],
    }


def _question(route: Route) -> str:
    assert route.clarify is not None
    return say(route.language, f"ask_{route.clarify.reason}", **route.clarify.values)


def _clarify_text(route: Route) -> str:
    assert route.clarify is not None
    lines = [_question(route)]
    for label, request in route.clarify.options:
        lines.append(say(route.language, "ask_option", label=label, request=request))
    return "\n".join(lines)


def _audit(lang: str, audit: Any) -> str:
    lines = [audit.summary()]
    for attr in audit.attributes:
        rates = ", ".join(
            f"{g.group} {_pct(g.selection_rate)} ({g.selected:,}/{g.population:,})"
            for g in attr.groups
        )
        flag = say(lang, "audit_flag") if attr.four_fifths_flag else ""
        lines.append(
            say(
                lang,
                "audit_line",
                attribute=attr.attribute,
                rates=rates,
                ratio=f"{attr.parity_ratio:.2f}",
                difference=f"{attr.parity_difference:.2f}",
                flag=flag,
            )
        )
    return "\n".join(lines)


def _match(lang: str, r: Any) -> str:
    if not r.matches:
        return say(lang, "match_none", customer_id=r.customer_id) + f" {r.message}".rstrip()
    lines = [say(lang, "match_head", customer_id=r.customer_id)]
    for m in r.matches:
        why = "; ".join(m.reasons + m.blockers)
        lines.append(
            say(
                lang,
                "match_item",
                campaign_id=m.campaign_id,
                name=m.name,
                channel=m.channel,
                status=say(lang, "eligible" if m.eligible else "not_eligible"),
                score=f"{m.fit_score:.2f}",
                why=why or "-",
            )
        )
    return "\n".join(lines)


def explain(route: Route, earlier: list[Turn]) -> str:
    """Explain the latest result of the conversation from the reasons its tools returned."""
    lang = route.language
    for turn in reversed(earlier):
        for stage in reversed(turn.stages):
            for call, message in zip(stage.calls, stage.results, strict=False):
                if message.status == "error":
                    continue
                result = message.artifact
                name = call["name"]
                if name == "recommend_products":
                    return "\n".join(
                        [say(lang, "explain_rec", customer_id=result.customer_id)]
                        + [
                            f"- {_title(lang, i)} ({i.product_id}): {i.reason}"
                            for i in result.items
                        ]
                    )
                if name == "optimize_campaign":
                    rows = [
                        f"- {r.segment} / {r.channel}: {getattr(r, 'reason', '')}"
                        for r in getattr(result, "rows", [])
                    ]
                    return "\n".join([say(lang, "explain_plan"), *rows])
                if name == "find_customers":
                    return say(lang, "explain_find", filter=_describe_filter(result.filter))
                if name == "search_products":
                    head = say(lang, "explain_search", query=call["args"].get("query", ""))
                    hits = [
                        f"- {_title(lang, h)} ({h.product_id}): score {h.score:.3f}, "
                        f"matched {', '.join(h.matched_fields) or '-'}"
                        for h in result.hits
                    ]
                    return "\n".join([head, *hits])
                if name == "lookup_customer":
                    return _profile(lang, result)
    return say(lang, "no_previous")
