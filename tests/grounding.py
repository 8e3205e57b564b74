"""Check that every number an answer states was returned by a tool (or typed by the user)."""

from __future__ import annotations

import json
import re
from typing import Any

NUMBER = re.compile(r"(?<![A-Za-z\d.])(\d[\d,]*(?:\.\d+)?)(%?)")
# Ids, dates and fixed labels ("90-day value") are not facts to ground.
ID = re.compile(r"\b[CPK]\d{3,}\b|\b\d{4}-\d{2}-\d{2}\b|\br\d{8}T[\w-]+|\b90-day\b|90 天价值")


def _numbers(obj: Any) -> list[float]:
    out: list[float] = []
    if isinstance(obj, bool):
        return out
    if isinstance(obj, (int, float)):
        out.append(abs(float(obj)))  # the answer's "-332.38" is matched without its sign
    elif isinstance(obj, str):
        out.extend(float(m.group(1).replace(",", "")) for m in NUMBER.finditer(ID.sub(" ", obj)))
    elif isinstance(obj, dict):
        for value in obj.values():
            out.extend(_numbers(value))
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            out.extend(_numbers(value))
    return out


def ungrounded_numbers(answer: str, sources: list[Any], request: str) -> list[str]:
    """Numbers in ``answer`` that match no number in ``sources`` or the request."""
    known = _numbers(json.loads(json.dumps(sources, default=str))) + _numbers(request)
    bad = []
    for match in NUMBER.finditer(ID.sub(" ", answer)):
        text, pct = match.group(1), match.group(2)
        value = float(text.replace(",", ""))
        decimals = len(text.split(".")[1]) if "." in text else 0
        candidates = [value / 100] if pct else [value]
        if pct:
            candidates.append(value)
        tol = 0.5 * 10 ** (-decimals)
        ok = any(
            abs(k - c) <= tol * (0.01 if pct and c == value / 100 else 1) + 1e-9
            for k in known
            for c in candidates
        )
        if not ok and value <= 10 and not pct and decimals == 0:
            ok = True  # list ranks and small counts ("1.", "top 3") are not facts
        if not ok:
            bad.append(match.group(0))
    return bad
