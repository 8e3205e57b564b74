"""``python -m agent eval search``: product search quality and speed, English and Chinese.

* ``--catalog instacart`` (default): each aisle of the Instacart catalog (49,688 products) is
  a query and its products the relevant set; precision@10 and MRR@10 for vector, lexical
  and hybrid search on the reporting part of the aisles (the tuning part and all aisles
  beside it), the Chinese aisle queries, and hybrid query latency against a bare chromadb
  query in the same run. The aisle is never indexed; the department is (as the category).
* ``--catalog demo``: 138 paired Chinese and English queries on the demo shop (categories,
  product types, attributes, brands), relevance from the catalog's categories and tags;
  precision@10 and MRR@10 per language and the gap between them.

The index lives under the state directory and is kept between runs (the first Instacart run
embeds every product, about 90 seconds, with a progress bar on a terminal).
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
        help="precision@10, MRR and latency of product search (Instacart, or the demo shop "
        "in Chinese and English)",
        description=(
            "--catalog instacart: each aisle of the Instacart catalog is a query, its products "
            "the relevant set. Prints precision@10 and MRR@10 for vector, lexical and hybrid "
            "search on the reporting part of the aisles (sha1 odd; the tuning part, sha1 even, "
            "chose the indexed text and fitted the fusion), the Chinese aisle queries, the "
            "index build time and the hybrid query latency (query embedding included) against "
            "a bare chromadb query. --catalog demo: paired Chinese and English queries on the "
            "demo shop. --json prints one object; for instacart: "
            '{"methods": {"vector": {"precision@10": .., "mrr": .., "tune": {..}, "all": {..}}, '
            '"lexical": {..}, "hybrid": {..}}, "chinese": {..}, "latency": {..}, "splits": '
            '{..}, "build_s": .., "query_p50_ms": ..}; for demo: {"languages": {"en": {..}, '
            '"zh": {..}}, "gap": ..}.'
        ),
    )
    parser.add_argument(
        "--catalog", choices=["instacart", "demo"], default="instacart",
        help="which catalog to use",
    )
    parser.add_argument(
        "--path", type=PathArg("read", "dir", "--path"), default=None,
        help=f"catalog folder (default: {DEFAULT_INSTACART} for instacart, the demo shop "
        "for demo)",
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="use only the first N products (quick runs)"
    )
    parser.add_argument(
        "--compare-fusion",
        action="store_true",
        help="also score the weighted and reciprocal rank fusions (instacart)",
    )
    parser.add_argument(
        "--fit-fusion",
        action="store_true",
        help="refit the learned fusion on the tuning aisles and rewrite "
        "tools/catalog/fusion_weights.json (instacart, whole catalog)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run_guarded(run_eval_search))


def run_eval_search(args: argparse.Namespace) -> int:
    """Run the evaluation and print a table or one JSON object."""
    if args.limit is not None and args.limit < 1:
        return fail("--limit must be at least 1")
    config = load_settings(args).tool_config()
    if args.catalog == "demo":
        from agent.evals.search_demo import evaluate_demo_search

        if args.fit_fusion or args.compare_fusion or args.limit is not None:
            return fail(
                "--fit-fusion, --compare-fusion and --limit work on --catalog instacart only"
            )
        demo = evaluate_demo_search(config, args.path)
        if args.json:
            print_json(demo)
        else:
            print_demo(demo)
        return 0
    from agent.evals.search import evaluate_search

    if args.fit_fusion and args.limit is not None:
        return fail("--fit-fusion needs the whole catalog: drop --limit")
    out = evaluate_search(config, args.path, args.limit, args.compare_fusion, args.fit_fusion)
    if args.json:
        print_json(out)
        return 0
    rows = [
        [m, v["precision@10"], v["mrr"], v["tune"]["precision@10"], v["all"]["precision@10"]]
        for m, v in out["methods"].items()
    ]
    zh = out["chinese"]
    rows.append(["hybrid, Chinese queries", zh["precision@10"], zh["mrr"],
                 zh["tune"]["precision@10"], zh["all"]["precision@10"]])
    print_table(["method", "P@10 report", "MRR report", "P@10 tune", "P@10 all"], rows)
    full_build_s = out["full_build_s"]
    full = f"; a full build took {full_build_s:.1f}s" if full_build_s else ""
    lat = out["latency"]
    print(
        f"\n{out['products']:,} products, {out['queries']} aisle queries "
        f"({len(out['splits']['report'])} reporting, {len(out['splits']['tune'])} tuning). "
        f"Index load/build {out['build_s']:.1f}s this run ({out['embedded']:,} embedded"
        f"{full}). Hybrid query latency p50 {lat['hybrid_p50_ms']} ms, p95 "
        f"{lat['hybrid_p95_ms']} ms (query embedding included); bare chromadb query p50 "
        f"{lat['bare_chroma_p50_ms']} ms (x{lat['ratio_p50']})."
    )
    return 0


def print_demo(out: dict[str, Any]) -> None:
    """The demo evaluation as a table (per language, per part)."""
    rows = []
    for lang, parts in out["languages"].items():
        for part in ("report", "tune", "all"):
            scores = parts[part]
            rows.append([lang, part, scores["queries"], scores["precision@10"], scores["mrr"]])
    print_table(["language", "part", "queries", "precision@10", "MRR@10"], rows)
    print(
        f"\n{out['queries']} paired queries on {out['products']:,} products. Chinese minus "
        f"English precision@10 on the reporting part: {out['gap']:+.4f}."
    )
