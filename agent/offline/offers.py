"""The offers a request names: a percentage off (read with the numbers), free shipping, a code.

Drafts (``draft_message``'s ``offer``) and plans (``optimize_campaign``'s ``offers``) take a
percentage off, free shipping and an offer code. :func:`read_offers` reads free shipping and
the code from the words of ``prompts/vocabulary_requests.toml`` (``[offers]``), in English and
Chinese; the percentage comes from ``agent.offline.amounts`` ("15% off", "85折", "打八折").
An amount off ("$10 off", "满100减10元") is no offer either tool takes: it is said back as a
condition not used, and its numbers are kept from being read as a budget or a price.
"""

from __future__ import annotations

import re
from typing import Any

from agent.offline.reading_model import Reading, request_words

#: An offer code as the tools accept it (``tools.copy.models.Offer``): 3-20 letters and digits.
_CODE = r"[:：]?\s*(?:is\s+|为\s*|是\s*)?([A-Za-z0-9]{3,20})(?![A-Za-z0-9])"


def _looks_like_code(token: str) -> bool:
    """A code has a digit or is written in capitals ("SPRING15", "WELCOME"), not a word."""
    return any(ch.isdigit() for ch in token) or (token.isupper() and len(token) >= 4)


def read_offers(text: str, reading: Reading) -> list[tuple[int, int]]:
    """Set free shipping and the offer code of ``text``; the spans numbers must not come from.

    Returns the spans of the code and of any amount off, so that "SAVE20" is no 20 and
    "满100减10元" no budget.
    """
    words = request_words()["offers"]
    spans: list[tuple[int, int]] = []
    for pattern in words["free_shipping"]:
        found = pattern.search(text)
        if found:
            reading.set("free_shipping", True, found.group(0))
            break
    for pattern in words["code"]:
        for word in pattern.finditer(text):
            code = re.match(_CODE, text[word.end():].lstrip())
            if code is None or not _looks_like_code(code.group(1)):
                continue
            start = word.end() + (len(text[word.end():]) - len(text[word.end():].lstrip()))
            reading.set("offer_code", code.group(1).upper(), text[word.start(): start + code.end()])
            spans.append((word.start(), start + code.end()))
            break
        if reading.offer_code:
            break
    for pattern in words["amount_off"]:
        for found in pattern.finditer(text):
            reading.unsupported.append(f"amount_off:{found.group(0).strip()}")
            spans.append(found.span())
    return spans


def _priced_offer(reading: Reading) -> dict[str, Any] | None:
    """The discount and free shipping the request names, as one offer (None: neither).

    Named "15% off + free shipping": the name restates the offer in plain words.
    """
    parts = []
    if reading.discount_pct:
        parts.append(f"{reading.discount_pct:g}% off")
    if reading.free_shipping:
        parts.append("free shipping")
    if not parts:
        return None
    offer: dict[str, Any] = {"name": " + ".join(parts)}
    if reading.discount_pct:
        offer["discount_pct"] = reading.discount_pct
    return offer


def offer_arguments(reading: Reading) -> dict[str, Any] | None:
    """``draft_message``'s ``offer`` from the reading (None when the request names none).

    The copy says the offer in the draft's language; a code alone is an offer too.
    """
    offer = _priced_offer(reading)
    if reading.offer_code:
        offer = offer or {"name": f"code {reading.offer_code}"}
        offer["code"] = reading.offer_code
    return offer


def plan_offers(reading: Reading) -> list[dict[str, Any]] | None:
    """``optimize_campaign``'s ``offers`` from the reading (None: the tool's own choice).

    A code belongs to the drafts, not to the plan's costs.
    """
    offer = _priced_offer(reading)
    return [offer] if offer else None
