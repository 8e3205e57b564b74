"""Shared pydantic models: the shop's data model and the vocabulary the tools share.

The shop is stored as Parquet tables (see ``tools.shop.store``); these models are the row shapes
at the boundaries (imports, exports, tool results). Personal fields (last name, e-mail,
phone, address, notes) exist only on ``Customer``; nothing a model sees carries them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Channel = Literal["email", "sms", "push"]
CHANNELS: tuple[Channel, ...] = ("email", "sms", "push")
Language = Literal["en", "zh"]
LANGUAGES: tuple[Language, ...] = ("en", "zh")
Gender = Literal["female", "male", "other", "unknown"]
EventType = Literal["view", "cart", "purchase"]
EVENT_TYPES: tuple[EventType, ...] = ("view", "cart", "purchase")
ExposureGroup = Literal["treatment", "control"]

#: Named RFM segments, best to worst. ``prospects`` have never purchased.
SegmentName = Literal[
    "champions",
    "loyal",
    "potential_loyalists",
    "new",
    "promising",
    "need_attention",
    "at_risk",
    "cannot_lose",
    "hibernating",
    "lost",
    "prospects",
]
SEGMENTS: tuple[SegmentName, ...] = (
    "champions",
    "loyal",
    "potential_loyalists",
    "new",
    "promising",
    "need_attention",
    "at_risk",
    "cannot_lose",
    "hibernating",
    "lost",
    "prospects",
)

#: Personal columns of the customers table: never sent to a model, never logged.
PERSONAL_COLUMNS: tuple[str, ...] = ("last_name", "email", "phone", "address", "notes")


class Strict(BaseModel):
    """Base for models that reject unknown fields."""

    model_config = ConfigDict(extra="forbid")


class Consent(Strict):
    """Consent for one channel: whether it is held now and when it was last given or withdrawn."""

    granted: bool
    changed_at: datetime | None = None


class Customer(Strict):
    """One customer row, personal fields included (stays inside the store)."""

    customer_id: str = Field(pattern=r"^C\d{5,}$")
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    address: str = ""
    city: str = ""
    country: str = ""
    age: int | None = Field(default=None, ge=0, le=120)
    gender: Gender = "unknown"
    language: Language = "en"
    signup_at: datetime
    consent: dict[Channel, Consent]
    notes: str = ""


class Product(Strict):
    """One product of the catalog."""

    product_id: str = Field(pattern=r"^P\d{5,}$")
    title: str
    description: str = ""
    title_zh: str = ""
    description_zh: str = ""
    category: str
    brand: str = ""
    price: float = Field(ge=0)
    currency: str = "USD"
    stock: int = Field(ge=0)
    tags: list[str] = Field(default_factory=list)
    reviews: list[str] = Field(default_factory=list)


class Event(Strict):
    """A view, cart or purchase of a product by a customer."""

    customer_id: str
    product_id: str
    event_type: EventType
    quantity: int = Field(ge=1)
    unit_price: float = Field(ge=0)
    timestamp: datetime


class Campaign(Strict):
    """A campaign that ran (or runs) on one channel with one offer."""

    campaign_id: str = Field(pattern=r"^K\d{3,}$")
    name: str
    channel: Channel
    offer: str = ""
    discount_pct: float = Field(default=0.0, ge=0, le=100)
    start_at: datetime
    end_at: datetime
    cost_per_contact: float = Field(ge=0)
    target_categories: list[str] = Field(default_factory=list)
    target_segments: list[str] = Field(default_factory=list)
    description: str = ""


class Exposure(Strict):
    """One customer's place in a campaign: treated or held out as control."""

    campaign_id: str
    customer_id: str
    group: ExposureGroup
    sent_at: datetime
    converted: bool
    revenue: float = Field(ge=0)


class ToolResult(BaseModel):
    """Base of every tool's return model.

    ``for_model`` is what the chat model is shown (compact: long id lists cut, no personal
    data); the full model travels as the tool's artifact to the trace, the UI and the API.
    ``summary`` is one plain line for step lists and traces.
    """

    def for_model(self) -> dict[str, object]:
        """The compact, JSON-ready view the chat model reads."""
        return self.model_dump(mode="json")

    def summary(self) -> str:
        """One plain-language line describing the result."""
        return type(self).__name__


class SegmentFilter(Strict):
    """Which customers to select. Every field is optional; unset fields do not filter."""

    segments: list[SegmentName] | None = Field(
        default=None, description="RFM segment names, e.g. ['at_risk', 'cannot_lose']."
    )
    categories: list[str] | None = Field(
        default=None, description="Category affinity: customers whose top categories include any."
    )
    min_churn_risk: float | None = Field(default=None, ge=0, le=1)
    max_churn_risk: float | None = Field(default=None, ge=0, le=1)
    min_days_since_purchase: int | None = Field(default=None, ge=0)
    max_days_since_purchase: int | None = Field(default=None, ge=0)
    min_spend: float | None = Field(default=None, ge=0, description="Lifetime spend at least.")
    max_spend: float | None = Field(default=None, ge=0, description="Lifetime spend at most.")
    consent_channel: Channel | None = Field(
        default=None, description="Only customers who consented to this channel."
    )
    language: Language | None = Field(default=None, description="Preferred language: en or zh.")
    city: str | None = Field(default=None, description="Home city (any letter case).")
    value_tier: Literal["high", "low"] | None = Field(
        default=None,
        description="Expected 90-day value: 'high' is the top fifth of customers, 'low' the "
        "bottom fifth.",
    )
    gender: Gender | None = Field(
        default=None, description="Protected attribute: refused unless settings allow it."
    )
    min_age: int | None = Field(default=None, ge=0, description="Protected attribute.")
    max_age: int | None = Field(default=None, ge=0, description="Protected attribute.")
    limit: int = Field(default=10, ge=1, le=100, description="How many sample profiles to return.")
