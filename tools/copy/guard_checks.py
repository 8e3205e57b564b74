"""The guard's checks, one function per kind of problem, and the lookups they read.

Each ``check_*`` function reads the draft's text (normalised, with links, cited titles and
the shop's name cut out where noted by ``tools.copy.guard.check_draft``) and adds what it finds
to a ``ProblemList``. The products and customers tables are read once into dicts
(``catalog_index``, ``customer_rows``), cached per table object, because drafts are checked
by thousands.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from tools.copy.rules import (
    CJK_RE,
    CODE_AFTER_WORD_RE,
    CODE_TOKEN_RE,
    ECHO_CJK,
    ECHO_WORDS,
    EMAIL_PREHEADER_MAX,
    EMAIL_SUBJECT_MAX,
    FREE_SHIPPING_RE,
    MAX_EXCLAMATIONS,
    OPT_OUT_PATTERNS,
    OPT_OUT_WORDING,
    PHONE_RE,
    PRESSURE_RE,
    PRODUCT_ID_RE,
    PUSH_BODY_MAX,
    PUSH_TITLE_MAX,
    SHOUT_OK,
    SHOUT_RE,
    SMS_MAX_PARTS,
    STREET_RE,
    UNSUBSCRIBE_PATTERNS,
    discounted,
    find_amounts,
    find_discounts,
    find_links,
    format_discount,
    link_allowed,
    nfkc,
    sms_size,
)

if TYPE_CHECKING:
    from tools.copy.models import Draft, Offer, ProblemList


@dataclass
class CatalogIndex:
    """Per-catalog lookups, built once per products table (drafts are checked by thousands)."""

    rows: dict[str, dict[str, object]]
    by_first_word: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    by_bigram: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


_CATALOGS: dict[int, tuple[pd.DataFrame, CatalogIndex]] = {}


_CUSTOMERS: dict[int, tuple[pd.DataFrame, dict[str, dict[str, object]]]] = {}


def customer_rows(frame: pd.DataFrame) -> dict[str, dict[str, object]]:
    """The customers table as ``{customer_id: row}``, cached per table object.

    Tables are treated as immutable: a changed shop is a new table (and a new cache entry).
    """
    hit = _CUSTOMERS.get(id(frame))
    if hit is not None and hit[0] is frame:
        return hit[1]
    rows = {
        str(r["customer_id"]): {str(k): v for k, v in r.items()} for r in frame.to_dict("records")
    }
    if len(_CUSTOMERS) >= 8:
        _CUSTOMERS.pop(next(iter(_CUSTOMERS)))
    _CUSTOMERS[id(frame)] = (frame, rows)
    return rows


def catalog_rows(frame: pd.DataFrame) -> dict[str, dict[str, object]]:
    """The products table as ``{product_id: row}``, cached per table object."""
    return catalog_index(frame).rows


def catalog_index(frame: pd.DataFrame) -> CatalogIndex:
    """Per-catalog lookups of a products table, cached per table object."""
    hit = _CATALOGS.get(id(frame))
    if hit is not None and hit[0] is frame:
        return hit[1]
    # One pass over the table; plain dicts are fast to read for every later draft.
    records = frame.to_dict("records")
    catalog = CatalogIndex(
        rows={str(r["product_id"]): {str(k): v for k, v in r.items()} for r in records}
    )
    for pid, row in catalog.rows.items():
        for key in ("title", "title_zh"):
            title = nfkc(str(row.get(key) or "")).strip()
            if not title:
                continue
            if CJK_RE.search(title):
                if len(title) >= 4:
                    catalog.by_bigram.setdefault(title[:2], []).append((title, pid))
            elif len(title) >= 8 and " " in title:
                first = title.split()[0].lower()
                catalog.by_first_word.setdefault(first, []).append((title.lower(), pid))
    if len(_CATALOGS) >= 8:
        _CATALOGS.pop(next(iter(_CATALOGS)))
    _CATALOGS[id(frame)] = (frame, catalog)
    return catalog


# --- checks --------------------------------------------------------------------------------------


def check_channel(draft: Draft, problems: ProblemList, allowed_links: Sequence[str]) -> None:
    """Channel rules: empty fields, length or SMS parts, opt-out and unsubscribe."""
    lang = draft.language
    if not draft.body.strip():
        problems.add("empty_field", "the body is empty")
    if draft.channel == "sms":
        size = sms_size(draft.body)
        if size.parts > SMS_MAX_PARTS:
            problems.add(
                "too_long",
                f"the SMS takes {size.parts} parts ({size.units} {size.encoding} characters); "
                f"at most {SMS_MAX_PARTS} ({size.max_units} characters)",
            )
        if not OPT_OUT_PATTERNS[lang].search(draft.body):
            problems.add(
                "missing_opt_out", f"the SMS lacks the opt-out wording {OPT_OUT_WORDING[lang]!r}"
            )
    elif draft.channel == "push":
        title = draft.title or ""
        if not title.strip():
            problems.add("empty_field", "the push title is empty")
        if len(title) > PUSH_TITLE_MAX:
            problems.add(
                "too_long", f"the push title has {len(title)} characters; at most {PUSH_TITLE_MAX}"
            )
        if len(draft.body) > PUSH_BODY_MAX:
            problems.add(
                "too_long",
                f"the push body has {len(draft.body)} characters; at most {PUSH_BODY_MAX}",
            )
    else:
        subject, preheader = draft.subject or "", draft.preheader or ""
        if not subject.strip():
            problems.add("empty_field", "the subject is empty")
        if not preheader.strip():
            problems.add("empty_field", "the preheader is empty")
        if len(subject) > EMAIL_SUBJECT_MAX:
            problems.add(
                "too_long",
                f"the subject has {len(subject)} characters; at most {EMAIL_SUBJECT_MAX}",
            )
        if len(preheader) > EMAIL_PREHEADER_MAX:
            problems.add(
                "too_long",
                f"the preheader has {len(preheader)} characters; at most {EMAIL_PREHEADER_MAX}",
            )
        if not UNSUBSCRIBE_PATTERNS[lang].search(draft.body):
            problems.add("missing_unsubscribe", "the e-mail lacks the unsubscribe footer")
        elif allowed_links and not any(
            "unsubscribe" in link.lower() and link_allowed(link, allowed_links)
            for link in find_links(draft.body)
        ):
            problems.add("missing_unsubscribe", "the e-mail lacks an allow-listed unsubscribe link")


def check_uncited_titles(
    scan: str, cat: CatalogIndex, cited: set[str], problems: ProblemList
) -> None:
    """Catalog products named in the text (by title) but not cited."""
    low = scan.lower()
    for word in set(re.findall(r"[a-z0-9][\w'\-]*", low)):
        for title, pid in cat.by_first_word.get(word, ()):
            if pid not in cited and title in low:
                problems.add("uncited_product", f"names catalog product {pid} without citing it")
    for i in range(len(scan) - 1):
        for title, pid in cat.by_bigram.get(scan[i : i + 2], ()):
            if pid not in cited and scan.startswith(title, i):
                problems.add("uncited_product", f"names catalog product {pid} without citing it")


def check_money(
    scan: str, draft: Draft, cat: CatalogIndex, offer: Offer | None, problems: ProblemList
) -> None:
    """Money amounts that are not a cited product's price or its offer price."""
    allowed: list[tuple[float, str]] = []
    pct = offer.discount_pct if offer is not None else 0.0
    for product in draft.products:
        row = cat.rows.get(product.product_id)
        if row is None:
            continue
        price, currency = float(str(row["price"])), str(row["currency"])
        allowed.append((price, currency))
        if pct > 0:
            allowed.append((discounted(price, pct), currency))
            allowed.append((round(price * pct / 100 + 1e-9, 2), currency))
    for amount in find_amounts(scan):
        if not any(
            abs(amount.value - value) < 0.006 and currency in amount.currencies
            for value, currency in allowed
        ):
            problems.add(
                "wrong_price",
                f"the amount {amount.text!r} is not a cited product's price"
                + (" or its offer price" if pct > 0 else ""),
            )


def check_discount_and_code(bare: str, offer: Offer | None, problems: ProblemList) -> None:
    """Discounts, codes and free shipping that are not the offer's."""
    shipping = FREE_SHIPPING_RE.search(bare)
    if shipping and not (offer is not None and offer.free_shipping):
        problems.add("wrong_offer",
                     f"mentions {shipping.group(0)!r} but the offer is not free shipping")
    pct = offer.discount_pct if offer is not None else None
    for value, shown in find_discounts(bare):
        if pct is None or pct <= 0:
            problems.add(
                "wrong_discount", f"mentions {shown!r} but the draft has no discount offer"
            )
        elif abs(value - pct) > 0.01:
            problems.add(
                "wrong_discount", f"mentions {shown!r} but the offer is {format_discount(pct)} off"
            )
    code = (offer.code or "").upper() if offer is not None else ""
    tokens = [m.group(0) for m in CODE_TOKEN_RE.finditer(bare)]
    tokens += [m.group("code") for m in CODE_AFTER_WORD_RE.finditer(bare)]
    for token in dict.fromkeys(tokens):
        if PRODUCT_ID_RE.fullmatch(token) or token.upper() == code:
            continue
        if token.isdigit():
            continue
        if code:
            problems.add("wrong_code", f"code {token!r} is not the offer's code {code}")
        else:
            problems.add("wrong_code", f"code {token!r} appears but the offer has no code")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _customer_row(customers: pd.DataFrame | None, customer_id: str) -> dict[str, object] | None:
    if customers is None or customers.empty:
        return None
    return customer_rows(customers).get(customer_id)


def check_personal(
    bare: str, scan: str, draft: Draft, customers: pd.DataFrame | None, problems: ProblemList
) -> None:
    """Personal data: phone numbers, street addresses, the customer's own details."""
    text_without_ids = PRODUCT_ID_RE.sub(" ", bare)
    for m in PHONE_RE.finditer(text_without_ids):
        if len(_digits(m.group(0))) >= 7:
            problems.add("personal_data", "contains a phone number")
            break
    if STREET_RE.search(scan):
        problems.add("personal_data", "contains a street address")
    row = _customer_row(customers, draft.customer_id)
    if row is None:
        return
    low = scan.lower()
    phone = _digits(str(row.get("phone") or ""))
    if len(phone) >= 7 and phone[-7:] in _digits(scan):
        problems.add("personal_data", "contains the customer's phone number")
    email = str(row.get("email") or "").strip().lower()
    if email and email in low:
        problems.add("personal_data", "contains the customer's e-mail address")
    first = str(row.get("first_name") or "").strip()
    last = str(row.get("last_name") or "").strip()
    if last and last != first:
        if CJK_RE.search(last):
            forms = [last + first, first + last] + [last + t for t in ("先生", "女士", "小姐")]
            hit = any(f in scan for f in forms if f != last)
        else:
            hit = re.search(rf"(?<![A-Za-z]){re.escape(last.lower())}(?![A-Za-z])", low) is not None
        if hit:
            problems.add("personal_data", "contains the customer's last name")
    address = re.sub(r"\s+", " ", str(row.get("address") or "")).strip().lower()
    if address:
        street = address.split(",")[0].strip()
        flat = re.sub(r"\s+", " ", low)
        if address in flat or (len(street) >= 6 and street in flat):
            problems.add("personal_data", "contains the customer's address")


def _shingles(text: str) -> set[str]:
    """Word 5-grams (or 8-character runs for Chinese) of a data text."""
    text = nfkc(text).lower()
    out: set[str] = set()
    words = re.findall(r"[a-z0-9']+", text)
    out.update(" ".join(words[i : i + ECHO_WORDS]) for i in range(len(words) - ECHO_WORDS + 1))
    for run in re.findall(rf"[\u3400-\u9fff]{{{ECHO_CJK},}}", text):
        out.update(run[i : i + ECHO_CJK] for i in range(len(run) - ECHO_CJK + 1))
    return out


def _data_texts(draft: Draft, cat: CatalogIndex, customers: pd.DataFrame | None) -> Iterable[str]:
    for product in draft.products:
        row = cat.rows.get(product.product_id)
        if row is None:
            continue
        yield str(row.get("description") or "")
        yield str(row.get("description_zh") or "")
        reviews = row.get("reviews")
        if reviews is not None and not isinstance(reviews, str):
            yield from (str(r) for r in list(reviews))  # type: ignore[call-overload]
    row = _customer_row(customers, draft.customer_id)
    if row is not None:
        yield str(row.get("notes") or "")


def check_echo(
    scan: str,
    draft: Draft,
    cat: CatalogIndex,
    customers: pd.DataFrame | None,
    problems: ProblemList,
) -> None:
    """Passages copied from descriptions, reviews or customer notes."""
    data = set().union(*(_shingles(t) for t in _data_texts(draft, cat, customers)))
    if data and data & _shingles(scan):
        problems.add(
            "copied_from_data",
            "repeats a passage of a product description, review or customer note "
            "(free text from data is never copied into copy)",
        )


def check_voice(scan: str, draft: Draft, offer: Offer | None, problems: ProblemList) -> None:
    """Brand voice: exclamation marks, shouting in capitals, pressure wording."""
    marks = scan.count("!") + scan.count("！")
    if marks > MAX_EXCLAMATIONS:
        problems.add(
            "voice", f"{marks} exclamation marks; the brand voice allows {MAX_EXCLAMATIONS}"
        )
    code = (offer.code or "").upper() if offer is not None else ""
    shouted = [w for w in SHOUT_RE.findall(scan) if w not in SHOUT_OK and w != code]
    if shouted:
        problems.add("voice", f"shouting in capitals ({', '.join(dict.fromkeys(shouted))})")
    match = PRESSURE_RE.search(scan)
    if match:
        problems.add("voice", f"pressure wording {match.group(0)!r}")
