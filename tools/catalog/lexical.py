"""The lexical side of product search: a ``bm25s`` index over the products' words.

Each product is one BM25 document made of its English title, brand, category (slug and
display names), tags and description, plus its Chinese title and description, tokenised by
``tools.catalog.text.tokenize`` and weighted per field by repetition (``FIELD_WEIGHTS``).
So product ids, exact brand names and Chinese queries are found; the embedding model is
English-only, so Chinese queries rank by this side alone.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import numpy.typing as npt

from tools.catalog.text import FIELD_WEIGHTS, MATCH_FIELDS, field_text, tokenize

logger = logging.getLogger(__name__)

#: Most (product, field) token sets kept for ``matched_fields``.
_FIELD_TOKEN_CACHE = 200_000


class LexicalIndex:
    """BM25 over a list of product rows (positions in the list are the document ids)."""

    def __init__(
        self, rows: list[dict[str, Any]], category_labels: dict[str, list[str]] | None = None
    ) -> None:
        """Index the rows.

        Args:
            rows: The products, one dict per row (columns of the products table).
            category_labels: Display names per category slug, indexed with the slug.
        """
        self._rows = rows
        self._category_labels = category_labels or {}
        self._field_tokens: dict[tuple[int, str], frozenset[str]] = {}
        started = time.perf_counter()
        self.bm25 = self._build()
        logger.info(
            "BM25 index over %d products in %.2fs", len(rows), time.perf_counter() - started
        )

    def _tokens(self, row: dict[str, Any]) -> list[str]:
        tokens: list[str] = []
        for field, weight in FIELD_WEIGHTS.items():
            text = field_text(row, field, self._category_labels)
            if text:
                tokens.extend(tokenize(text) * weight)
        return tokens

    def _build(self) -> Any:
        import bm25s

        # bm25s sets its own logger to DEBUG, which floods any root handler.
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        corpus = [self._tokens(row) or [""] for row in self._rows]
        retriever = bm25s.BM25()
        retriever.index(corpus, show_progress=False)
        return retriever

    def scores(self, query: str) -> npt.NDArray[np.float64]:
        """BM25 score of every product for a query (zeros when no token is known)."""
        ids = self.bm25.get_tokens_ids(tokenize(query, query=True))
        if not ids:
            return np.zeros(len(self._rows))
        return np.asarray(self.bm25.get_scores_from_ids(ids), dtype=np.float64)

    def containing(self, tokens: list[str]) -> npt.NDArray[np.bool_]:
        """Which products contain every one of the tokens (exact, from BM25's postings).

        A token the index has never seen is in no product, so the result is then all False.
        """
        found = np.zeros(len(self._rows), dtype=bool)
        if not tokens:
            return found
        vocab = self.bm25.vocab_dict
        if any(t not in vocab for t in tokens):
            return found
        postings = self.bm25.scores
        indptr, indices = postings["indptr"], postings["indices"]
        found[:] = True
        for token in dict.fromkeys(tokens):
            tid = vocab[token]
            has = np.zeros(len(self._rows), dtype=bool)
            has[indices[indptr[tid] : indptr[tid + 1]]] = True
            found &= has
        return found

    def matched_fields(self, i: int, query_tokens: set[str]) -> list[str]:
        """The fields (of ``MATCH_FIELDS``) of product ``i`` that share a token with the query."""
        out = []
        row = self._rows[i]
        for field in MATCH_FIELDS:
            key = (i, field)
            tokens = self._field_tokens.get(key)
            if tokens is None:
                text = field_text(row, field, self._category_labels)
                tokens = frozenset(tokenize(text)) if text else frozenset()
                if len(self._field_tokens) < _FIELD_TOKEN_CACHE:
                    self._field_tokens[key] = tokens
            if tokens & query_tokens:
                out.append(field)
        return out
