"""``python -m agent data demo``: generate the seeded demo shop (same seed, same bytes)."""

from __future__ import annotations

import argparse
from typing import Any

from agent.cli.common import PathArg, print_json, print_table, run_guarded


def register(groups: dict[str, Any]) -> None:
    """Add ``data demo`` to the ``data`` group."""
    from tools.shop.demo.generator import DEFAULT_CUSTOMERS, DEFAULT_PRODUCTS, DEFAULT_SEED

    parser = groups["data"].add_parser(
        "demo",
        help="generate the demo shop (Northwind Goods) into a directory",
        description=(
            "Generate the seeded demo shop: customers, products, 12 months of events, "
            "campaigns with randomised control groups, and the hidden truth in truth/. "
            "The same seed and sizes always give byte-identical files."
        ),
    )
    parser.add_argument("--out", required=True, type=PathArg("write", "dir", "--out"),
                        metavar="DIR",
                        help="directory to write into (created if missing; a demo shop already "
                        "there is replaced)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"random seed (default {DEFAULT_SEED}, the committed demo)")
    parser.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS, metavar="N",
                        help=f"number of customers (default {DEFAULT_CUSTOMERS}, at least 50)")
    parser.add_argument("--products", type=int, default=DEFAULT_PRODUCTS, metavar="N",
                        help=f"number of products (default {DEFAULT_PRODUCTS}, at least 45)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a shop in DIR that is not a demo shop (an import)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.set_defaults(func=run_guarded(_run))


def _run(args: argparse.Namespace) -> int:
    from tools.shop.demo.generator import write_demo_shop

    summary = write_demo_shop(
        args.out,
        seed=args.seed,
        customers=args.customers,
        products=args.products,
        overwrite=args.overwrite,
    )
    if args.json:
        print_json(summary)
        return 0
    print(summary.summary())
    print_table(["table", "rows"], [[name, n] for name, n in summary.counts.items()])
    print("hidden truth: " + ", ".join(summary.truth_files))
    return 0
