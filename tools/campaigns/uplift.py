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
uses are differences between randomised groups of the same customers' segments. (A
conversion is a purchase, so a recent campaign's converters may have moved to a more active
segment since: a cell measures the customers who are in the segment now, as the plan that
targets them needs.)
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
    discount_slope,
    pre_period_covariates,
    regression_adjust,
    shrink,
    stratum_stats,
)

if TYPE_CHECKING:
    from tools.customers.profiles import ProfileStore
    from tools.shop.store import ShopData

__all__ = ["Z95", "GoalMetric", "UpliftEstimate", "UpliftModel", "build_uplift_model",
           "load_uplift_model"]

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
        discount_slope: tuple[float, float] = (0.0, float("nan")),
    ) -> None:
        self.cells = cells
        #: Conversion uplift per discount point and its standard error (offers never measured
        #: on a segment x channel are extrapolated with it).
        self.discount_slope = discount_slope
        self.channel_models = channel_models
        self.features = features
        self.campaigns_without_control = campaigns_without_control
        self.notes = notes
        self._score_cache: dict[tuple[str, str], pd.Series] = {}
        self._est: dict[str, dict[tuple[Any, ...], UpliftEstimate]] = {
            level: {
                tuple(row[k] for k in LEVEL_KEYS[level]): _row_to_estimate(row, level)
                for _, row in frame.iterrows()
            } if len(frame) else {}
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

        Falls back to the channel's average for a segment never measured on it. A discount
        never measured on the segment x channel is extrapolated from the discounts that were:
        the conversion uplift moves by ``discount_slope`` per discount point away from their
        average (its interval widens by the slope's uncertainty), orders keep their measured
        value, and the estimate's note says so. None when the channel has no randomised
        campaign at all.
        """
        base = self.channel_estimate(channel)
        if base is None:
            return None
        est = self._est.get("segment_channel", {}).get((segment, channel))
        if est is None:
            est = base.model_copy(update={
                "segment": segment, "measured": False, "raw_conversion_uplift": None,
                "raw_revenue_uplift": None, "shrinkage": 1.0,
                "note": f"no {segment} customer was in a randomised {channel} campaign; "
                        f"the {channel} average is used",
            })
        if discount_pct is None:
            return est
        offer = self._est.get("offer", {}).get((segment, channel, float(discount_pct)))
        if offer is not None:
            return offer
        return _extrapolate_discount(est, float(discount_pct), self.discount_slope)

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


def _extrapolate_discount(
    est: UpliftEstimate, discount: float, slope: tuple[float, float]
) -> UpliftEstimate:
    measured = est.measured_discount_pct
    if abs(discount - measured) < 1e-9:
        return est.model_copy(update={"discount_pct": discount})
    beta, beta_se = slope
    delta = discount - measured
    conv = est.conversion_uplift + beta * delta
    lo, hi = est.conversion_ci
    se = (hi - lo) / (2 * Z95)
    extra = abs(delta) * beta_se if np.isfinite(beta_se) else 0.0
    se = float(np.sqrt(se**2 + extra**2))
    offer = f"a {discount:g}% offer" if discount else "a message without a discount"
    how = (f"extrapolated from the measured offers (avg {measured:.0f}% off) at "
           f"{beta * 100:+.2f} pts conversion per discount point" if np.isfinite(beta_se)
           else f"assumed to convert like the measured offers (avg {measured:.0f}% off)")
    note = f"{offer} was never measured on {est.channel}; {how}"
    rpo = est.revenue_per_order
    r_lo, r_hi = est.revenue_ci
    r_se = float(np.sqrt(((r_hi - r_lo) / (2 * Z95)) ** 2 + (extra * rpo) ** 2))
    return est.model_copy(update={
        "discount_pct": discount,
        "conversion_uplift": conv,
        "conversion_ci": (conv - Z95 * se, conv + Z95 * se),
        "revenue_uplift": conv * rpo,
        "revenue_ci": (conv * rpo - Z95 * r_se, conv * rpo + Z95 * r_se),
        "note": "; ".join(n for n in (est.note, note) if n),
    })


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

    Returns:
        The model; each exposure counts in its customer's segment of ``segments``.
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
            out["conv_base"] = raw.reindex(pd.MultiIndex.from_frame(out[keys]) if len(keys) > 1
                                           else pd.Index(out[keys[0]])).to_numpy()
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
    raw_offers = cells_of(off_keys)
    slope = discount_slope(raw_offers)
    off = shrink(raw_offers, _offer_parents(raw_offers, cells["segment_channel"], slope[0]),
                 off_keys, group_keys=["segment", "channel"])
    cells["offer"] = attach_order_value(
        off, exp, off_keys, cells["segment_channel"], ["segment", "channel"]
    )
    models: dict[str, UpliftLearner] = {}
    if features is not None and len(features):
        models, model_notes = fit_channel_models(exp, features, learner)
        notes.extend(model_notes)
    logger.info(
        "uplift: %d segment x channel cells from %d exposures; individual models for %s",
        len(sc), len(exp), ", ".join(models) or "no channel",
    )
    return UpliftModel(cells, models, features if features is not None else pd.DataFrame(),
                       no_control, notes, slope)


def _offer_parents(
    offers: pd.DataFrame, parent: pd.DataFrame, slope: float
) -> pd.DataFrame:
    """Each offer cell's parent: its segment x channel moved along the discount slope."""
    keys = ["segment", "channel"]
    par = parent.set_index(keys)
    idx = pd.MultiIndex.from_frame(offers[keys])
    delta = offers["discount_pct"].to_numpy(np.float64) - par["discount"].reindex(idx).to_numpy()
    out = offers[[*keys, "discount_pct"]].copy()
    for m in METRICS:
        scale = 1.0 if m == "conv" else par["aov"].reindex(idx).to_numpy(np.float64)
        out[f"{m}_est"] = par[f"{m}_est"].reindex(idx).to_numpy() + slope * delta * scale
        out[f"{m}_se_post"] = par[f"{m}_se_post"].reindex(idx).to_numpy()
    return out


def load_uplift_model(shop: ShopData, profiles: ProfileStore) -> UpliftModel:
    """Uplift estimates and individual models from the shop's randomised campaigns."""
    table = profiles.table
    return build_uplift_model(
        shop.exposures, shop.campaigns, table["segment"], profile_features(table),
        events=shop.events,
    )
