"""Product search quality and speed on a real catalog (``eval search --catalog instacart``).

Over the Instacart catalog (49,688 real product names), each aisle name is a query and the
products of that aisle are its relevant set (silver labels). The aisle is the label and is
never indexed; the department is product data (a coarse category path) and is indexed as the
product's category. For vector-only, lexical-only and hybrid ranking it reports
precision@10 and MRR@10 (reciprocal rank of the first relevant product in the top 10).

**Splits.** An aisle whose name has an even sha1 belongs to the tuning part (what the
indexed text and the fusion weights were chosen and fitted on), the others to the reporting
part; the headline figures are the reporting part's (``report``), and both parts and the
aisle names of each are in the JSON output. The Chinese queries
(``agent/evals/data/instacart_zh_queries.tsv``, written before tuning: one shopper's query
per aisle, the aisles "missing" and "other" left out) are split the same way, by aisle.

**Speed.** Hybrid query latency includes embedding the query (the query cache is cleared
before each); the baseline is a bare chromadb nearest-neighbour query for an embedding
computed beforehand, timed in the same run on the same collection (the ratio is printed).

The index lives under the state directory and is kept between runs (the first run embeds
every product, about 90 seconds; later runs only check content hashes).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from tools.config import SHARED_DATASETS_DIR, ToolConfig

logger = logging.getLogger(__name__)

DEFAULT_INSTACART = SHARED_DATASETS_DIR / "instacart_catalog"
DATA_DIR = Path(__file__).with_name("data")
INSTACART_ZH = DATA_DIR / "instacart_zh_queries.tsv"
K = 10
METHODS: dict[str, dict[str, Any]] = {
    "vector": {"method": "vector"},
    "lexical": {"method": "lexical"},
    "hybrid": {"method": "hybrid"},
}
FUSION_VARIANTS: dict[str, dict[str, Any]] = {
    "hybrid_weighted": {"method": "hybrid", "fusion": "weighted"},
    "hybrid_rrf": {"method": "hybrid", "fusion": "rrf"},
}


def split_of(name: str) -> str:
    """``tune`` or ``report``: the deterministic part a query belongs to (sha1 parity)."""
    digest = int(hashlib.sha1(name.encode("utf-8")).hexdigest(), 16)
    return "tune" if digest % 2 == 0 else "report"


def load_instacart(path: Path, limit: int | None = None) -> tuple[Any, dict[str, list[str]]]:
    """Products as a catalog frame, and each aisle's product ids (aisle name -> ids).

    The department is the product's category; the aisle only makes the relevant sets.

    Raises:
        DataNotFoundError: the folder or one of its CSV files is missing.
    """
    import pandas as pd

    from tools.errors import DataNotFoundError

    files = {name: path / f"{name}.csv" for name in ("products", "aisles", "departments")}
    for file in files.values():
        if not file.is_file():
            raise DataNotFoundError(f"Instacart catalog file not found: {file}")
    products = pd.read_csv(files["products"]).sort_values("product_id")
    aisles = pd.read_csv(files["aisles"])
    departments = pd.read_csv(files["departments"])
    if limit is not None:
        products = products.head(limit)
    ids = products["product_id"].map(lambda n: f"P{int(n):05d}")
    department = dict(
        zip(departments["department_id"], departments["department"].astype(str), strict=True)
    )
    frame = pd.DataFrame(
        {
            "product_id": ids,
            "title": products["product_name"].astype(str),
            "description": "",
            "title_zh": "",
            "description_zh": "",
            "category": products["department_id"].map(department).fillna("").astype(str),
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


def load_chinese_queries(path: Path = INSTACART_ZH) -> dict[str, str]:
    """Aisle name -> Chinese query, from the tab-separated query file."""
    out: dict[str, str] = {}
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    for line in lines:
        if line.startswith("#") or line.startswith("aisle\t"):
            continue
        aisle, _, query = line.partition("\t")
        if not query.strip():
            raise ValueError(f"{path}: line {line!r} has no Chinese query after a tab")
        out[aisle.strip()] = query.strip()
    return out


def score_run(ranked: list[str], relevant: set[str], k: int = K) -> tuple[float, float]:
    """Precision@k and reciprocal rank (within the top k) of one ranked list.

    Precision divides by ``min(k, len(relevant))``, so a query with fewer than k relevant
    products can still score 1.
    """
    top = ranked[:k]
    hits = sum(1 for pid in top if pid in relevant)
    precision = hits / max(1, min(k, len(relevant)))
    rr = next((1.0 / (n + 1) for n, pid in enumerate(top) if pid in relevant), 0.0)
    return precision, rr


def summarise(per_query: dict[str, tuple[float, float]]) -> dict[str, dict[str, float]]:
    """Mean precision@10 and MRR over the tuning part, the reporting part and all queries."""
    out: dict[str, dict[str, float]] = {}
    for part in ("report", "tune", "all"):
        values = [v for q, v in per_query.items() if part == "all" or split_of(q) == part]
        out[part] = {
            "precision@10": round(float(np.mean([p for p, _ in values])), 4) if values else 0.0,
            "mrr": round(float(np.mean([r for _, r in values])), 4) if values else 0.0,
            "queries": len(values),
        }
    return out


def evaluate_search(
    config: ToolConfig,
    path: Path | None = None,
    limit: int | None = None,
    compare_fusion: bool = False,
    fit: bool = False,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Build (or reuse) the index, run every aisle query per method and score them.

    Args:
        config: Where the index lives.
        path: The Instacart folder.
        limit: Use only the first N products.
        compare_fusion: Also score the weighted and reciprocal rank fusions.
        fit: Refit the fusion weights on the tuning part first and write them to
            ``tools/catalog/fusion_weights.json`` (only on the whole catalog).
        progress: Show a progress bar while embedding (None: on a terminal).

    Returns:
        ``{"methods": {name: {"precision@10", "mrr", "tune", "all"}}, "chinese", "latency",
        "build_s", "query_p50_ms", "splits", ...}`` (top-level figures: the reporting part).
    """
    from tools.catalog.embeddings import load_embedder
    from tools.catalog.search import ProductIndex, collection_name_for

    path = path or DEFAULT_INSTACART
    frame, relevant = load_instacart(path, limit)
    name = collection_name_for(path, prefix="instacart") + f"_{limit or 'all'}"
    started = time.perf_counter()
    index = ProductIndex(frame, config, load_embedder(), collection=name)
    index.start_sync()
    report = index.wait(progress=progress)
    assert report is not None  # a finished sync always leaves its report
    build_s = time.perf_counter() - started
    full_build_s = _remember_full_build(config.cache_dir, name, report.embedded, len(frame),
                                        build_s)
    queries = sorted(relevant)
    out: dict[str, Any] = {"catalog": "instacart"}
    if fit:
        if limit is not None:
            raise ValueError("fit the fusion on the whole catalog (no --limit)")
        out["fitted"] = fit_fusion_weights(index, relevant, path)
    variants = dict(METHODS)
    if compare_fusion:
        variants.update(FUSION_VARIANTS)
    index.search(queries[0], k=K, in_stock_only=False)  # warm-up (sessions, caches)
    methods: dict[str, Any] = {}
    latencies: list[float] = []
    for label, options in variants.items():
        index.clear_query_cache()  # every method pays for embedding its queries
        per_query: dict[str, tuple[float, float]] = {}
        for query in queries:
            t0 = time.perf_counter()
            result = index.search(query, k=K, in_stock_only=False, **options)
            if label == "hybrid":
                latencies.append((time.perf_counter() - t0) * 1000)
            per_query[query] = score_run([h.product_id for h in result.hits],
                                         set(relevant[query]))
        parts = summarise(per_query)
        methods[label] = {**parts["report"], "tune": parts["tune"], "all": parts["all"]}
    out["methods"] = methods
    out["chinese"] = _chinese(index, relevant)
    if fit:
        out["fitted"]["provenance"]["figures"] = {
            m: {"tune": methods[m]["tune"], "report": {
                key: methods[m][key] for key in ("precision@10", "mrr", "queries")}}
            for m in METHODS
        }
        _write_weights(out["fitted"])
    out["latency"] = _latency(index, queries, latencies)
    out.update(
        {
            "build_s": round(build_s, 2),
            "query_p50_ms": out["latency"]["hybrid_p50_ms"],
            "query_p95_ms": out["latency"]["hybrid_p95_ms"],
            "products": len(frame),
            "queries": len(queries),
            "embedded": report.embedded,
            "full_build_s": full_build_s,
            "splits": {
                "rule": "an aisle whose sha1 is even is tuning, odd is reporting",
                "tune": [q for q in queries if split_of(q) == "tune"],
                "report": [q for q in queries if split_of(q) == "report"],
            },
        }
    )
    index.close()
    return out


def _chinese(index: Any, relevant: dict[str, list[str]]) -> dict[str, Any]:
    """Hybrid precision@10 and MRR of the Chinese aisle queries (per part)."""
    per_query: dict[str, tuple[float, float]] = {}
    read_as: dict[str, str] = {}
    for aisle, query in load_chinese_queries().items():
        if aisle not in relevant:
            continue  # a --limit run may lack the aisle
        result = index.search(query, k=K, in_stock_only=False)
        read_as[query] = result.read_as
        per_query[aisle] = score_run([h.product_id for h in result.hits], set(relevant[aisle]))
    parts = summarise(per_query)
    return {**parts["report"], "tune": parts["tune"], "all": parts["all"], "read_as": read_as}


def _latency(index: Any, queries: list[str], latencies: list[float]) -> dict[str, float]:
    """Hybrid p50/p95 (query embedding included) against a bare chromadb query, same run."""
    vectors = [index.query_vector(q) for q in queries]
    collection = index.collection  # the bare baseline: chromadb itself, nothing of ours
    bare: list[float] = []
    for vector in vectors:
        t0 = time.perf_counter()
        collection.query(query_embeddings=[vector], n_results=K, include=["distances"])
        bare.append((time.perf_counter() - t0) * 1000)
    hybrid_p50 = float(np.percentile(latencies, 50))
    bare_p50 = float(np.percentile(bare, 50))
    return {
        "hybrid_p50_ms": round(hybrid_p50, 2),
        "hybrid_p95_ms": round(float(np.percentile(latencies, 95)), 2),
        "bare_chroma_p50_ms": round(bare_p50, 2),
        "ratio_p50": round(hybrid_p50 / max(bare_p50, 1e-9), 2),
    }


def fit_fusion_weights(index: Any, relevant: dict[str, list[str]], path: Path) -> dict[str, Any]:
    """Fit the fusion on the tuning aisles, install it in ``index`` and write the weights file."""
    from tools.catalog.fusion import fit_fusion, load_fusion_model

    features, labels = [], []
    tuning = [q for q in sorted(relevant) if split_of(q) == "tune"]
    for query in tuning:
        ids, matrix = index.fusion_features(query, k=K)
        if ids:
            wanted = set(relevant[query])
            features.append(matrix)
            labels.append(np.array([pid in wanted for pid in ids], dtype=bool))
    provenance = {
        "catalog": f"Instacart ({len(index):,} products, {path.name})",
        "queries": f"the {len(tuning)} tuning aisles (sha1 even) of {len(relevant)}; "
        "the odd ones are kept for reporting",
        "labels": "a product is relevant to an aisle query when it is in that aisle",
        "fitted_at": datetime.now(UTC).strftime("%Y-%m-%d"),
        "command": "python -m agent eval search --catalog instacart --fit-fusion",
    }
    model = fit_fusion(features, labels, provenance)
    load_fusion_model.cache_clear()
    index.fusion_model = model
    return model.to_json()


def _write_weights(fitted: dict[str, Any]) -> None:
    from tools.catalog.fusion import WEIGHTS_PATH, load_fusion_model

    WEIGHTS_PATH.write_text(json.dumps(fitted, indent=2) + "\n", encoding="utf-8")
    load_fusion_model.cache_clear()
    logger.info("wrote fusion weights to %s", WEIGHTS_PATH)


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
