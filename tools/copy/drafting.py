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

The composition lives in ``tools.copy.compose``, the rewriter hook in ``tools.copy.rewrite`` and
the channel rules in ``tools.copy.rules``; their public names stay importable from here.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, Protocol

from tools.copy.compose import MAX_EMAIL_PRODUCTS as MAX_EMAIL_PRODUCTS
from tools.copy.compose import (
    Composer,
    Texts,
    compose_email,
    compose_push,
    compose_sms,
)
from tools.copy.guard import check_draft
from tools.copy.inputs import GOALS as GOALS
from tools.copy.inputs import find_customer, find_products
from tools.copy.inputs import resolve_goal as resolve_goal
from tools.copy.models import Draft, DraftProduct, GroundingFacts, GuardVerdict, Offer
from tools.copy.rewrite import MAX_REWRITE_ATTEMPTS as MAX_REWRITE_ATTEMPTS
from tools.copy.rewrite import Rewriter as Rewriter
from tools.copy.rewrite import draft_layout as draft_layout
from tools.copy.rewrite import get_rewriter as get_rewriter
from tools.copy.rewrite import parse_rewrite as parse_rewrite
from tools.copy.rewrite import rewrite_draft
from tools.copy.rewrite import rewrite_prompt as rewrite_prompt
from tools.copy.rewrite import set_rewriter as set_rewriter
from tools.copy.rules import OPT_OUT_WORDING, find_links, format_discount, sms_size
from tools.copy.rules import channel_limits as channel_limits
from tools.errors import ToolInputError
from tools.shop.schemas import CHANNELS, Channel, Language
from tools.shop.store import ShopData

if TYPE_CHECKING:
    from tools.config import ToolConfig

logger = logging.getLogger(__name__)


# --- the tool ----------------------------------------------------------------------------------


class CopyDeps(Protocol):
    """What the drafting tool uses from ``tools.deps.ToolDeps``."""

    #: Optional model rewriter of draft copy.
    copy_rewriter: Rewriter | None

    @property
    def config(self) -> ToolConfig:
        """The tools' settings."""
        ...

    @property
    def shop(self) -> ShopData:
        """The shop's tables."""
        ...


def draft_message(
    deps: CopyDeps,
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
    allowlist = [str(x).rstrip("/") for x in deps.config.link_allowlist]
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
    shop_name = deps.config.shop_name
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


def _check(deps: CopyDeps, draft: Draft, allowlist: list[str]) -> GuardVerdict:
    return check_draft(
        draft,
        deps.shop.products,
        deps.shop.customers,
        allowlist,
        draft.offer,
        shop_name=deps.config.shop_name,
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
