"""Field access, result reading and number formatting shared by the chat app's views.

Artifacts are read through :func:`field`, which accepts pydantic models and plain dicts
alike, so a panel keeps working when a result model gains or renames an optional field.
The view modules (``agent.ui.views``, ``agent.ui.panels``, ``agent.ui.plan``,
``agent.ui.drafts``) build on these helpers; nothing here touches Gradio, the network or
global state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

# --------------------------------------------------------------------------- field access


def field(obj: Any, *names: str, default: Any = None) -> Any:
    """The first of ``names`` that ``obj`` has and that is not None (models or dicts)."""
    if obj is None:
        return default
    for name in names:
        if isinstance(obj, Mapping):
            value = obj.get(name)
        else:
            value = getattr(obj, name, None)
        if value is not None:
            return value
    return default


def to_plain(obj: Any) -> Any:
    """A JSON-ready copy of a pydantic model (or the value itself)."""
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    return obj


def humanize(name: Any) -> str:
    """``"at_risk"`` -> ``"At risk"`` (segment and goal names for people)."""
    text = str(name or "").replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else "-"


def money(value: Any, currency: str = "", decimals: int | None = 2) -> str:
    """A number as money with thousands separators, e.g. ``"1,234.50 USD"``.

    ``decimals=None`` keeps cents only below 1,000 (table cells: "3.15", "1,140").
    """
    if value is None:
        return "-"
    try:
        number = float(value)
        places = decimals if decimals is not None else (2 if abs(number) < 1000 else 0)
        text = f"{number:,.{places}f}"
    except (TypeError, ValueError):
        return str(value)
    return f"{text} {currency}".strip()


def percent(value: Any) -> str:
    """A 0-1 share as a whole percentage."""
    if value is None:
        return "-"
    return f"{float(value):.0%}"


# --------------------------------------------------------------------------- artifacts


def artifacts_of(result: Any, tool: str) -> list[Any]:
    """Every artifact result of one tool in a run, in call order."""
    return [
        field(a, "result")
        for a in field(result, "artifacts", default=[])
        if field(a, "tool") == tool and field(a, "result") is not None
    ]


def latest_artifact(result: Any, tool: str) -> Any:
    """The last artifact result of one tool in a run, or None."""
    found = artifacts_of(result, tool)
    return found[-1] if found else None
