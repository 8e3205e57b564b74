"""Recommendation quality on a time split, against two baselines (``eval recommend``).

The last 20% of the event time span is held out. The recommenders are fitted on the events
before the split; the test set is, for every customer with training history, the products
they bought in the holdout that they had not bought before (recommendations leave bought
products out). Each model ranks every product (stock is ignored: it describes today, not
the holdout) and is scored by HR@10 (share of test customers with at least one hit in the
top 10), NDCG@10 and catalog coverage (share of the catalog recommended to anyone).
Models: the hybrid (its weights tuned on the training period alone, see
``tools.recommend.recommender``), global popularity (purchase counts) and plain item-kNN
(cosine, no decay or shrinkage).
On a shop with a ``truth/tastes.parquet`` (the demo), it also reports how well the profiles
recover the planted tastes.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tools.config import ToolConfig
from tools.errors import ToolInputError
from tools.shop.store import ShopData, load_shop

logger = logging.getLogger(__name__)

MODELS = ("hybrid", "popularity", "item_knn")
BATCH = 256


def split_events(
    events: pd.DataFrame, holdout: float = 0.2
) -> tuple[pd.DataFrame, dict[str, set[str]], pd.Timestamp]:
    """Split events in time: training events, test purchases per customer, the split time.

    Test purchases are holdout purchases by customers with training history, minus products
    the customer already bought in training; customers left with none are dropped.
    """
    if not 0 < holdout < 1:
        raise ToolInputError(f"holdout must be between 0 and 1, got {holdout}")
    if events.empty:
        raise ToolInputError("the shop has no events to evaluate on")
    start, end = events["timestamp"].min(), events["timestamp"].max()
    split = start + (end - start) * (1 - holdout)
    train = events[events["timestamp"] < split]
    test = events[(events["timestamp"] >= split) & (events["event_type"] == "purchase")]
    test = test[test["customer_id"].isin(train["customer_id"].unique())]
    bought = train.loc[train["event_type"] == "purchase", ["customer_id", "product_id"]]
    seen = pd.MultiIndex.from_frame(bought.drop_duplicates())
    pairs = test[["customer_id", "product_id"]].drop_duplicates()
    pairs = pairs[~pd.MultiIndex.from_frame(pairs).isin(seen)]
    truth = pairs.groupby("customer_id")["product_id"].agg(set).to_dict()
    return train, {str(c): {str(p) for p in ps} for c, ps in truth.items()}, split


def ranking_metrics(
    ranked: list[list[str]], relevant: list[set[str]], k: int, catalog_size: int
) -> dict[str, float]:
    """HR@k, NDCG@k (binary relevance) and catalog coverage of ranked lists."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    hits, ndcgs, shown = [], [], set()
    for items, rel in zip(ranked, relevant, strict=True):
        top = items[:k]
        shown.update(top)
        gains = np.array([1.0 if p in rel else 0.0 for p in top] + [0.0] * (k - len(top)))
        ideal = discounts[: min(len(rel), k)].sum()
        hits.append(float(gains.any()))
        ndcgs.append(float((gains * discounts).sum() / ideal) if ideal else 0.0)
    return {
        f"hr@{k}": float(np.mean(hits)) if hits else 0.0,
        f"ndcg@{k}": float(np.mean(ndcgs)) if ndcgs else 0.0,
        "coverage": len(shown) / catalog_size if catalog_size else 0.0,
    }


def evaluate_recommenders(
    shop: ShopData,
    k: int = 10,
    holdout: float = 0.2,
    max_per_category: int | None = None,
) -> dict[str, Any]:
    """Fit on the first part of the history, rank for the holdout customers, and score.

    Returns:
        ``{"models": {name: {"hr@k", "ndcg@k", "coverage"}}, "test_customers", "split_at",
        "ratios": hybrid over popularity, ...}``.
    """
    from tools.recommend.recommender import Recommender

    train, truth, split = split_events(shop.events, holdout)
    if not truth:
        raise ToolInputError("no customer with training history bought anything new in the holdout")
    t0 = time.perf_counter()
    rec = Recommender(shop.products, train, split)
    fit_s = time.perf_counter() - t0
    customers = sorted(truth)
    relevant = [truth[c] for c in customers]
    ids = rec.item_index.to_numpy()
    models: dict[str, dict[str, float]] = {}
    for model in MODELS:
        ranked: list[list[str]] = []
        for lo in range(0, len(customers), BATCH):
            rows = rec.rows_of(customers[lo : lo + BATCH])
            scores = rec.scores(rows, model)  # type: ignore[arg-type]
            picks = rec.rank(
                scores, rows, k, in_stock_only=False, max_per_category=max_per_category
            )
            ranked.extend([[str(ids[p]) for p in row] for row in picks])
        models[model] = ranking_metrics(ranked, relevant, k, len(shop.products))
    hybrid, pop = models["hybrid"], models["popularity"]

    def ratio(metric: str) -> float | None:
        return hybrid[metric] / pop[metric] if pop[metric] else None

    return {
        "models": models,
        "k": k,
        "test_customers": len(customers),
        "test_purchases": sum(len(r) for r in relevant),
        "split_at": split.isoformat(),
        "fit_s": round(fit_s, 2),
        "hybrid_tuning": rec.tuning,
        "ratios": {f"hr@{k}": ratio(f"hr@{k}"), f"ndcg@{k}": ratio(f"ndcg@{k}")},
    }


def taste_recovery(shop: ShopData, table: pd.DataFrame) -> dict[str, Any] | None:
    """How often a profile's top category is among the customer's two planted top tastes.

    Reads ``truth/tastes.parquet`` (customer_id, category, weight) beside the shop's data;
    None when there is none. Baselines: a uniformly random category (2 / categories) and
    the shop's most common top category given to everyone.
    """
    if shop.source_dir is None:
        return None
    path = Path(shop.source_dir) / "truth" / "tastes.parquet"
    if not path.is_file():
        return None
    tastes = pd.read_parquet(path)
    ordered = tastes.sort_values(["customer_id", "weight"], ascending=[True, False])
    top2 = ordered.groupby("customer_id").head(2).groupby("customer_id")["category"].agg(set)
    top1 = ordered.groupby("customer_id").head(1).set_index("customer_id")["category"]
    guess = table["top_category"].dropna()
    guess = guess[guess.index.isin(top2.index)]
    if guess.empty:
        return None
    true_sets = top2.reindex(guess.index)
    hit = np.array([g in s for g, s in zip(guess, true_sets, strict=True)])
    common = guess.mode().iloc[0]
    common_hit = np.array([common in s for s in true_sets])
    n_cats = tastes["category"].nunique()
    return {
        "customers": len(guess),
        "top_category_in_true_top2": round(float(hit.mean()), 4),
        "top_category_is_true_top1": round(float((guess == top1.reindex(guess.index)).mean()), 4),
        "random_baseline": round(min(1.0, 2 / n_cats), 4),
        "most_common_category_baseline": round(float(common_hit.mean()), 4),
    }


def evaluate_shop(
    config: ToolConfig, k: int = 10, holdout: float = 0.2, max_per_category: int | None = None
) -> dict[str, Any]:
    """``evaluate_recommenders`` on the configured shop, plus taste recovery where planted."""
    from tools.customers.profiles import load_profile_store

    shop = load_shop(config.data_dir)
    report = evaluate_recommenders(shop, k=k, holdout=holdout, max_per_category=max_per_category)
    tastes = None
    if (Path(config.data_dir) / "truth" / "tastes.parquet").is_file():
        store = load_profile_store(shop, config.cache_dir)
        tastes = taste_recovery(shop, store.table)
    report["taste_recovery"] = tastes
    return report
