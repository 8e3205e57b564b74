"""Text of products for search: the embedded document and the lexical tokens.

* ``product_document`` is the English text a product is embedded from: what the product is
  (its title, its brand when the title lacks it, and its key attributes: the tags). The
  category stays out of the embedded text: it reaches the ranking through the lexical side
  and the category vote of the fusion (``tools.catalog.fusion``). Chosen on the tuning part
  of the Instacart aisle queries: with the department in the embedded text, vector search
  alone gains (precision@10 0.573 against 0.513) but the fused ranking does not (0.645
  against 0.651), because the category vote already carries the department. (On the
  reporting part that alternative reaches 0.630 with vector search alone and 0.630 fused,
  against 0.571 and 0.641 here: the fused ranking is about as good either way.)
  Descriptions stay out too (long, and more about uses than about the product).
  ``DOC_RECIPE`` names the shape; changing it forces a re-embed.
* ``tokenize`` turns English and Chinese text into search tokens: English words are
  stemmed (PyStemmer's Snowball) with ``bm25s``'s English stopwords dropped; Chinese runs
  give ``jieba``'s words plus character bigrams (and single characters), so Chinese queries
  find Chinese titles whichever way jieba splits them.
* ``field_text`` is the text of one field of a product row, as indexed and matched.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

#: Bumped when the embedded text of a product changes shape (forces a re-embed).
DOC_RECIPE = "v2"
# Field weights of the BM25 document (a field's tokens are repeated this many times): the
# usual way to weight fields with a single-field BM25. The title counts once, like the
# category: on the Instacart tuning aisles a doubled title lost (hybrid precision@10 0.644
# against 0.651, lexical alone 0.456 against 0.469).
FIELD_WEIGHTS: dict[str, int] = {
    "product_id": 1,
    "title": 1,
    "brand": 3,
    "category": 1,
    "tags": 1,
    "description": 1,
    "title_zh": 2,
    "description_zh": 1,
}
#: Fields a hit reports in ``matched_fields``.
MATCH_FIELDS: tuple[str, ...] = (
    "product_id",
    "title",
    "description",
    "brand",
    "category",
    "tags",
    "title_zh",
    "description_zh",
)

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN_RE = re.compile(rf"[{_CJK}]+|(?:(?![{_CJK}])[^\W_])+")
#: Matches a Chinese (CJK) character.
HAS_CJK = re.compile(rf"[{_CJK}]")
#: Matches a product id such as ``P00042``.
PRODUCT_ID_RE = re.compile(r"\bP\d{5,}\b", re.IGNORECASE)


# ----------------------------------------------------------------------------- English


_STEM_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer  # type: ignore[import-not-found]  # PyStemmer ships no type hints

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    """English Snowball stem of a word (PyStemmer objects are not thread-safe: hence the lock)."""
    with _STEM_LOCK:
        stemmed: str = _stemmer().stemWord(word)
    return stemmed


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


# ----------------------------------------------------------------------------- Chinese


class _ChineseSegmenter:
    """jieba, initialised quietly with its dictionary cache under our cache directory."""

    def __init__(self) -> None:
        self._tokenizer: Any = None
        self._lock = threading.Lock()
        self.cache_dir: Path | None = None

    def cut(self, text: str) -> list[str]:
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    self._tokenizer = self._load()
        words: list[str] = self._tokenizer.lcut_for_search(text)
        return words

    def _load(self) -> Any:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        tokenizer = jieba.Tokenizer()
        if self.cache_dir is not None:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            tokenizer.tmp_dir = str(self.cache_dir)
        tokenizer.initialize()
        return tokenizer


_SEGMENTER = _ChineseSegmenter()


def set_jieba_cache_dir(path: Path) -> None:
    """Where jieba keeps its dictionary cache (set before the first Chinese text is cut)."""
    if _SEGMENTER.cache_dir is None:
        _SEGMENTER.cache_dir = path


# ----------------------------------------------------------------------------- tokens


def tokenize(text: str, *, query: bool = False) -> list[str]:
    """Search tokens of a text: stemmed English words, ids, Chinese words and n-grams.

    Chinese runs give jieba's words plus character bigrams (which catch words jieba splits
    differently in a query and a text). Documents also give single characters, so that a
    one-character query such as "茶" finds "绿茶"; a query gives them only for a run of one.
    """
    tokens: list[str] = []
    stop = _stopwords()
    for match in _TOKEN_RE.finditer(text.lower()):
        run = match.group()
        if HAS_CJK.match(run):
            words = _SEGMENTER.cut(run)
            seen = set(words)
            tokens.extend(w for w in words if w.strip())
            bigrams = [run[i : i + 2] for i in range(len(run) - 1)]
            tokens.extend(b for b in bigrams if b not in seen)
            if not query or len(run) == 1:
                tokens.extend(c for c in run if c not in seen)
        elif run not in stop:
            tokens.append(_stem(run))
    return tokens


# ----------------------------------------------------------------------------- documents


def product_document(row: dict[str, Any]) -> str:
    """The English text a product is embedded from: title, brand (if not in the title), tags."""
    title = str(row.get("title") or "").strip()
    brand = str(row.get("brand") or "").strip()
    tags = row.get("tags")
    attributes = (
        ", ".join(str(t) for t in tags if str(t).strip())
        if isinstance(tags, (list, tuple, np.ndarray))
        else ""
    )
    parts = [title]
    if brand and brand.lower() not in title.lower():
        parts.append(brand)
    parts.append(attributes)
    return ". ".join(p for p in parts if p)


def field_text(
    row: dict[str, Any], field: str, category_labels: dict[str, list[str]] | None = None
) -> str:
    """The searchable text of one field of a product row.

    Args:
        row: The product (a row of the products table as a dict).
        field: The column, e.g. ``"title"``; tags are joined with spaces.
        category_labels: Display names per category slug, indexed with the slug.
    """
    value = row.get(field)
    if field == "tags":
        if isinstance(value, (list, tuple, np.ndarray)):
            return " ".join(str(v) for v in value)
        return ""
    if field == "category":
        category = str(value or "")
        return " ".join([category, *(category_labels or {}).get(category, [])])
    return str(value or "")
