"""Uplift from past campaigns with randomised control groups, per cell and per customer.

``UpliftModel`` holds the **cell estimates** (segment x channel, and segment x channel x
discount level): incremental conversion rate and revenue per contact with 95% intervals,
measured per campaign, adjusted for pre-campaign purchases and shrunk toward the channel
where a cell is small (the statistics are in ``tools.campaigns.uplift_stats``), and an **individual
model** per channel (``tools.campaigns.learners``) that ranks customers inside a cell.

A campaign with no control group (e.g. imported data) gives no uplift estimate; it is listed
in ``UpliftModel.campaigns_without_control`` and said in ``notes``.

Segments are the customers' segments *today* (``profiles.table``), not at the time of each
campaign; profiles also describe customers after the campaigns, so features carry a little
of the campaigns' own effect. Both are acceptable for ranking; the cell numbers the budget
uses are differences between randomised groups of the same customers' segments.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel

from tools.campaigns.learners import (
    LearnerKind,
    ProportionalUplift,
    UpliftLearner,
    fit_channel_models,
    profile_features,
)
from tools.campaigns.uplift_stats import (
    METRICS,
    Z95,
    attach_order_value,
    combine_strata,
    pre_period_covariates,
    regression_adjust,
    shrink,
    stratum_stats,
)

if TYPE_CHECKING:
    from tools.customers.profiles import ProfileStore
    from tools.shop.store import ShopData

__all__ = [
    "Z95",
    "GoalMetric",
    "UpliftEstimate",
    "UpliftModel",
    "build_uplift_model",
    "load_uplift_model",
]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
GoalMetric = Literal["conversions", "revenue"]


class UpliftEstimate(BaseModel):
    """The uplift of contacting one cell, per contact, after shrinkage, with 95% intervals.

    ``revenue_uplift`` = ``conversion_uplift`` x ``revenue_per_order`` (the two-part
    estimate the planner uses); ``direct_revenue_uplift`` is the shrunk difference of mean
    revenue (treatment - control), noisier because a few large orders dominate it.
    """

    segment: str | None
    channel: str
    discount_pct: float | None = None
    n_treatment: int
    n_control: int
    campaigns: list[str]
    conversion_uplift: float
    conversion_ci: tuple[float, float]
    revenue_uplift: float
    revenue_ci: tuple[float, float]
    revenue_per_order: float
    direct_revenue_uplift: float
    direct_revenue_ci: tuple[float, float]
    raw_conversion_uplift: float | None
    raw_revenue_uplift: float | None
    shrinkage: float
    baseline_conversion: float
    measured_discount_pct: float
    measured: bool = True
    note: str = ""

    @property
    def treated_conversion(self) -> float:
        """Expected conversion rate of a contacted customer."""
        return max(0.0, self.baseline_conversion + self.conversion_uplift)


# ------------------------------------------------------------------------ the model


LEVEL_KEYS: dict[str, list[str]] = {
    "channel": ["channel"],
    "segment_channel": ["segment", "channel"],
    "offer": ["segment", "channel", "discount_pct"],
}


def _row_to_estimate(row: pd.Series, level: str, note: str = "") -> UpliftEstimate:
    def ci(est_col: str, se_col: str) -> tuple[float, float]:
        est, se = float(row[est_col]), float(row[se_col])
        return (est - Z95 * se, est + Z95 * se)

    def raw(col: str) -> float | None:
        value = row.get(col)
        return None if value is None or not np.isfinite(value) else float(value)

    return UpliftEstimate(
        segment=None if level == "channel" else str(row["segment"]),
        channel=str(row["channel"]),
        discount_pct=float(row["discount_pct"]) if level == "offer" else None,
        n_treatment=int(row["n_t"]),
        n_control=int(row["n_c"]),
        campaigns=list(row["campaigns"]),
        conversion_uplift=float(row["conv_est"]),
        conversion_ci=ci("conv_est", "conv_se_post"),
        revenue_uplift=float(row["rev2_est"]),
        revenue_ci=ci("rev2_est", "rev2_se"),
        revenue_per_order=float(row["aov"]),
        direct_revenue_uplift=float(row["rev_est"]),
        direct_revenue_ci=ci("rev_est", "rev_se_post"),
        raw_conversion_uplift=raw("conv_raw"),
        raw_revenue_uplift=raw("rev_raw"),
        shrinkage=float(row.get("conv_shrink", 0.0)),
        baseline_conversion=float(row["conv_base"]),
        measured_discount_pct=float(row["discount"]),
        measured=int(row["n_t"]) > 0,
        note=note,
    )


class UpliftModel:
    """Measured uplift per segment x channel (x offer) and an individual ranking model."""

    def __init__(
        self,
        cells: dict[str, pd.DataFrame],
        channel_models: dict[str, UpliftLearner],
        features: pd.DataFrame,
        campaigns_without_control: list[str],
        notes: list[str],
    ) -> None:
        self.cells = cells
        self.channel_models = channel_models
        self.features = features
        self.campaigns_without_control = campaigns_without_control
        self.notes = notes
        self._score_cache: dict[tuple[str, str], pd.Series] = {}
        self._est: dict[str, dict[tuple[Any, ...], UpliftEstimate]] = {
            level: {
                tuple(row[k] for k in LEVEL_KEYS[level]): _row_to_estimate(row, level)
                for _, row in frame.iterrows()
            }
            if len(frame)
            else {}
            for level, frame in cells.items()
        }

    @property
    def measured_channels(self) -> list[str]:
        """Channels with at least one randomised campaign."""
        return [str(k[0]) for k in self._est.get("channel", {})]

    def measured_discounts(self, channel: str) -> list[float]:
        """Discount levels (percent) measured on a channel."""
        return sorted({float(k[2]) for k in self._est.get("offer", {}) if k[1] == channel})

    def channel_estimate(self, channel: str) -> UpliftEstimate | None:
        """The channel-level estimate (all segments), or None when never measured."""
        return self._est.get("channel", {}).get((channel,))

    def estimates(self) -> list[UpliftEstimate]:
        """Every measured segment x channel estimate."""
        return list(self._est.get("segment_channel", {}).values())

    def estimate(
        self, segment: str, channel: str, discount_pct: float | None = None
    ) -> UpliftEstimate | None:
        """The uplift of contacting ``segment`` on ``channel`` with an offer of ``discount_pct``.

        Falls back to the channel's average for a segment never measured on it. For a
        discount never measured on the channel, the conversion uplift is the measured one and
        the treated revenue is rescaled by (1 - discount) / (1 - measured discount), and the
        estimate's note says so. None when the channel has no randomised campaign at all.
        """
        base = self.channel_estimate(channel)
        if base is None:
            return None
        est = self._est.get("segment_channel", {}).get((segment, channel))
        if est is None:
            est = base.model_copy(
                update={
                    "segment": segment,
                    "measured": False,
                    "raw_conversion_uplift": None,
                    "raw_revenue_uplift": None,
                    "shrinkage": 1.0,
                    "note": f"no {segment} customer was in a randomised {channel} campaign; "
                    f"the {channel} average is used",
                }
            )
        if discount_pct is None:
            return est
        offer = self._est.get("offer", {}).get((segment, channel, float(discount_pct)))
        if offer is not None:
            return offer
        return _rescale_discount(est, float(discount_pct))

    def score(
        self, customer_ids: list[str], channel: str, metric: GoalMetric, cell_uplift: float
    ) -> FloatArray | None:
        """Individual uplift of ``customer_ids`` on ``channel`` in a cell (None without a model).

        A proportional model spreads the cell's measured uplift over its customers in
        proportion to their responsiveness (so the scores average to ``cell_uplift``); a
        T-learner gives its own estimates.
        """
        raw = self._raw_scores(channel, metric)
        if raw is None or not customer_ids:
            return None
        values = raw.reindex(customer_ids).fillna(0.0).to_numpy(np.float64)
        if isinstance(self.channel_models[channel], ProportionalUplift):
            mean = float(values.mean())
            return values * (cell_uplift / mean) if mean > 0 else np.full(len(values), cell_uplift)
        return values

    def _raw_scores(self, channel: str, metric: GoalMetric) -> pd.Series | None:
        """Every customer's raw model output for a channel, computed once (a batch predict)."""
        model = self.channel_models.get(channel)
        if model is None:
            return None
        key = (channel, metric)
        if key not in self._score_cache:
            x = self.features
            if isinstance(model, ProportionalUplift):
                out = model.responsiveness(x, with_value=metric == "revenue")
            else:
                out = model.event_uplift(x)["treatment"]
                if metric == "revenue":
                    out = out * model.value_per_event(x)
            self._score_cache[key] = pd.Series(out, index=x.index)
        return self._score_cache[key]


def _rescale_discount(est: UpliftEstimate, discount: float) -> UpliftEstimate:
    measured = est.measured_discount_pct
    if abs(discount - measured) < 1e-9:
        return est.model_copy(update={"discount_pct": discount})
    factor = (1 - discount / 100) / max(1 - measured / 100, 1e-9)
    note = (
        f"a {discount:g}% offer was never measured on {est.channel}; assumed to convert like "
        f"the measured offers (avg {measured:.0f}% off), with orders worth their own price"
    )
    lo, hi = est.revenue_ci
    return est.model_copy(
        update={
            "discount_pct": discount,
            "revenue_per_order": est.revenue_per_order * factor,
            "revenue_uplift": est.revenue_uplift * factor,
            "revenue_ci": (min(lo * factor, hi * factor), max(lo * factor, hi * factor)),
            "note": "; ".join(n for n in (est.note, note) if n),
        }
    )


def build_uplift_model(
    exposures: pd.DataFrame,
    campaigns: pd.DataFrame,
    segments: pd.Series,
    features: pd.DataFrame | None = None,
    learner: LearnerKind = "proportional",
    events: pd.DataFrame | None = None,
) -> UpliftModel:
    """Estimate cell uplift (and, given features, individual models) from exposures.

    Args:
        exposures: rows of the exposures table.
        campaigns: the campaigns table (channel and discount per campaign).
        segments: segment per customer id.
        features: model features per customer id (``profile_features``); None skips the
            individual models.
        learner: the individual model (see ``tools.campaigns.learners``).
        events: the events table; when given, outcomes are regression-adjusted for
            pre-period purchases (CUPED), which narrows the intervals.
    """
    notes: list[str] = []
    exp = exposures.merge(
        campaigns[["campaign_id", "channel", "discount_pct"]], on="campaign_id", how="inner"
    )
    with_control = set(exp.loc[exp["group"] == "control", "campaign_id"].astype(str))
    no_control = sorted(set(exp["campaign_id"].astype(str)) - with_control)
    if no_control:
        notes.append(
            f"campaign(s) {', '.join(no_control)} have no control group, so they give no "
            "uplift estimate (their results cannot be told apart from what would have "
            "happened anyway)"
        )
    exp = exp[~exp["campaign_id"].isin(no_control) & exp["customer_id"].isin(segments.index)]
    exp = exp.assign(
        segment=segments.reindex(exp["customer_id"]).to_numpy(),
        converted=exp["converted"].astype(np.float64),
        revenue=exp["revenue"].astype(np.float64),
        discount_pct=exp["discount_pct"].astype(np.float64),
    )
    cells: dict[str, pd.DataFrame] = {}
    if exp.empty:
        notes.append("no campaign with a randomised control group: no uplift can be estimated")
        cells = {level: pd.DataFrame() for level in LEVEL_KEYS}
        return UpliftModel(
            cells, {}, features if features is not None else pd.DataFrame(), no_control, notes
        )
    cell_rows = exp
    if events is not None and len(events):
        cell_rows = regression_adjust(exp, pre_period_covariates(exp, events))

    def cells_of(keys: list[str]) -> pd.DataFrame:
        out = combine_strata(stratum_stats(cell_rows, keys), keys)
        if cell_rows is not exp:  # baselines from the unadjusted outcomes
            raw = combine_strata(stratum_stats(exp, keys), keys).set_index(keys)["conv_base"]
            out["conv_base"] = raw.reindex(
                pd.MultiIndex.from_frame(out[keys]) if len(keys) > 1 else pd.Index(out[keys[0]])
            ).to_numpy()
        return out

    top = cells_of(["channel"])
    for m in METRICS:
        top[f"{m}_est"], top[f"{m}_se_post"] = top[f"{m}_raw"], top[f"{m}_se"]
    top["conv_shrink"] = 0.0
    cells["channel"] = attach_order_value(top, exp, ["channel"])
    sc = cells_of(["segment", "channel"])
    sc = shrink(sc, cells["channel"], ["channel"])
    cells["segment_channel"] = attach_order_value(
        sc, exp, ["segment", "channel"], cells["channel"], ["channel"]
    )
    off_keys = ["segment", "channel", "discount_pct"]
    off = shrink(
        cells_of(off_keys),
        cells["segment_channel"],
        ["segment", "channel"],
    )
    cells["offer"] = attach_order_value(
        off, exp, off_keys, cells["segment_channel"], ["segment", "channel"]
    )
    models: dict[str, UpliftLearner] = {}
    if features is not None and len(features):
        models, model_notes = fit_channel_models(exp, features, learner)
        notes.extend(model_notes)
    logger.info(
        "uplift: %d segment x channel cells from %d exposures; individual models for %s",
        len(sc),
        len(exp),
        ", ".join(models) or "no channel",
    )
    return UpliftModel(
        cells, models, features if features is not None else pd.DataFrame(), no_control, notes
    )


def load_uplift_model(shop: ShopData, profiles: ProfileStore) -> UpliftModel:
    """Uplift estimates and individual models from the shop's randomised campaigns."""
    table = profiles.table
    return build_uplift_model(
        shop.exposures,
        shop.campaigns,
        table["segment"],
        profile_features(table),
        events=shop.events,
    )
