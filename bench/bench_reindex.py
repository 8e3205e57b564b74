"""Re-import after 1% of the products changed, against a full build, in one run.

Both are timed the way a shop import pays for them: a fresh ``ProductIndex`` over the
products table (catalog arrays, BM25) plus ``sync`` of the Chroma collection. The full build
embeds every product into an empty collection in a temporary state directory; the
re-import then changes the title of every hundredth product (1%) and builds a new index
over the same collection, which re-embeds only the products whose embedded text changed
(content hashes) and keeps every other vector. Prints both times and their ratio (target:
under 10%), and checks that a changed product is found by its new title.

Run: ``.venv/bin/python bench/bench_reindex.py [--products N] [--path DIR]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.evals.search import DEFAULT_INSTACART, load_instacart  # noqa: E402
from agent.settings import Settings  # noqa: E402
from tools.catalog.embeddings import load_embedder  # noqa: E402
from tools.catalog.search import ProductIndex  # noqa: E402


def build(frame: object, settings: Settings, name: str) -> tuple[ProductIndex, float, int]:
    """A new index over ``frame`` and its sync: (index, seconds, products embedded)."""
    started = time.perf_counter()
    index = ProductIndex(frame, settings.tool_config(), load_embedder(), collection=name)
    report = index.sync(progress=None)
    return index, time.perf_counter() - started, report.embedded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=None,
                        help="use only the first N products (default: all 49,688)")
    parser.add_argument("--path", type=Path, default=DEFAULT_INSTACART, help="Instacart folder")
    args = parser.parse_args()
    frame, _ = load_instacart(args.path, args.products)
    load_embedder().encode(["warm up"])  # model load is not part of either build
    with tempfile.TemporaryDirectory(prefix="bench-reindex-") as tmp:
        settings = Settings(state_dir=Path(tmp) / "state")
        index, full_s, full_n = build(frame, settings, "bench_reindex")
        index.close()
        changed = frame.copy()
        rows = changed.index[::100]
        changed.loc[rows, "title"] = changed.loc[rows, "title"] + " Limited Harvest Edition"
        index, re_s, re_n = build(changed, settings, "bench_reindex")
        probe = changed.loc[rows[len(rows) // 2]]
        hits = index.search(str(probe["title"]), k=5, in_stock_only=False).hits
        found = str(probe["product_id"]) in {h.product_id for h in hits}
        index.close()
    print(f"{len(frame):,} products; {len(rows):,} changed ({len(rows) / len(frame):.1%})")
    print(f"{'build':28} {'seconds':>9} {'embedded':>9}")
    print(f"{'full build':28} {full_s:9.2f} {full_n:9,}")
    print(f"{'re-import, 1% changed':28} {re_s:9.2f} {re_n:9,}")
    print(f"re-import / full build: {re_s / full_s:.3f} (target < 0.10); "
          f"changed product found by its new title: {found}")


if __name__ == "__main__":
    main()
