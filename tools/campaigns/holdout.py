"""Holdouts and power: who in each plan cell is held out, and what the read-out can detect.

Every plan cell (segment x channel x offer) keeps a seeded random share of its chosen
customers unmessaged; the read-out compares the messaged customers with them. The minimum
detectable effect (MDE) of a cell is the smallest conversion lift a two-sided test at alpha
0.05 finds with 80% power for the cell's sizes and expected holdout conversion: statsmodels'
``NormalIndPower`` solves for Cohen's effect size h, which maps back to points through the
arcsine transform ``h = 2 asin(sqrt(p1)) - 2 asin(sqrt(p0))``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from statsmodels.stats.power import NormalIndPower  # type: ignore[import-untyped]

ALPHA = 0.05
POWER = 0.8


def treated_count(chosen: int, share: float) -> int:
    """How many of ``chosen`` customers are messaged when ``share`` is held out.

    Rounded down, so that the messaged customers never cost more than the solver budgeted
    for (it prices a chosen customer at ``1 - share`` of a message).
    """
    if share <= 0:
        return chosen
    return int(math.floor(chosen * (1.0 - share) + 1e-9))


def minimum_detectable_lift(n_treated: int, n_holdout: int, baseline: float) -> float | None:
    """Smallest conversion lift (a probability) detectable at 80% power and alpha 0.05.

    ``baseline`` is the holdout's expected conversion. None when either group is empty or no
    lift up to certainty could be detected.
    """
    if n_treated < 1 or n_holdout < 1:
        return None
    p0 = float(np.clip(baseline, 1e-4, 1 - 1e-4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the root finder warns on its way to tiny samples
        try:
            h = float(NormalIndPower().solve_power(
                effect_size=None, nobs1=n_treated, alpha=ALPHA, power=POWER,
                ratio=n_holdout / n_treated, alternative="two-sided",
            ))
        except (ValueError, RuntimeError):
            return None
    angle = math.asin(math.sqrt(p0)) + h / 2.0
    if not math.isfinite(angle) or angle >= math.pi / 2:
        return None
    return math.sin(angle) ** 2 - p0


def draw_holdout(
    ids: list[str], n_holdout: int, rng: np.random.Generator
) -> set[str]:
    """``n_holdout`` of ``ids`` drawn at random (the ids sorted first, so only the seed counts)."""
    if n_holdout <= 0:
        return set()
    ordered = sorted(ids)
    picked = rng.choice(len(ordered), size=min(n_holdout, len(ordered)), replace=False)
    return {ordered[int(i)] for i in picked}
