"""Evaluations of the campaign optimiser: the Hillstrom e-mail test and the demo shop's truth.

**Hillstrom** (64,000 customers randomly sent a men's e-mail, a women's e-mail or nothing):
learn on a random half; on the other half estimate, by inverse propensity weighting (each
arm had probability 1/3 by design), the incremental spend and visits per customer, over
sending nothing, of four policies with the same budget (30% of customers e-mailed):

* ``optimizer``: the uplift model (``ProportionalUplift`` on visits, times the spend per
  incremental visit of each e-mail measured on the learning half) scores every customer
  for both e-mails; customers are grouped into score bins (the "segments") and the exact
  allocation solver chooses how many of each bin get which e-mail; inside a bin the
  customers with the highest individual scores are taken, as in ``optimize_campaign``;
* ``random``: a random 30%, each sent a random one of the two e-mails;
* ``mens_email_random``: the men's e-mail to a random 30%;
* ``recency_rule``: the most recent buyers first (ties broken at random), 30%, sent the
  e-mail with the higher average uplift on the learning half (the men's).

The random policies are evaluated as their expectation over the random draw (each customer
contributes with the policy's probability of each e-mail), which is unbiased and removes the
luck of one draw. For a deterministic policy the IPW term of customer i is
``3 x y_i x (1[A_i = pi(x_i)] - 1[A_i = none])`` when the policy e-mails them, else 0.
Intervals: 1,000 bootstrap resamples of the evaluation half, shared by all policies, so the
ratios' intervals are paired. A T-learner variant of the optimiser is reported beside it.

**Demo shop**: estimated segment x channel uplift against the planted truth
(``truth/uplift.parquet``, per customer and channel, averaged over each segment as computed
today, at the discount the cell's campaigns gave on average: a cell estimate measures the
offers it was tested with): Spearman rank correlation and the overlap of the top-3 pairs,
over all cells and over cells with at least ``MIN_EXPOSURES`` customers in the randomised
campaigns (the rest hold too few customers for any estimate to rank them).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel
from scipy.stats import spearmanr

from tools.campaigns.learners import LearnerKind, build_learner
from tools.campaigns.planner import assign_customers
from tools.campaigns.solver import AllocationProblem, solve_allocation
from tools.errors import DataNotFoundError, DataValidationError

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
HILLSTROM_COLUMNS = ("recency", "history", "mens", "womens", "zip_code", "newbie", "channel",
                     "segment", "visit", "conversion", "spend")
ARMS = {"No E-Mail": "control", "Mens E-Mail": "mens", "Womens E-Mail": "womens"}
ARM_NAMES = {"mens": "men's", "womens": "women's"}
PROPENSITY = 1.0 / 3.0
SCORE_BINS = 50
MIN_EXPOSURES = 100


class PolicyValue(BaseModel):
    """Incremental outcomes per customer of the evaluation half, over sending nothing."""

    spend_per_customer: float
    visits_per_customer: float
    ci: tuple[float, float]
    visits_ci: tuple[float, float]
    emailed_share: float


class PolicyRatio(BaseModel):
    """Optimiser / baseline on incremental spend per customer, with a paired interval."""

    spend_ratio: float
    ci: tuple[float, float]
    spend_difference: float
    difference_ci: tuple[float, float]


class HillstromReport(BaseModel):
    """The Hillstrom evaluation: each policy's value and the optimiser's ratios."""

    seed: int
    n_learn: int
    n_eval: int
    budget_share: float
    policies: dict[str, PolicyValue]
    ratios: dict[str, PolicyRatio]
    beats_every_baseline: bool
    seconds: float
    notes: list[str]


def load_hillstrom(path: Path) -> pd.DataFrame:
    """Read the Hillstrom CSV and check its columns and arms.

    Raises:
        DataNotFoundError: the file is missing.
        DataValidationError: a column or an arm is missing.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"Hillstrom file not found: {path}")
    df = pd.read_csv(path)
    missing = [c for c in HILLSTROM_COLUMNS if c not in df.columns]
    if missing:
        raise DataValidationError(f"{path}: missing column(s) {', '.join(missing)}")
    unknown = sorted(set(df["segment"]) - set(ARMS))
    if unknown or set(df["segment"]) != set(ARMS):
        raise DataValidationError(
            f"{path}: column 'segment' must hold exactly {', '.join(ARMS)}; "
            f"found {', '.join(sorted(map(str, set(df['segment']))))}"
        )
    return df


def hillstrom_features(df: pd.DataFrame) -> pd.DataFrame:
    """Numeric features of the Hillstrom customers."""
    return pd.DataFrame({
        "recency": df["recency"].astype(np.float64),
        "history": df["history"].astype(np.float64),
        "mens": df["mens"].astype(np.float64),
        "womens": df["womens"].astype(np.float64),
        "newbie": df["newbie"].astype(np.float64),
        "zip_code": pd.Categorical(df["zip_code"].astype(str)),
        "channel": pd.Categorical(df["channel"].astype(str)),
    })


def _spend_uplift(
    kind: LearnerKind, x_learn: pd.DataFrame, learn: pd.DataFrame, x_eval: pd.DataFrame
) -> dict[str, FloatArray]:
    """Predicted incremental spend of each e-mail for the evaluation customers."""
    arm = learn["segment"].map(ARMS).to_numpy(dtype=object)
    model = build_learner(kind).fit(x_learn, arm, learn["visit"].to_numpy())
    visit_up = model.event_uplift(x_eval)
    out = {}
    base = learn[arm == "control"]
    for a in ("mens", "womens"):
        treated = learn[arm == a]
        dv = float(treated["visit"].mean() - base["visit"].mean())
        ds = float(treated["spend"].mean() - base["spend"].mean())
        # Spend per incremental visit of this e-mail, measured on the learning half.
        per_visit = ds / dv if dv > 0 else 0.0
        out[a] = visit_up[a] * per_visit
    return out


def optimizer_policy(uplift: dict[str, FloatArray], budget: int) -> npt.NDArray[Any]:
    """Choose an e-mail or none per customer with the planner's machinery (see module doc)."""
    mens, womens = uplift["mens"], uplift["womens"]
    best = np.maximum(mens, womens)
    n = len(best)
    ranks = pd.Series(best).rank(method="first").to_numpy()
    bins = np.minimum((ranks - 1) * SCORE_BINS // n, SCORE_BINS - 1).astype(np.int64)
    sizes = np.bincount(bins, minlength=SCORE_BINS).astype(np.int64)
    values = np.array([[mens[bins == b].mean(), womens[bins == b].mean()]
                       for b in range(SCORE_BINS)])
    problem = AllocationProblem(
        group_size=sizes, group_segment=[f"bin{b:02d}" for b in range(SCORE_BINS)],
        cell_group=np.repeat(np.arange(SCORE_BINS), 2),
        cell_channel=["mens", "womens"] * SCORE_BINS,
        value=values.ravel(), cost=np.ones(2 * SCORE_BINS), budget=float(budget),
    )
    alloc = solve_allocation(problem)
    policy = np.full(n, "none", dtype=object)
    for b in range(SCORE_BINS):
        quota = alloc.contacts[2 * b: 2 * b + 2]
        if quota.sum() == 0:
            continue
        members = np.flatnonzero(bins == b)
        scores = np.column_stack([mens[members], womens[members]])
        where = assign_customers(scores, quota)
        chosen = where >= 0
        policy[members[chosen]] = np.array(["mens", "womens"], dtype=object)[where[chosen]]
    return policy


def _ipw_terms(arm: npt.NDArray[Any], y: FloatArray, probs: dict[str, FloatArray]) -> FloatArray:
    """Per-customer unbiased terms of a policy's incremental outcome over no e-mail."""
    is_none = (arm == "control").astype(np.float64)
    out = np.zeros(len(y))
    for a, p in probs.items():
        out += p * ((arm == a).astype(np.float64) - is_none) * y / PROPENSITY
    return out


def _policy_probs(policy: npt.NDArray[Any]) -> dict[str, FloatArray]:
    return {a: (policy == a).astype(np.float64) for a in ("mens", "womens")}


def _bootstrap(terms: dict[str, FloatArray], n_boot: int, seed: int) -> dict[str, FloatArray]:
    """Bootstrap means of each term vector over the same resamples."""
    rng = np.random.default_rng(seed)
    n = len(next(iter(terms.values())))
    out = {k: np.empty(n_boot) for k in terms}
    for start in range(0, n_boot, 50):
        idx = rng.integers(0, n, size=(min(50, n_boot - start), n))
        for k, t in terms.items():
            out[k][start: start + len(idx)] = t[idx].mean(axis=1)
    return out


def evaluate_hillstrom(
    path: Path, seed: int = 0, budget_share: float = 0.3, n_boot: int = 1000
) -> HillstromReport:
    """Run the Hillstrom evaluation (see the module docstring)."""
    start = time.perf_counter()
    df = load_hillstrom(path)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(df))
    learn, ev = df.iloc[order[: len(df) // 2]], df.iloc[order[len(df) // 2:]]
    x_learn, x_eval = hillstrom_features(learn), hillstrom_features(ev)
    n = len(ev)
    budget = int(round(budget_share * n))
    arm = ev["segment"].map(ARMS).to_numpy(dtype=object)
    spend, visit = ev["spend"].to_numpy(np.float64), ev["visit"].to_numpy(np.float64)

    policies: dict[str, dict[str, FloatArray]] = {}
    for name, kind in (("optimizer", "proportional"), ("optimizer_t_learner", "t_learner")):
        uplift = _spend_uplift(kind, x_learn, learn, x_eval)  # type: ignore[arg-type]
        policies[name] = _policy_probs(optimizer_policy(uplift, budget))
    share = budget / n
    policies["random"] = {"mens": np.full(n, share / 2), "womens": np.full(n, share / 2)}
    policies["mens_email_random"] = {"mens": np.full(n, share), "womens": np.zeros(n)}
    learn_arm = learn["segment"].map(ARMS)
    base = learn.loc[learn_arm == "control", "spend"].mean()
    better = max(("mens", "womens"),
                 key=lambda a: learn.loc[learn_arm == a, "spend"].mean() - base)
    tie_break = rng.random(n)
    by_recency = np.lexsort((tie_break, ev["recency"].to_numpy()))
    rule = np.full(n, "none", dtype=object)
    rule[by_recency[:budget]] = better
    policies["recency_rule"] = _policy_probs(rule)

    spend_terms = {k: _ipw_terms(arm, spend, p) for k, p in policies.items()}
    visit_terms = {k: _ipw_terms(arm, visit, p) for k, p in policies.items()}
    boot_s = _bootstrap(spend_terms, n_boot, seed + 1)
    boot_v = _bootstrap(visit_terms, n_boot, seed + 1)

    def interval(x: FloatArray) -> tuple[float, float]:
        lo, hi = np.percentile(x, [2.5, 97.5])
        return (round(float(lo), 4), round(float(hi), 4))

    values = {
        k: PolicyValue(
            spend_per_customer=round(float(spend_terms[k].mean()), 4),
            visits_per_customer=round(float(visit_terms[k].mean()), 5),
            ci=interval(boot_s[k]), visits_ci=interval(boot_v[k]),
            emailed_share=round(float(sum(p.mean() for p in policies[k].values())), 4),
        )
        for k in policies
    }
    ratios = {}
    for k in ("random", "mens_email_random", "recency_rule"):
        opt, other = spend_terms["optimizer"].mean(), spend_terms[k].mean()
        with np.errstate(divide="ignore", invalid="ignore"):
            boot_ratio = boot_s["optimizer"] / boot_s[k]
        ratios[k] = PolicyRatio(
            spend_ratio=round(float(opt / other), 4) if other else float("nan"),
            ci=interval(boot_ratio[np.isfinite(boot_ratio)]),
            spend_difference=round(float(opt - other), 4),
            difference_ci=interval(boot_s["optimizer"] - boot_s[k]),
        )
    beats = all(values["optimizer"].spend_per_customer > values[k].spend_per_customer
                for k in ratios)
    notes = [
        f"learning half {len(learn):,}, evaluation half {n:,} customers (seed {seed})",
        f"budget: {budget:,} e-mails ({budget_share:.0%} of the evaluation half)",
        "values are incremental over sending nothing, per customer of the evaluation half, "
        "by inverse propensity weighting (propensity 1/3 per arm by design)",
        f"recency rule sends the {ARM_NAMES[better]} e-mail (higher average uplift on the "
        "learning half)",
        "random baselines are evaluated as their expectation over the random draw",
    ]
    return HillstromReport(
        seed=seed, n_learn=len(learn), n_eval=n, budget_share=budget_share,
        policies=values, ratios=ratios, beats_every_baseline=beats,
        seconds=round(time.perf_counter() - start, 2), notes=notes,
    )


class RepeatSummary(BaseModel):
    """The evaluation over several random splits: mean values and how often each wins."""

    splits: int
    seeds: list[int]
    mean_spend_per_customer: dict[str, float]
    optimizer_wins_share: dict[str, float]
    optimizer_beats_all_share: float


def repeat_hillstrom(path: Path, seeds: list[int], n_boot: int = 0) -> RepeatSummary:
    """Run the Hillstrom evaluation on several splits (the split's luck is large here)."""
    values: dict[str, list[float]] = {}
    beats = 0
    for seed in seeds:
        report = evaluate_hillstrom(path, seed=seed, n_boot=max(n_boot, 20))
        for k, v in report.policies.items():
            values.setdefault(k, []).append(v.spend_per_customer)
        beats += report.beats_every_baseline
    opt = np.array(values["optimizer"])
    return RepeatSummary(
        splits=len(seeds), seeds=seeds,
        mean_spend_per_customer={k: round(float(np.mean(v)), 4) for k, v in values.items()},
        optimizer_wins_share={
            k: round(float(np.mean(opt > np.array(v))), 3)
            for k, v in values.items() if k != "optimizer"
        },
        optimizer_beats_all_share=round(beats / len(seeds), 3),
    )


# ------------------------------------------------------------------ demo shop truth


class CellComparison(BaseModel):
    """One segment x channel: estimated and true uplift per contact."""

    segment: str
    channel: str
    exposures: int
    estimated_conversion_uplift: float
    true_conversion_uplift: float
    estimated_revenue_uplift: float
    direct_revenue_uplift: float
    true_revenue_uplift: float


class RankAgreement(BaseModel):
    """How well estimated cells rank like the truth."""

    cells: int
    spearman: float
    top3_estimated: list[str]
    top3_true: list[str]
    top3_shared: int


class DemoReport(BaseModel):
    """Estimated against planted uplift on a shop with a ``truth/uplift.parquet``."""

    data_dir: str
    min_exposures: int
    revenue: dict[str, RankAgreement]
    conversion: dict[str, RankAgreement]
    direct_revenue: dict[str, RankAgreement]
    accepted: bool
    cells: list[CellComparison]
    seconds: float


def _agreement(frame: pd.DataFrame, est: str, true: str) -> RankAgreement:
    label = frame["segment"] + " x " + frame["channel"]
    top_e = label[frame[est].nlargest(3).index].tolist()
    top_t = label[frame[true].nlargest(3).index].tolist()
    rho = spearmanr(frame[est], frame[true]).statistic if len(frame) > 2 else float("nan")
    return RankAgreement(cells=len(frame), spearman=round(float(rho), 4), top3_estimated=top_e,
                         top3_true=top_t, top3_shared=len(set(top_e) & set(top_t)))


def true_offer_uplift(truth: pd.DataFrame, discount_pct: float) -> tuple[float, float]:
    """Mean true conversion and revenue uplift of truth rows at a discount.

    ``truth`` holds ``conversion_uplift``, ``discount_response``, ``baseline_conversion`` and
    ``typical_basket`` per row; without the last two columns (shops generated before offers
    had an effect) the message's own uplift is returned.
    """
    from tools.shop.demo.world import offer_uplift

    if "discount_response" not in truth.columns or "typical_basket" not in truth.columns:
        return float(truth["conversion_uplift"].mean()), float(truth["revenue_uplift"].mean())
    conv = offer_uplift(truth["conversion_uplift"].to_numpy(),
                        truth["discount_response"].to_numpy(),
                        truth["baseline_conversion"].to_numpy(), discount_pct)
    return float(conv.mean()), float((conv * truth["typical_basket"].to_numpy()).mean())


def evaluate_demo(data_dir: Path, cache_dir: Path) -> DemoReport:
    """Compare the shop's estimated segment x channel uplift with its planted truth.

    Raises:
        DataNotFoundError: the shop or its ``truth/uplift.parquet`` is missing.
    """
    from tools.campaigns.uplift import load_uplift_model
    from tools.customers.profiles import load_profile_store
    from tools.shop.store import load_shop

    start = time.perf_counter()
    truth_path = Path(data_dir) / "truth" / "uplift.parquet"
    if not truth_path.is_file():
        raise DataNotFoundError(f"no planted truth at {truth_path} (only generated shops have it)")
    shop = load_shop(Path(data_dir))
    profiles = load_profile_store(shop, cache_dir)
    model = load_uplift_model(shop, profiles)
    truth = pd.read_parquet(truth_path)
    truth["segment"] = profiles.table["segment"].reindex(truth["customer_id"]).to_numpy()
    people = truth_path.parent / "customers.parquet"
    if people.is_file():
        basket = pd.read_parquet(people).set_index("customer_id")["typical_basket"]
        truth["typical_basket"] = basket.reindex(truth["customer_id"]).to_numpy()
    rows = []
    for est in model.estimates():
        key = (str(est.segment), est.channel)
        mine = truth[(truth["segment"] == key[0]) & (truth["channel"] == key[1])]
        if mine.empty:
            continue
        true_conv, true_rev = true_offer_uplift(mine, est.measured_discount_pct)
        rows.append(CellComparison(
            segment=key[0], channel=key[1], exposures=est.n_treatment + est.n_control,
            estimated_conversion_uplift=round(est.conversion_uplift, 5),
            true_conversion_uplift=round(true_conv, 5),
            estimated_revenue_uplift=round(est.revenue_uplift, 3),
            direct_revenue_uplift=round(est.direct_revenue_uplift, 3),
            true_revenue_uplift=round(true_rev, 3),
        ))
    frame = pd.DataFrame([r.model_dump() for r in rows])
    subsets = {"all_cells": frame,
               "estimable_cells": frame[frame["exposures"] >= MIN_EXPOSURES].reset_index(drop=True)}
    rev = {k: _agreement(f, "estimated_revenue_uplift", "true_revenue_uplift")
           for k, f in subsets.items()}
    conv = {k: _agreement(f, "estimated_conversion_uplift", "true_conversion_uplift")
            for k, f in subsets.items()}
    direct = {k: _agreement(f, "direct_revenue_uplift", "true_revenue_uplift")
              for k, f in subsets.items()}
    return DemoReport(
        data_dir=str(data_dir), min_exposures=MIN_EXPOSURES, revenue=rev, conversion=conv,
        direct_revenue=direct, accepted=rev["estimable_cells"].top3_shared >= 2, cells=rows,
        seconds=round(time.perf_counter() - start, 2),
    )
