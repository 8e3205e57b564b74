"""What a search query asks of the index: its words for each side, and what it excludes.

* ``QueryReader.read`` carries a Chinese query into English (``tools.catalog.lexicon``: the
  shop's own bilingual words first, then CC-CEDICT), so it reaches English text: the lexical
  side searches the Chinese words and their English together (Chinese titles match the
  first, English ones the second), the vector side embeds the English. An English query is
  used as it is on both sides.
* ``QueryReader.exclusion_mask`` turns ``exclude`` terms into the exact set of products they
  rule out: a term that names a category (slug or display name) or a brand rules out that
  category or brand; any term also rules out every product whose indexed text (title,
  brand, category, tags, description, Chinese title and description) contains all of its
  words, found in the lexical index's postings (so "leathers" matches "leather", and "皮革"
  matches "真皮革"). A Chinese term also rules out what its English reading matches.

Parsing prices, categories and synonyms out of free text belongs to the shared shop
vocabulary of the request reading, not here.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from tools.catalog.lexicon import Translation, Translator, mine_shop_lexicon, shop_pairs
from tools.catalog.text import HAS_CJK, tokenize
from tools.errors import ToolInputError

if TYPE_CHECKING:
    from tools.catalog.lexical import LexicalIndex
    from tools.catalog.store import Catalog

logger = logging.getLogger(__name__)

#: Most exclude terms a search takes.
MAX_EXCLUDE = 20


@dataclass(frozen=True)
class ReadQuery:
    """A query as each side of the index uses it."""

    text: str
    lexical_text: str
    vector_text: str
    translation: Translation | None = None

    @property
    def chinese(self) -> bool:
        """True when the query contains Chinese characters."""
        return self.translation is not None


class QueryReader:
    """Reads queries and exclude terms against one catalog and its lexical index."""

    def __init__(self, catalog: Catalog, lexical: LexicalIndex) -> None:
        self._catalog = catalog
        self._lexical = lexical
        self._translator: Translator | None = None
        self._lock = threading.Lock()

    @property
    def translator(self) -> Translator:
        """The Chinese-to-English translator (the shop's lexicon is mined on first use)."""
        if self._translator is None:
            with self._lock:
                if self._translator is None:
                    lexicon = mine_shop_lexicon(
                        shop_pairs(self._catalog.rows), self._catalog.category_names
                    )
                    logger.info("mined %d Chinese-English words from the shop", len(lexicon))
                    self._translator = Translator(lexicon)
        return self._translator

    def read(self, text: str) -> ReadQuery:
        """The query's words for the lexical and the vector side."""
        if not HAS_CJK.search(text):
            return ReadQuery(text, text, text)
        translation = self.translator.translate(text)
        english = translation.english if translation.translated else ""
        lexical = f"{text} {english}" if english else text
        return ReadQuery(text, lexical, english, translation)

    def exclusion_mask(self, terms: list[str] | None) -> npt.NDArray[np.bool_] | None:
        """Which products the exclude terms rule out (None when there are no terms).

        Raises:
            ToolInputError: too many terms, or a term with no word that could match.
        """
        cleaned = [t.strip() for t in terms or [] if t and t.strip()]
        if not cleaned:
            return None
        if len(cleaned) > MAX_EXCLUDE:
            raise ToolInputError(
                f"exclude takes at most {MAX_EXCLUDE} terms, got {len(cleaned)}"
            )
        out = np.zeros(len(self._catalog), dtype=bool)
        for term in cleaned:
            named = False
            category = self._catalog.match_category(term)
            if category is not None:
                out |= self._catalog.category == category
                named = True
            brand = self._catalog.match_brand(term)
            if brand is not None:
                out |= self._catalog.brand == brand
                named = True
            readings = [term]
            if HAS_CJK.search(term):
                translation = self.translator.translate(term)
                if translation.translated and translation.english:
                    readings.append(translation.english)
            tokens = [tokenize(r, query=True) for r in readings]
            if not named and not any(tokens):
                raise ToolInputError(
                    f"exclude term {term!r} has no word to match: name a word, category or brand"
                )
            for words in tokens:
                if words:
                    out |= self._lexical.containing(words)
        return out
