"""A draft's cells in the reader's words: who, channel, products, offer, review status.

The drafts table, the draft picker and the draft's detail (``agent.ui.drafts``) show codes
as words of ``prompts/labels.toml`` and names beside ids: the customer's first name beside
the id, each product's title (in the customer's language) beside its id. The panel's notes
("Approved.", "fails the guard", an offer attached) are kept as keys (:class:`Note`) and said
in the language of whoever reads them, so a language switch re-says them too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, TypeVar

from agent.offline.labels import Words
from agent.ui.format import field

_Item = TypeVar("_Item")  # a DraftItem (agent.ui.drafts imports this module)


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


def campaign_text(draft: Any, words: Words | None = None) -> str:
    """The campaign as the reviewer reads it: the code, the offer's name or the goal, in words."""
    w = words or Words()
    offer = field(draft, "offer")
    code = str(field(offer, "code", default="") or "") if offer else ""
    name = str(field(offer, "name", default="") or "") if offer else ""
    if code:
        return code
    if name:
        return w.offer(name)
    goal = str(field(draft, "goal", default="") or "")
    return w.label("draft_goal", goal) if goal else "-"


@dataclass(frozen=True)
class Note:
    """A drafts-panel note as keys of ``prompts/labels.toml``, said in whichever language reads it.

    ``parts`` are (table, key, values) said one after another; the values are names, numbers
    and the reviewer's own words, never sentences of ours.
    """

    parts: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]

    def say(self, words: Words, **extra: str) -> str:
        """The note in ``words``' language (``extra`` fills values said in words, e.g. an offer)."""
        sep = " " if words.lang == "en" else ""  # Chinese sentences follow without a space
        return sep.join(words.say(table, key, **{**extra, **dict(values)})
                        for table, key, values in self.parts)


def note_part(key: str, table: str = "review", **values: object) -> tuple[
        str, str, tuple[tuple[str, str], ...]]:
    """One part of a :class:`Note`: a key of ``[LANG.<table>]`` and its values."""
    return (table, key, tuple((k, str(v)) for k, v in values.items()))


def with_note(
    item: _Item, words: Words | None, *parts: tuple[str, str, tuple[tuple[str, str], ...]],
    **changes: Any,
) -> _Item:
    """``item`` (a ``DraftItem``) with a note, said now in ``words`` and kept as keys.

    ``changes`` are other fields to replace at the same time (draft, status...).
    """
    note = Note(parts)
    w = words or Words()
    plain: Any = item
    text = note.say(w, offer=_offer_words(changes.get("draft", plain.draft), w))
    out: _Item = replace(plain, note=text, said=note, **changes)
    return out


def note_text(item: Any, words: Words | None = None) -> str:
    """The item's note in the reader's language (as written when it has no keys)."""
    if item.said is None:
        return str(item.note)
    w = words or Words()
    return str(item.said.say(w, offer=_offer_words(item.draft, w)))


def _offer_words(draft: Any, words: Words) -> str:
    offer = field(draft, "offer")
    return offer_text(offer, words) if offer else ""
