"""Product search quality and speed on a real catalog (``eval search --catalog instacart``).

Over the Instacart catalog (49,688 real product names), each aisle name is a query and the
products of that aisle are its relevant set (silver labels). For vector-only, lexical-only
and hybrid ranking it reports precision@10 and MRR@10 (reciprocal rank of the first relevant
product in the top 10), plus the index build time of this run and the hybrid query latency.
Products are indexed by their name only: aisle and department are the labels, so they are
kept out of the index.

The index lives under the state directory and is kept between runs (the first run embeds
every product, about two minutes; later runs only check content hashes).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from tools.config import SHARED_DATASETS_DIR, ToolConfig

logger = logging.getLogger(__name__)

DEFAULT_INSTACART = SHARED_DATASETS_DIR / "instacart_catalog"
K = 10


def load_instacart(path: Path, limit: int | None = None) -> tuple[Any, dict[str, list[str]]]:
    """Products as a catalog frame, and each aisle's product ids (aisle name -> ids).

    Raises:
        DataNotFoundError: the folder or one of its CSV files is missing.
    """
    import pandas as pd

    from tools.errors import DataNotFoundError

    files = {name: path / f"{name}.csv" for name in ("products", "aisles")}
    for file in files.values():
        if not file.is_file():
            raise DataNotFoundError(f"Instacart catalog file not found: {file}")
    products = pd.read_csv(files["products"]).sort_values("product_id")
    aisles = pd.read_csv(files["aisles"])
    if limit is not None:
        products = products.head(limit)
    ids = products["product_id"].map(lambda n: f"P{int(n):05d}")
    frame = pd.DataFrame(
        {
            "product_id": ids,
            "title": products["product_name"].astype(str),
            "description": "",
            "title_zh": "",
            "description_zh": "",
            "category": "",
            "brand": "",
            "price": 1.0,
            "currency": "USD",
            "stock": 1,
            "tags": [[] for _ in range(len(products))],
            "reviews": [[] for _ in range(len(products))],
        }
    )
    names = dict(zip(aisles["aisle_id"], aisles["aisle"].astype(str), strict=True))
    relevant: dict[str, list[str]] = {}
    for aisle_id, pid in zip(products["aisle_id"], ids, strict=True):
        relevant.setdefault(names[aisle_id], []).append(pid)
    return frame, relevant


def score_run(ranked: list[str], relevant: set[str], k: int = K) -> tuple[float, float]:
    """Precision@k and reciprocal rank (within the top k) of one ranked list."""
    top = ranked[:k]
    precision = sum(1 for pid in top if pid in relevant) / k
    rr = next((1.0 / (n + 1) for n, pid in enumerate(top) if pid in relevant), 0.0)
    return precision, rr


def evaluate_search(
    config: ToolConfig,
    path: Path | None = None,
    limit: int | None = None,
    compare_fusion: bool = False,
) -> dict[str, Any]:
    """Build (or reuse) the index, run every aisle query per method and score them.

    Returns:
        ``{"methods": {name: {"precision@10", "mrr"}}, "build_s", "query_p50_ms", ...}``.
    """
    from tools.catalog.embeddings import load_embedder
    from tools.catalog.search import ProductIndex, collection_name_for

    path = path or DEFAULT_INSTACART
    frame, relevant = load_instacart(path, limit)
    name = collection_name_for(path, prefix="instacart") + f"_{limit or 'all'}"
    started = time.perf_counter()
    index = ProductIndex(frame, config, load_embedder(), collection=name)
    report = index.sync()
    build_s = time.perf_counter() - started
    full_build_s = _remember_full_build(
        config.cache_dir, name, report.embedded, len(frame), build_s
    )

    variants: dict[str, dict[str, Any]] = {
        "vector": {"method": "vector"},
        "lexical": {"method": "lexical"},
        "hybrid": {"method": "hybrid"},
    }
    if compare_fusion:
        variants["hybrid_rrf"] = {"method": "hybrid", "fusion": "rrf"}
        for weight in (0.3, 0.5, 0.7, 0.8, 0.9):
            variants[f"hybrid_w{weight:g}"] = {"method": "hybrid", "vector_weight": weight}
    queries = sorted(relevant)
    index.search(queries[0], k=K, in_stock_only=False)  # warm-up (sessions, caches)
    methods: dict[str, dict[str, float]] = {}
    latencies: list[float] = []
    for label, options in variants.items():
        index.clear_query_cache()  # every method pays for embedding its queries
        precisions, rrs = [], []
        for query in queries:
            t0 = time.perf_counter()
            result = index.search(query, k=K, in_stock_only=False, **options)
            if label == "hybrid":
                latencies.append((time.perf_counter() - t0) * 1000)
            p, rr = score_run([h.product_id for h in result.hits], set(relevant[query]))
            precisions.append(p)
            rrs.append(rr)
        methods[label] = {
            "precision@10": round(float(np.mean(precisions)), 4),
            "mrr": round(float(np.mean(rrs)), 4),
        }
    out: dict[str, Any] = {
        "methods": methods,
        "build_s": round(build_s, 2),
        "query_p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "query_p95_ms": round(float(np.percentile(latencies, 95)), 2),
        "products": len(frame),
        "queries": len(queries),
        "embedded": report.embedded,
        "full_build_s": full_build_s,
    }
    return out


def _remember_full_build(
    cache_dir: Path, name: str, embedded: int, products: int, seconds: float
) -> float | None:
    """Keep the time of the last build that embedded everything (later runs only load)."""
    record = cache_dir / "eval" / f"{name}.json"
    if embedded == products and products > 0:
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"full_build_s": round(seconds, 2)}), encoding="utf-8")
        return round(seconds, 2)
    try:
        value = json.loads(record.read_text(encoding="utf-8")).get("full_build_s")
    except (OSError, ValueError):
        return None
    return float(value) if isinstance(value, (int, float)) else None
