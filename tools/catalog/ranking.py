"""Hybrid ranking of product candidates: score fusion and exact-match boosts.

The default fusion is weighted: ``w * vector + (1 - w) * BM25``, each side min-max-normalised
over the union of both sides' candidates; reciprocal rank fusion is the alternative the
evaluation compares it with. On top of the fused score, a product whose id is in the query
gains 2 and a product of a brand named in full gains 1, so those rank first.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import numpy.typing as npt

from tools.catalog.models import Fusion, SearchMethod
from tools.catalog.text import PRODUCT_ID_RE

#: Reciprocal rank fusion constant (the usual 60).
RRF_K = 60


def minmax(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Scale to [0, 1]; all-equal values become 1 when positive, else 0."""
    if values.size == 0:
        return values
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < 1e-12:
        return np.where(values > 0, 1.0, 0.0) if hi > 0 else np.zeros_like(values)
    return (values - lo) / (hi - lo)


def top_positive(scores: npt.NDArray[np.float64], n: int) -> list[int]:
    """Positions of the (at most) ``n`` best positive scores, best first (ties by position)."""
    positive = int((scores > 0).sum())
    if not positive:
        return []
    top = min(n, positive)
    part = np.argpartition(-scores, top - 1)[:top]
    return [int(i) for i in part[np.argsort(-scores[part], kind="stable")]]


def fuse(
    candidates: list[int],
    vec: dict[int, float],
    lexical: npt.NDArray[np.float64],
    method: SearchMethod,
    fusion: Fusion,
    vector_weight: float,
) -> dict[int, float]:
    """Fused score of each candidate position.

    Args:
        candidates: Catalog positions to score.
        vec: Cosine similarity by position (missing ones count as 0).
        lexical: BM25 score of every catalog position.
        method: ``vector`` or ``lexical`` use one side; ``hybrid`` fuses both (or uses the
            vector side alone when no candidate has a lexical score).
        fusion: ``weighted`` (min-max-normalised weighted sum) or ``rrf``.
        vector_weight: Weight of the vector side in the weighted fusion.
    """
    if not candidates:
        return {}
    v = np.array([vec.get(i, 0.0) for i in candidates], dtype=np.float64)
    lex = np.array([lexical[i] for i in candidates], dtype=np.float64)
    if method == "vector" or (method == "hybrid" and not lex.any()):
        fused = v
    elif method == "lexical" or not vec:
        fused = lex / lex.max() if lex.max() > 0 else lex
    elif fusion == "rrf":
        # Reciprocal rank fusion: 1/(K + rank) summed over both rankings.
        v_rank = np.argsort(np.argsort(-v, kind="stable"), kind="stable")
        l_rank = np.argsort(np.argsort(-lex, kind="stable"), kind="stable")
        l_part = np.where(lex > 0, 1.0 / (RRF_K + 1 + l_rank), 0.0)
        fused = (1.0 / (RRF_K + 1 + v_rank) + l_part) * (RRF_K + 1) / 2
    else:
        fused = vector_weight * minmax(v) + (1 - vector_weight) * minmax(lex)
    return {i: float(s) for i, s in zip(candidates, fused, strict=True)}


class ExactMatcher:
    """Finds product ids and full brand names in a query."""

    def __init__(
        self, brands: list[str], brand_column: npt.NDArray[Any], positions: dict[str, int]
    ) -> None:
        """Prepare the brand patterns.

        Args:
            brands: The catalog's brand names.
            brand_column: Each catalog position's brand.
            positions: Catalog position by (upper-case) product id.
        """
        self._brand = brand_column
        self._pos = positions
        self._patterns = {b: re.compile(rf"(?<!\w){re.escape(b.lower())}(?!\w)") for b in brands}

    def tier(self, text: str, candidates: list[int]) -> dict[int, float]:
        """Boosts: +2 for a product whose id is in the query, +1 for a brand named in full."""
        tier: dict[int, float] = {}
        lowered = text.lower()
        named = {b for b, pattern in self._patterns.items() if pattern.search(lowered)}
        if named:
            for i in candidates:
                if self._brand[i] in named:
                    tier[i] = 1.0
        for match in PRODUCT_ID_RE.finditer(text):
            pos = self._pos.get(match.group().upper())
            if pos is not None and pos in candidates:
                tier[pos] = tier.get(pos, 0.0) + 2.0
        return tier
