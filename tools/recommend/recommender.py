"""Personalised product recommendations: a hybrid of co-purchase, content and popularity.

A product's score for a customer is ``popular + co_purchase + content``, each part already
weighted by ``HybridWeights``:

* **popular**: purchases of recent weeks (half-life 30 days) scaled to a maximum of 1, times
  ``1 + category_boost x`` the customer's share of interactions in the product's category;
  the only signal for a customer with no history. Reason: "popular in <category>".
* **co_purchase** (item-to-item collaborative filtering): cosine similarity of products'
  buyer vectors, where a customer's latest purchase of a product counts
  ``0.5 ** (age / 180 days)`` (time decay), shrunk by ``n / (n + 5)`` for ``n`` common buyers
  (a pair bought together once is weak evidence); each product keeps its 50 nearest
  neighbours, and a customer's score sums the similarity of a product to what they bought,
  with the same decay. Reason: "often bought with <the bought product contributing most>".
* **content**: cosine of TF-IDF vectors of each product's English title, description,
  category, brand and tags against the customer's recent interactions (view 1, cart 2,
  purchase 3, half-life 30 days). Reason: "matches your interest in <category>".

The weights are fitted per shop on its own history (``tools.recommend.fit``;
``Recommender.tuning`` says what was chosen). Out-of-stock products are never
recommended, bought ones are left out by default, and at most ``max_per_category`` products
come from one category. The baselines of ``eval recommend`` (global popularity by purchase
count, plain item-kNN) are built from the same matrices.
"""

from __future__ import annotations

import json
import logging
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from pydantic import BaseModel, Field

from tools.customers.churn import EVENT_WEIGHTS
from tools.errors import ToolInputError
from tools.files import atomic_write
from tools.recommend.fit import GRID as GRID
from tools.recommend.fit import TUNING_HOLDOUT as TUNING_HOLDOUT
from tools.recommend.fit import TUNING_MAX_CUSTOMERS as TUNING_MAX_CUSTOMERS
from tools.recommend.fit import TUNING_MIN_CUSTOMERS as TUNING_MIN_CUSTOMERS
from tools.recommend.fit import Floats as Floats
from tools.recommend.fit import HybridWeights as HybridWeights
from tools.recommend.fit import Ints as Ints
from tools.recommend.fit import RawParts as RawParts
from tools.recommend.fit import item_similarity, text_vectors, tune_weights
from tools.recommend.fit import ndcg_at as ndcg_at
from tools.shop.schemas import ToolResult

if TYPE_CHECKING:
    from tools.customers.profiles import ProfileStore
    from tools.shop.store import ShopData

logger = logging.getLogger(__name__)

ReasonKind = Literal["co_purchase", "content", "popular"]
ModelName = Literal["hybrid", "popularity", "item_knn"]
KINDS: tuple[ReasonKind, ...] = ("co_purchase", "content", "popular")

CO_PURCHASE_HALF_LIFE_DAYS = 180.0
INTEREST_HALF_LIFE_DAYS = 30.0
POPULAR_HALF_LIFE_DAYS = 30.0
NEIGHBOURS = 50
SHRINK = 5.0
#: Catalogs up to this size are scored whole; larger ones only over products with events.
FULL_CATALOG_MAX = 20_000
MAX_K = 50


class Recommendation(BaseModel):
    """One recommended product with its score and a plain-language reason."""

    product_id: str
    title: str
    title_zh: str = ""
    category: str
    brand: str = ""
    price: float
    currency: str = "USD"
    score: float = Field(description="Higher is better; comparable within one result.")
    reason: str
    reason_kind: ReasonKind


class RecommendationResult(ToolResult):
    """Products recommended to one customer."""

    customer_id: str
    first_name: str = ""
    items: list[Recommendation] = Field(default_factory=list)

    def for_model(self) -> dict[str, object]:
        """The items (rounded scores), without the customer's first name."""
        items = [{**i.model_dump(mode="json"), "score": round(i.score, 3)} for i in self.items]
        return {"customer_id": self.customer_id, "items": items}

    def summary(self) -> str:
        """One line: how many products for whom."""
        return f"{len(self.items)} products recommended to {self.customer_id}"


class Recommender:
    """The fitted hybrid recommender over one shop's events up to ``as_of``."""

    def __init__(
        self,
        products: pd.DataFrame,
        events: pd.DataFrame,
        as_of: pd.Timestamp,
        *,
        weights: HybridWeights | None = None,
        category_labels: dict[str, str] | None = None,
    ) -> None:
        """Fit the matrices; tune the weights on the shop's own history unless given."""
        self.as_of = as_of
        self.catalog_size = len(products)
        events = events[events["timestamp"] <= as_of]
        if len(products) > FULL_CATALOG_MAX:
            products = products[products["product_id"].isin(events["product_id"].unique())]
        self.products = products.reset_index(drop=True)
        self.item_index = pd.Index(self.products["product_id"])
        events = events[events["product_id"].isin(self.item_index)]
        self.user_index = pd.Index(events["customer_id"].unique())
        n_users, n_items = len(self.user_index) + 1, len(self.item_index)  # last row: nobody
        self.category_codes, uniques = pd.factorize(self.products["category"].astype(str))
        labels = category_labels or {}
        self.category_display = [labels.get(c, c.replace("_", " ")) for c in map(str, uniques)]
        self.in_stock = self.products["stock"].to_numpy() > 0

        users = self.user_index.get_indexer(events["customer_id"])
        items = self.item_index.get_indexer(events["product_id"])
        age = ((as_of - events["timestamp"]).dt.total_seconds() / 86400.0).to_numpy()
        kind = events["event_type"].to_numpy()
        bought = kind == "purchase"

        def matrix(mask: npt.NDArray[np.bool_], values: Floats, how: str) -> sp.csr_matrix:
            cells = pd.DataFrame({"u": users[mask], "i": items[mask], "v": values[mask]})
            agg = cells.groupby(["u", "i"], sort=False)["v"].agg(how)
            u, i = agg.index.get_level_values(0), agg.index.get_level_values(1)
            return sp.coo_matrix((agg.to_numpy(), (u, i)), shape=(n_users, n_items)).tocsr()

        self.bought = matrix(bought, np.ones(len(events)), "max")
        # The latest purchase of a product counts, not how often: a customer who re-buys
        # one product weekly would otherwise dominate that product's similarities.
        self.history = matrix(bought, 0.5 ** (age / CO_PURCHASE_HALF_LIFE_DAYS), "max")
        weight = pd.Series(kind).map(EVENT_WEIGHTS).to_numpy(dtype="float64")
        interest = weight * 0.5 ** (age / INTEREST_HALF_LIFE_DAYS)
        self.interest = matrix(np.ones(len(events), dtype=bool), interest, "sum")
        self.similar = item_similarity(self.history, NEIGHBOURS, SHRINK)
        pop = np.bincount(
            items[bought], weights=0.5 ** (age[bought] / POPULAR_HALF_LIFE_DAYS), minlength=n_items
        )
        self.popular = pop / pop.max() if pop.max() > 0 else pop
        self.purchase_counts = np.bincount(items[bought], minlength=n_items).astype("float64")
        self.category_onehot = sp.csr_matrix(
            (np.ones(n_items), (np.arange(n_items), self.category_codes)),
            shape=(n_items, len(uniques)),
        )
        self.text = text_vectors(self.products)
        self.tuning: dict[str, Any] = {"tuned": False}
        self.weights = weights or HybridWeights()
        if weights is None:
            self.weights = self._tune(events)
        logger.info(
            "recommender fitted: %d customers, %d products, %d purchases, weights %s",
            n_users - 1,
            n_items,
            int(bought.sum()),
            self.weights,
        )

    def _tune(self, events: pd.DataFrame) -> HybridWeights:
        """Pick the weights that rank best on this shop's own history; record ``tuning``."""
        best, self.tuning = tune_weights(
            events,
            lambda early, split: Recommender(self.products, early, split, weights=HybridWeights()),
        )
        return best

    # ------------------------------------------------------------------ scoring

    def rows_of(self, customer_ids: list[str]) -> Ints:
        """Matrix rows of customers (the empty last row for customers without events)."""
        rows = self.user_index.get_indexer(pd.Index(customer_ids))
        out: Ints = np.where(rows < 0, len(self.user_index), rows).astype("int64")
        return out

    def raw_parts(
        self, rows: Ints, exclude_bought: bool = True, dtype: str = "float64"
    ) -> RawParts:
        """Unweighted scores for customers at ``rows`` (bought products zeroed if asked)."""
        co = (self.history[rows] @ self.similar).toarray()
        interest = self.interest[rows]
        profile = interest @ self.text
        norms = np.sqrt(np.asarray(profile.multiply(profile).sum(axis=1))).ravel()
        inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        content = (sp.diags(inv) @ profile @ self.text.T).toarray()
        per_cat = np.asarray((interest @ self.category_onehot).todense())
        total = per_cat.sum(axis=1, keepdims=True)
        share = np.divide(per_cat, total, out=np.zeros_like(per_cat), where=total > 0)
        share = share[:, self.category_codes]
        popular = np.tile(self.popular, (len(rows), 1))
        if exclude_bought:
            done = self.bought[rows].tocoo()
            for part in (co, content, popular):
                part[done.row, done.col] = 0.0
        if dtype != "float64":  # the tuning grid re-blends these many times: halve the bytes
            return RawParts(*(a.astype(dtype) for a in (co, content, popular, share)))
        return RawParts(co, content, popular, share)

    def blend(self, raw: RawParts, w: HybridWeights) -> dict[ReasonKind, Floats]:
        """The weighted parts; their sum is the hybrid score."""
        return {
            "co_purchase": w.co_purchase * raw.co_purchase,
            "content": w.content * raw.content,
            "popular": raw.popular * (1.0 + w.category_boost * raw.category_share),
        }

    def total(self, raw: RawParts, w: HybridWeights) -> Floats:
        """The hybrid score: the sum of the weighted parts."""
        parts = self.blend(raw, w)
        out: Floats = parts["co_purchase"] + parts["content"] + parts["popular"]
        return out

    def scores(
        self, rows: Ints, model: ModelName = "hybrid", exclude_bought: bool = True
    ) -> Floats:
        """Scores of every candidate product for customers at ``rows`` under ``model``."""
        if model == "popularity":
            return np.tile(self.purchase_counts, (len(rows), 1))
        if model == "item_knn":
            knn: Floats = (self.bought[rows] @ self._plain_similarity).toarray()
            return knn
        return self.total(self.raw_parts(rows, exclude_bought), self.weights)

    @cached_property
    def _plain_similarity(self) -> sp.csr_matrix:
        """Item-kNN baseline: cosine on who bought what, no decay or shrinkage."""
        return item_similarity(self.bought, NEIGHBOURS, 0.0)

    def rank(
        self,
        scores: Floats,
        rows: Ints,
        k: int,
        *,
        exclude_purchased: bool = True,
        in_stock_only: bool = True,
        max_per_category: int | None = None,
        category: str | None = None,
    ) -> list[list[int]]:
        """Top-``k`` product positions per row of ``scores`` under the exclusion rules."""
        scores = scores.astype("float64", copy=True)
        if in_stock_only:
            scores[:, ~self.in_stock] = -np.inf
        if category is not None:
            scores[:, self.products["category"].to_numpy() != category] = -np.inf
        if exclude_purchased:
            bought = self.bought[rows].tocoo()
            scores[bought.row, bought.col] = -np.inf
        out = []
        for row in scores:
            if max_per_category is None and len(row) > k:
                head = np.argpartition(-row, k)[:k]
                order = head[np.lexsort((head, -row[head]))]
            else:
                order = np.argsort(-row, kind="stable")
            picks: list[int] = []
            per_cat: dict[int, int] = {}
            for pos in order:
                if not np.isfinite(row[pos]):
                    break
                code = int(self.category_codes[pos])
                if max_per_category is not None and per_cat.get(code, 0) >= max_per_category:
                    continue
                per_cat[code] = per_cat.get(code, 0) + 1
                picks.append(int(pos))
                if len(picks) == k:
                    break
            out.append(picks)
        return out

    def recommend(
        self,
        customer_id: str,
        k: int = 5,
        *,
        category: str | None = None,
        exclude_purchased: bool = True,
        max_per_category: int | None = 2,
    ) -> list[Recommendation]:
        """Up to ``k`` products for one customer, each with a score and a reason."""
        rows = self.rows_of([customer_id])
        parts = self.blend(self.raw_parts(rows, exclude_purchased), self.weights)
        weighted = np.stack([parts[kind][0] for kind in KINDS])
        total = weighted.sum(axis=0)
        picks = self.rank(
            total[None, :],
            rows,
            k,
            exclude_purchased=exclude_purchased,
            max_per_category=None if category else max_per_category,
            category=category,
        )[0]
        return [
            self._explain(int(rows[0]), pos, float(total[pos]), weighted[:, pos]) for pos in picks
        ]

    def _explain(self, row: int, pos: int, score: float, parts: Floats) -> Recommendation:
        """Turn a product position into a ``Recommendation`` with a plain reason."""
        p = self.products.iloc[pos]
        kind = KINDS[int(np.argmax(parts))]
        label = self.category_display[int(self.category_codes[pos])]
        if kind == "co_purchase":
            contrib = self.history[row].multiply(self.similar[:, pos].T).tocsr()
            anchor = int(contrib.indices[np.argmax(contrib.data)]) if contrib.nnz else pos
            reason = f"often bought with {self.products['title'].iloc[anchor]}"
        elif kind == "content":
            reason = f"matches your interest in {label}"
        else:
            reason = f"popular in {label}"
        return Recommendation(
            product_id=str(p["product_id"]),
            title=str(p["title"]),
            title_zh=str(p["title_zh"]),
            category=str(p["category"]),
            brand=str(p["brand"]),
            price=float(p["price"]),
            currency=str(p["currency"]),
            score=round(score, 4),
            reason=reason,
            reason_kind=kind,
        )


def load_recommender(shop: ShopData, profiles: ProfileStore) -> Recommender:
    """Fit the recommender on the shop's events up to the profiles' "as of" time.

    The tuned weights are cached beside the profiles (per data version), so only the first
    load of a shop pays for tuning; an unreadable cache is ignored with a log line.
    """
    labels = {c: profiles.category_label(c) for c in profiles.categories}
    path = None
    weights = None
    if profiles.cache_dir is not None:
        path = profiles.cache_dir / "recommender" / f"{profiles.data_version}-weights.json"
        if path.is_file():
            try:
                weights = HybridWeights(**json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError) as exc:
                logger.warning("recommender weights cache %s unreadable (%s); retuning", path, exc)
    rec = Recommender(
        shop.products, shop.events, profiles.as_of, weights=weights, category_labels=labels
    )
    if path is not None and weights is None:
        text = json.dumps(rec.weights.__dict__)

        def write(tmp: Path) -> None:
            tmp.write_text(text, encoding="utf-8")

        atomic_write(path, write)
    return rec


class RecommendDeps(Protocol):
    """What the recommendation tool uses from ``tools.deps.ToolDeps``."""

    @property
    def profiles(self) -> ProfileStore:
        """Customer profiles."""
        ...

    @property
    def recommender(self) -> Recommender:
        """The hybrid recommender."""
        ...


def recommend_products(
    deps: RecommendDeps,
    customer_id: str,
    k: int = 5,
    category: str | None = None,
    exclude_purchased: bool = True,
    max_per_category: int = 2,
) -> RecommendationResult:
    """Recommend products for one customer, each with a score and a plain-language reason.

    Args:
        deps: The shop's stores (supplied by the runtime, not by the model).
        customer_id: The customer's id, e.g. "C00042".
        k: How many products (1-50).
        category: Only products of this category, e.g. "outdoor_gear" (optional).
        exclude_purchased: Leave out products the customer already bought.
        max_per_category: At most this many products from one category (ignored when a
            category is given).
    """
    if not 1 <= k <= MAX_K:
        raise ToolInputError(f"k must be between 1 and {MAX_K}, got {k}")
    if max_per_category < 1:
        raise ToolInputError(f"max_per_category must be at least 1, got {max_per_category}")
    profile = deps.profiles.get(customer_id.strip())
    wanted = None
    if category is not None:
        wanted = deps.profiles.resolve_categories([category], field="category")[0]
    items = deps.recommender.recommend(
        profile.customer_id,
        k,
        category=wanted,
        exclude_purchased=exclude_purchased,
        max_per_category=max_per_category,
    )
    return RecommendationResult(
        customer_id=profile.customer_id, first_name=profile.first_name, items=items
    )
