"""Loading the demo shop: validated ``load_shop`` against a raw pyarrow read of the same files.

Run: ``.venv/bin/python bench/bench_load.py [DATA_DIR] [--repeat N]``. Prints the best of N runs
for each, the ratio (the price of validation) and whether the 3 s target holds. Also times the
generator, which must stay well under a minute for the full demo shop.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.shop.demo.generator import write_demo_shop  # noqa: E402
from tools.shop.store import TABLES, load_shop  # noqa: E402

TARGET_S = 3.0


def _time(func: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data_dir", nargs="?", type=Path, default=ROOT / "data" / "demo")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    def raw() -> None:
        for name in TABLES:
            pq.read_table(args.data_dir / f"{name}.parquet").to_pandas()

    def validated() -> None:
        load_shop(args.data_dir)

    raw()  # warm the page cache and imports for both
    raw_t = _time(raw, args.repeat)
    load_t = _time(validated, args.repeat)
    counts = load_shop(args.data_dir).counts()
    print(f"shop: {args.data_dir} ({counts['events']:,} events, {counts['customers']:,} customers)")
    print(f"raw pyarrow read : best {min(raw_t):.3f} s, median {statistics.median(raw_t):.3f} s")
    print(f"load_shop        : best {min(load_t):.3f} s, median {statistics.median(load_t):.3f} s")
    print(f"ratio load_shop / raw read: {min(load_t) / min(raw_t):.1f}x")
    ok = min(load_t) < TARGET_S
    print(f"target < {TARGET_S:.0f} s: {'met' if ok else 'MISSED'}")

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        write_demo_shop(Path(tmp))
        gen = time.perf_counter() - start
    print(f"generate + write the full demo shop: {gen:.1f} s ({gen / min(load_t):.1f}x one load)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
