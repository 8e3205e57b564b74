"""The copy guard: every draft is checked against the catalog, the offer and the rules.

``check_draft`` reads all text fields of a draft and reports each problem with a code a
program can act on and a message a marketer can read (messages never repeat a personal
value). The checks:

- facts: every cited product exists, is in stock and carries its catalog title and price;
  every product id in the text is a cited catalog product; no other catalog product is
  named; every money amount equals a cited product's price or is derived from it by the
  offer's discount; every percentage (or Chinese 折) equals the offer's discount; every
  code-like token is the offer's code;
- safety: no placeholder text; no personal data beyond the first name (e-mail addresses,
  phone numbers, the customer's last name or street address); links only under the
  allow-list; no instruction-like text (credential or verification requests, "ignore
  previous instructions", ...) and no passage copied from free-text data (reviews,
  descriptions, customer notes), where planted instructions live;
- channel rules: SMS at most two parts (GSM-7 or UCS-2) with opt-out wording; push title
  and body lengths; e-mail subject, preheader, body and unsubscribe footer;
- brand voice: at most one exclamation mark, no shouting, no pressure phrases.

The rules themselves (limits, SMS encoding, money and link parsing, text patterns) live in
``tools.copy.rules`` and the per-problem checks in ``tools.copy.guard_checks``; this module
re-exports their public helpers, so ``from tools.copy.guard import sms_size`` keeps working.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from tools.copy.guard_checks import (
    CatalogIndex,
    catalog_index,
    check_channel,
    check_discount_and_code,
    check_echo,
    check_money,
    check_personal,
    check_uncited_titles,
    check_voice,
)
from tools.copy.guard_checks import catalog_rows as catalog_rows
from tools.copy.guard_checks import customer_rows as customer_rows
from tools.copy.guard_names import ShortNames
from tools.copy.models import GuardVerdict, ProblemList
from tools.copy.rules import (
    AMOUNT_AFTER_RE,
    AMOUNT_BEFORE_RE,
    EMAIL_RE,
    INSTRUCTIONS_RE,
    PLACEHOLDERS,
    PRODUCT_ID_RE,
    URL_RE,
    nfkc,
)
from tools.copy.rules import EMAIL_PREHEADER_MAX as EMAIL_PREHEADER_MAX
from tools.copy.rules import EMAIL_SUBJECT_MAX as EMAIL_SUBJECT_MAX
from tools.copy.rules import MAX_EXCLAMATIONS as MAX_EXCLAMATIONS
from tools.copy.rules import OPT_OUT_WORDING as OPT_OUT_WORDING
from tools.copy.rules import PUSH_BODY_MAX as PUSH_BODY_MAX
from tools.copy.rules import PUSH_TITLE_MAX as PUSH_TITLE_MAX
from tools.copy.rules import SMS_GSM7_PART as SMS_GSM7_PART
from tools.copy.rules import SMS_GSM7_SINGLE as SMS_GSM7_SINGLE
from tools.copy.rules import SMS_MAX_PARTS as SMS_MAX_PARTS
from tools.copy.rules import SMS_UCS2_PART as SMS_UCS2_PART
from tools.copy.rules import SMS_UCS2_SINGLE as SMS_UCS2_SINGLE
from tools.copy.rules import Amount as Amount
from tools.copy.rules import SmsSize as SmsSize
from tools.copy.rules import discounted as discounted
from tools.copy.rules import find_amounts as find_amounts
from tools.copy.rules import find_discounts as find_discounts
from tools.copy.rules import find_links as find_links
from tools.copy.rules import format_discount as format_discount
from tools.copy.rules import format_price as format_price
from tools.copy.rules import link_allowed as link_allowed
from tools.copy.rules import sms_size as sms_size

if TYPE_CHECKING:
    from tools.copy.models import Draft, Offer
    from tools.shop.store import ShopData

logger = logging.getLogger(__name__)

# --- the guard ----------------------------------------------------------------------------------


_SHORT: dict[int, tuple[CatalogIndex, ShortNames]] = {}


def short_names(cat: CatalogIndex) -> ShortNames:
    """The catalog's short-name lookups, built once per catalog index."""
    hit = _SHORT.get(id(cat))
    if hit is None or hit[0] is not cat:
        if len(_SHORT) >= 8:
            _SHORT.pop(next(iter(_SHORT)))
        hit = (cat, ShortNames.build(cat.rows))
        _SHORT[id(cat)] = hit
    return hit[1]


def check_draft(
    draft: Draft,
    catalog: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    allowed_links: Sequence[str] = (),
    offer: Offer | None = None,
    *,
    shop_name: str = "",
) -> GuardVerdict:
    """Check a draft against the catalog, the customer, the link allow-list and the offer.

    Args:
        draft: The draft to check (all its text fields are read).
        catalog: The shop's products table.
        customers: The customers table, to catch the customer's own personal data and
            passages copied from their notes; ``None`` skips those two checks.
        allowed_links: Link prefixes a draft may contain.
        offer: The approved offer; defaults to the offer recorded on the draft.
        shop_name: The shop's name, which the copy may show as written (even in capitals).

    Returns:
        The verdict, with one problem per issue found.
    """
    offer = offer if offer is not None else draft.offer
    problems = ProblemList()
    cat = catalog_index(catalog)
    short = short_names(cat)
    check_channel(draft, problems, allowed_links)
    fields = {k: nfkc(v) for k, v in draft.text_fields().items()}
    text = "\n".join(fields.values())

    # Links (before anything is cut out of the text).
    for link in find_links(text):
        if not link_allowed(link, allowed_links):
            problems.add("foreign_link", f"link {link!r} is not under the allow-list")
    for link in draft.links:
        if not link_allowed(link, allowed_links):
            problems.add("foreign_link", f"link {link!r} is not under the allow-list")
    for email in EMAIL_RE.findall(text):
        del email  # never echo the value
        problems.add("personal_data", "contains an e-mail address")

    # Products: cited facts, then ids and names in the text.
    cited = {p.product_id for p in draft.products}
    cited_titles: list[str] = []
    for product in draft.products:
        row = cat.rows.get(product.product_id)
        if row is None:
            problems.add(
                "unknown_product", f"cited product {product.product_id} is not in the catalog"
            )
            continue
        titles = {str(row["title"]), str(row.get("title_zh") or "")} - {""}
        if product.title not in titles:
            problems.add(
                "wrong_title",
                f"{product.product_id} is called {row['title']!r} in the catalog, "
                f"not {product.title!r}",
            )
        price, currency = float(str(row["price"])), str(row["currency"])
        if abs(product.price - price) > 0.005 or product.currency != currency:
            problems.add(
                "wrong_price",
                f"{product.product_id} costs {format_price(price, currency)} in the catalog, "
                f"not {format_price(product.price, product.currency)}",
            )
        if int(str(row.get("stock", 1))) <= 0:
            problems.add("out_of_stock", f"{product.product_id} ({row['title']}) is out of stock")
        names = [t for t in (*titles, product.title) if t]
        if not any(nfkc(t) in text for t in names):
            # As an editor shortens it: brand, some title words in order, the product type.
            names = short.names(text, product.product_id, nfkc(str(row.get("brand") or "")))
            if not names:
                problems.add(
                    "missing_product", f"cited product {product.title!r} is not named in the text"
                )
        cited_titles += [nfkc(t) for t in names]
    for pid in dict.fromkeys(PRODUCT_ID_RE.findall(text)):
        if pid not in cat.rows:
            problems.add("unknown_product", f"{pid} is not a product in the catalog")
        elif pid not in cited:
            problems.add(
                "uncited_product", f"{pid} is in the text but not among the cited products"
            )

    # An SMS names its sender (carrier and marketing rules want the brand in the text).
    if draft.channel == "sms" and shop_name.strip() and nfkc(shop_name) not in text:
        problems.add("missing_sender", f"an SMS must name the sender ({shop_name!r})")

    # Work on the text without links, cited titles and the shop's name (which may hold
    # digits or capitals).
    scan = URL_RE.sub(" ", text)
    known = [*cited_titles, nfkc(shop_name)] if shop_name.strip() else cited_titles
    for title in sorted(set(known), key=len, reverse=True):
        scan = scan.replace(title, " ")
    check_uncited_titles(scan, cat, cited, problems)
    for phrase, pids in short.phrases(scan):
        if not pids:
            problems.add("unknown_product", f"{phrase!r} is not a product in the catalog")
        elif not pids & cited:
            problems.add("uncited_product", f"{phrase!r} names catalog product "
                         f"{sorted(pids)[0]} without citing it")
    check_money(scan, draft, cat, offer, problems)
    bare = AMOUNT_BEFORE_RE.sub(" ", AMOUNT_AFTER_RE.sub(" ", scan))
    check_discount_and_code(bare, offer, problems)
    for pattern, what in PLACEHOLDERS:
        if pattern.search(scan):
            problems.add("placeholder", f"contains {what}")
    check_personal(bare, scan, draft, customers, problems)
    match = INSTRUCTIONS_RE.search(scan)
    if match:
        problems.add("injected_instruction", f"contains instruction-like text {match.group(0)!r}")
    check_echo(scan, draft, cat, customers, problems)
    check_voice(scan, draft, offer, problems)

    verdict = GuardVerdict(passed=not problems.items, problems=problems.items)
    if not verdict.passed:
        logger.info("draft %s: %s", draft.draft_id, verdict.summary())
    return verdict


def check_draft_in_shop(
    draft: Draft,
    shop: ShopData,
    allowed_links: Sequence[str],
    offer: Offer | None = None,
    *,
    shop_name: str = "",
) -> GuardVerdict:
    """``check_draft`` with the shop's own products and customers (e.g. after an edit)."""
    return check_draft(
        draft, shop.products, shop.customers, allowed_links, offer, shop_name=shop_name
    )
