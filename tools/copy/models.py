"""The copy room's data: offers, drafts, the facts a rewriter may use, the guard's verdict.

Kept apart from the code that makes and checks drafts, so that composing, guarding and
rewriting can all name these types without importing one another.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tools.copy.rules import FREE_SHIPPING_RE
from tools.shop.schemas import Channel, Language, ToolResult

ProblemCode = Literal[
    "unknown_product",
    "wrong_title",
    "wrong_price",
    "out_of_stock",
    "missing_product",
    "uncited_product",
    "wrong_discount",
    "wrong_code",
    "wrong_offer",
    "placeholder",
    "personal_data",
    "foreign_link",
    "injected_instruction",
    "copied_from_data",
    "empty_field",
    "too_long",
    "missing_opt_out",
    "missing_unsubscribe",
    "missing_sender",
    "voice",
]


class GuardProblem(BaseModel):
    """One reason a draft cannot be sent as it is."""

    code: ProblemCode
    message: str


class GuardVerdict(BaseModel):
    """The guard's verdict on a draft: passed, or the list of problems found."""

    passed: bool
    problems: list[GuardProblem] = Field(default_factory=list)

    @property
    def codes(self) -> list[str]:
        """The distinct problem codes, in the order found."""
        return list(dict.fromkeys(p.code for p in self.problems))

    def reasons(self) -> list[str]:
        """Every problem as ``code: message``."""
        return [f"{p.code}: {p.message}" for p in self.problems]

    def summary(self) -> str:
        """One plain line: passed, or the problem codes."""
        return "guard passed" if self.passed else "guard failed: " + ", ".join(self.codes)


class ProblemList:
    """The problems found so far, each (code and message) kept once."""

    def __init__(self) -> None:
        self.items: list[GuardProblem] = []

    def add(self, code: ProblemCode, message: str) -> None:
        """Record a problem unless the same one is already recorded."""
        if not any(p.code == code and p.message == message for p in self.items):
            self.items.append(GuardProblem(code=code, message=message))


class Offer(BaseModel):
    """An offer to mention in the copy. Only name, discount and code are shown."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=60, description="Short name shown in e-mails.")
    discount_pct: float = Field(default=0, ge=0, le=90, description="Percent off, 0 for none.")
    code: str | None = Field(
        default=None, description="Offer code: 3-20 uppercase letters and digits, e.g. SAVE15."
    )
    description: str = Field(default="", max_length=300, description="Internal note; not shown.")

    @field_validator("code")
    @classmethod
    def _check_code(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        code = value.strip().upper()
        if not re.fullmatch(r"[A-Z0-9]{3,20}", code):
            raise ValueError("an offer code is 3-20 letters and digits, e.g. SAVE15")
        return code

    @property
    def free_shipping(self) -> bool:
        """Whether the offer is (or includes) free shipping, by its name."""
        return bool(FREE_SHIPPING_RE.search(self.name))


class DraftProduct(BaseModel):
    """A product a draft cites, as the copy shows it (title in the customer's language)."""

    product_id: str
    title: str
    price: float
    currency: str
    link: str | None = None


class Draft(ToolResult):
    """A message draft for one customer on one channel, with the facts it cites and its verdict."""

    draft_id: str
    customer_id: str
    first_name: str
    channel: Channel
    language: Language
    goal: str
    subject: str | None = None
    preheader: str | None = None
    title: str | None = None
    body: str
    sms_parts: int | None = None
    encoding: Literal["GSM-7", "UCS-2"] | None = None
    products: list[DraftProduct] = Field(default_factory=list)
    offer: Offer | None = None
    links: list[str] = Field(default_factory=list)
    guard: GuardVerdict
    source: Literal["template", "model", "polished"] = "template"
    rewrite_rejections: list[str] = Field(default_factory=list)
    omitted_products: list[str] = Field(
        default_factory=list, description="Requested product ids left out to fit the channel."
    )
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    def text_fields(self) -> dict[str, str]:
        """The channel's text fields that are set, in reading order."""
        fields = {
            "subject": self.subject,
            "preheader": self.preheader,
            "title": self.title,
            "body": self.body,
        }
        return {k: v for k, v in fields.items() if v is not None}

    def full_text(self) -> str:
        """Every text field, one after another (what a reader sees)."""
        return "\n".join(self.text_fields().values())

    def for_model(self) -> dict[str, object]:
        """Compact view: texts, cited facts and the verdict (the first name is the only PII)."""
        out: dict[str, object] = {
            "draft_id": self.draft_id,
            "customer_id": self.customer_id,
            "channel": self.channel,
            "language": self.language,
            "goal": self.goal,
            **self.text_fields(),
            "products": [
                {
                    "product_id": p.product_id,
                    "title": p.title,
                    "price": p.price,
                    "currency": p.currency,
                }
                for p in self.products
            ],
            "offer": self.offer.model_dump(exclude={"description"}) if self.offer else None,
            "guard": {"passed": self.guard.passed, "problems": self.guard.reasons()},
            "source": self.source,
        }
        if self.channel == "sms":
            out["sms_parts"] = self.sms_parts
            out["encoding"] = self.encoding
        if self.omitted_products:
            out["omitted_products"] = self.omitted_products
        if self.rewrite_rejections:
            out["rewrite_rejections"] = len(self.rewrite_rejections)
        return out

    def summary(self) -> str:
        """One line: channel, customer, language, goal and verdict."""
        extra = f", {self.sms_parts} part(s) {self.encoding}" if self.channel == "sms" else ""
        return (
            f"{self.channel} draft for {self.customer_id} ({self.language}, {self.goal}{extra}, "
            f"{len(self.products)} product(s), {self.source}): {self.guard.summary()}"
        )


class GroundingFacts(BaseModel):
    """Everything a rewriter may use: the only facts a rephrased draft may state."""

    customer_id: str
    first_name: str
    channel: Channel
    language: Language
    goal: str
    shop_name: str
    products: list[DraftProduct]
    offer: Offer | None
    allowed_links: list[str]
    limits: dict[str, int]
    required_wording: list[str]
    previous_problems: list[str] = Field(default_factory=list)
