"""The reading said back at the top of every answer, and the clarifying question.

"I read this as: ..." / "我的理解：..." lists the intents and every condition with the words
it came from; the notes say what came from earlier turns, which typos were read as which
word, and which conditions no tool could apply. When the model asks instead of acting,
``clarification`` is the payload front ends show as buttons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent.offline.labels import Words
from agent.offline.phrases import phrases, say

if TYPE_CHECKING:
    from agent.offline.reading import Reading
    from agent.offline.routing import Route

_INTENT_ORDER = ("lookup", "find", "search", "recommend", "plan", "draft", "match", "audit",
                 "explain")  # fmt: skip


def _amount(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def reading_line(reading: Reading, words: Words | None = None) -> str:
    """The reading said back ("I read this as: ..."), each part with its source words.

    Codes (segments, channels, languages, goals) are said through ``words`` (the labels).
    """
    lang = reading.language
    w = words or Words(lang)
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
        add("segments", "r_segments", value=w.join(w.segment(s) for s in reading.segments))
    if reading.categories:
        names = reading.category_names
        shown = ", ".join(names.get(c) or c.replace("_", " ") for c in reading.categories)
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
        add("consent_channel", "r_consent", value=w.channel(reading.consent_channel))
    if reading.audience_language:
        add("audience_language", "r_language",
            value=w.label("language", reading.audience_language))
    if reading.city:
        add("city", "r_city", value=reading.city)
    if reading.value_tier:
        add("value_tier", "r_value_tier", value=w.label("value_tier", reading.value_tier))
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
    if reading.exclude:
        add("exclude", "r_exclude", value=", ".join(reading.exclude))
    if reading.budget is not None:
        add("budget", "r_budget", value=_amount(reading.budget))
    if reading.channels and ("plan" in reading.intents or "draft" in reading.intents):
        add("channels", "r_channels", value=w.join(w.channel(c) for c in reading.channels))
    if reading.goal:
        add("goal", "r_goal", value=w.label("goal", reading.goal))
    for field, key in (("min_share", "r_min_share"), ("max_share", "r_max_share")):
        value = getattr(reading, field)
        if value is not None:
            add(field, key, value=f"{float(value):.0%}")
    if reading.frequency_cap_days is not None:
        add("frequency_cap_days", "r_cap", value=reading.frequency_cap_days)
    if reading.discount_pct is not None:
        add("discount_pct", "r_discount", value=f"{reading.discount_pct:g}")
    if reading.offer_code:
        add("offer_code", "r_code", value=reading.offer_code)
    if reading.free_shipping:
        add("free_shipping", "r_free_shipping")
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
    return say(lang, "reading_head", parts=say(lang, "reading_sep").join(parts))


def reading_notes(reading: Reading) -> str:
    """What came from earlier turns, what was corrected, and what could not be applied."""
    lang = reading.language
    lines: list[str] = []
    if reading.carried:
        table = phrases()["zh" if lang == "zh" else "en"]
        names = [table.get(f"f_{c.field}", c.field.replace("_", " ")) for c in reading.carried]
        why = table.get(f"why_{reading.carried[0].why}", reading.carried[0].why)
        lines.append(say(lang, "r_carried", fields=", ".join(dict.fromkeys(names)), why=why))
    typos = [f"{k.removeprefix('typo:')} -> {v}" for k, v in reading.sources.items()
             if k.startswith("typo:")]  # fmt: skip
    if typos:
        lines.append(say(lang, "r_typos", typos=", ".join(typos)))
    for item in reading.unsupported:
        kind, _, what = item.partition(":")
        if kind == "exclude":
            lines.append(say(lang, "r_unsupported_exclude", what=what))
        elif kind == "city":
            lines.append(say(lang, "r_unsupported_city", what=what))
        elif kind == "orders":
            lines.append(say(lang, "r_unsupported_orders", what=what))
        elif kind == "protected":
            lines.append(say(lang, "r_unsupported_protected", what=what))
        elif kind == "amount_off":
            lines.append(say(lang, "r_unsupported_amount_off", what=what))
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


def clarify_text(route: Route) -> str:
    """The question and its options as text, for the answer."""
    assert route.clarify is not None
    lines = [_question(route)]
    for label, request in route.clarify.options:
        lines.append(say(route.language, "ask_option", label=label, request=request))
    return "\n".join(lines)
