"""``draft_message``: grounded message drafts per customer and channel, checked by the guard.

A draft is composed from the copy templates in ``prompts/copy/`` (per channel and language,
with the goal wording in ``goals_<lang>.md``), filled only with facts: the customer's first
name, the cited products' catalog titles and prices, the offer, and allow-listed links.
Pieces are dropped in a fixed order until the text fits the channel's limits, so every
template draft is ready to send and passes the guard.

A rewriter (the optional SmolLM2 polish, or an OpenAI-compatible model) can be plugged in
with ``set_rewriter`` or as ``deps.copy_rewriter``: it gets the template draft and the
grounding facts and may return a rephrased draft, which is kept only when the guard passes
it (two attempts, each told the previous attempt's problems); otherwise the template draft
stands and the rejections are recorded on it.

The composition lives in ``tools.copy_compose``, the rewriter hook in ``tools.rewrite`` and
the channel rules in ``tools.copy_rules``; their public names stay importable from here.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tools.copy_compose import GOALS as GOALS
from tools.copy_compose import MAX_EMAIL_PRODUCTS as MAX_EMAIL_PRODUCTS
from tools.copy_compose import (
    Composer,
    Texts,
    compose_email,
    compose_push,
    compose_sms,
    find_customer,
    find_products,
)
from tools.copy_compose import resolve_goal as resolve_goal
from tools.copy_rules import OPT_OUT_WORDING, find_links, format_discount, sms_size
from tools.copy_rules import channel_limits as channel_limits
from tools.deps import ToolDeps  # at run time: the tool registry resolves the annotations
from tools.errors import ToolInputError
from tools.guard import GuardVerdict, check_draft
from tools.rewrite import MAX_REWRITE_ATTEMPTS as MAX_REWRITE_ATTEMPTS
from tools.rewrite import Rewriter as Rewriter
from tools.rewrite import draft_layout as draft_layout
from tools.rewrite import get_rewriter as get_rewriter
from tools.rewrite import parse_rewrite as parse_rewrite
from tools.rewrite import rewrite_draft
from tools.rewrite import rewrite_prompt as rewrite_prompt
from tools.rewrite import set_rewriter as set_rewriter
from tools.schemas import CHANNELS, Channel, Language, ToolResult
from tools.store import ShopData

logger = logging.getLogger(__name__)


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


# --- the tool ----------------------------------------------------------------------------------


def draft_message(
    deps: ToolDeps,
    customer_id: str,
    channel: Literal["email", "sms", "push"],
    goal: str = "re-engage",
    product_ids: list[str] | None = None,
    offer: Offer | None = None,
) -> Draft:
    """Draft a message for one customer in their language and brand voice, checked by the guard.

    States only facts: first name, the given products' catalog titles and prices, the
    offer, shop links. Pass product ids from recommend_products or search_products.
    Refuses customers without consent for the channel.

    Args:
        deps: The shop's stores (supplied by the runtime, not by the model).
        customer_id: The customer's id, e.g. "C00042".
        channel: "email", "sms" or "push".
        goal: What the message is for: "re-engage" (default), "win-back", "promotion"
            (needs an offer), "recommendations" (needs product_ids), "thank-you" or "welcome".
        product_ids: Product ids to feature, best first; an e-mail lists up to 5, an SMS or
            push features the first.
        offer: Optional offer: name, discount_pct (0-90), code (letters and digits, e.g.
            SAVE15) and an internal description that is never shown.

    Returns:
        The draft: its text fields, the products and offer it cites, and the guard verdict.
    """
    if channel not in CHANNELS:
        raise ToolInputError(f"channel {channel!r} is unknown; channels: {', '.join(CHANNELS)}")
    goal_name = resolve_goal(goal)
    product_ids = list(product_ids or [])
    if goal_name == "recommendations" and not product_ids:
        raise ToolInputError(
            "goal 'recommendations' needs product_ids; call recommend_products first"
        )
    if goal_name == "promotion" and offer is None:
        raise ToolInputError("goal 'promotion' needs an offer (name, discount_pct and/or code)")
    shop = deps.shop
    customer = find_customer(shop.customers, customer_id)
    if not bool(customer.get(f"consent_{channel}")):
        granted = [ch for ch in CHANNELS if bool(customer.get(f"consent_{ch}"))]
        raise ToolInputError(
            f"customer {customer_id} has not consented to {channel} messages; nothing is "
            f"drafted for them on {channel} (consented channels: {', '.join(granted) or 'none'})"
        )
    rows = find_products(shop.products, product_ids)
    language: Language = "zh" if customer.get("language") == "zh" else "en"
    allowlist = [str(x).rstrip("/") for x in deps.settings.link_allowlist]
    base = allowlist[0] if allowlist else None
    if channel == "email" and base is None:
        raise ToolInputError(
            "e-mail drafts need an allow-listed shop link for the unsubscribe footer; "
            "set AGENT_LINK_ALLOWLIST"
        )
    products = [
        DraftProduct(
            product_id=str(r["product_id"]),
            title=str(r.get("title_zh") or r["title"]) if language == "zh" else str(r["title"]),
            price=float(str(r["price"])),
            currency=str(r["currency"]),
            link=f"{base}/p/{r['product_id']}" if base else None,
        )
        for r in rows
    ]
    first_name = str(customer.get("first_name") or "").strip()
    shop_name = deps.settings.shop_name
    composer = Composer(
        language,
        goal_name,
        {
            "first_name": first_name,
            "shop_name": shop_name,
            "discount": format_discount(offer.discount_pct) if offer and offer.discount_pct else "",
            "code": (offer.code or "") if offer else "",
            "offer_name": offer.name if offer else "",
        },
    )
    if channel == "email":
        texts = compose_email(composer, products, offer, base or "")
    elif channel == "sms":
        texts = compose_sms(composer, products, offer)
    else:
        texts = compose_push(composer, products, offer, base)
    cited = [products[i] for i in texts.used]
    draft = _make_draft(
        customer_id=customer_id,
        first_name=first_name,
        channel=channel,
        language=language,
        goal=goal_name,
        texts=texts,
        products=cited,
        offer=offer,
        omitted=[p.product_id for p in products if p not in cited],
    )
    draft = draft.model_copy(update={"guard": _check(deps, draft, allowlist)})
    if not draft.guard.passed:
        logger.warning(
            "template draft %s failed the guard: %s", draft.draft_id, draft.guard.summary()
        )
    rewriter = get_rewriter(deps)
    if rewriter is not None:
        facts = grounding_facts(draft, shop_name, allowlist)
        draft = rewrite_draft(draft, facts, rewriter, lambda d: _check(deps, d, allowlist))
    logger.info("%s", draft.summary())
    return draft


def _make_draft(
    *,
    customer_id: str,
    first_name: str,
    channel: Channel,
    language: Language,
    goal: str,
    texts: Texts,
    products: list[DraftProduct],
    offer: Offer | None,
    omitted: list[str],
) -> Draft:
    size = sms_size(texts.body) if channel == "sms" else None
    key = "|".join(
        [
            customer_id,
            channel,
            goal,
            texts.subject or "",
            texts.preheader or "",
            texts.title or "",
            texts.body,
        ]
    )
    return Draft(
        draft_id="D" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12],
        customer_id=customer_id,
        first_name=first_name,
        channel=channel,
        language=language,
        goal=goal,
        subject=texts.subject,
        preheader=texts.preheader,
        title=texts.title,
        body=texts.body,
        sms_parts=size.parts if size else None,
        encoding=size.encoding if size else None,
        products=products,
        offer=offer,
        links=list(texts.links),
        guard=GuardVerdict(passed=False),
        omitted_products=omitted,
    )


def _check(deps: ToolDeps, draft: Draft, allowlist: list[str]) -> GuardVerdict:
    return check_draft(
        draft,
        deps.shop.products,
        deps.shop.customers,
        allowlist,
        draft.offer,
        shop_name=deps.settings.shop_name,
    )


def grounding_facts(draft: Draft, shop_name: str, allowed_links: list[str]) -> GroundingFacts:
    """The facts a rewriter of ``draft`` may use (and nothing else)."""
    required = []
    if draft.channel == "sms":
        required.append(OPT_OUT_WORDING[draft.language])
    if draft.channel == "email":
        required += [link for link in draft.links if link.endswith("/unsubscribe")]
    return GroundingFacts(
        customer_id=draft.customer_id,
        first_name=draft.first_name,
        channel=draft.channel,
        language=draft.language,
        goal=draft.goal,
        shop_name=shop_name,
        products=draft.products,
        offer=draft.offer,
        allowed_links=allowed_links,
        limits=channel_limits(draft.channel),
        required_wording=required,
    )


def apply_edit(
    draft: Draft,
    shop: ShopData,
    allowed_links: Sequence[str],
    *,
    subject: str | None = None,
    preheader: str | None = None,
    title: str | None = None,
    body: str | None = None,
    shop_name: str = "",
) -> Draft:
    """A marketer's edit of a draft's text, re-measured and re-checked by the guard.

    Fields left ``None`` keep their text; the cited products and offer stay as drafted, so
    an edit that changes a price or names another product fails the guard.
    """
    update: dict[str, object] = {
        "subject": draft.subject if subject is None else subject,
        "preheader": draft.preheader if preheader is None else preheader,
        "title": draft.title if title is None else title,
        "body": draft.body if body is None else body,
        "created_at": datetime.now(UTC),
    }
    if draft.channel == "sms":
        size = sms_size(str(update["body"]))
        update["sms_parts"], update["encoding"] = size.parts, size.encoding
    edited = draft.model_copy(update=update)
    edited.links = list(dict.fromkeys(find_links(edited.full_text())))
    edited.guard = check_draft(
        edited, shop.products, shop.customers, list(allowed_links), shop_name=shop_name
    )
    return edited
