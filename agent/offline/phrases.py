"""The offline model's phrases: ``prompts/offline_answers.toml``, rendered strictly.

English and Chinese tables; only ``${name}`` is a placeholder, and a missing variable is an
error (a test renders them all).
"""

from __future__ import annotations

import tomllib
from functools import cache
from string import Template
from typing import TYPE_CHECKING

from agent.settings import PROMPTS_DIR

if TYPE_CHECKING:
    from agent.offline.routing import Route

PHRASES_FILE = PROMPTS_DIR / "offline_answers.toml"


class Phrase(Template):
    """Only ``${name}`` is a placeholder; a bare ``$`` (as in "$5,000") is text."""

    pattern = r"""
    \$(?:
      (?P<escaped>\$)(?=\{)              |
      \{(?P<braced>[_a-z][_a-z0-9]*)\}   |
      (?P<named>(?!))                    |
      (?P<invalid>\{)
    )
    """  # type: ignore[assignment]


@cache
def phrases() -> dict[str, dict[str, str]]:
    """Both tables of phrases (``en`` and ``zh``), read once."""
    with PHRASES_FILE.open("rb") as fh:
        data: dict[str, dict[str, str]] = tomllib.load(fh)
    return data


def say(lang: str, key: str, **values: object) -> str:
    """Render one phrase strictly (a missing variable raises ``KeyError``)."""
    table = phrases()["zh" if lang == "zh" else "en"]
    return Phrase(table[key]).substitute({k: str(v) for k, v in values.items()})


def capabilities(lang: str) -> str:
    """What the offline model can do, with example requests."""
    return say(lang, "capabilities")


def stage_note(stage: str, route: Route, n: int) -> str:
    """The visible line shown while a stage runs."""
    return say(route.language, f"stage_{stage}", n=n)
