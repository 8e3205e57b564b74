"""``read_out_campaign``: what a plan really did, cell by cell, against its holdout.

Results come back as a file (``tools.campaigns.readout_files``). For every plan cell
(segment x channel x offer) the read-out compares the messaged customers with the cell's
random holdout: the conversion lift with a 95% Newcombe interval and the two-sided test of
no lift (statsmodels' ``confint_proportions_2indep`` and ``test_proportions_2indep``), the
revenue lift per contact with Welch's interval (scipy), the plan's prediction, and whether
the two differ (the measured and the predicted lift compared with their standard errors
combined). Plan customers missing from the file count as not converted.

Then the campaign joins the shop (``tools.campaigns.shop_writes``): one campaign per channel x
offer of the plan (its next ``K`` ids) and one exposure per assigned customer (``treatment``
for the messaged, ``control`` for the held out), so the next plan's uplift estimates include
it. All tables are validated before the one write call; a plan is joined once.
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from scipy import stats
from statsmodels.stats.proportion import (  # type: ignore[import-untyped]
    confint_proportions_2indep,
    test_proportions_2indep,
)

from tools.campaigns.models import CampaignDeps, CampaignPlan
from tools.campaigns.plans import assignment_frame, load_plan
from tools.campaigns.readout_files import read_results_file
from tools.campaigns.uplift import Z95
from tools.errors import ToolInputError
from tools.shop.paths import ensure_allowed
from tools.shop.schemas import ToolResult
from tools.shop.store import ShopData, write_shop_change

logger = logging.getLogger(__name__)

#: Days after the send during which a conversion counts (the joined campaign's window).
WINDOW_DAYS = 14


class CellReadout(BaseModel):
    """One plan cell's measured lift against its holdout, and the plan's prediction."""

    segment: str
    channel: str
    offer: str
    discount_pct: float
    treated: int
    holdout: int
    treated_conversion_pts: float
    holdout_conversion_pts: float
    lift_pts: float = Field(description="Treated minus holdout conversion, in points.")
    lift_ci_pts: tuple[float, float]
    p_value: float | None
    revenue_lift_per_contact: float
    revenue_lift_ci: tuple[float, float]
    incremental_revenue: float = Field(description="Revenue lift per contact x messaged.")
    predicted_lift_pts: float
    predicted_lift_ci_pts: tuple[float, float]
    predicted_revenue_per_contact: float
    lift_is_real: bool = Field(description="The 95% interval of the lift excludes zero.")
    differs_from_prediction: bool = Field(
        description="Measured and predicted lift differ beyond their combined uncertainty."
    )
    verdict: str


class ReadoutTotals(BaseModel):
    """The whole campaign: messaged, held out, measured and predicted increments."""

    treated: int
    holdout: int
    incremental_conversions: float
    incremental_conversions_ci: tuple[float, float]
    incremental_revenue: float
    incremental_revenue_ci: tuple[float, float]
    predicted_incremental_revenue: float
    predicted_incremental_revenue_ci: tuple[float, float]
    outcome: Literal["real", "lost", "unclear"] = Field(
        description="Incremental revenue above zero, below zero, or not told from zero (95%).")
    within_prediction: bool = Field(
        description="Whether the measured revenue lies inside the plan's predicted interval.")
    verdict: str


class CampaignReadout(ToolResult):
    """A plan's read-out: lift per cell with intervals, the prediction, what joined the shop."""

    plan_id: str
    results_file: str
    currency: str
    rows_read: int
    customers_in_plan: int
    missing_from_file: int = Field(description="Plan customers not in the file (no conversion).")
    cells: list[CellReadout]
    totals: ReadoutTotals
    joined: bool
    campaign_ids: list[str] = Field(default_factory=list)
    exposures_added: int = 0
    notes: list[str] = Field(default_factory=list)

    def summary(self) -> str:
        """One line: the measured against the predicted incremental revenue."""
        t = self.totals
        lo, hi = t.incremental_revenue_ci
        joined = (f"; joined the shop as {', '.join(self.campaign_ids)}" if self.joined else "")
        return (
            f"Read-out of plan {self.plan_id}: {t.incremental_revenue:+,.0f} {self.currency} "
            f"incremental revenue measured (95% CI {lo:+,.0f} to {hi:+,.0f}), "
            f"{t.predicted_incremental_revenue:+,.0f} predicted{joined}"
        )


@dataclass
class _Arm:
    n: int
    conversions: int
    revenue: np.ndarray


def _lift(treated: _Arm, holdout: _Arm) -> tuple[float, tuple[float, float], float | None]:
    """Conversion lift (a probability), its 95% Newcombe interval and the test's p-value."""
    p_t = treated.conversions / treated.n
    p_c = holdout.conversions / holdout.n
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels warns on all-zero or all-one groups
        lo, hi = confint_proportions_2indep(
            treated.conversions, treated.n, holdout.conversions, holdout.n,
            method="newcomb", compare="diff",
        )
        try:
            p = float(test_proportions_2indep(
                treated.conversions, treated.n, holdout.conversions, holdout.n,
                method="agresti-caffo", compare="diff",
            ).pvalue)
        except (ValueError, ZeroDivisionError):
            p = None
    if p is not None and not math.isfinite(p):
        p = None
    return p_t - p_c, (float(lo), float(hi)), p


def _revenue_lift(treated: _Arm, holdout: _Arm) -> tuple[float, tuple[float, float]]:
    """Revenue lift per contact and its 95% Welch interval (a point when both are constant)."""
    diff = float(treated.revenue.mean() - holdout.revenue.mean())
    if treated.n < 2 or holdout.n < 2:
        return diff, (float("-inf"), float("inf"))
    if treated.revenue.std() == 0 and holdout.revenue.std() == 0:
        return diff, (diff, diff)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        test = stats.ttest_ind(treated.revenue, holdout.revenue, equal_var=False)
        ci = test.confidence_interval()
    return diff, (float(ci.low), float(ci.high))


def _verdict(lift: float, ci: tuple[float, float], predicted: float, differs: bool) -> str:
    pts = f"{lift * 100:+.1f} pts (95% CI {ci[0] * 100:+.1f} to {ci[1] * 100:+.1f})"
    if ci[0] > 0:
        head = f"real lift: {pts}"
    elif ci[1] < 0:
        head = f"the message lowered conversion: {pts}"
    else:
        head = f"cannot be told from no lift: {pts}"
    against = (f"; differs from the predicted {predicted * 100:+.1f} pts" if differs
               else f"; consistent with the predicted {predicted * 100:+.1f} pts")
    return head + against


def compute_readout(plan: CampaignPlan, results: pd.DataFrame) -> tuple[list[CellReadout],
                                                                         ReadoutTotals]:
    """Lift per cell and in total, from a plan and its validated results."""
    assign = assignment_frame(plan)
    merged = assign.merge(results[["customer_id", "converted", "revenue"]], on="customer_id",
                          how="left")
    merged["converted"] = merged["converted"].fillna(False).astype(bool)
    merged["revenue"] = merged["revenue"].fillna(0.0).astype("float64")
    predicted = {(r.segment, r.channel, r.offer): r for r in plan.rows}
    cells: list[CellReadout] = []
    conv_var = rev_var = 0.0
    conv_total = rev_total = 0.0
    for (seg, ch, offer), rows in merged.groupby(["segment", "channel", "offer"], sort=True):
        t = rows[rows["group"] == "treatment"]
        c = rows[rows["group"] == "holdout"]
        row = predicted.get((str(seg), str(ch), str(offer)))
        if row is None or t.empty or c.empty:
            continue
        arm_t = _Arm(len(t), int(t["converted"].sum()), t["revenue"].to_numpy(np.float64))
        arm_c = _Arm(len(c), int(c["converted"].sum()), c["revenue"].to_numpy(np.float64))
        lift, ci, p = _lift(arm_t, arm_c)
        rev, rev_ci = _revenue_lift(arm_t, arm_c)
        pred = row.conversion_uplift_pts / 100
        p_lo, p_hi = (x / 100 for x in row.conversion_uplift_ci_pts)
        se_m = (ci[1] - ci[0]) / (2 * Z95)
        se_p = (p_hi - p_lo) / (2 * Z95)
        differs = abs(lift - pred) > Z95 * math.sqrt(se_m**2 + se_p**2)
        cells.append(CellReadout(
            segment=str(seg), channel=str(ch), offer=str(offer), discount_pct=row.discount_pct,
            treated=arm_t.n, holdout=arm_c.n,
            treated_conversion_pts=round(arm_t.conversions / arm_t.n * 100, 3),
            holdout_conversion_pts=round(arm_c.conversions / arm_c.n * 100, 3),
            lift_pts=round(lift * 100, 3), lift_ci_pts=(round(ci[0] * 100, 3),
                                                        round(ci[1] * 100, 3)),
            p_value=None if p is None else round(p, 5),
            revenue_lift_per_contact=round(rev, 4),
            revenue_lift_ci=(round(rev_ci[0], 4), round(rev_ci[1], 4)),
            incremental_revenue=round(rev * arm_t.n, 2),
            predicted_lift_pts=row.conversion_uplift_pts,
            predicted_lift_ci_pts=row.conversion_uplift_ci_pts,
            predicted_revenue_per_contact=round(row.incremental_revenue / max(row.contacts, 1), 4),
            lift_is_real=ci[0] > 0 or ci[1] < 0, differs_from_prediction=differs,
            verdict=_verdict(lift, ci, pred, differs),
        ))
        conv_total += lift * arm_t.n
        conv_var += (se_m * arm_t.n) ** 2
        rev_total += rev * arm_t.n
        if math.isfinite(rev_ci[0]):
            rev_var += ((rev_ci[1] - rev_ci[0]) / (2 * Z95) * arm_t.n) ** 2
    pred_rev = plan.totals.incremental_revenue
    pr_lo, pr_hi = plan.totals.incremental_revenue_ci
    half_c, half_r = Z95 * math.sqrt(conv_var), Z95 * math.sqrt(rev_var)
    rev_ci_total = (rev_total - half_r, rev_total + half_r)
    outcome: Literal["real", "lost", "unclear"] = (
        "real" if rev_ci_total[0] > 0 else "lost" if rev_ci_total[1] < 0 else "unclear")
    inside = pr_lo <= rev_total <= pr_hi
    verdict = {"real": "the campaign brought real incremental revenue",
               "lost": "the campaign lost revenue",
               "unclear": "the campaign's incremental revenue cannot be told from zero"}[outcome]
    verdict += ("; within the plan's predicted interval" if inside
                else "; outside the plan's predicted interval")
    totals = ReadoutTotals(
        treated=int((merged["group"] == "treatment").sum()),
        holdout=int((merged["group"] == "holdout").sum()),
        incremental_conversions=round(conv_total, 2),
        incremental_conversions_ci=(round(conv_total - half_c, 2), round(conv_total + half_c, 2)),
        incremental_revenue=round(rev_total, 2),
        incremental_revenue_ci=(round(rev_ci_total[0], 2), round(rev_ci_total[1], 2)),
        predicted_incremental_revenue=pred_rev,
        predicted_incremental_revenue_ci=(pr_lo, pr_hi),
        outcome=outcome,
        within_prediction=inside,
        verdict=verdict,
    )
    return cells, totals


def _next_ids(existing: pd.Series, n: int) -> list[str]:
    numbers = [int(m.group(1)) for m in (re.fullmatch(r"K(\d+)", str(x)) for x in existing) if m]
    start = max(numbers, default=0) + 1
    width = max(3, len(str(start + n)))
    return [f"K{start + i:0{width}d}" for i in range(n)]


def join_tables(
    shop: ShopData, plan: CampaignPlan, results: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The shop's campaigns and exposures with the plan's campaign and exposures added.

    One campaign per channel x offer of the plan; an exposure per assigned customer, sent at
    the file's ``sent_at`` (else the plan's "as of" time).

    Raises:
        ToolInputError: the plan was joined already.
    """
    done = shop.campaigns[shop.campaigns["name"].astype(str).str.startswith(f"{plan.plan_id}:")]
    if len(done):
        raise ToolInputError(
            f"plan {plan.plan_id} was read out into the shop already (campaign(s) "
            f"{', '.join(done['campaign_id'].astype(str))}); pass join=false to read it again "
            "without joining"
        )
    assign = assignment_frame(plan)
    res = results.set_index("customer_id")
    default_sent = pd.Timestamp(plan.as_of)
    sent = (res["sent_at"].reindex(assign["customer_id"]) if "sent_at" in res.columns
            else pd.Series(pd.NaT, index=assign["customer_id"]))
    assign["sent_at"] = pd.to_datetime(sent.to_numpy(), utc=True)
    assign["sent_at"] = assign["sent_at"].fillna(default_sent)
    assign["converted"] = res["converted"].reindex(assign["customer_id"]).fillna(
        False).astype(bool).to_numpy()
    assign["revenue"] = res["revenue"].reindex(assign["customer_id"]).fillna(0.0).to_numpy()
    keys = sorted({(str(c), str(o)) for c, o in zip(assign["channel"], assign["offer"],
                                                    strict=True)})
    ids = _next_ids(shop.campaigns["campaign_id"], len(keys))
    campaign_rows = []
    exposure_parts = []
    for cid, (channel, offer) in zip(ids, keys, strict=True):
        mine = assign[(assign["channel"] == channel) & (assign["offer"] == offer)]
        start = mine["sent_at"].min()
        segments = sorted(mine["segment"].astype(str).unique())
        campaign_rows.append({
            "campaign_id": cid,
            "name": f"{plan.plan_id}: {channel}, {offer}",
            "channel": channel,
            "offer": offer,
            "discount_pct": float(mine["discount_pct"].iloc[0]),
            "start_at": start,
            "end_at": start + timedelta(days=WINDOW_DAYS),
            "cost_per_contact": float(plan.channel_costs.get(channel, 0.0)),
            "target_categories": [],
            "target_segments": segments,
            "description": (f"Read out from plan {plan.plan_id}: "
                            f"{int((mine['group'] == 'treatment').sum()):,} messaged, "
                            f"{int((mine['group'] == 'holdout').sum()):,} held out "
                            f"(seed {plan.seed})."),
        })
        exposure_parts.append(pd.DataFrame({
            "campaign_id": cid,
            "customer_id": mine["customer_id"].to_numpy(),
            "group": np.where(mine["group"] == "holdout", "control", "treatment"),
            "sent_at": mine["sent_at"].to_numpy(),
            "converted": mine["converted"].to_numpy(dtype=bool),
            "revenue": mine["revenue"].to_numpy(dtype=np.float64),
        }))
    campaigns = pd.concat([shop.campaigns, pd.DataFrame(campaign_rows)], ignore_index=True)
    added = pd.concat(exposure_parts, ignore_index=True)
    added["sent_at"] = pd.to_datetime(added["sent_at"], utc=True)
    exposures = pd.concat([shop.exposures, added], ignore_index=True)
    return campaigns, exposures, ids


def read_out_campaign(
    deps: CampaignDeps, plan_id: str, results_path: str, join: bool = True
) -> CampaignReadout:
    """Read out a campaign's results against its plan: lift per cell against the holdout.

    Gives, per segment x channel x offer, the conversion lift of the messaged customers over
    the held-out ones with 95% intervals, whether it is real, and how it compares with what
    the plan predicted; then adds the campaign and its exposures to the shop so that the next
    plan's uplift estimates include it.

    Args:
        deps: The shop's stores (supplied by the runtime, not by the model).
        plan_id: The plan's id (optimize_campaign's plan_id), e.g. "P1a2b3c4d5e".
        results_path: CSV or Parquet file with customer_id, converted, revenue and optionally
            sent_at, one row per customer of the plan.
        join: Add the campaign and its exposures to the shop (default true).
    """
    # The path may come from the model: confined to the allowed directories, checked first.
    path = ensure_allowed(results_path, deps.config, purpose="read", what="results file")
    plan = load_plan(deps.config, plan_id)
    assign = assignment_frame(plan)
    results = read_results_file(path, set(assign["customer_id"]), plan.plan_id)
    cells, totals = compute_readout(plan, results)
    missing = int((~assign["customer_id"].isin(results["customer_id"])).sum())
    notes = []
    if missing:
        notes.append(f"{missing:,} of the plan's {len(assign):,} customers are not in the file; "
                     "they count as not converted")
    small = [c for c in cells if not c.lift_is_real and not c.differs_from_prediction]
    if small:
        notes.append(f"{len(small)} cell(s) cannot be told from no lift on their own; their "
                     "data still sharpens the pooled estimates of the next plan")
    ids: list[str] = []
    added = 0
    if join:
        shop = deps.shop
        campaigns, exposures, ids = join_tables(shop, plan, results)
        if shop.source_dir is None:
            raise ToolInputError("the shop was not loaded from a directory; cannot join")
        write_shop_change(shop.source_dir, {"campaigns": campaigns, "exposures": exposures},
                          label=f"join the results of plan {plan.plan_id}", base=shop)
        added = len(exposures) - len(shop.exposures)
        deps.reload_shop()
        logger.info("joined plan %s as %s (%d exposures)", plan.plan_id, ids, added)
    return CampaignReadout(
        plan_id=plan.plan_id, results_file=str(Path(path)), currency=plan.currency,
        rows_read=len(results), customers_in_plan=len(assign), missing_from_file=missing,
        cells=cells, totals=totals, joined=join, campaign_ids=ids, exposures_added=added,
        notes=notes,
    )
