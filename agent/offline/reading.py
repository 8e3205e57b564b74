"""The typed reading of a request: what the marketer asked for, each part traced to their words.

``read_request`` turns one request (English or Chinese) into a ``Reading``: the intents in
order, the customers or the audience (segments, tastes, recency, spend, churn, consent,
language, city, value tier), products and price limits, budget, channels, goal, the offer
(discount, free shipping, code: ``agent.offline.offers``), counts, and the conditions it
could not map (``unsupported``). Every field it sets records the words it came from
(``sources``). Tool arguments are built from the reading only, and
the answer says it back first.

The shop's words come from ``tools.shop.vocabulary`` (shop data plus
``prompts/vocabulary.toml``) and numbers from ``tools.shop.quantities``; what is left here is
the grammar of marketers' requests: which number is a budget and which a spend threshold,
which channel is a consent condition and which the channel of a draft. Earlier turns are
applied afterwards by ``agent.offline.context`` (only when the request points back).
"""

from __future__ import annotations

import re

from agent.offline.amounts import read_quantities
from agent.offline.intents import CONSENT_QUESTION, EXPLICIT_LOOKUP, EXPLICIT_SEARCH, intents
from agent.offline.nouns import read_product_query, read_tastes, read_unsupported
from agent.offline.offers import read_offers
from agent.offline.reading_model import (
    AUDIENCE_FIELDS,
    Carried,
    Reading,
    is_chinese,
    matches_table,
    points_back,
    request_words,
)
from tools.shop.quantities import Quantity, find_quantities
from tools.shop.vocabulary import ShopVocabulary

__all__ = ["AUDIENCE_FIELDS", "KEYWORDS", "Carried", "Reading", "read_request", "request_words"]

KEYWORDS = (
    "recommend", "recommendations", "customer", "customers", "campaign", "campaigns",
    "budget", "email", "emails", "segment", "profile", "draft", "suggest", "search",
    "products", "fairness", "message", "promotion", "allocate", "optimise", "optimize",
    "shoppers", "audience", "explain", "notification",
)  # fmt: skip

#: Audience fields of a reading (they become a ``SegmentFilter``).


_WHEN = (
    r"\b(?:this|next|coming) (?:week|weekend|month)\b|\btoday\b|\btomorrow\b|\btonight\b|"
    r"\bright now\b|本周|这周|下周|这个月|下个月|今天|明天|周末"
)


def read_request(text: str, vocab: ShopVocabulary) -> Reading:
    """Read one request on its own (earlier turns are applied by ``agent.offline.context``)."""
    # Placeholders of redacted personal data ("[email]", "[phone]") are not words of the request.
    fixed, fixes = vocab.correct(re.sub(r"\[[a-z_]+\]", " ", text), KEYWORDS)
    low = fixed.lower()
    reading = Reading(text=text, language="zh" if is_chinese(text) else "en")
    for typo, word in fixes:
        reading.sources[f"typo:{typo}"] = word
    forbidden = matches_table("forbidden", low)
    if forbidden:
        reading.decline, reading.decline_reason = "forbidden", forbidden
        return reading
    id_spans = _read_ids(fixed, reading, vocab.customer_id_digits)
    _read_terms(fixed, reading, vocab)
    reading.intents = intents(low, reading)
    if reading.customer_ids and reading.channels and "draft" not in reading.intents:
        # "C00777 needs a birthday email": a channel with a customer is a message for them.
        explicit = re.search(EXPLICIT_LOOKUP, low)
        if not ({"match"} & set(reading.intents) or re.search(CONSENT_QUESTION, low) or explicit):
            reading.intents = [i for i in reading.intents if i != "lookup"] + ["draft"]
    ordinal = _ORDINAL.search(low)
    if ordinal:  # "the second one", "第二位": one of the earlier customers, not a count
        word = next(g for g in ordinal.groups() if g)
        reading.sources["ordinal"] = str(_ORDINALS.get(word, -1))
        id_spans.append(ordinal.span())
    id_spans += read_offers(fixed, reading)  # "SAVE20" is no 20, "减10元" no budget
    quantities = [q for q in find_quantities(fixed) if not any(_inside(q, s) for s in id_spans)]
    read_quantities(low, quantities, reading)
    _read_channels(low, reading)
    read_tastes(fixed, reading, vocab)
    audience_ask = {"find", "draft", "plan", "audit"} & set(reading.intents)
    if reading.brands and audience_ask and not (reading.customer_ids or reading.categories):
        # No segment filter takes a brand: its customers are those who like its categories.
        cats = [c for b in reading.brands for c in vocab.brand_categories.get(b, [])]
        words = f"{', '.join(reading.brands)} -> {', '.join(dict.fromkeys(cats))} (brand)"
        reading.set("categories", list(dict.fromkeys(cats)), words)
    if reading.product_ids and not reading.customer_ids and not reading.intents:
        reading.intents = ["search"]  # "products similar to P00042"
    if {"search", "recommend"} & set(reading.intents) or not (
        reading.intents or reading.names_customers()
    ):
        read_product_query(fixed, quantities, id_spans, reading)
        implicit = not re.search(EXPLICIT_SEARCH + r"|\bfind\b|找|有没有|有什么", low)
        implicit = implicit and not reading.product_ids
        query = reading.product_query or ""
        if implicit and query and not vocab.mentions_catalog(query):
            reading.product_query = None  # "how do I cook pasta" is not a product search
            reading.sources.pop("product_query", None)
            if reading.intents == ["search"]:
                reading.intents = []
    when = re.search(_WHEN, low)
    if when:
        reading.set("when", when.group(0), when.group(0))
    read_unsupported(low, reading, vocab)
    subject = reading.customer_ids or reading.has_audience()
    if any(p.search(low) for p in request_words()["out_of_scope"]["topics"]) and not subject:
        reading.decline, reading.decline_reason = "out_of_scope", "topics"
    small_talk = any(p.search(low) for p in request_words()["out_of_scope"]["small_talk"])
    if small_talk and not (subject or reading.intents or reading.channels or reading.budget):
        reading.decline, reading.decline_reason = "out_of_scope", "small_talk"
    reading.points_back = points_back(low)
    reading.category_names = {
        c: vocab.category_label(c, reading.language) for c in vocab.categories
    }
    return reading


_ORDINALS = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "fifth": 5,
    "last": -1, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "最后": -1,
}  # fmt: skip


_ORDINAL = re.compile(
    r"\bthe (first|1st|second|2nd|third|3rd|fourth|fifth|last) (?:one|customer|guy|person)\b|"
    r"第(一|二|三|四|五)(?:个|位|名)|(最后)(?:一)?(?:个|位|名)"
)


def _inside(q: Quantity, span: tuple[int, int]) -> bool:
    return q.start < span[1] and span[0] < q.end


def _read_ids(text: str, reading: Reading, digits: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pattern = re.compile(
        r"(?<![A-Za-z0-9])[Cc]\s?#?(\d{1,9})(?![\d])|(?:customer|cust|客户|顾客|用户)\s*(?:id\s*)?"
        r"#?\s*(\d{1,9})(?![\d%.])",
        re.I,
    )
    for match in pattern.finditer(text):
        number = match.group(1) or match.group(2)
        if len(number) > digits + 2:
            continue
        cid = f"C{int(number):0{digits}d}" if len(number) <= digits else f"C{number}"
        if cid not in reading.customer_ids:
            reading.customer_ids.append(cid)
            reading.sources.setdefault("customer_ids", "")
            reading.sources["customer_ids"] = (
                reading.sources["customer_ids"] + ", " + match.group(0)
            ).strip(", ")
        spans.append(match.span())
    for match in re.finditer(r"(?<![A-Za-z0-9])[Pp](\d{5,})(?!\d)", text):
        reading.product_ids.append(f"P{match.group(1)}")
        reading.sources["product_ids"] = match.group(0)
        spans.append(match.span())
    return spans


def _read_terms(text: str, reading: Reading, vocab: ShopVocabulary) -> None:
    for term in vocab.find(text, known=KEYWORDS):
        if term.kind == "segment":
            names = vocab.segment_sets.get(term.value, [term.value])
            new = [n for n in names if n not in reading.segments]
            if new:
                reading.set("segments", reading.segments + new, term.words)
        elif term.kind == "category" and term.value not in reading.categories:
            reading.set("categories", [*reading.categories, term.value], term.words)
        elif term.kind == "brand" and term.value not in reading.brands:
            reading.set("brands", [*reading.brands, term.value], term.words)
        elif term.kind == "city" and reading.city is None:
            reading.set("city", term.value, term.words)
        elif term.kind == "city" and term.value != reading.city:
            reading.unsupported.append(f"city:{term.words}")
        elif term.kind == "language" and reading.audience_language is None:
            reading.set("audience_language", term.value, term.words)
        elif term.kind == "value_tier" and reading.value_tier is None:
            reading.set("value_tier", term.value, term.words)
        elif term.kind == "goal" and reading.goal is None:
            reading.set("goal", term.value, term.words)
        elif term.kind == "channel" and term.value not in reading.channels:
            words = ", ".join(filter(None, [reading.sources.get("channels", ""), term.words]))
            reading.set("channels", [*reading.channels, term.value], words)


def _read_channels(low: str, reading: Reading) -> None:
    """A channel is the draft's or the plan's channel, or else a consent condition."""
    if not reading.channels:
        return
    if "draft" in reading.intents or "plan" in reading.intents:
        if "draft" in reading.intents and not reading.customer_ids:
            reading.set("consent_channel", reading.channels[0], reading.sources.get("channels", ""))
        return
    if "match" in reading.intents or "explain" in reading.intents:
        return
    reading.set("consent_channel", reading.channels[0], reading.sources.get("channels", ""))
