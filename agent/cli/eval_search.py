"""``python -m agent eval search --catalog instacart``: product search quality and speed.

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

import argparse
from typing import Any

from agent.cli.common import PathArg, fail, load_settings, print_json, print_table, run_guarded
from agent.evals.search import DEFAULT_INSTACART


def register(groups: dict[str, Any]) -> None:
    """Add ``eval search``."""
    parser = groups["eval"].add_parser(
        "search",
        help="precision@10, MRR and latency of product search on a real catalog",
        description=(
            "Each aisle of the Instacart catalog is a query, its products the relevant set. "
            "Prints precision@10 and MRR@10 for vector, lexical and hybrid search, the index "
            "build time (build_s, this run; the index is kept under the state directory) and "
            "the hybrid query latency (query_p50_ms). --json prints one object: "
            '{"methods": {"vector": {"precision@10": .., "mrr": ..}, "lexical": {..}, '
            '"hybrid": {..}}, "build_s": .., "query_p50_ms": ..}.'
        ),
    )
    parser.add_argument(
        "--catalog", choices=["instacart"], default="instacart", help="which catalog to use"
    )
    parser.add_argument(
        "--path", type=PathArg("read", "dir", "--path"), default=None,
        help=f"catalog folder (default: {DEFAULT_INSTACART})",
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="use only the first N products (quick runs)"
    )
    parser.add_argument(
        "--compare-fusion",
        action="store_true",
        help="also score reciprocal rank fusion and other vector weights",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run_guarded(run_eval_search))


def run_eval_search(args: argparse.Namespace) -> int:
    """Run the evaluation and print a table or one JSON object."""
    from agent.evals.search import evaluate_search

    if args.limit is not None and args.limit < 1:
        return fail("--limit must be at least 1")
    out = evaluate_search(
        load_settings(args).tool_config(), args.path, args.limit, args.compare_fusion
    )
    if args.json:
        print_json(out)
        return 0
    rows = [[m, v["precision@10"], v["mrr"]] for m, v in out["methods"].items()]
    print_table(["method", "precision@10", "MRR@10"], rows)
    full_build_s = out["full_build_s"]
    full = f"; a full build took {full_build_s:.1f}s" if full_build_s else ""
    print(
        f"\n{out['products']:,} products, {out['queries']} aisle queries. Index load/build "
        f"{out['build_s']:.1f}s this run ({out['embedded']:,} embedded{full}). Hybrid query "
        f"latency p50 {out['query_p50_ms']} ms, p95 {out['query_p95_ms']} ms."
    )
    return 0


