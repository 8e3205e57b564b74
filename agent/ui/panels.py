"""The customer, segment and product panels: profile card, segment table, product table.

Pure functions from tool results (``CustomerProfile``, segment results, product search hits
and recommendations, or dicts of the same shape) to Markdown and pandas DataFrames;
re-exported by ``agent.ui.views``, where the app finds them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from agent.ui.format import artifacts_of, field, humanize, money, percent, to_plain

PRODUCT_COLUMNS = ["For", "#", "Product", "Title", "Category", "Price", "Score", "Why"]
SEGMENT_COLUMNS = [
    "Customer",
    "First name",
    "Segment",
    "Churn risk",
    "90-day value",
    "Top category",
    "Preferred channel",
]


# --------------------------------------------------------------------------- profile panel


def profile_card(profile: Any) -> str:
    """A customer profile as a Markdown card (first name is the only personal field)."""
    if profile is None:
        return "_Ask about a customer (e.g. “Tell me about C00042”) to see a profile here._"
    cid = field(profile, "customer_id", default="?")
    name = field(profile, "first_name", default="")
    currency = field(profile, "currency", default="")
    head = f"### 👤 {name} · `{cid}`" if name else f"### 👤 `{cid}`"
    scores = [field(profile, k) for k in ("r_score", "f_score", "m_score")]
    rfm = " ".join(f"{p}{s}" for p, s in zip("RFM", scores, strict=True) if s is not None)
    segment = humanize(field(profile, "segment"))
    recency = field(profile, "recency_days")
    last = field(profile, "last_purchase_at")
    last_text = "never purchased"
    if last is not None:
        day = last.date().isoformat() if isinstance(last, datetime) else str(last)[:10]
        last_text = f"{day} ({recency} days ago)" if recency is not None else day
    cats = ", ".join(
        f"{humanize(field(c, 'category'))} {percent(field(c, 'share'))}"
        for c in field(profile, "top_categories", default=[])[:3]
    )
    band = field(profile, "price_band")
    ratio = field(profile, "price_ratio")
    band_text = humanize(band) if band else "-"
    if band and ratio is not None:
        band_text += f" ({float(ratio):.2f}× category median)"
    channel = field(profile, "preferred_channel")
    reason = field(profile, "preferred_channel_reason", default="")
    channel_text = (channel or "none yet") + (f" — {reason}" if reason else "")
    consent = field(profile, "consent", default={})
    consent_text = " · ".join(
        f"{ch} {'✅' if field(c, 'granted', default=c is True) else '❌'}"
        for ch, c in consent.items()
    )
    place = ", ".join(p for p in (field(profile, "city"), field(profile, "country")) if p)
    views = ", ".join(
        str(field(v, "title", default=field(v, "product_id", default="")))
        for v in field(profile, "recent_views", default=[])[:4]
    )
    rows = [
        ("Segment", f"**{segment}**" + (f" ({rfm})" if rfm else "")),
        ("Churn risk", percent(field(profile, "churn_risk"))),
        ("Expected 90-day value", money(field(profile, "expected_value_90d"), currency)),
        ("Last order", last_text),
        (
            "Orders · lifetime spend",
            f"{field(profile, 'frequency', default=0)} · "
            f"{money(field(profile, 'monetary'), currency)}",
        ),
        ("Top categories", cats or "-"),
        ("Favourite brands", ", ".join(field(profile, "favourite_brands", default=[])) or "-"),
        ("Price band", band_text),
        ("Preferred channel", channel_text),
        ("Consent", consent_text or "-"),
        ("Language · place", f"{field(profile, 'language', default='-')} · {place or '-'}"),
        ("Recently viewed", views or "-"),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return f"{head}\n\n| | |\n|---|---|\n{table}\n"


def segment_summary(segment: Any) -> str:
    """A segment result's headline: how many customers matched which filter."""
    if segment is None:
        return ""
    count = int(field(segment, "count", default=0))
    filt = to_plain(field(segment, "filter", default={})) or {}
    parts = [
        f"{humanize(k)}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
        for k, v in filt.items()
        if v is not None and k != "limit"
    ]
    described = "; ".join(parts) or "all customers"
    return f"### 👥 {count:,} customers matched\n\n_Filter: {described}_"


def segment_table(segment: Any) -> pd.DataFrame:
    """The sample profiles of a segment result as a table."""
    rows = []
    for p in field(segment, "sample", default=[]) or []:
        cats = field(p, "top_categories", default=[])
        rows.append(
            [
                field(p, "customer_id", default=""),
                field(p, "first_name", default=""),
                humanize(field(p, "segment")),
                percent(field(p, "churn_risk")),
                money(field(p, "expected_value_90d")),
                humanize(field(cats[0], "category")) if cats else "-",
                field(p, "preferred_channel", default="-"),
            ]
        )
    return pd.DataFrame(rows, columns=SEGMENT_COLUMNS)


# --------------------------------------------------------------------------- products panel


def products_table(result: Any) -> pd.DataFrame:
    """Search hits and recommendations of a run in one table, with scores and reasons."""
    rows: list[list[Any]] = []
    for rec in artifacts_of(result, "recommend_products"):
        who = f"👤 {field(rec, 'customer_id', default='?')}"
        for rank, item in enumerate(field(rec, "items", default=[]), start=1):
            rows.append(_product_row(who, rank, item, field(item, "reason", default="")))
    for search in artifacts_of(result, "search_products"):
        who = f"🔎 {field(search, 'query', default='')}"
        for rank, hit in enumerate(field(search, "hits", default=[]), start=1):
            matched = field(hit, "matched_fields", default=[])
            why = f"matched {', '.join(matched)}" if matched else "similar meaning"
            rows.append(_product_row(who, rank, hit, why))
    return pd.DataFrame(rows, columns=PRODUCT_COLUMNS)


def _product_row(who: str, rank: int, item: Any, why: str) -> list[Any]:
    title = field(item, "title", default="")
    title_zh = field(item, "title_zh", default="")
    if title_zh and title_zh != title:
        title = f"{title} / {title_zh}" if title else title_zh
    score = field(item, "score")
    return [
        who,
        rank,
        field(item, "product_id", default=""),
        title,
        humanize(field(item, "category")),
        money(field(item, "price"), field(item, "currency", default="")),
        round(float(score), 3) if score is not None else None,
        why,
    ]
