"""A draft's cells in the reader's words: who, channel, products, offer, review status.

The drafts table, the draft picker and the draft's detail (``agent.ui.drafts``) show codes
as words of ``prompts/labels.toml`` and names beside ids: the customer's first name beside
the id, each product's title (in the customer's language) beside its id.
"""

from __future__ import annotations

from typing import Any

from agent.offline.labels import Words
from agent.ui.format import field


def status_text(item: Any, words: Words | None = None) -> str:
    """A draft's review status as words: "👍 approved · edited · exported"."""
    w = words or Words()
    parts = [w.ui(f"draft_{item.status}")]
    parts += [w.ui("draft_edited")] if item.edited else []
    parts += [w.ui("draft_exported")] if item.exported_at else []
    return " · ".join(parts)


def customer_text(draft: Any) -> str:
    """The customer as the reviewer knows them: first name beside the id."""
    cid = str(field(draft, "customer_id", default="-"))
    name = str(field(draft, "first_name", default="") or "").strip()
    return f"{name} ({cid})" if name else cid


def channel_text(draft: Any, words: Words | None = None) -> str:
    """Channel and language as words ("SMS · English", "短信 · 英文")."""
    w = words or Words()
    return (f"{w.channel(field(draft, 'channel', default='-'))} · "
            f"{w.label('language', field(draft, 'language', default='-'))}")


def products_text(draft: Any) -> str:
    """The cited products: each title beside its id."""
    out = []
    for p in field(draft, "products", "product_ids", default=[]) or []:
        if isinstance(p, str):
            out.append(p)
            continue
        pid, title = field(p, "product_id", default=""), field(p, "title", default="")
        out.append(f"{title} ({pid})" if title else str(pid))
    return "; ".join(out)


def offer_text(offer: Any, words: Words | None = None) -> str:
    """An offer as the reviewer reads it: its name, discount and code ("15% off · SPRING15")."""
    w = words or Words()
    name = str(field(offer, "name", default="") or "")
    pct = float(field(offer, "discount_pct", default=0) or 0)
    code = str(field(offer, "code", default="") or "")
    parts = [w.offer(name) if name else ""]
    shown = w.ui("offer_discount", discount=f"{pct:g}%")
    if pct > 0 and f"{pct:g}%" not in name:
        parts.append(shown)
    if code and code not in parts[0]:  # a name such as "code SPRING15" already says it
        parts.append(w.ui("offer_with_code", code=code))
    return " · ".join(p for p in parts if p)
