"""Product search in Chinese and English on the demo shop (``eval search --catalog demo``).

The queries (``agent/evals/data/demo_queries.jsonl``) were written before any tuning: 138
pairs of a Chinese query and the same query in English, of four kinds (category words,
product types, attributes and materials, brands with a category word), in the words a
shopper would use rather than the shop's own labels ("护肤品" for the category the shop calls
"美妆护肤"). Relevance comes from the catalog itself: a product is relevant when it matches
every key of the query's ``relevant`` (``category``: any of these slugs; ``tags_any``: any of
these tags, which in the demo are the product type, adjective and material; ``brand``: any
of these brands).

Both languages run the default hybrid search (any stock). Precision@10 divides by
``min(10, relevant products)``; MRR@10 is the reciprocal rank of the first relevant hit.
Queries are split like the Instacart ones (sha1 of the query id: even tuning, odd
reporting); the gap (Chinese minus English precision@10) is the reporting part's.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from agent.evals.search import DATA_DIR, K, score_run, split_of
from tools.config import DEMO_DATA_DIR, ToolConfig

logger = logging.getLogger(__name__)

DEMO_QUERIES = DATA_DIR / "demo_queries.jsonl"
RELEVANCE_KEYS = {"category", "tags_any", "brand"}


def load_demo_queries(path: Path = DEMO_QUERIES) -> list[dict[str, Any]]:
    """The paired queries (the file's first line is a note and is skipped).

    Raises:
        ValueError: a line is not a query with ``id``, ``zh``, ``en`` and ``relevant``.
    """
    queries: list[dict[str, Any]] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if "note" in row and "id" not in row:
            continue
        relevant = row.get("relevant")
        if (
            not all(isinstance(row.get(key), str) and row[key] for key in ("id", "zh", "en"))
            or not isinstance(relevant, dict)
            or not relevant
            or set(relevant) - RELEVANCE_KEYS
        ):
            raise ValueError(f"{path}: line {n} is not a query with id, zh, en and relevant")
        queries.append(row)
    return queries


def relevant_ids(products: Any, relevant: dict[str, list[str]]) -> set[str]:
    """Product ids that match every key of a query's ``relevant``."""
    mask = np.ones(len(products), dtype=bool)
    if "category" in relevant:
        mask &= products["category"].isin(relevant["category"]).to_numpy()
    if "brand" in relevant:
        mask &= products["brand"].isin(relevant["brand"]).to_numpy()
    if "tags_any" in relevant:
        wanted = {t.lower() for t in relevant["tags_any"]}
        mask &= np.array(
            [bool(wanted & {str(t).lower() for t in tags}) for tags in products["tags"]],
            dtype=bool,
        )
    return set(products["product_id"][mask].astype(str))


def evaluate_demo_search(config: ToolConfig, path: Path | None = None) -> dict[str, Any]:
    """Run every paired query in both languages and score them per part.

    Returns:
        ``{"languages": {"en": {"report", "tune", "all"}, "zh": {...}}, "gap", "by_kind",
        "queries", "products"}``.
    """
    from tools.catalog.embeddings import load_embedder
    from tools.catalog.search import load_product_index
    from tools.shop.store import load_shop

    shop = load_shop(path or DEMO_DATA_DIR, check_refs=False)
    index = load_product_index(shop, config, load_embedder())
    queries = load_demo_queries()
    scores: dict[str, dict[str, tuple[float, float]]] = {"en": {}, "zh": {}}
    kinds: dict[str, str] = {}
    for query in queries:
        wanted = relevant_ids(shop.products, query["relevant"])
        if not wanted:
            raise ValueError(f"query {query['id']} has no relevant product in this shop")
        kinds[query["id"]] = str(query.get("kind") or "")
        for lang in ("en", "zh"):
            result = index.search(query[lang], k=K, in_stock_only=False)
            scores[lang][query["id"]] = score_run([h.product_id for h in result.hits], wanted)
    index.close()
    languages = {lang: _parts(per_query) for lang, per_query in scores.items()}
    by_kind = {
        kind: {
            lang: round(float(np.mean([scores[lang][q][0] for q, k in kinds.items()
                                       if k == kind])), 4)
            for lang in ("en", "zh")
        }
        for kind in sorted(set(kinds.values()))
    }
    gap = languages["zh"]["report"]["precision@10"] - languages["en"]["report"]["precision@10"]
    return {
        "catalog": "demo",
        "languages": languages,
        "gap": round(gap, 4),
        "by_kind": by_kind,
        "queries": len(queries),
        "products": len(shop.products),
        "splits": {
            "rule": "a query whose id has an even sha1 is tuning, odd is reporting",
            "tune": [q["id"] for q in queries if split_of(q["id"]) == "tune"],
            "report": [q["id"] for q in queries if split_of(q["id"]) == "report"],
        },
    }


def _parts(per_query: dict[str, tuple[float, float]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for part in ("report", "tune", "all"):
        values = [v for q, v in per_query.items() if part == "all" or split_of(q) == part]
        out[part] = {
            "precision@10": round(float(np.mean([p for p, _ in values])), 4) if values else 0.0,
            "mrr": round(float(np.mean([r for _, r in values])), 4) if values else 0.0,
            "queries": len(values),
        }
    return out
