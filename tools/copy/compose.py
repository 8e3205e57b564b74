"""Template composition of drafts: pieces fitted to the channel's limits.

``draft_message`` (``tools.copy.drafting``) resolves its inputs first (the goal, the customer,
the products: ``tools.copy.inputs``) and composes the text fields here from the copy templates
in ``prompts/copy/``
(per channel and language, with the goal wording in ``goals_<lang>.md``), filled only with
facts. Pieces are dropped in a fixed order until the text fits the channel's limits
(``tools.copy.rules``), so every template draft is ready to send and passes the guard.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tools.copy.rules import (
    EMAIL_PREHEADER_MAX,
    EMAIL_SUBJECT_MAX,
    FREE_SHIPPING_RE,
    PUSH_BODY_MAX,
    PUSH_TITLE_MAX,
    SMS_MAX_PARTS,
    discounted,
    format_price,
    sms_size,
)
from tools.copy.templates import TemplateError, load_template
from tools.errors import ToolInputError

if TYPE_CHECKING:
    from tools.copy.models import DraftProduct, Offer

#: Products an e-mail lists at most; an SMS or push features one.
MAX_EMAIL_PRODUCTS = 5


# --- composition ----------------------------------------------------------------------------


@dataclass
class Composer:
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
        """A rendered part of the goal's wording (``goals_<lang>.md``), or ``None``."""
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
    if offer.free_shipping:
        return "offer_free_shipping_code" if offer.code else "offer_free_shipping"
    return "offer_code" if offer.code else "offer_plain"


def _offer_pieces(c: Composer, channel: str, offer: Offer | None, named: bool) -> list[str]:
    """The offer's sentences: its section, and free shipping when it comes with a discount."""
    section = _offer_section(offer)
    if section is None or offer is None:
        return []
    if named and _restates(offer) and section != "offer_plain":
        section += "_unnamed"  # "15% off: 15% off with code ..." reads badly
    pieces = [c.piece(channel, section)]
    if offer.discount_pct > 0 and offer.free_shipping:
        pieces.append(c.piece(channel, "offer_also_free_shipping"))
    return [p for p in pieces if p]


#: Words an offer's name may hold and still only restate the offer ("code SPRING15").
_RESTATING = re.compile(
    r"(?i:\b(?:promo|discount|coupon|voucher|offer)?\s*codes?\b|\bcoupon\b|\bvoucher\b|"
    r"\boff\b|\band\b|\bwith\b|\bplus\b)|优惠码|促销码|折扣码|券码|优惠|折扣|和|及|[+&,，、:：\s]"
)


def _restates(offer: Offer) -> bool:
    """Whether the offer's name only restates the offer ("15% off", "code SPRING15").

    Such a name is not shown: the copy says the offer in the draft's own language.
    """
    if offer.discount_pct > 0 and re.search(rf"(?<![\d.]){offer.discount_pct:g}\s*%|折",
                                            offer.name):
        return True
    rest = FREE_SHIPPING_RE.sub(" ", offer.name)
    if offer.code:
        rest = re.sub(re.escape(offer.code), " ", rest, flags=re.I)
    if offer.discount_pct > 0:
        rest = re.sub(rf"(?<![\d.]){offer.discount_pct:g}\s*%", " ", rest)
    return not _RESTATING.sub("", rest)


@dataclass
class Texts:
    """The composed text fields, the products they cite and the links they hold."""

    body: str
    subject: str | None = None
    preheader: str | None = None
    title: str | None = None
    used: tuple[int, ...] = ()  # indexes of the products the text cites
    links: tuple[str, ...] = ()


def _first_fitting(candidates: Sequence[str | None], limit: int) -> str | None:
    return next((c for c in candidates if c and len(c) <= limit), None)


def compose_email(
    c: Composer, products: list[DraftProduct], offer: Offer | None, base: str
) -> Texts:
    """An e-mail: subject, preheader, greeting, products, offer and unsubscribe footer."""
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
    offer_lines: list[str | None] = list(_offer_pieces(c, "email", offer, named=True))
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
    return Texts(
        body=body,
        subject=subject,
        preheader=preheader,
        used=tuple(range(len(shown))),
        links=tuple(dict.fromkeys(links)),
    )


def _render_layout(
    c: Composer,
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


def compose_sms(c: Composer, products: list[DraftProduct], offer: Offer | None) -> Texts:
    """The richest SMS that fits two parts (with the opt-out wording)."""
    greeting = c.piece("sms", "greeting") or c.piece("sms", "greeting_no_name")
    lead = c.goal_piece("lead")
    offer_piece = c.join(_offer_pieces(c, "sms", offer, named=False)) or None
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
            return Texts(
                body=body, used=(0,) if product_piece else (), links=(link,) if link else ()
            )
    raise ToolInputError("the shop name is too long for an SMS; shorten settings.shop_name")


def compose_push(
    c: Composer, products: list[DraftProduct], offer: Offer | None, base: str | None
) -> Texts:
    """A push title and the richest body that fits the push limits."""
    title = (
        _first_fitting(
            [c.goal_piece("headline"), c.piece("push", "title_fallback")], PUSH_TITLE_MAX
        )
        or c.context["shop_name"][:PUSH_TITLE_MAX]
    )
    lead = c.goal_piece("lead")
    offer_piece = c.join(_offer_pieces(c, "push", offer, named=False)) or None
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
            return Texts(
                body=body,
                title=title,
                used=(0,) if cites else (),
                links=(target,) if target else (),
            )
    return Texts(body=c.context["shop_name"][:PUSH_BODY_MAX], title=title)
