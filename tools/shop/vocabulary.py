"""The shop's own words and their synonyms, found in a request (English and Chinese).

A ``ShopVocabulary`` is built from the loaded shop (its categories with their display names
in both languages, its brands and cities) plus a synonyms file (``prompts/vocabulary.toml``:
category groups, segment, channel, language, value-tier and goal words, city names). Nothing
about one shop's names is written in code, so an imported shop with other category names
works unchanged.

``find`` returns the terms of a request, longest match first and never overlapping, each
with the words it came from. English terms match whole words (a plural "s" is allowed) and
Chinese terms match anywhere. Typos ("gardning", "electornics") are matched with
``rapidfuzz`` against the single-word terms, only for words the shop's catalog does not use
itself. Framework-free, so that product search can share it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ahocorasick  # type: ignore[import-not-found,unused-ignore]
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import OSA

from tools.config import PROMPTS_DIR

#: The synonyms shipped with the product.
VOCABULARY_FILE = PROMPTS_DIR / "vocabulary.toml"
#: Fuzzy matches need this many letters; a typo is one edit (a swap of two neighbouring
#: letters counts as one) in words of up to ``FUZZY_LONG`` letters, two in longer words.
FUZZY_MIN_LETTERS = 5
FUZZY_LONG = 6


def _max_edits(word: str) -> int:
    return 1 if len(word) <= FUZZY_LONG else 2


def closest(word: str, choices: list[str]) -> str | None:
    """The choice within a typo's reach of ``word`` (optimal string alignment), if any."""
    # A typo rarely changes the first letter: "looking" is not "cooking".
    same_start = [c for c in choices if c[:1] == word[:1]]
    best = process.extractOne(word, same_start, scorer=OSA.distance, score_cutoff=_max_edits(word))
    return None if best is None else str(best[0])


_ASCII_WORD = re.compile(r"[a-z0-9]")
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class TermMatch:
    """One shop term found in a request."""

    kind: str
    value: str
    words: str
    start: int
    end: int
    fuzzy: bool = False


_PLAIN = str.maketrans("-_\u2019\u3000", "  ' ")


def normalise(text: str) -> str:
    """Lower case with "-", "_" and curly quotes as plain characters (same length as ``text``)."""
    return text.lower().translate(_PLAIN)


@dataclass
class ShopVocabulary:
    """Terms of one shop: (kind, value) for every surface form, with fuzzy lookup."""

    categories: list[str]
    category_labels: dict[str, dict[str, str]]
    brands: list[str]
    cities: list[str]
    terms: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    known_words: set[str] = field(default_factory=set)
    segment_sets: dict[str, list[str]] = field(default_factory=dict)
    #: Digits of the shop's customer ids ("C00042": 5), to read "c42" as "C00042".
    customer_id_digits: int = 5
    #: Two-character words of the catalog's Chinese titles and descriptions.
    catalog_bigrams: set[str] = field(default_factory=set)
    #: English words of product titles and tags (what a product request names).
    title_words: set[str] = field(default_factory=set)
    #: The categories each brand sells in ("customers who buy Trailforge" -> outdoor gear).
    brand_categories: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._automaton: Any = ahocorasick.Automaton()
        for form, meanings in self.terms.items():
            self._automaton.add_word(form, (form, tuple(sorted(meanings))))
        if self.terms:
            self._automaton.make_automaton()
        self._fuzzy_choices = sorted(
            f for f in self.terms if " " not in f and len(f) >= FUZZY_MIN_LETTERS and f.isascii()
        )

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        products: pd.DataFrame,
        customers: pd.DataFrame,
        meta: Mapping[str, Any] | None = None,
        synonyms: Mapping[str, Any] | None = None,
    ) -> ShopVocabulary:
        """The vocabulary of a shop's tables and metadata, with ``synonyms`` added.

        ``meta["categories"]`` (optional) maps a category id to its display names, e.g.
        ``{"outdoor_gear": {"en": "outdoor gear", "zh": "户外装备"}}``.
        """
        syn = dict(synonyms if synonyms is not None else load_synonyms())
        labels: dict[str, dict[str, str]] = {
            str(k): {str(lang): str(name) for lang, name in (v or {}).items()}
            for k, v in dict((meta or {}).get("categories") or {}).items()
            if isinstance(v, dict)
        }
        categories = sorted(str(c) for c in products["category"].dropna().unique() if str(c))
        brands = sorted({str(b) for b in products["brand"].dropna().unique() if len(str(b)) >= 2})
        cities = sorted({str(c) for c in customers["city"].dropna().unique() if len(str(c)) >= 2})
        terms: dict[str, set[tuple[str, str]]] = {}

        def add(form: str, kind: str, value: str) -> None:
            form = normalise(form).strip()
            if not form:
                return
            terms.setdefault(form, set()).add((kind, value))
            if form.isascii() and " " not in form and form[-1].isalpha() and not form.endswith("s"):
                terms.setdefault(form + "s", set()).add((kind, value))

        stop = {normalise(w) for w in syn.get("category_stopwords", {}).get("words", [])}
        names: dict[str, set[str]] = {}
        for cat in categories:
            own = {normalise(cat), *(normalise(n) for n in labels.get(cat, {}).values())}
            names[cat] = own
            for form in own:
                add(form, "category", cat)
                for token in re.findall(r"[a-z']+", form):
                    if len(token) >= 3 and token not in stop:
                        add(token, "category", cat)
        for words in dict(syn.get("category_groups", {})).values():
            group = [normalise(w) for w in words]
            applies = [c for c in categories if any(_names_contain(names[c], w) for w in group)]
            for cat in applies:
                for word in group:
                    add(word, "category", cat)
        for brand in brands:
            add(brand, "brand", brand)
        for city in cities:
            add(city, "city", city)
        for city, words in dict(syn.get("cities", {})).items():
            if city in cities:
                for word in words:
                    add(word, "city", city)
        for kind, table in (
            ("segment", "segments"),
            ("channel", "channels"),
            ("language", "languages"),
            ("value_tier", "value_tiers"),
            ("goal", "goals"),
        ):
            for value, words in dict(syn.get(table, {})).items():
                for word in words:
                    add(word, kind, str(value))
        known = _catalog_words(products) | {
            normalise(w) for w in syn.get("fuzzy", {}).get("never", [])
        }
        ids = customers["customer_id"].astype(str) if "customer_id" in customers else pd.Series()
        digits = int(ids.str.len().max()) - 1 if len(ids) else 5
        return cls(
            customer_id_digits=max(digits, 1),
            catalog_bigrams=_catalog_bigrams(products),
            title_words=_catalog_words(products, ("title", "tags")),
            brand_categories={
                str(b): sorted({str(c) for c in g["category"].dropna()})
                for b, g in products.groupby("brand")
                if str(b)
            },
            categories=categories,
            category_labels=labels,
            brands=brands,
            cities=cities,
            terms=terms,
            known_words=known,
            segment_sets={str(k): list(v) for k, v in dict(syn.get("segment_sets", {})).items()},
        )

    # -- lookup -----------------------------------------------------------------------------

    def find(
        self, text: str, kinds: Iterable[str] | None = None, known: Iterable[str] = ()
    ) -> list[TermMatch]:
        """Terms of ``text`` (optionally of some kinds), longest first, never overlapping.

        Words in ``known`` (the caller's own keywords) are never taken for typos of a term.
        """
        wanted = set(kinds) if kinds is not None else None
        low = normalise(text)
        spans: list[tuple[int, int, str, tuple[tuple[str, str], ...]]] = []
        if self.terms:
            for end, (form, meanings) in self._automaton.iter(low):
                start = end - len(form) + 1
                if form.isascii() and not _whole_word(low, start, end + 1):
                    continue
                chosen = tuple(m for m in meanings if wanted is None or m[0] in wanted)
                if chosen:
                    spans.append((start, end + 1, form, chosen))
        spans.sort(key=lambda s: (-(s[1] - s[0]), s[0]))
        taken: list[tuple[int, int]] = []
        out: list[TermMatch] = []
        for start, end, _form, meanings in spans:
            if any(start < b and a < end for a, b in taken):
                continue
            taken.append((start, end))
            for kind, value in meanings:
                out.append(TermMatch(kind, value, text[start:end], start, end))
        out.extend(self._fuzzy(text, low, taken, wanted, {k.lower() for k in known}))
        out.sort(key=lambda m: (m.start, m.kind, m.value))
        return out

    def _fuzzy(
        self,
        text: str,
        low: str,
        taken: list[tuple[int, int]],
        wanted: set[str] | None,
        known: set[str],
    ) -> list[TermMatch]:
        out: list[TermMatch] = []
        for match in re.finditer(r"[a-z]+", low):
            token, start, end = match.group(0), match.start(), match.end()
            if len(token) < FUZZY_MIN_LETTERS or token in self.terms:
                continue
            if token in self.known_words or token in known or token.rstrip("s") in known:
                continue
            if any(start < b and a < end for a, b in taken):
                continue
            best = closest(token, self._fuzzy_choices)
            if best is None:
                continue
            for kind, value in sorted(self.terms[best]):
                if wanted is None or kind in wanted:
                    out.append(TermMatch(kind, value, text[start:end], start, end, fuzzy=True))
        return out

    def correct(self, text: str, keywords: Iterable[str]) -> tuple[str, list[tuple[str, str]]]:
        """``text`` with misspelt ``keywords`` fixed ("reccomend" -> "recommend").

        Only words the shop's catalog and vocabulary do not know are changed, and only to a
        keyword within a typo's reach (see ``closest``). Returns the text and the (typo, keyword)
        pairs.
        """
        choices = sorted({k.lower() for k in keywords if len(k) >= FUZZY_MIN_LETTERS})
        fixes: list[tuple[str, str]] = []

        def fix(match: re.Match[str]) -> str:
            word = match.group(0)
            low = word.lower()
            if len(low) < FUZZY_MIN_LETTERS or low in choices or low in self.known_words:
                return word
            if low in self.terms or low.rstrip("s") in self.terms:
                return word
            best = closest(low, choices)
            if best is None:
                return word
            fixes.append((word, best))
            return best

        return re.sub(r"[A-Za-z]+", fix, text), fixes

    def mentions_catalog(self, text: str) -> bool:
        """True when ``text`` uses a word of the catalog or of the shop's terms."""
        if self.find(text):
            return True
        words = [w for w in re.findall(r"[a-z]+", normalise(text)) if len(w) >= 4]
        if any(w in self.title_words or w.rstrip("s") in self.title_words for w in words):
            return True
        cjk = "".join(_CJK.findall(text))
        return any(cjk[i : i + 2] in self.catalog_bigrams for i in range(len(cjk) - 1))

    def category_label(self, category: str, language: str = "en") -> str:
        """A category's display name in ``language`` (its id with spaces when none is given)."""
        names = self.category_labels.get(category, {})
        return names.get(language) or names.get("en") or category.replace("_", " ")


def _names_contain(names: set[str], word: str) -> bool:
    for name in names:
        if word == name:
            return True
        if word.isascii():
            if re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", name):
                return True
        elif _CJK.search(word) and word in name:
            return True
    return False


def _whole_word(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    if _ASCII_WORD.match(before):
        return False
    if _ASCII_WORD.match(after):
        return after == "s" and (end + 1 >= len(text) or not _ASCII_WORD.match(text[end + 1]))
    return True


def _catalog_words(
    products: pd.DataFrame, columns: tuple[str, ...] = ("title", "description", "tags")
) -> set[str]:
    """Every English word of the catalog's titles, descriptions and tags (typo guard)."""
    words: set[str] = set()
    for column in columns:
        if column not in products.columns:
            continue
        for value in products[column].dropna():
            text = " ".join(map(str, value)) if not isinstance(value, str) else value
            words.update(re.findall(r"[a-z]+", text.lower()))
    return words


def _catalog_bigrams(products: pd.DataFrame) -> set[str]:
    """Every pair of neighbouring Chinese characters in the catalog's Chinese text."""
    grams: set[str] = set()
    for column in ("title_zh", "description_zh"):
        if column not in products.columns:
            continue
        for value in products[column].dropna():
            text = "".join(_CJK.findall(str(value)))
            grams.update(text[i : i + 2] for i in range(len(text) - 1))
    return grams


def load_synonyms(path: Path = VOCABULARY_FILE) -> dict[str, Any]:
    """The synonyms file as a dictionary (see ``prompts/vocabulary.toml``)."""
    with path.open("rb") as fh:
        return tomllib.load(fh)
