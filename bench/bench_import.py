"""Benchmark: import the Complete Journey data set (target: under 60 s on this machine).

Run: ``.venv/bin/python bench/bench_import.py [PATH]`` (default: the shared complete_journey).

Baseline, measured in the same run: reading the same CSV files with ``pandas.read_csv``
(the least any importer must do). Reported: the import (parse, map, validate), writing the
shop, loading it back with full validation, each as seconds and as a ratio to the baseline,
plus the acceptance counts.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.shop.importers import import_complete_journey, save_imported_shop  # noqa: E402
from tools.shop.store import load_shop  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "datasets" / "complete_journey"
TARGET_S = 60.0
ACCEPT = {"customers": 2300, "products": 20000, "purchases": 74000}


def best_of(runs: int, func: object) -> float:
    """Median wall time of ``runs`` calls."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    if not source.is_dir():
        print(f"Complete Journey folder not found: {source}")
        return 1
    # The files the importer reads (promotions are not part of the data model).
    csvs = sorted(p for p in source.glob("*.csv") if not p.name.startswith("promotions"))
    baseline = best_of(3, lambda: [pd.read_csv(p, dtype=str) for p in csvs])

    result = None

    def do_import() -> None:
        nonlocal result
        result = import_complete_journey(source)

    import_s = best_of(3, do_import)
    assert result is not None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cj"
        save_s = best_of(1, lambda: save_imported_shop(result, out, overwrite=True))
        shop = None

        def do_load() -> None:
            nonlocal shop
            shop = load_shop(out)

        load_s = best_of(3, do_load)
    assert shop is not None
    counts = shop.counts()
    total = import_s + save_s
    print(f"source: {source}")
    print(f"baseline read_csv of {len(csvs)} files: {baseline:.2f} s")
    print(f"import (parse, map, validate): {import_s:.2f} s  = {import_s / baseline:.1f}x baseline")
    print(f"write shop (Parquet, zstd):    {save_s:.2f} s  = {save_s / baseline:.1f}x baseline")
    print(f"load + validate:               {load_s:.2f} s  = {load_s / baseline:.1f}x baseline")
    verdict = "OK" if total < TARGET_S else "TOO SLOW"
    print(f"import + write: {total:.2f} s (target < {TARGET_S:.0f} s): {verdict}")
    print("counts: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    short = {k: (counts[k], v) for k, v in ACCEPT.items() if counts[k] < v}
    print("acceptance counts: " + ("OK" if not short else f"SHORT {short}"))
    return 0 if total < TARGET_S and not short else 1


if __name__ == "__main__":
    sys.exit(main())
