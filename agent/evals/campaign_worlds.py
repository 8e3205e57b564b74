"""Planted-truth recovery over freshly generated demo worlds, not only the committed one.

``evaluate_demo`` scores one shop; estimator changes tuned on the committed demo could fit
its particular noise. ``evaluate_worlds`` generates ``n`` more demo shops with other seeds
(1..n, the committed one is 20261031) in a temporary directory and reports each world's
rank correlations and their mean, so a change is judged on worlds nobody tuned on.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from agent.evals.campaign import evaluate_demo
from tools.shop.demo.generator import write_demo_shop

#: (report field, subset) pairs: what each world reports.
FIGURES = tuple(
    (f"{metric}_{subset}", metric, subset)
    for metric in ("revenue", "conversion")
    for subset in ("estimable_cells", "all_cells")
)


class WorldRecovery(BaseModel):
    """One generated world: its seed and Spearman correlations (estimated vs planted)."""

    seed: int
    spearman: dict[str, float]
    revenue_top3_shared: int


class WorldsReport(BaseModel):
    """Recovery over several generated worlds, with the mean and spread per figure."""

    worlds: list[WorldRecovery]
    mean: dict[str, float]
    sd: dict[str, float]
    seconds: float


def evaluate_worlds(n: int, first_seed: int = 1) -> WorldsReport:
    """Generate ``n`` demo shops (seeds ``first_seed``..) and score each against its truth.

    Raises:
        ValueError: ``n`` is below 1.
    """
    if n < 1:
        raise ValueError(f"--worlds must be at least 1, got {n}")
    start = time.perf_counter()
    rows: list[WorldRecovery] = []
    with tempfile.TemporaryDirectory(prefix="agent-worlds-") as tmp:
        for seed in range(first_seed, first_seed + n):
            shop_dir = Path(tmp) / f"world{seed}"
            write_demo_shop(shop_dir, seed=seed)
            report = evaluate_demo(shop_dir, Path(tmp) / f"cache{seed}")
            rows.append(WorldRecovery(
                seed=seed,
                spearman={key: getattr(report, metric)[subset].spearman
                          for key, metric, subset in FIGURES},
                revenue_top3_shared=report.revenue["estimable_cells"].top3_shared,
            ))
    keys = [key for key, _, _ in FIGURES]
    values = {k: np.array([r.spearman[k] for r in rows]) for k in keys}
    return WorldsReport(
        worlds=rows,
        mean={k: round(float(np.nanmean(v)), 4) for k, v in values.items()},
        sd={k: round(float(np.nanstd(v)), 4) for k, v in values.items()},
        seconds=round(time.perf_counter() - start, 1),
    )
