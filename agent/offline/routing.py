"""From a reading to the stages that answer it, or to a question when the reading is not enough.

A ``Route`` is the reading of the newest request (``agent.offline.reading``, with earlier
turns applied by ``agent.offline.context``), the ordered stages that answer it (``resolve``
a product noun through search, ``lookup``, ``find``, ``search``, ``recommend``, ``plan``,
``draft``, ``match``, ``audit``, ``explain``) and, when the reading is ambiguous or
incomplete, the clarifying question to ask instead of guessing. ``agent.offline.model``
turns each stage into tool calls. Hand-written on purpose: a deterministic router needs no
model file and its every decision can be shown in the trace.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from pydantic import BaseModel, Field

from agent.offline.context import Memory, apply_context
from agent.offline.reading import Reading, read_request
from tools.shop.vocabulary import ShopVocabulary

#: Hits of the noun's product search that name its categories.
RESOLVE_HITS = 10


class Clarify(BaseModel):
    """Why the model asks instead of acting, and the readings it offers."""

    reason: str
    options: list[tuple[str, str]] = Field(default_factory=list)  # (label, full request)
    values: dict[str, str] = Field(default_factory=dict)


class Route(BaseModel):
    """The reading, the stages that answer it, and a question when it cannot be answered."""

    reading: Reading
    stages: list[str]
    clarify: Clarify | None = None

    @property
    def language(self) -> str:
        """The language of the request."""
        return self.reading.language


def route_request(text: str, vocab: ShopVocabulary, memory: Memory | None = None) -> Route:
    """Read a request (with the conversation's memory) and decide its stages."""
    reading = apply_context(read_request(text, vocab), memory or Memory())
    return plan_stages(reading, memory or Memory())


def plan_stages(reading: Reading, memory: Memory) -> Route:
    """The stages for a reading, or the question to ask."""
    if reading.decline:
        return Route(reading=reading, stages=[])
    intents = reading.intents
    if "explain" in intents and not reading.customer_ids:
        return Route(reading=reading, stages=["explain"])
    ambiguous = reading.sources.get("ambiguous_customers")
    if ambiguous:
        return Route(reading=reading, stages=[], clarify=_which_customer(reading, ambiguous))
    if reading.customer_ids:
        return Route(reading=reading, stages=_customer_stages(reading))
    resolve = ["resolve"] if reading.taste_query else []
    if "plan" in intents:
        if not reading.budget:
            return Route(reading=reading, stages=[], clarify=_need_budget(reading))
        return Route(reading=reading, stages=[*resolve, "plan"])
    if "audit" in intents:
        return Route(reading=reading, stages=[*resolve, "audit"])
    if {"draft", "recommend", "match", "lookup"} & set(intents):
        if (
            "match" in intents
            or "lookup" in intents
            or not (reading.has_audience() or reading.consent_channel and reading.top_n)
        ):
            return Route(reading=reading, stages=[], clarify=_need_target(reading, memory))
        stages = [*resolve, "find", "recommend"]
        if "draft" in intents:
            stages.append("draft")
        return Route(reading=reading, stages=stages)
    if "find" in intents or reading.names_customers():
        if "find" not in intents:
            reading.intents = ["find", *(i for i in intents if i != "search")]
        return Route(reading=reading, stages=[*resolve, "find"])
    if "search" in intents or reading.product_query or reading.brands or reading.categories:
        if "search" not in intents:
            reading.intents.append("search")
        return Route(reading=reading, stages=["search"])
    reading.decline, reading.decline_reason = "out_of_scope", "not_understood"
    return Route(reading=reading, stages=[])


def _customer_stages(reading: Reading) -> list[str]:
    if not reading.intents:
        reading.intents = ["lookup"]  # a customer id alone asks for the profile
    intents = set(reading.intents)
    stages: list[str] = []
    if "lookup" in intents or not intents & {"recommend", "draft", "match", "search", "audit"}:
        stages.append("lookup")
    if "match" in intents:
        stages.append("match")
    if "search" in intents:
        stages.append("search")
    if "recommend" in intents:
        stages.append("recommend")
    if "draft" in intents:
        if "recommend" not in stages and "search" not in stages and not reading.product_ids:
            stages.append("recommend")
        stages.append("draft")
    return stages


def resolve_categories(result: Any) -> list[str]:
    """Categories a product noun stands for: those of the search hits that matched its words.

    A category counts when at least two of the first ``RESOLVE_HITS`` word-matching hits
    belong to it, or when it is the best hit's; an empty list means the noun matched no
    product's words.
    """
    hits = [h for h in result.hits[:RESOLVE_HITS] if h.matched_fields]
    if not hits:
        return []
    counts = Counter(h.category for h in hits)
    keep = [c for c, n in counts.most_common() if n >= 2]
    if hits[0].category not in keep:
        keep.insert(0, hits[0].category)
    return keep


def unknown_noun(reading: Reading, result: Any) -> Clarify:
    """The question asked when a noun matches no product: the closest categories as options."""
    noun = reading.taste_query or ""
    near = list(dict.fromkeys(h.category for h in result.hits[:RESOLVE_HITS]))[:3]
    options = [(cat, _replace(reading.text, noun, cat.replace("_", " "))) for cat in near]
    return Clarify(reason="unknown_noun", options=options, values={"noun": noun})


def _replace(text: str, old: str, new: str) -> str:
    return re.sub(re.escape(old), new, text, count=1, flags=re.I) if old else text


def _need_budget(reading: Reading) -> Clarify:
    zh = reading.language == "zh"
    amounts = (1000, 5000, 10000)
    options = []
    for amount in amounts:
        label = f"{amount:,}"
        request = (
            f"{reading.text.rstrip('。？?！! ')}，预算{amount}元"
            if zh
            else f"{reading.text.rstrip('.?! ')} with a budget of ${amount:,}"
        )
        options.append((label, request))
    return Clarify(reason="need_budget", options=options)


def _need_target(reading: Reading, memory: Memory) -> Clarify:
    zh = reading.language == "zh"
    base = reading.text.rstrip("。？?！! ")
    if zh:
        options = [
            ("前3位流失风险客户", f"{base}，对象是前3位流失风险客户"),
            ("前3位冠军客户", f"{base}，对象是前3位冠军客户"),
        ]
    else:
        options = [
            ("top 3 at-risk customers", f"{base} for the top 3 at-risk customers"),
            ("top 3 champions", f"{base} for the top 3 champions"),
        ]
    reason = "no_earlier" if reading.points_back and memory.previous is None else "need_target"
    return Clarify(reason=reason, options=options)


def _which_customer(reading: Reading, ambiguous: str) -> Clarify:
    ids = [c.strip() for c in ambiguous.split(",") if c.strip()]
    pronoun = re.compile(r"\b(?:him|her|he|she)\b|他|她", re.I)
    options = []
    for cid in ids:
        request = pronoun.sub(cid, reading.text, count=1)
        if request == reading.text:
            request = f"{reading.text} ({cid})"
        options.append((cid, request))
    return Clarify(reason="which_customer", options=options, values={"ids": ", ".join(ids)})
