"""The draft editor's live SMS meter: characters, encoding and parts as the marketer types.

Each SMS part costs: GSM-7 text fits 160 characters in one part and 153 per part once split;
any character outside GSM-7 (Chinese, most emoji) switches the whole message to UCS-2, 70 in
one part and 67 per part. The count itself is the copy room's (``AgentRunner.sms_size``), so
the meter and the guard never disagree.
"""

from __future__ import annotations

from typing import Any

from agent.ui.warmup import Lang

#: (single part, per part when split) in characters, by encoding.
LIMITS = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


def sms_meter(size: Any, lang: Lang = "en") -> str:
    """One Markdown line for an ``SmsSize`` (encoding, units, parts)."""
    single, part = LIMITS[size.encoding]
    room = (single if size.parts <= 1 else part * size.parts) - size.units
    if lang == "zh":
        return (f"📏 **短信：** {size.units} 个字符 · {size.parts} 条 · {size.encoding} "
                f"（单条 {single} 字，拆分后每条 {part} 字；本条还剩 {room} 字）")
    parts = "part" if size.parts == 1 else "parts"
    return (f"📏 **SMS:** {size.units} characters · {size.parts} {parts} · {size.encoding} "
            f"({single} fit in one part, {part} per part once split; {room} left in this part)")


def meter_for(measure: Any, body: str, channel: str, lang: Lang = "en") -> str:
    """The meter for a body on a channel ("" for e-mail and push), in the draft's language."""
    if channel != "sms":
        return ""
    return sms_meter(measure(body or ""), lang)
