"""Learned fusion of the vector and lexical sides: a small logistic model over six features.

Every candidate of a query (the union of both sides' best products) gets six features, each
free of the catalog's scale:

* ``cosine``: the query-product cosine similarity (the vector side's score);
* ``bm25``: the product's BM25 score over the best BM25 score of the query (0 to 1);
* ``vector_rank``, ``lexical_rank``: ``1 / (1 + rank)`` on each side (0 when absent);
* ``vector_vote``, ``lexical_vote``: the share of each side's top ``VOTE_DEPTH`` products
  that are in this product's category (the category match: a product of the category most
  of the best hits are in is likelier to be what the shopper means).

The fused score is the model's log-odds ``w . features + b``, the probability that the
product is relevant.

**Where the weights come from.** Labels exist for one catalog only (Instacart: each aisle is a
query, its products the relevant set), so the weights are fitted there once and shipped in
``fusion_weights.json`` with their provenance: the catalog, the tuning split of the queries
(the aisles whose sha1 is even; the odd ones are kept for reporting), the date, and the
figures on both splits. Every shop then uses the same weights: the features are scale-free
and the embedding model is the same, so they carry over; fitting per shop would need
relevance labels a shop does not have. ``python -m agent eval search --catalog instacart
--fit-fusion`` refits them (``fit_fusion``, scikit-learn's ``LogisticRegression``) and
rewrites the file.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

#: The features, in the order of the weights.
FEATURES: tuple[str, ...] = (
    "cosine",
    "bm25",
    "vector_rank",
    "lexical_rank",
    "vector_vote",
    "lexical_vote",
)
#: How many of each side's best products vote for their category.
VOTE_DEPTH = 20
#: The shipped weights (fitted on the Instacart tuning split; see the module docstring).
WEIGHTS_PATH = Path(__file__).with_name("fusion_weights.json")

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FusionModel:
    """Logistic weights over ``FEATURES`` and where they came from."""

    weights: tuple[float, ...]
    intercept: float = 0.0
    provenance: dict[str, Any] = field(default_factory=dict)

    def score(self, features: FloatArray) -> FloatArray:
        """Log-odds of relevance of each row of an ``(n, len(FEATURES))`` matrix."""
        scores: FloatArray = features @ np.asarray(self.weights, dtype=np.float64)
        return scores + self.intercept

    def probability(self, features: FloatArray) -> FloatArray:
        """Probability of relevance of each row (the logistic of ``score``)."""
        odds = np.clip(self.score(features), -30.0, 30.0)
        out: FloatArray = 1.0 / (1.0 + np.exp(-odds))
        return out

    def to_json(self) -> dict[str, Any]:
        """The model as stored in ``fusion_weights.json``."""
        return {
            "features": list(FEATURES),
            "weights": [round(w, 6) for w in self.weights],
            "intercept": round(self.intercept, 6),
            "provenance": self.provenance,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], source: str = "fusion weights") -> FusionModel:
        """Read a stored model.

        Raises:
            ValueError: the features differ from ``FEATURES`` or a weight is not a number.
        """
        if list(data.get("features") or []) != list(FEATURES):
            raise ValueError(f"{source}: features must be {list(FEATURES)}")
        weights = data.get("weights")
        if not isinstance(weights, list) or len(weights) != len(FEATURES):
            raise ValueError(f"{source}: weights must be a list of {len(FEATURES)} numbers")
        try:
            values = tuple(float(w) for w in weights)
            intercept = float(data.get("intercept", 0.0))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{source}: weights must be numbers ({exc})") from exc
        provenance = data.get("provenance")
        return cls(values, intercept, provenance if isinstance(provenance, dict) else {})


@lru_cache(maxsize=1)
def load_fusion_model(path: Path = WEIGHTS_PATH) -> FusionModel:
    """The shipped fusion model (read once)."""
    return FusionModel.from_json(json.loads(path.read_text(encoding="utf-8")), str(path))


def _inverse_rank(order: list[int], candidates: list[int]) -> FloatArray:
    rank = {pos: n for n, pos in enumerate(order)}
    return np.array(
        [1.0 / (1.0 + rank[i]) if i in rank else 0.0 for i in candidates], dtype=np.float64
    )


def _votes(top: list[int], candidates: list[int], category: npt.NDArray[Any]) -> FloatArray:
    if not top:
        return np.zeros(len(candidates), dtype=np.float64)
    cats, counts = np.unique(category[top], return_counts=True)
    share = dict(zip(cats.tolist(), (counts / len(top)).tolist(), strict=True))
    return np.array([share.get(category[i], 0.0) for i in candidates], dtype=np.float64)


def candidate_features(
    candidates: list[int],
    cosine: dict[int, float],
    lexical: FloatArray,
    lexical_order: list[int],
    category: npt.NDArray[Any],
) -> FloatArray:
    """The ``(len(candidates), len(FEATURES))`` feature matrix of a query's candidates.

    Args:
        candidates: Catalog positions (the union of both sides' best products).
        cosine: Cosine similarity by position (missing: the vector side is not used).
        lexical: BM25 score of every catalog position.
        lexical_order: The lexical side's best positions, best first.
        category: Each catalog position's category.
    """
    cos = np.array([cosine.get(i, 0.0) for i in candidates], dtype=np.float64)
    best = float(lexical.max()) if lexical.size else 0.0
    bm25 = np.array([lexical[i] for i in candidates], dtype=np.float64)
    bm25 = bm25 / best if best > 0 else np.zeros_like(bm25)
    vector_order = sorted((i for i in candidates if i in cosine), key=lambda i: -cosine[i])
    return np.column_stack(
        [
            cos,
            bm25,
            _inverse_rank(vector_order, candidates),
            _inverse_rank(lexical_order, candidates),
            _votes(vector_order[:VOTE_DEPTH], candidates, category),
            _votes(lexical_order[:VOTE_DEPTH], candidates, category),
        ]
    )


def fit_fusion(
    features: list[FloatArray], labels: list[npt.NDArray[np.bool_]], provenance: dict[str, Any]
) -> FusionModel:
    """Fit the logistic model on the candidates of labelled queries.

    Args:
        features: One feature matrix per query (``candidate_features``).
        labels: Per query, which candidates are relevant.
        provenance: What the weights were fitted on (stored with them).

    Raises:
        ValueError: no candidate, or only one class among the labels.
    """
    from sklearn.linear_model import LogisticRegression

    x = np.vstack(features) if features else np.zeros((0, len(FEATURES)))
    y = np.concatenate(labels) if labels else np.zeros(0, dtype=bool)
    if len(y) == 0 or y.all() or not y.any():
        raise ValueError("fitting the fusion needs relevant and irrelevant candidates")
    model = LogisticRegression(max_iter=2000).fit(x, y)
    return FusionModel(
        tuple(float(w) for w in model.coef_[0]), float(model.intercept_[0]), provenance
    )
