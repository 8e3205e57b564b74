"""How the hybrid recommender's pieces are fitted: similarities, text vectors and weights.

``tools.recommend.recommender`` assembles the ``Recommender`` from these and re-exports every public
name here:

* ``item_similarity``: cosine similarity of products' buyer vectors, shrunk by common
  buyers, keeping each product's nearest neighbours (co-purchase and the item-kNN baseline);
* ``text_vectors``: TF-IDF rows of each product's English text (the content part);
* ``tune_weights``: how much the personal signals count depends on the shop (a fashion
  shop's tastes carry far; a grocer's sampled baskets barely do), so the weights are fitted
  per shop: the last 20% of the history is held out, a small grid of weights is scored by
  NDCG@10 (``ndcg_at``) on it, and the best is kept with a record of what was chosen
  (``Recommender.tuning``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

TUNING_HOLDOUT = 0.2
TUNING_MIN_CUSTOMERS = 30
TUNING_MAX_CUSTOMERS = 2000
GRID: dict[str, tuple[float, ...]] = {
    "co_purchase": (0.0, 0.3, 1.0, 3.0, 10.0),
    "content": (0.0, 0.3, 1.0, 3.0),
    "category_boost": (1.0, 4.0),
}


@dataclass(frozen=True)
class HybridWeights:
    """How much each part counts (popularity is the unit)."""

    co_purchase: float = 1.0
    content: float = 0.3
    category_boost: float = 1.0


@dataclass
class RawParts:
    """Unweighted scores of a batch of customers (rows) for every candidate product."""

    co_purchase: Floats
    content: Floats
    popular: Floats
    category_share: Floats


def _top_neighbours(sim: sp.csr_matrix, n: int) -> sp.csr_matrix:
    """Keep the ``n`` largest entries of each row of a sparse similarity matrix.

    Hand-written (a loop over rows with ``argpartition``) because scipy has no per-row
    top-n; it runs once per fit over at most a few ten thousand rows.
    """
    sim = sim.tocsr()
    sim.setdiag(0.0)
    sim.eliminate_zeros()
    indptr, data = sim.indptr, sim.data
    keep = np.zeros(len(data), dtype=bool)
    for row in range(sim.shape[0]):
        lo, hi = indptr[row], indptr[row + 1]
        if hi - lo <= n:
            keep[lo:hi] = True
        else:
            keep[lo + np.argpartition(-data[lo:hi], n)[:n]] = True
    out = sim.copy()
    out.data = np.where(keep, data, 0.0)
    out.eliminate_zeros()
    result: sp.csr_matrix = out
    return result


def item_similarity(user_item: sp.csr_matrix, n: int, shrink: float) -> sp.csr_matrix:
    """Cosine similarity of the columns of ``user_item``, shrunk by common buyers, top ``n``."""
    norms = np.sqrt(np.asarray(user_item.multiply(user_item).sum(axis=0))).ravel()
    inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    scaled = user_item @ sp.diags(inv)
    sim = (scaled.T @ scaled).tocsr()
    if shrink > 0:
        buyers = user_item.sign()
        common = (buyers.T @ buyers).tocsr()
        common.data = common.data / (common.data + shrink)
        sim = sim.multiply(common).tocsr()
    return _top_neighbours(sim, n)


def text_vectors(products: pd.DataFrame) -> sp.csr_matrix:
    """TF-IDF rows (L2-normalised) of each product's English text.

    TF-IDF (scikit-learn), not the product vector index: it fits in well under a second,
    needs no model file or chromadb, and the catalog's titles, brands and tags are
    keyword-rich, which is what "similar to what you looked at" needs.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    p = products
    tags = p["tags"].map(lambda t: " ".join(t) if t is not None else "").astype(str)
    docs = (
        p["title"].astype(str)
        + " "
        + p["description"].astype(str)
        + " "
        + p["category"].astype(str).str.replace("_", " ")
        + " "
        + p["brand"].astype(str)
        + " "
        + tags
    )
    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True)
    text: sp.csr_matrix = vectorizer.fit_transform(docs.tolist()).tocsr()
    return text


def top_columns(scores: Floats, k: int) -> Ints:
    """Column positions of the ``k`` largest scores of each row, best first."""
    if scores.shape[1] > k:
        head = np.argpartition(-scores, k, axis=1)[:, :k]
    else:
        head = np.tile(np.arange(scores.shape[1]), (len(scores), 1))
    order = np.argsort(-np.take_along_axis(scores, head, axis=1), axis=1, kind="stable")
    top: Ints = np.take_along_axis(head, order, axis=1)
    return top


def ndcg_at(top: Ints, relevant: list[set[int]], k: int) -> float:
    """Mean NDCG@k of ranked product positions (rows of ``top``) against relevant sets."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    total = 0.0
    for row, rel in zip(top, relevant, strict=True):
        gains = np.fromiter((p in rel for p in row[:k]), dtype=float, count=min(k, len(row)))
        ideal = discounts[: min(len(rel), k)].sum()
        total += float((gains * discounts[: len(gains)]).sum() / ideal)
    return total / max(len(relevant), 1)


class Tunable(Protocol):
    """What tuning uses of a recommender fitted on the early part of a history."""

    user_index: pd.Index
    item_index: pd.Index
    bought: sp.csr_matrix

    def raw_parts(
        self, rows: Ints, exclude_bought: bool = True, dtype: str = "float64"
    ) -> RawParts:
        """Unweighted scores for customers at ``rows``."""
        ...

    def total(self, raw: RawParts, w: HybridWeights) -> Floats:
        """The hybrid score of ``raw`` under weights ``w``."""
        ...


def tune_weights(
    events: pd.DataFrame, refit: Callable[[pd.DataFrame, pd.Timestamp], Tunable]
) -> tuple[HybridWeights, dict[str, Any]]:
    """Pick the weights that rank best on the last part of a shop's own history.

    Args:
        events: The events the recommender is fitted on (already cut at its "as of" time).
        refit: Fits the same kind of recommender, with default weights, on the early events
            as of the split time.

    Returns:
        The best weights and the tuning record; the default weights and ``{"tuned": False}``
        when the history is too short to hold out enough customers.
    """
    untuned: tuple[HybridWeights, dict[str, Any]] = (HybridWeights(), {"tuned": False})
    start, end = events["timestamp"].min(), events["timestamp"].max()
    if pd.isna(start) or start == end:
        return untuned
    split = start + (end - start) * (1 - TUNING_HOLDOUT)
    early = events[events["timestamp"] < split]
    late = events[(events["timestamp"] >= split) & (events["event_type"] == "purchase")]
    inner = refit(early, split)
    late = late[late["customer_id"].isin(inner.user_index)]
    pairs = pd.DataFrame(
        {
            "row": inner.user_index.get_indexer(late["customer_id"]),
            "item": inner.item_index.get_indexer(late["product_id"]),
        }
    ).drop_duplicates()
    done = inner.bought[pairs["row"].to_numpy(), pairs["item"].to_numpy()]
    pairs = pairs[np.asarray(done).ravel() == 0]
    truth = pairs.groupby("row")["item"].agg(set)
    if len(truth) < TUNING_MIN_CUSTOMERS:
        return untuned
    if len(truth) > TUNING_MAX_CUSTOMERS:  # an even, deterministic sample
        truth = truth.iloc[np.linspace(0, len(truth) - 1, TUNING_MAX_CUSTOMERS).astype(int)]
    combos = itertools.product(*GRID.values())
    grid = [HybridWeights(**dict(zip(GRID, c, strict=True))) for c in combos]
    gains = np.zeros(len(grid))
    for lo in range(0, len(truth), 200):
        batch = truth.iloc[lo : lo + 200]
        raw = inner.raw_parts(batch.index.to_numpy(dtype="int64"), dtype="float32")
        # Only products near the top of some part can reach a blend's top 10: rank
        # those (a few thousand columns instead of the whole catalog, 40 times).
        boosted = raw.popular * (1 + max(GRID["category_boost"]) * raw.category_share)
        cols = np.unique(
            np.concatenate(
                [top_columns(m, 30).ravel() for m in (raw.co_purchase, raw.content, boosted)]
            )
        )
        raw = RawParts(*(a[:, cols] for a in raw.__dict__.values()))
        for n, w in enumerate(grid):
            top = cols[top_columns(inner.total(raw, w), 10)]
            gains[n] += ndcg_at(top, list(batch), 10) * len(batch)
    results = [(float(g) / len(truth), w) for g, w in zip(gains, grid, strict=True)]
    rows = truth.index
    score, best = max(results, key=lambda r: r[0])
    default = next(s for s, w in results if w == HybridWeights())
    tuning = {
        "tuned": True,
        "customers": len(rows),
        "ndcg@10": round(score, 4),
        "default_ndcg@10": round(default, 4),
        "weights": best.__dict__,
    }
    return best, tuning
