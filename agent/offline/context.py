"""Earlier turns, reused on purpose: only when a request points back at them.

``Memory`` is what the earlier turns of a conversation left: their readings, the customers
and the audience they acted on, the last plan and the products recommended to each
customer. ``apply_context`` fills a new reading from it only when the request points back
("them", "those", "the top 3", "same audience", "他们", "这些客户", "前两位") or is an
elliptic follow-up ("and by SMS?", "what if we had 8k instead", "预算改成一万"). A request
with its own subject (customer ids or audience conditions) starts fresh. Every field taken
from an earlier turn is listed in ``Reading.carried`` with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from agent.offline.reading import AUDIENCE_FIELDS, Carried, Reading, request_words
from agent.offline.turns import Turn

_PRODUCTS_BACK = re.compile(r"\b(?:those|these|them|it)\b|这些|那些|它们|这几", re.I)
_CUSTOMER_INTENTS = ("lookup", "recommend", "draft", "match")
_PLAN_FIELDS = ("budget", "channels", "goal", "discount_pct")


@dataclass
class Memory:
    """What the earlier turns of a conversation left behind, newest last."""

    readings: list[Reading] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)
    audience: dict[str, Any] | None = None
    plan: Reading | None = None
    products: dict[str, list[str]] = field(default_factory=dict)
    last: str | None = None  # "customers" or "audience": which the latest turn acted on

    @property
    def previous(self) -> Reading | None:
        """The reading of the latest turn that asked for something (explanations skipped)."""
        for reading in reversed(self.readings):
            if reading.intents != ["explain"]:
                return reading
        return None


def remember(memory: Memory, reading: Reading, turn: Turn) -> Memory:
    """The memory after ``turn`` (read as ``reading``) has run."""
    if reading.decline:
        return memory
    memory.readings.append(reading)
    customers: list[str] = []
    for tool in ("lookup_customer", "recommend_products", "draft_message", "match_campaigns"):
        for result in turn.artifacts(tool):
            cid = getattr(result, "customer_id", None)
            if cid and cid not in customers:
                customers.append(cid)
    for result in turn.artifacts("recommend_products"):
        memory.products[result.customer_id] = [i.product_id for i in result.items[:3]]
    if turn.artifacts("find_customers") or (reading.has_audience() and not reading.customer_ids):
        memory.audience = reading.audience()
        memory.last = "audience"
    elif customers or reading.customer_ids:
        memory.customers = customers if not reading.customer_ids else list(reading.customer_ids)
        memory.last = "customers"
    if "plan" in reading.intents and reading.budget:
        memory.plan = reading
    return memory


def apply_context(reading: Reading, memory: Memory) -> Reading:
    """Fill the reading from earlier turns where the request points back at them."""
    previous = memory.previous
    if reading.decline or previous is None or reading.customer_ids:
        return reading
    if reading.intents == ["explain"]:
        return reading  # an explanation reads the earlier results themselves
    elliptic = reading.points_back == "elliptic" or not reading.intents
    narrow = _says(reading.text, "narrow")
    pointing = reading.points_back in ("plural", "singular") or narrow
    pointing = pointing or "ordinal" in reading.sources
    if not (elliptic or pointing):
        return reading
    if not reading.intents:
        reading.intents = [i for i in previous.intents if i != "explain"]
        _carry(reading, "intents", list(reading.intents), "follow_up")
    wants_customers = bool(set(reading.intents) & set(_CUSTOMER_INTENTS))
    own_subject = reading.has_audience()
    if "plan" in reading.intents and memory.plan is not None:
        _carry_plan(reading, memory.plan)
    elif memory.last == "customers" and wants_customers and not own_subject:
        ordinal = int(reading.sources.get("ordinal", "0"))
        if ordinal and len(memory.customers) >= abs(ordinal):
            chosen = memory.customers[ordinal - 1 if ordinal > 0 else -1]
            reading.customer_ids = [chosen]
            _carry(reading, "customer_ids", [chosen], "position")
        elif reading.points_back == "singular" and len(memory.customers) > 1:
            reading.sources["ambiguous_customers"] = ", ".join(memory.customers)
        else:
            reading.customer_ids = list(memory.customers)
            _carry(reading, "customer_ids", reading.customer_ids, _why(reading))
            if "draft" in reading.intents and _PRODUCTS_BACK.search(reading.text):
                earlier = [p for c in reading.customer_ids for p in memory.products.get(c, [])]
                if earlier and not reading.product_ids:
                    reading.product_ids = earlier
                    _carry(reading, "product_ids", earlier, "earlier_products")
    elif memory.audience is not None and (not own_subject or narrow or elliptic):
        _carry_audience(reading, memory.audience)
        if not set(reading.intents) & {"find", "draft", "recommend", "audit", "plan"}:
            reading.intents.append("find")
    if reading.customer_ids and "draft" in reading.intents:
        reading.consent_channel = None
    return reading


def _says(text: str, kind: str) -> bool:
    return any(p.search(text) for p in request_words()["pointing"][kind])


def _why(reading: Reading) -> str:
    if reading.points_back in ("plural", "singular"):
        return "points_back"
    return "follow_up"


def _carry(reading: Reading, name: str, value: Any, why: str) -> None:
    reading.carried.append(Carried(field=name, value=value, why=why))


def _carry_audience(reading: Reading, audience: dict[str, Any]) -> None:
    own = reading.audience()
    for key, value in audience.items():
        name = "audience_language" if key == "language" else key
        if name not in AUDIENCE_FIELDS or key in own:
            continue
        if key in ("min_days_since_purchase", "max_days_since_purchase") and (
            "min_days_since_purchase" in own or "max_days_since_purchase" in own
        ):
            continue
        setattr(reading, name, value)
        _carry(reading, name, value, _why(reading))


def _carry_plan(reading: Reading, plan: Reading) -> None:
    if reading.channels and plan.channels and _says(reading.text, "adding"):
        added = [c for c in plan.channels if c not in reading.channels]
        reading.channels = [*added, *reading.channels]
        _carry(reading, "channels", added, "added_channels")
    for name in _PLAN_FIELDS:
        if getattr(reading, name) in (None, []) and getattr(plan, name) not in (None, []):
            setattr(reading, name, getattr(plan, name))
            _carry(reading, name, getattr(plan, name), "previous_plan")
    if not reading.has_audience():
        _carry_audience(reading, plan.audience())
    reading.consent_channel = None if reading.channels else reading.consent_channel
