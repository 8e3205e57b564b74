"""How fast a mistaken import is refused: before the input is parsed, not after.

Writes a transactions CSV of ``--rows`` lines (1,000,000 by default) and a small shop, then
times, in one run:

- the baseline: ``pandas.read_csv`` of the file (the least an import must do);
- ``data import transactions BIG --out SHOP`` without ``--overwrite`` (refused: a shop is
  there), and with a column mapped twice (refused: the mapping);
- the whole import with ``--overwrite`` (parse, validate, write in one transaction).

Each refusal is printed as seconds and as a ratio to the baseline (target: under 0.05x, the
refusal reads only the first line), and whether it was refused with exit code 2.

Run: ``.venv/bin/python bench/bench_import_refusal.py [--rows N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.__main__ import main as cli  # noqa: E402
from tests.conftest import RETAIL_MAP, build_minimal_shop  # noqa: E402
from tools.shop.store import save_shop  # noqa: E402

TARGET_RATIO = 0.05


def write_csv(path: Path, rows: int) -> None:
    """A UCI-Online-Retail-like file of ``rows`` lines (month-first dates, UTF-8)."""
    rng = np.random.default_rng(7)
    days = rng.integers(1, 29, rows)
    frame = pd.DataFrame(
        {
            "InvoiceNo": rng.integers(500000, 600000, rows),
            "StockCode": rng.integers(10000, 30000, rows),
            "Description": "WHITE HANGING HEART T-LIGHT HOLDER",
            "Quantity": rng.integers(1, 20, rows),
            "InvoiceDate": [f"{m}/{d}/2011 10:{d:02d}" for m, d in
                            zip(rng.integers(1, 13, rows), days, strict=True)],
            "UnitPrice": rng.integers(50, 5000, rows) / 100,
            "CustomerID": rng.integers(12000, 18000, rows),
            "Country": "United Kingdom",
        }
    )
    frame.to_csv(path, index=False)


def timed(func: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    value = func()
    return time.perf_counter() - start, value


def run(argv: list[str]) -> int:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        return cli(argv)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-refusal-") as tmp:
        folder = Path(tmp)
        big = folder / "big.csv"
        write_csv(big, args.rows)
        shop = save_shop(build_minimal_shop(), folder / "shop")
        base, _ = timed(lambda: pd.read_csv(big, dtype=str, keep_default_na=False))
        print(f"{args.rows:,} lines, {big.stat().st_size / 1e6:.0f} MB; baseline read_csv "
              f"{base:.2f} s")
        argv = ["data", "import", "transactions", str(big), "--map", RETAIL_MAP, "--out",
                str(shop)]
        run(["data", "check", str(shop)])  # imports every command module (not timed)
        ok = True
        twice = RETAIL_MAP.replace("customer_id=CustomerID", "customer_id=StockCode")
        for label, cmd in (
            ("existing shop, no --overwrite", argv),
            ("a column mapped twice", [*argv[:4], "--map", twice, *argv[6:]]),
        ):
            seconds, code = timed(lambda cmd=cmd: run(cmd))
            ratio = seconds / base
            good = code == 2 and ratio < TARGET_RATIO
            ok &= good
            print(f"refused ({label}): {seconds:.3f} s = {ratio:.3f}x baseline, exit {code}: "
                  f"{'met' if good else 'MISSED'} (target < {TARGET_RATIO}x)")
        seconds, code = timed(lambda: run([*argv, "--overwrite"]))
        print(f"whole import with --overwrite: {seconds:.2f} s = {seconds / base:.1f}x "
              f"baseline, exit {code}")
        ok &= code == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
