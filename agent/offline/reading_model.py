"""The typed reading of a request (``Reading``) and the request words it is read with.

A ``Reading`` holds the intents in order, the customers or the audience (segments, tastes,
recency, spend, churn, consent, language, city, value tier), products and price limits,
budget, channels, goal, discount, counts, what was carried over from earlier turns and why,
the conditions it could not map (``unsupported``), and for each field the words of the
request it came from (``sources``). ``agent.offline.reading`` fills it.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, Field

from agent.settings import PROMPTS_DIR

REQUEST_WORDS_FILE = PROMPTS_DIR / "vocabulary_requests.toml"
CJK = re.compile(r"[\u4e00-\u9fff]")

#: Intent words the typo fixer may correct to ("reccomend" -> "recommend").

AUDIENCE_FIELDS = (
    "segments", "categories", "min_days_since_purchase", "max_days_since_purchase",
    "min_spend", "max_spend", "min_churn_risk", "max_churn_risk", "consent_channel",
    "audience_language", "city", "value_tier",
)  # fmt: skip

# Context words around a number (matched on the lower-cased request).


class Carried(BaseModel):
    """A field taken from an earlier turn, and why.

    ``why`` is one of: ``points_back`` (the request points at the earlier result),
    ``follow_up`` (an elliptic follow-up), ``position`` (an earlier customer named by its
    position), ``earlier_products``, ``previous_plan``, ``added_channels``.
    """

    field: str
    value: Any
    why: str


class Reading(BaseModel):
    """How the offline model read one request. Every set field names its words in ``sources``."""

    text: str
    language: Literal["en", "zh"] = "en"
    intents: list[str] = Field(default_factory=list)
    decline: Literal["forbidden", "out_of_scope"] | None = None
    decline_reason: str = ""
    customer_ids: list[str] = Field(default_factory=list)
    segments: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    taste_query: str | None = None
    brands: list[str] = Field(default_factory=list)
    product_ids: list[str] = Field(default_factory=list)
    product_query: str | None = None
    min_days_since_purchase: int | None = None
    max_days_since_purchase: int | None = None
    min_spend: float | None = None
    max_spend: float | None = None
    min_churn_risk: float | None = None
    max_churn_risk: float | None = None
    consent_channel: str | None = None
    audience_language: str | None = None
    city: str | None = None
    value_tier: str | None = None
    min_price: float | None = None
    max_price: float | None = None
    #: Words, categories or brands a product search must leave out ("not leather").
    exclude: list[str] = Field(default_factory=list)
    budget: float | None = None
    currency: str | None = None
    channels: list[str] = Field(default_factory=list)
    goal: str | None = None
    discount_pct: float | None = None
    min_share: float | None = None
    max_share: float | None = None
    frequency_cap_days: int | None = None
    offer_code: str | None = None
    #: The request names free shipping ("free shipping", "包邮", "免运费").
    free_shipping: bool = False
    top_n: int | None = None
    product_count: int | None = None
    when: str | None = None
    points_back: Literal["plural", "singular", "elliptic"] | None = None
    carried: list[Carried] = Field(default_factory=list)
    unsupported: list[str] = Field(default_factory=list)
    #: Display names of the shop's categories in the request's language, for saying back.
    category_names: dict[str, str] = Field(default_factory=dict)
    sources: dict[str, str] = Field(default_factory=dict)

    def audience(self) -> dict[str, Any]:
        """The audience conditions that are set, as ``SegmentFilter`` fields."""
        out: dict[str, Any] = {}
        for name in AUDIENCE_FIELDS:
            value = getattr(self, name)
            if value not in (None, []):
                out["language" if name == "audience_language" else name] = value
        return out

    def points_back_words(self) -> bool:
        """True when the request's words point at an earlier result ("them", "这些")."""
        return points_back(self.text.lower()) is not None

    def names_customers(self) -> bool:
        """True when the request describes customers (more than a product category)."""
        audience = {
            k: v for k, v in self.audience().items() if k not in ("consent_channel", "categories")
        }
        return bool(audience)

    def has_audience(self) -> bool:
        """True when the request names who (any audience condition or a taste to resolve)."""
        audience = {k: v for k, v in self.audience().items() if k != "consent_channel"}
        return bool(audience or self.taste_query)

    def set(self, name: str, value: Any, words: str) -> None:
        """Set a field and record the words it came from."""
        setattr(self, name, value)
        if words:
            self.sources[name] = words.strip()


@cache
def request_words() -> dict[str, dict[str, list[re.Pattern[str]]]]:
    """The compiled patterns of ``prompts/vocabulary_requests.toml``."""
    with REQUEST_WORDS_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    return {
        table: {name: [re.compile(p, re.I) for p in patterns] for name, patterns in rows.items()}
        for table, rows in data.items()
    }


def matches_table(table: str, text: str) -> str | None:
    """The first entry of a table of request words whose patterns match ``text``."""
    for name, patterns in request_words()[table].items():
        if any(p.search(text) for p in patterns):
            return name
    return None


def is_chinese(text: str) -> bool:
    """True when the request is written in Chinese."""
    return len(CJK.findall(text)) >= 2


def points_back(low: str) -> Literal["plural", "singular", "elliptic"] | None:
    """How the request points at earlier turns: plural, singular, elliptic, or not at all."""
    for kind in ("plural", "singular", "elliptic"):
        if any(p.search(low) for p in request_words()["pointing"][kind]):
            return kind  # type: ignore[return-value]
    return None
