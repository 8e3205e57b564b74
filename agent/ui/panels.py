"""The customer, segment and product panels: profile card, segment table, product table.

Pure functions from tool results (``CustomerProfile``, segment results, product search hits
and recommendations, or dicts of the same shape) to Markdown and pandas DataFrames;
re-exported by ``agent.ui.views``, where the app finds them. Codes reach the screen as words
of the reader's language (``words``: ``agent.offline.labels.Words``, English by default),
and names stand beside ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from agent.offline.labels import Words
from agent.ui.format import artifacts_of, field, money, percent, to_plain

_PRODUCT_KEYS = ["col_for", "col_rank", "col_product", "col_title", "col_product_category",
                 "col_price", "col_why"]  # fmt: skip
_SEGMENT_KEYS = ["col_customer", "col_name", "col_segment", "col_churn", "col_value",
                 "col_category", "col_channel"]  # fmt: skip
_EN = Words("en")
PRODUCT_COLUMNS = [_EN.ui(k) for k in _PRODUCT_KEYS]
SEGMENT_COLUMNS = [_EN.ui(k) for k in _SEGMENT_KEYS]


def _words(words: Words | None) -> Words:
    return words if words is not None else _EN


def cap(text: str) -> str:
    """The first letter in upper case ("at risk" -> "At risk"); Chinese is unchanged."""
    return text[:1].upper() + text[1:] if text else "-"


def product_columns(words: Words | None = None) -> list[str]:
    """The product table's column names in the reader's language."""
    return [_words(words).ui(k) for k in _PRODUCT_KEYS]


def segment_columns(words: Words | None = None) -> list[str]:
    """The segment table's column names in the reader's language."""
    return [_words(words).ui(k) for k in _SEGMENT_KEYS]


# --------------------------------------------------------------------------- profile panel


def profile_card(profile: Any, words: Words | None = None) -> str:
    """A customer profile as a Markdown card (first name is the only personal field)."""
    w = _words(words)
    if profile is None:
        return f"_{w.ui('profile_empty')}_"
    cid = field(profile, "customer_id", default="?")
    name = field(profile, "first_name", default="")
    currency = field(profile, "currency", default="")
    head = f"### 👤 {name} · `{cid}`" if name else f"### 👤 `{cid}`"
    scores = [field(profile, k) for k in ("r_score", "f_score", "m_score")]
    rfm = w.rfm(*scores) if any(s is not None for s in scores) else "-"
    recency = field(profile, "recency_days")
    last = field(profile, "last_purchase_at")
    last_text = w.ui("never_purchased")
    if last is not None:
        day = last.date().isoformat() if isinstance(last, datetime) else str(last)[:10]
        last_text = w.ui("days_ago", day=day, days=recency) if recency is not None else day
    cats = w.join(
        f"{cap(w.category(field(c, 'category')))} {percent(field(c, 'share'))}"
        for c in field(profile, "top_categories", default=[])[:3]
    )
    band = field(profile, "price_band")
    ratio = field(profile, "price_ratio")
    band_text = cap(w.label("price_band", band)) if band else "-"
    if band and ratio is not None:
        band_text = w.ui("band_ratio", band=band_text, ratio=f"{float(ratio):.2f}")
    channel = field(profile, "preferred_channel")
    reason = field(profile, "preferred_channel_reason", default="")
    channel_text = (w.channel(channel) if channel else w.ui("none_yet")) + (
        f" — {w.prose(reason)}" if reason else ""
    )
    consent = field(profile, "consent", default={})
    consent_text = " · ".join(
        f"{w.channel(ch)} {'✅' if field(c, 'granted', default=c is True) else '❌'}"
        for ch, c in consent.items()
    )
    place = ", ".join(p for p in (field(profile, "city"), field(profile, "country")) if p)
    language = field(profile, "language")
    viewed = w.join(
        str(field(v, "title_zh" if w.lang == "zh" else "title", "title",
                  default=field(v, "product_id", default="")))
        for v in field(profile, "recent_views", default=[])[:4]
    )  # fmt: skip
    rows = [
        (w.ui("profile_segment"), f"**{cap(w.segment(field(profile, 'segment')))}**"),
        (w.ui("profile_rfm"), rfm),
        (w.ui("profile_churn"), percent(field(profile, "churn_risk"))),
        (w.ui("profile_value"), money(field(profile, "expected_value_90d"), currency)),
        (w.ui("profile_last"), last_text),
        (
            w.ui("profile_orders"),
            f"{field(profile, 'frequency', default=0)} · "
            f"{money(field(profile, 'monetary'), currency)}",
        ),
        (w.ui("profile_categories"), cats or "-"),
        (w.ui("profile_brands"), w.join(field(profile, "favourite_brands", default=[])) or "-"),
        (w.ui("profile_band"), band_text),
        (w.ui("profile_channel"), channel_text),
        (w.ui("profile_consent"), consent_text or "-"),
        (
            w.ui("profile_place"),
            f"{w.label('language', language) if language else '-'} · {place or '-'}",
        ),
        (w.ui("profile_viewed"), viewed or "-"),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return f"{head}\n\n| | |\n|---|---|\n{table}\n"


def describe_filter(filt: Any, words: Words | None = None) -> str:
    """A segment filter in words ("Segment: at risk; Likes: outdoor gear")."""
    w = _words(words)
    data = to_plain(filt) or {}
    kinds = {"segments": "segment", "categories": "category", "consent_channel": "channel",
             "language": "language", "value_tier": "value_tier"}  # fmt: skip
    parts = []
    for key, value in data.items():
        if value is None or key == "limit" or value == []:
            continue
        values = value if isinstance(value, list) else [value]
        kind = kinds.get(key)
        shown = w.join(w.label(kind, v) if kind else str(v) for v in values)
        parts.append(w.ui("filter_part", name=cap(w.label("filter", key)), value=shown))
    return w.ui("filter_sep").join(parts) or w.label("filter", "all")


def segment_summary(segment: Any, words: Words | None = None) -> str:
    """A segment result's headline: how many customers matched which filter."""
    if segment is None:
        return ""
    w = _words(words)
    count = int(field(segment, "count", default=0))
    described = describe_filter(field(segment, "filter", default={}), w)
    return (
        f"### 👥 {w.ui('segment_head', count=f'{count:,}')}\n\n"
        f"_{w.ui('segment_filter', filter=described)}_"
    )


def segment_rows(profiles: Sequence[Any], words: Words | None = None) -> list[list[Any]]:
    """One table row per customer profile (the segment table and its CSV export)."""
    w = _words(words)
    rows = []
    for p in profiles:
        cats = field(p, "top_categories", default=[])
        channel = field(p, "preferred_channel")
        rows.append(
            [
                field(p, "customer_id", default=""),
                field(p, "first_name", default=""),
                cap(w.segment(field(p, "segment"))),
                percent(field(p, "churn_risk")),
                money(field(p, "expected_value_90d")),
                cap(w.category(field(cats[0], "category"))) if cats else "-",
                w.channel(channel) if channel else "-",
            ]
        )
    return rows


def segment_table(
    segment: Any, words: Words | None = None, profiles: Sequence[Any] | None = None
) -> pd.DataFrame:
    """Customers of a segment result as a table (``profiles``, or the result's sample)."""
    shown = profiles if profiles is not None else field(segment, "sample", default=[]) or []
    return pd.DataFrame(segment_rows(shown, words), columns=segment_columns(words))


# --------------------------------------------------------------------------- products panel


def products_table(result: Any, words: Words | None = None) -> pd.DataFrame:
    """Search hits and recommendations of a run in one table, with scores and reasons."""
    w = _words(words)
    rows: list[list[Any]] = []
    for rec in artifacts_of(result, "recommend_products"):
        cid = field(rec, "customer_id", default="?")
        name = field(rec, "first_name", default="")
        who = f"👤 {name} ({cid})" if name else f"👤 {cid}"
        for rank, item in enumerate(field(rec, "items", default=[]), start=1):
            why = w.prose(field(item, "reason", default=""))
            rows.append(_product_row(w, who if rank == 1 else "", rank, item, why))
    for search in artifacts_of(result, "search_products"):
        who = f"🔎 {field(search, 'query', default='')}"
        for rank, hit in enumerate(field(search, "hits", default=[]), start=1):
            matched = field(hit, "matched_fields", default=[])
            why = (
                w.ui("matched", fields=w.join(w.label("matched", m) for m in matched))
                if matched
                else w.ui("similar")
            )
            rows.append(_product_row(w, who if rank == 1 else "", rank, hit, why))
    return pd.DataFrame(rows, columns=product_columns(w))


def _product_row(w: Words, who: str, rank: int, item: Any, why: str) -> list[Any]:
    """One product: who or what it is for (on the first row of each group), id, title..."""
    title = field(item, "title", default="")
    title_zh = field(item, "title_zh", default="")
    if title_zh and (w.lang == "zh" or not title):  # one title, in the reader's language
        title = title_zh
    return [
        who,
        rank,
        field(item, "product_id", default=""),
        title,
        cap(w.category(field(item, "category"))),
        money(field(item, "price"), field(item, "currency", default="")),
        why,
    ]
