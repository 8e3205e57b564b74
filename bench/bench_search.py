"""Product search latency at 50,000 products (the Instacart catalog), p50 and p99.

Measured in one run on the same index: the hybrid search as the tool runs it (query embedding,
Chroma nearest neighbours, BM25, fusion, matched fields; with and without the default stock
filter), vector-only and lexical-only search, against the baseline of a bare BM25 query
(``bm25s`` scores over all products plus a top-10 selection, no embedding, no Chroma).
Query embeddings are not cached between timed queries.

The index is the one ``python -m agent eval search`` keeps under the state directory; the
first run builds it (every product embedded: about two minutes on an idle 2-core machine).

Run: ``.venv/bin/python bench/bench_search.py [--queries N]``
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.evals.search import DEFAULT_INSTACART, load_instacart  # noqa: E402
from agent.settings import Settings  # noqa: E402
from tools.catalog.embeddings import load_embedder  # noqa: E402
from tools.catalog.search import ProductIndex, collection_name_for, tokenize  # noqa: E402


def build_queries(index: ProductIndex, aisles: list[str], n: int) -> list[str]:
    """Aisle names plus the first two words of evenly spaced product names."""
    queries = list(aisles)
    step = max(1, len(index.ids) // max(1, n))
    for row in index.frame["title"].iloc[::step]:
        queries.append(" ".join(str(row).split()[:2]))
        if len(queries) >= n:
            break
    return queries[:n]


def timed(index: ProductIndex, queries: list[str], run: Callable[[str], object]) -> np.ndarray:
    out = []
    for query in queries:
        index.clear_query_cache()
        started = time.perf_counter()
        run(query)
        out.append((time.perf_counter() - started) * 1000)
    return np.array(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=300, help="queries per variant")
    args = parser.parse_args()
    settings = Settings()
    frame, relevant = load_instacart(DEFAULT_INSTACART)
    name = collection_name_for(DEFAULT_INSTACART, prefix="instacart") + "_all"
    started = time.perf_counter()
    index = ProductIndex(frame, settings, load_embedder(), collection=name)
    report = index.sync()
    print(
        f"index: {len(index):,} products, loaded in {time.perf_counter() - started:.1f}s "
        f"({report.embedded:,} embedded this run)"
    )
    queries = build_queries(index, sorted(relevant), args.queries)
    bm25 = index._bm25  # the bare retriever behind the lexical side

    def bare_bm25(query: str) -> object:
        scores = bm25.get_scores_from_ids(bm25.get_tokens_ids(tokenize(query, query=True)) or [0])
        return np.argpartition(-scores, 10)[:10]

    variants: dict[str, Callable[[str], object]] = {
        "baseline: bare BM25 top-10": bare_bm25,
        "lexical search": lambda q: index.search(q, method="lexical", in_stock_only=False),
        "vector search": lambda q: index.search(q, method="vector", in_stock_only=False),
        "hybrid search": lambda q: index.search(q, in_stock_only=False),
        "hybrid search, in stock": lambda q: index.search(q),
        "hybrid search, k=50": lambda q: index.search(q, k=50, in_stock_only=False),
    }
    for run in variants.values():  # warm every path once
        run("warm up")
    results = {label: timed(index, queries, run) for label, run in variants.items()}
    base = float(np.percentile(results["baseline: bare BM25 top-10"], 50))
    print(f"{len(queries)} queries each (aisle names and product-name prefixes)")
    print(f"{'variant':30} {'p50 ms':>8} {'p99 ms':>8} {'p50 / baseline':>15}")
    for label, times in results.items():
        p50, p99 = np.percentile(times, [50, 99])
        print(f"{label:30} {p50:8.2f} {p99:8.2f} {p50 / base:14.1f}x")
    hybrid = float(np.percentile(results["hybrid search"], 50))
    print(f"hybrid p50 {hybrid:.2f} ms (target < 30 ms at 50k products)")
    index.close()


if __name__ == "__main__":
    main()
