"""Offers a marketer attaches to a draft in the editor, and the draft written again with one.

The editor lists what the shop can offer: no offer, every discount its past campaigns ran (the
discounts a plan's offer ladder tests), and free shipping; a code may be added to any of them
(a code alone is an offer too). :func:`picked_offer` turns the pick into an :class:`Offer`
named in the customer's language (``prompts/copy/offers_<lang>.md``), and
:func:`draft_with_offer` writes the draft again through ``draft_message``, so the offer
sentence comes from the same copy templates as every other draft and the guard then accepts
exactly that offer (any other discount or code in the text is refused).
"""

from __future__ import annotations

import re
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ValidationError

from tools.copy.drafting import CopyDeps, draft_message
from tools.copy.models import Draft, Offer
from tools.copy.rules import format_discount
from tools.copy.templates import load_template
from tools.errors import ToolInputError
from tools.shop.schemas import Language

#: The pick that keeps the draft's own offer (one the request named, e.g. with its code).
AS_DRAFTED = "as-drafted"
NO_OFFER = "none"
FREE_SHIPPING = "free-shipping"
_DISCOUNT_KEY = re.compile(r"^discount:(?P<pct>\d+(?:\.\d+)?)$")
#: Discounts a draft may carry (``Offer.discount_pct``), exclusive of 0.
_MAX_DISCOUNT = 90.0


class OfferChoice(BaseModel):
    """One offer the editor lists: its key, its kind and its discount."""

    key: str
    kind: Literal["none", "discount", "free_shipping", "as_drafted"]
    discount_pct: float = 0.0


def offer_choices(campaigns: pd.DataFrame, current: Offer | None = None) -> list[OfferChoice]:
    """No offer, the discounts of the shop's past campaigns (lowest first), free shipping.

    Args:
        campaigns: The shop's campaigns table (its ``discount_pct`` column is read).
        current: The draft's offer; listed first as "as drafted" when no other choice is it.
    """
    pcts: set[float] = set()
    if "discount_pct" in campaigns.columns:
        values = pd.to_numeric(campaigns["discount_pct"], errors="coerce").dropna()
        pcts = {round(float(v), 2) for v in values if 0 < float(v) <= _MAX_DISCOUNT}
    out = [OfferChoice(key=NO_OFFER, kind="none")]
    out += [
        OfferChoice(key=f"discount:{p:g}", kind="discount", discount_pct=p) for p in sorted(pcts)
    ]
    out.append(OfferChoice(key=FREE_SHIPPING, kind="free_shipping"))
    if current is not None and choice_key(current, out) == AS_DRAFTED:
        out.insert(0, OfferChoice(key=AS_DRAFTED, kind="as_drafted",
                                  discount_pct=current.discount_pct))
    return out


def _names(language: Language) -> dict[str, str]:
    template = load_template(f"copy/offers_{language}.md")
    return {
        "free_shipping": template.render_section("free_shipping"),
        "code": template.render_section("code"),
    }


def _discount_name(pct: float, language: Language) -> str:
    template = load_template(f"copy/offers_{language}.md")
    return template.render_section("discount", discount=format_discount(pct))


def choice_key(offer: Offer | None, choices: list[OfferChoice]) -> str:
    """The key of the listed choice an offer is (``AS_DRAFTED`` when none is).

    A discount offer is its listed discount whatever its name; free shipping is known by its
    name in either language; an offer with a code keeps that code in the code field.
    """
    if offer is None:
        return NO_OFFER
    keys = {c.key for c in choices}
    if offer.discount_pct > 0:
        key = f"discount:{offer.discount_pct:g}"
        plain = offer.name in {_discount_name(offer.discount_pct, lang) for lang in ("en", "zh")}
        return key if key in keys and plain else AS_DRAFTED
    names = [_names(lang) for lang in ("en", "zh")]
    if any(offer.name == n["free_shipping"] for n in names):
        return FREE_SHIPPING
    if offer.code and any(offer.name == n["code"] for n in names):
        return NO_OFFER
    return AS_DRAFTED


def picked_offer(
    key: str, code: str | None, language: Language, current: Offer | None = None
) -> Offer | None:
    """The offer a pick in the editor stands for, named in the customer's language.

    Args:
        key: A choice's key (``none``, ``discount:15``, ``free-shipping``, ``as-drafted``).
        code: The code typed beside it ("" or None for no code); upper-cased.
        language: The draft's language (the offer's name is shown to the customer).
        current: The draft's offer, kept (with ``code``) for ``as-drafted``.

    Raises:
        ToolInputError: an unknown key, a discount out of range or a malformed code, named.
    """
    code = (code or "").strip() or None
    try:
        if key == AS_DRAFTED and current is not None:
            return Offer(**{**current.model_dump(), "code": code})
        if key in (NO_OFFER, AS_DRAFTED):  # a code alone is an offer
            return Offer(name=_names(language)["code"], code=code) if code else None
        if key == FREE_SHIPPING:
            return Offer(name=_names(language)["free_shipping"], code=code)
        found = _DISCOUNT_KEY.match(key)
        if found is None:
            raise ToolInputError(
                f"offer {key!r} is unknown; pick no offer, a discount or free shipping"
            )
        pct = float(found.group("pct"))
        if not 0 < pct <= _MAX_DISCOUNT:
            raise ToolInputError(f"offer {key!r}: a discount is above 0% and at most 90%")
        return Offer(name=_discount_name(pct, language), discount_pct=pct, code=code)
    except ValidationError as exc:
        raise ToolInputError(
            f"offer code {code!r}: an offer code is 3-20 letters and digits, e.g. SAVE15"
        ) from exc


def draft_with_offer(deps: CopyDeps, draft: Draft, offer: Offer | None) -> Draft:
    """The draft written again from its facts with ``offer`` (``None``: without an offer).

    Same customer, channel, goal and products (those the text cited first, then those left
    out to fit); the text comes from the copy templates and the guard checks it against the
    new offer. A marketer's edits to the old text are not carried over.

    Raises:
        ToolInputError: a promotion without an offer, or a fact that changed since the draft
            (a product out of stock, consent withdrawn), named.
    """
    if offer is None and draft.goal == "promotion":
        raise ToolInputError(
            "a promotion draft needs an offer; pick a discount, free shipping or a code"
        )
    product_ids = [p.product_id for p in draft.products] + list(draft.omitted_products)
    return draft_message(
        deps,
        customer_id=draft.customer_id,
        channel=draft.channel,
        goal=draft.goal,
        product_ids=list(dict.fromkeys(product_ids)),
        offer=offer,
    )
