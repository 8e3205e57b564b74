"""The marketer's words for the product's codes: ``prompts/labels.toml``, in English and Chinese.

One mapping serves the offline model's answers (``agent.offline.answers``) and the chat app's
views (``agent.ui``): segments, channels, consent, languages, price bands, goals, reasons,
plan limits, guard problems, filter names, RFM scores, counted nouns, and the interface's own
text (its fixed labels, the status line and warm-up notes, the campaign read-out, the
drafts panel's notes and export note, errors framed for the chat). Category
names are the shop's own display names (``shop.json`` ``categories``, as
``tools.shop.vocabulary`` reads them), passed in as ``categories``; a shop without them shows
its ids with spaces.

A few tools write prose (a preferred channel's reason, a recommendation's reason, a contact
rule, an offer name); ``Words.prose`` matches those sentences with the patterns of the file
and says them in the reader's language, with each named part labelled through its own table.
Written here rather than with a gettext catalog because the words are keyed by the codes of
the tools' typed results, not by English source strings.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from agent.offline.phrases import Phrase
from agent.settings import PROMPTS_DIR

LABELS_FILE = PROMPTS_DIR / "labels.toml"
LANGUAGES = ("en", "zh")

#: Pattern groups shown through a table (plural groups are lists: "a, b, c").
_LABELLED_GROUPS = {
    "channel": "channel", "segment": "segment", "category": "category", "language": "language",
    "goal": "goal", "segments": "segment", "categories": "category", "tops": "category",
}
_LIST_GROUPS = ("segments", "categories", "tops")


@cache
def label_tables() -> dict[str, dict[str, Any]]:
    """Both languages' tables (``en`` and ``zh``), read once."""
    with LABELS_FILE.open("rb") as fh:
        data: dict[str, dict[str, Any]] = tomllib.load(fh)
    return data


@cache
def _patterns(lang: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple(
        (re.compile(p["match"]), str(p["say"])) for p in label_tables()[lang].get("patterns", [])
    )


def language_of(value: str | None) -> str:
    """``"zh"`` for any Chinese locale or tag (``zh-CN``, ``zh_Hant``), else ``"en"``."""
    return "zh" if str(value or "").strip().lower().startswith("zh") else "en"


def browser_language(accept_language: str | None) -> str:
    """The first supported language of an ``Accept-Language`` header, by weight ("en" if none)."""
    choices: list[tuple[float, int, str]] = []
    for i, part in enumerate(str(accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        prefix = tag.strip().lower()[:2]
        if prefix in LANGUAGES and weight > 0:
            choices.append((-weight, i, prefix))
    return min(choices)[2] if choices else "en"


def _plain(code: str) -> str:
    return code.replace("_", " ").strip()


@dataclass(frozen=True)
class Words:
    """The words of one language (``en`` or ``zh``), with the shop's category names."""

    lang: str = "en"
    categories: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lang", language_of(self.lang))

    @property
    def table(self) -> dict[str, Any]:
        """This language's tables."""
        return label_tables()[self.lang]

    def label(self, kind: str, code: Any, default: str | None = None) -> str:
        """The word for ``code`` in the table ``kind`` (the code with spaces when unknown)."""
        text = str(code if code is not None else "").strip()
        if kind == "category":
            return self.category(text)
        found = self.table.get(kind, {}).get(text)
        if found is not None:
            return str(found)
        return default if default is not None else (_plain(text) or "-")

    def category(self, code: Any) -> str:
        """A category's display name in this language (an id or the shop's English name)."""
        text = str(code or "").strip()
        names = self.categories.get(text)
        if names is None:  # the English display name, as tools write it in prose
            wanted = text.lower()
            found = (n for n in self.categories.values() if str(n.get("en", "")).lower() == wanted)
            names = next(found, None)
        if names:
            return str(names.get(self.lang) or names.get("en") or _plain(text))
        return _plain(text) or "-"

    def segment(self, code: Any) -> str:
        """An RFM segment's name."""
        return self.label("segment", code)

    def channel(self, code: Any) -> str:
        """A channel's name ("e-mail", "短信")."""
        return self.label("channel", code)

    def consent(self, granted: bool) -> str:
        """Consent given or not."""
        return self.label("consent", "granted" if granted else "refused")

    def count(self, noun: str, n: int) -> str:
        """A counted noun: ``count("order", 3)`` -> "3 orders" / "3 笔订单"."""
        key = f"{noun}_one" if n == 1 else f"{noun}_other"
        return Phrase(self.table["count"][key]).substitute(n=f"{n:,}")

    def rfm(self, r: Any, f: Any, m: Any) -> str:
        """RFM scores as words: "recency 2 · frequency 3 · spend 3" (out of 5)."""
        names = self.table["rfm"]
        parts = [f"{names[k]} {v}" for k, v in zip("rfm", (r, f, m), strict=True) if v is not None]
        return " · ".join(parts)

    def ui(self, key: str, **values: object) -> str:
        """One piece of the interface's text (strict: a missing variable is an error)."""
        return self.say("ui", key, **values)

    def say(self, kind: str, key: str, **values: object) -> str:
        """One sentence of the table ``kind`` ("status", "readout"...), strictly filled."""
        return Phrase(self.table[kind][key]).substitute({k: str(v) for k, v in values.items()})

    def prose(self, text: Any) -> str:
        """A tool's sentence in this language (as written when no pattern knows it)."""
        sentence = str(text or "").strip()
        for pattern, template in _patterns(self.lang):
            found = pattern.match(sentence)
            if found is None:
                continue
            values = {
                name: self._group(name, value or "") for name, value in found.groupdict().items()
            }
            return Phrase(template).substitute(values)
        return sentence

    def _group(self, name: str, value: str) -> str:
        if name == "rule":
            return self.prose(value)
        kind = _LABELLED_GROUPS.get(name)
        if kind is None:
            return value
        if name in _LIST_GROUPS:
            return self.join(self.label(kind, v) for v in value.split(",") if v.strip())
        return self.label(kind, value)

    def join(self, items: Any) -> str:
        """Items joined the way this language lists them ("a, b" / "a、b")."""
        return str(self.table["ui"]["list_sep"]).join(str(i) for i in items)

    def offer(self, name: Any) -> str:
        """An offer's name ("20% off" -> "20% 折扣"; "no offer" -> "无优惠")."""
        return self.prose(name or "no offer")
