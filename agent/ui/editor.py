"""The draft editor: a live SMS meter as the marketer types, and the offer picker.

Each SMS part costs: GSM-7 text fits 160 characters in one part and 153 per part once split;
any character outside GSM-7 (Chinese, most emoji) switches the whole message to UCS-2, 70 in
one part and 67 per part. The count itself is the copy room's (``AgentRunner.sms_size``), so
the meter and the guard never disagree. ``app.py`` wires the meter to the body's ``change``
event: Gradio's ``input`` event of a textbox fires on key presses only (not on paste, Chinese
input methods, Backspace or Delete), so a meter on it fell behind the text.

The offer picker lists what the shop can offer (``agent.loop.editing``: no offer, the
discounts its campaigns ran, free shipping, the offer as drafted) with a code field; a pick
writes the draft again through the copy room, whose guard then accepts exactly that offer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.offline.labels import Words
from agent.ui.draft_text import note_part, offer_text, with_note
from agent.ui.drafts import DraftItem, guard_passed, guard_problem_codes
from agent.ui.format import field
from agent.ui.warmup import Lang

#: (single part, per part when split) in characters, by encoding.
LIMITS = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


def sms_meter(size: Any, lang: Lang = "en") -> str:
    """One Markdown line for an ``SmsSize`` (encoding, units, parts), in the reader's language."""
    single, part = LIMITS[size.encoding]
    room = (single if size.parts <= 1 else part * size.parts) - size.units
    key = "sms_meter_one" if size.parts == 1 else "sms_meter_other"
    return Words(lang).say("review", key, units=size.units, parts=size.parts,
                           encoding=size.encoding, single=single, part=part, room=room)


def meter_for(measure: Any, body: str, channel: str, lang: Lang = "en") -> str:
    """The meter for a body on a channel ("" for e-mail and push), in the reader's language."""
    if channel != "sms":
        return ""
    return sms_meter(measure(body or ""), lang)


def offer_label(choice: Any, offer: Any, words: Words | None = None) -> str:
    """A picker entry in the reader's words ("15% off", "Free shipping", "As drafted: ...")."""
    w = words or Words()
    kind = field(choice, "kind", default="none")
    if kind == "discount":
        return w.ui("offer_discount", discount=f"{float(field(choice, 'discount_pct')):g}%")
    if kind == "free_shipping":
        return w.ui("offer_free_shipping")
    if kind == "as_drafted" and offer is not None:
        return w.ui("offer_as_drafted", offer=offer_text(offer, w))
    return w.ui("offer_none")


def offer_options(choices: list[Any], offer: Any, words: Words | None = None) -> list[
        tuple[str, str]]:
    """(label, key) pairs for the offer picker."""
    return [(offer_label(c, offer, words), str(field(c, "key"))) for c in choices]


def with_offer(item: DraftItem, draft: Any, words: Words | None = None) -> DraftItem:
    """The queue item holding ``draft``, written again with a picked offer.

    It needs a fresh approval; the note says which offer it now carries and whether the
    reviewer's earlier edits to the text were replaced.
    """
    parts = [note_part("offer_attached" if field(draft, "offer") else "offer_removed", "ui")]
    if item.edited:
        parts.append(note_part("offer_edits_replaced", "ui"))
    return with_note(item, words, *parts, draft=draft, status="pending", edited=True)


def offer_picker(
    item: DraftItem | None,
    offers: Callable[[Any], tuple[list[Any], str]],
    words: Words,
    update: Callable[..., Any],
) -> dict[str, Any]:
    """The offer picker and code field for the draft in the editor (hidden without one).

    Args:
        item: The draft being reviewed, or None.
        offers: The offers listed for a draft and the key of its own (``offers_for``).
        words: The reader's words.
        update: Makes a component update (``agent.ui.callbacks.update``).
    """
    if item is None:
        return {"offer_dd": update(choices=[], value=None, visible=False),
                "offer_code": update(value="", visible=False)}
    offer = field(item.draft, "offer")
    choices, chosen = offers(item.draft)
    code = str(field(offer, "code", default="") or "") if offer else ""
    return {"offer_dd": update(choices=offer_options(choices, offer, words), value=chosen,
                               visible=True),
            "offer_code": update(value=code, visible=True)}


def offer_review(key: str, offer_key: str, draft: Any) -> dict[str, Any]:
    """What the trace records of an offer attached in the editor (ids and verdict, no text)."""
    code = field(field(draft, "offer"), "code", default="") if field(draft, "offer") else ""
    return {"draft_id": key, "offer": offer_key, "code": str(code or ""),
            "guard_passed": guard_passed(draft), "problems": guard_problem_codes(draft)}
