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
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tools.deps import ToolDeps  # at run time: the tool registry resolves the annotations
from tools.errors import ToolInputError
from tools.guard import (
    EMAIL_PREHEADER_MAX,
    EMAIL_SUBJECT_MAX,
    OPT_OUT_WORDING,
    PUSH_BODY_MAX,
    PUSH_TITLE_MAX,
    SMS_GSM7_PART,
    SMS_MAX_PARTS,
    SMS_UCS2_PART,
    GuardVerdict,
    catalog_rows,
    check_draft,
    customer_rows,
    discounted,
    find_links,
    format_discount,
    format_price,
    sms_size,
)
from tools.schemas import CHANNELS, Channel, Language, ToolResult
from tools.store import ShopData
from tools.templates import TemplateError, load_template, render_template

logger = logging.getLogger(__name__)

#: Goals a draft can serve; each has its wording in ``prompts/copy/goals_<lang>.md``.
GOALS: tuple[str, ...] = (
    "re-engage",
    "win-back",
    "promotion",
    "recommendations",
    "thank-you",
    "welcome",
)
_GOAL_ALIASES: dict[str, str] = {
    "reengage": "re-engage",
    "re-engagement": "re-engage",
    "reengagement": "re-engage",
    "reactivate": "re-engage",
    "reactivation": "re-engage",
    "召回": "re-engage",
    "唤醒": "re-engage",
    "winback": "win-back",
    "lapsed": "win-back",
    "churn": "win-back",
    "retention": "win-back",
    "挽回": "win-back",
    "挽留": "win-back",
    "promo": "promotion",
    "sale": "promotion",
    "offer": "promotion",
    "discount": "promotion",
    "coupon": "promotion",
    "促销": "promotion",
    "优惠": "promotion",
    "折扣": "promotion",
    "recommendation": "recommendations",
    "recommend": "recommendations",
    "picks": "recommendations",
    "cross-sell": "recommendations",
    "upsell": "recommendations",
    "personalized": "recommendations",
    "推荐": "recommendations",
    "thanks": "thank-you",
    "thank-you-note": "thank-you",
    "loyalty": "thank-you",
    "appreciation": "thank-you",
    "感谢": "thank-you",
    "onboarding": "welcome",
    "欢迎": "welcome",
}
#: Products an e-mail lists at most; an SMS or push features one.
MAX_EMAIL_PRODUCTS = 5
#: Rewrite attempts before the template draft is kept.
MAX_REWRITE_ATTEMPTS = 2
_LANGUAGE_NAMES = {"en": "English", "zh": "Simplified Chinese (简体中文)"}


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


Rewriter = Callable[[Draft, GroundingFacts], "Draft | None"]
_rewriter: Rewriter | None = None


def set_rewriter(rewriter: Rewriter | None) -> Rewriter | None:
    """Install the process-wide rewriter (``None`` removes it); returns the previous one."""
    global _rewriter
    previous, _rewriter = _rewriter, rewriter
    return previous


def get_rewriter(deps: object | None = None) -> Rewriter | None:
    """The rewriter in force: ``deps.copy_rewriter`` when set, else the process-wide one."""
    own: Rewriter | None = getattr(deps, "copy_rewriter", None)
    return own if own is not None else _rewriter


# --- lookups ------------------------------------------------------------------------------


def resolve_goal(goal: str) -> str:
    """Map a goal (or an alias, English or Chinese) to one of ``GOALS``.

    Raises:
        ToolInputError: the goal is unknown (close goals are suggested).
    """
    key = re.sub(r"[\s_]+", "-", goal.strip().lower())
    if key in GOALS:
        return key
    if key in _GOAL_ALIASES:
        return _GOAL_ALIASES[key]
    close = difflib.get_close_matches(key, [*GOALS, *_GOAL_ALIASES], n=3, cutoff=0.6)
    hint = (
        f"; did you mean {', '.join(repr(_GOAL_ALIASES.get(c, c)) for c in close)}?"
        if close
        else ""
    )
    raise ToolInputError(f"goal {goal!r} is unknown; goals: {', '.join(GOALS)}{hint}")


def _close(value: str, choices: pd.Series) -> str:
    matches = difflib.get_close_matches(value, choices.astype(str).tolist(), n=3, cutoff=0.6)
    return f"; close matches: {', '.join(matches)}" if matches else ""


def _customer(customers: pd.DataFrame, customer_id: str) -> dict[str, object]:
    row = customer_rows(customers).get(customer_id)
    if row is None:
        raise ToolInputError(
            f"customer_id {customer_id!r} is not a known customer"
            + _close(customer_id, customers["customer_id"])
        )
    return row


def _products(products: pd.DataFrame, product_ids: Sequence[str]) -> list[dict[str, object]]:
    rows = catalog_rows(products)
    out = []
    for pid in dict.fromkeys(product_ids):
        row = rows.get(pid)
        if row is None:
            raise ToolInputError(
                f"product_id {pid!r} is not in the catalog" + _close(pid, products["product_id"])
            )
        if int(str(row["stock"])) <= 0:
            raise ToolInputError(
                f"product {pid} ({row['title']}) is out of stock; pick another product"
            )
        out.append(row)
    return out


# --- composition ----------------------------------------------------------------------------


@dataclass
class _Composer:
    """Renders copy pieces for one language and goal from a shared context of values."""

    language: str
    goal: str
    context: dict[str, str]

    def piece(self, kind: str, section: str, **extra: str) -> str | None:
        """A rendered section, or ``None`` when a value it needs is empty (not applicable)."""
        template = load_template(f"copy/{kind}_{self.language}.md")
        values = {**self.context, **extra}
        needed = template.section_variables(section)
        unknown = [k for k in needed if k not in values]
        if unknown:
            raise TemplateError(
                f"prompt template copy/{kind}_{self.language}.md [{section}]: "
                f"unknown variable(s) {', '.join(unknown)}"
            )
        if any(not values[k] for k in needed):
            return None
        return template.render_section(section, **{k: values[k] for k in needed})

    def goal_piece(self, part: str) -> str | None:
        return self.piece("goals", f"{self.goal}.{part}")

    def join(self, pieces: Sequence[str | None]) -> str:
        """Join pieces: with spaces in English; in Chinese directly, with a space after links."""
        out = ""
        for piece in pieces:
            if not piece:
                continue
            if out:
                gap = " " if self.language == "en" or re.search(r"https?://\S+$", out) else ""
                out += gap
            out += piece
        return out


def _offer_section(offer: Offer | None) -> str | None:
    if offer is None:
        return None
    if offer.discount_pct > 0:
        return "offer_discount_code" if offer.code else "offer_discount"
    return "offer_code" if offer.code else "offer_plain"


def _restates_discount(offer: Offer) -> bool:
    """Whether the offer's name only restates its discount (e.g. "15% off", "85折")."""
    if offer.discount_pct <= 0:
        return False
    return bool(re.search(rf"(?<![\d.]){offer.discount_pct:g}\s*%|折", offer.name))


@dataclass
class _Texts:
    body: str
    subject: str | None = None
    preheader: str | None = None
    title: str | None = None
    used: tuple[int, ...] = ()  # indexes of the products the text cites
    links: tuple[str, ...] = ()


def _first_fitting(candidates: Sequence[str | None], limit: int) -> str | None:
    return next((c for c in candidates if c and len(c) <= limit), None)


def _compose_email(
    c: _Composer, products: list[DraftProduct], offer: Offer | None, base: str
) -> _Texts:
    has_discount = offer is not None and offer.discount_pct > 0
    subject = (
        _first_fitting(
            [
                c.goal_piece("subject_offer") if has_discount else None,
                c.goal_piece("subject"),
                c.piece("email", "subject_fallback"),
            ],
            EMAIL_SUBJECT_MAX,
        )
        or c.context["shop_name"][:EMAIL_SUBJECT_MAX]
    )
    pre_section = None
    if has_discount:
        pre_section = "preheader_discount_code" if offer and offer.code else "preheader_discount"
    preheader = (
        _first_fitting(
            [c.piece("email", pre_section) if pre_section else None, c.goal_piece("preheader")],
            EMAIL_PREHEADER_MAX,
        )
        or c.context["shop_name"][:EMAIL_PREHEADER_MAX]
    )
    shown = products[:MAX_EMAIL_PRODUCTS]
    links = [p.link for p in shown if p.link]
    if shown:
        lines = [c.piece("email", "products_heading")]
        lines += [
            c.piece(
                "email",
                "product_line",
                title=p.title,
                price=format_price(p.price, p.currency),
                link=p.link or base,
            )
            for p in shown
        ]
        product_block = "\n".join(x for x in lines if x)
    else:
        product_block = c.piece("email", "shop_line", shop_link=base) or ""
        links.append(base)
    offer_lines = []
    section = _offer_section(offer)
    if section and offer is not None and _restates_discount(offer) and section != "offer_plain":
        section += "_unnamed"  # "15% off: 15% off with code ..." reads badly
    if section:
        offer_lines.append(c.piece("email", section))
    if has_discount and offer is not None and shown:
        first = shown[0]
        offer_lines.append(
            c.piece(
                "email",
                "offer_example",
                title=first.title,
                price=format_price(first.price, first.currency),
                sale_price=format_price(
                    discounted(first.price, offer.discount_pct), first.currency
                ),
            )
        )
    unsubscribe = f"{base}/unsubscribe"
    links.append(unsubscribe)
    greeting = c.piece("email", "greeting") or c.piece("email", "greeting_no_name")
    body = _render_layout(c, greeting, product_block, offer_lines, unsubscribe)
    return _Texts(
        body=body,
        subject=subject,
        preheader=preheader,
        used=tuple(range(len(shown))),
        links=tuple(dict.fromkeys(links)),
    )


def _render_layout(
    c: _Composer,
    greeting: str | None,
    product_block: str,
    offer_lines: list[str | None],
    unsubscribe: str,
) -> str:
    template = load_template(f"copy/email_{c.language}.md")
    sep = " " if c.language == "en" else ""
    text = template.render_section(
        "layout",
        greeting=greeting or "",
        intro=c.goal_piece("intro") or "",
        products=product_block,
        offer=sep.join(x for x in offer_lines if x),
        sign_off=c.piece("email", "sign_off") or "",
        footer=c.piece("email", "footer", unsubscribe_link=unsubscribe) or "",
    )
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _compose_sms(c: _Composer, products: list[DraftProduct], offer: Offer | None) -> _Texts:
    greeting = c.piece("sms", "greeting") or c.piece("sms", "greeting_no_name")
    lead = c.goal_piece("lead")
    offer_piece = c.piece("sms", s) if (s := _offer_section(offer)) else None
    opt_out = c.piece("sms", "opt_out")
    with_link = plain = None
    if products:
        p = products[0]
        price = format_price(p.price, p.currency)
        plain = c.piece("sms", "product", title=p.title, price=price)
        if p.link:
            with_link = c.piece("sms", "product_link", title=p.title, price=price, link=p.link)
    # Richest first: drop the link, then the lead, then the product, then the offer.
    candidates: list[tuple[list[str | None], str | None]] = []
    product_pieces = [p for p in (with_link, plain) if p]
    candidates += [([greeting, lead, p, offer_piece, opt_out], p) for p in product_pieces]
    candidates += [([greeting, p, offer_piece, opt_out], p) for p in product_pieces]
    candidates += [
        ([greeting, lead, offer_piece, opt_out], None),
        ([greeting, offer_piece, opt_out], None),
    ]
    candidates += [([greeting, lead, p, opt_out], p) for p in product_pieces]
    candidates += [([greeting, lead, opt_out], None), ([greeting, opt_out], None)]
    for pieces, product_piece in candidates:
        body = c.join(pieces)
        if sms_size(body).parts <= SMS_MAX_PARTS:
            link = (
                products[0].link
                if product_piece is not None and product_piece == with_link
                else None
            )
            return _Texts(
                body=body, used=(0,) if product_piece else (), links=(link,) if link else ()
            )
    raise ToolInputError("the shop name is too long for an SMS; shorten settings.shop_name")


def _compose_push(
    c: _Composer, products: list[DraftProduct], offer: Offer | None, base: str | None
) -> _Texts:
    title = (
        _first_fitting(
            [c.goal_piece("headline"), c.piece("push", "title_fallback")], PUSH_TITLE_MAX
        )
        or c.context["shop_name"][:PUSH_TITLE_MAX]
    )
    lead = c.goal_piece("lead")
    offer_piece = c.piece("push", s) if (s := _offer_section(offer)) else None
    product_piece = None
    if products:
        p = products[0]
        product_piece = c.piece(
            "push", "product", title=p.title, price=format_price(p.price, p.currency)
        )
    browse = None if product_piece or offer_piece else c.piece("push", "browse")
    candidates = [
        [lead, product_piece, offer_piece, browse],
        [product_piece, offer_piece],
        [lead, offer_piece],
        [offer_piece],
        [lead, product_piece],
        [product_piece],
        [lead],
    ]
    for pieces in candidates:
        body = c.join(pieces)
        if body and len(body) <= PUSH_BODY_MAX:
            cites = product_piece is not None and product_piece in pieces
            target = products[0].link if cites and products[0].link else base
            return _Texts(
                body=body,
                title=title,
                used=(0,) if cites else (),
                links=(target,) if target else (),
            )
    return _Texts(body=c.context["shop_name"][:PUSH_BODY_MAX], title=title)


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
    customer = _customer(shop.customers, customer_id)
    if not bool(customer.get(f"consent_{channel}")):
        granted = [ch for ch in CHANNELS if bool(customer.get(f"consent_{ch}"))]
        raise ToolInputError(
            f"customer {customer_id} has not consented to {channel} messages; nothing is "
            f"drafted for them on {channel} (consented channels: {', '.join(granted) or 'none'})"
        )
    rows = _products(shop.products, product_ids)
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
    composer = _Composer(
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
        texts = _compose_email(composer, products, offer, base or "")
    elif channel == "sms":
        texts = _compose_sms(composer, products, offer)
    else:
        texts = _compose_push(composer, products, offer, base)
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
        draft = _rewrite(deps, draft, facts, rewriter, allowlist)
    logger.info("%s", draft.summary())
    return draft


def _make_draft(
    *,
    customer_id: str,
    first_name: str,
    channel: Channel,
    language: Language,
    goal: str,
    texts: _Texts,
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


def channel_limits(channel: Channel) -> dict[str, int]:
    """The limits a channel's text must keep, by name."""
    if channel == "sms":
        return {
            "sms_parts": SMS_MAX_PARTS,
            "gsm7_chars": SMS_GSM7_PART * SMS_MAX_PARTS,
            "ucs2_chars": SMS_UCS2_PART * SMS_MAX_PARTS,
        }
    if channel == "push":
        return {"title_chars": PUSH_TITLE_MAX, "body_chars": PUSH_BODY_MAX}
    return {"subject_chars": EMAIL_SUBJECT_MAX, "preheader_chars": EMAIL_PREHEADER_MAX}


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


def _merge(template: Draft, candidate: Draft) -> Draft:
    """The template draft with the candidate's text fields (facts stay the template's)."""
    update: dict[str, object] = {"body": candidate.body}
    if template.channel == "email":
        update["subject"] = candidate.subject or template.subject
        update["preheader"] = candidate.preheader or template.preheader
    if template.channel == "push":
        update["title"] = candidate.title or template.title
    if template.channel == "sms":
        size = sms_size(candidate.body)
        update["sms_parts"], update["encoding"] = size.parts, size.encoding
    merged = template.model_copy(update=update)
    merged.links = list(dict.fromkeys(find_links(merged.full_text())))
    merged.source = candidate.source if candidate.source != "template" else "polished"
    merged.created_at = datetime.now(UTC)
    return merged


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


def _rewrite(
    deps: ToolDeps, draft: Draft, facts: GroundingFacts, rewriter: Rewriter, allowlist: list[str]
) -> Draft:
    rejections: list[str] = []
    for attempt in range(1, MAX_REWRITE_ATTEMPTS + 1):
        try:
            candidate = rewriter(draft, facts)
        except Exception as exc:  # the optional polish must never break drafting
            logger.warning(
                "rewriter failed on %s (attempt %d): %s",
                draft.draft_id,
                attempt,
                type(exc).__name__,
            )
            rejections.append(f"attempt {attempt}: the rewriter failed ({type(exc).__name__})")
            continue
        if candidate is None or not candidate.body.strip():
            rejections.append(f"attempt {attempt}: the rewriter returned nothing")
            continue
        merged = _merge(draft, candidate)
        verdict = _check(deps, merged, allowlist)
        if verdict.passed:
            merged.guard = verdict
            merged.rewrite_rejections = rejections
            return merged
        rejections.append(f"attempt {attempt}: " + "; ".join(verdict.reasons()))
        facts = facts.model_copy(update={"previous_problems": verdict.reasons()})
    logger.info(
        "kept the template draft %s: %d rewrite(s) rejected", draft.draft_id, len(rejections)
    )
    return draft.model_copy(update={"rewrite_rejections": rejections})


# --- helpers for model rewriters -----------------------------------------------------------------


def draft_layout(draft: Draft) -> str:
    """A draft's text fields as ``field: value`` lines, body last (what rewriters read)."""
    lines = [f"{k}: {v}" for k, v in draft.text_fields().items() if k != "body"]
    return "\n".join([*lines, "body:", draft.body])


def rewrite_prompt(draft: Draft, facts: GroundingFacts) -> str:
    """The prompt asking a model to rephrase ``draft`` using only ``facts``."""
    problems = ""
    if facts.previous_problems:
        problems = (
            "\nThe previous attempt was rejected for: " + "; ".join(facts.previous_problems) + ".\n"
        )
    data = facts.model_dump(mode="json", exclude={"previous_problems"})
    return render_template(
        "copy/rewrite.md",
        shop_name=facts.shop_name,
        language_name=_LANGUAGE_NAMES[facts.language],
        channel=facts.channel,
        brand_voice=render_template("brand_voice.md", shop_name=facts.shop_name),
        first_name_rule=f'"{facts.first_name}"' if facts.first_name else "no name is known",
        limits=", ".join(f"{k} <= {v}" for k, v in facts.limits.items()),
        required="; ".join(repr(w) for w in facts.required_wording) or "none",
        problems=problems,
        facts=json.dumps(data, ensure_ascii=False, indent=1),
        draft=draft_layout(draft),
        fields=", ".join(draft.text_fields()),
    )


def parse_rewrite(text: str, draft: Draft) -> Draft | None:
    """Read a model's answer in ``draft_layout`` form back into a draft (``None`` if unusable)."""
    match = re.search(r"^\s*body:\s*\n?(?P<body>.*)\Z", text, re.S | re.M | re.I)
    if match is None or not match.group("body").strip():
        return None
    head = text[: match.start()]
    update: dict[str, object] = {"body": match.group("body").strip(), "source": "model"}
    for name in ("subject", "preheader", "title"):
        found = re.search(rf"^\s*{name}:\s*(.+)$", head, re.M | re.I)
        if found and getattr(draft, name) is not None:
            update[name] = found.group(1).strip()
    return draft.model_copy(update=update)
