"""Uplift from past campaigns with randomised control groups, per cell and per customer.

``UpliftModel`` holds the **cell estimates** (segment x channel, and segment x channel x
discount level): incremental conversion rate and revenue per contact with 95% intervals,
measured per campaign, adjusted for pre-campaign purchases and shrunk toward the channel
where a cell is small (the statistics are in ``tools.campaigns.uplift_stats``), and an **individual
model** per channel (``tools.campaigns.learners``) that ranks customers inside a cell.

A campaign with no control group (e.g. imported data) gives no uplift estimate; it is listed
in ``UpliftModel.campaigns_without_control`` and said in ``notes``.

Segments are the customers' segments *today*, computed for each campaign without the
customer's own purchases inside that campaign's window (``campaign_segments``). A
conversion is a purchase: with the plain segment of today, a lapsed customer who converted
is no longer lapsed, so converters would leave the lapsed segments (their measured uplift
falls toward zero) and crowd the active ones (theirs inflates), more so in the treated group.
Without the window's purchases the segment no longer depends on the random assignment, and
a cell's number stays a difference between randomised groups. (On the demo this cuts the
plan's errors on the active segments by half or more: see ``agent eval campaign --data``.)
Exposures joined by a read-out record the segment each customer had when the plan was made
and count there. The individual models' features are today's profiles (they carry a little
of the campaigns' own effect; acceptable for ranking).
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
    DiscountEffects,
    attach_order_value,
    combine_strata,
    fit_discount_effects,
    pre_period_covariates,
    regression_adjust,
    shrink,
    stratum_stats,
)
from tools.customers.churn import build_orders, profile_as_of, segments_from_orders

if TYPE_CHECKING:
    from tools.customers.profiles import ProfileStore
    from tools.shop.store import ShopData

__all__ = ["Z95", "GoalMetric", "UpliftEstimate", "UpliftModel", "build_uplift_model",
           "load_uplift_model"]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
GoalMetric = Literal["conversions", "revenue"]
#: Pseudo customers pulling a cell's measured treated conversion toward baseline + lift.
TREATED_PRIOR_N = 50.0


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
    treated_rate: float | None = None

    @property
    def treated_conversion(self) -> float:
        """Expected conversion rate of a contacted customer (what offer costs scale with).

        The measured conversion of the cell's messaged customers where there is one (large
        groups measure it far more precisely than the lift, which also needs the small
        control group), pulled toward baseline + lift with ``TREATED_PRIOR_N`` pseudo
        customers; else baseline + lift.
        """
        model = max(0.0, self.baseline_conversion + self.conversion_uplift)
        if self.treated_rate is None or not np.isfinite(self.treated_rate):
            return model
        n = float(self.n_treatment)
        return max(0.0, (n * self.treated_rate + TREATED_PRIOR_N * model) / (n + TREATED_PRIOR_N))


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
        treated_rate=(float(row["conv_treated"]) if "conv_treated" in row.index
                      and np.isfinite(row["conv_treated"]) else None),
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
        discounts: DiscountEffects | None = None,
        discount_mix: dict[tuple[str, str], float] | None = None,
    ) -> None:
        self.cells = cells
        #: What each discount adds to the conversion uplift, pooled over every cell (offers
        #: never measured on a segment x channel are placed with it).
        self.discounts = discounts or DiscountEffects({}, (0.0, float("nan")))
        #: The mean discount effect of each segment x channel's measured offers.
        self.discount_mix = discount_mix or {}
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
        never measured on the segment x channel moves the segment x channel's uplift by what
        that discount adds over the mix of discounts it was measured with (``discounts``,
        pooled over every cell: measured levels, lines between them, a slope beyond them);
        its interval widens by that effect's uncertainty, orders keep their measured value,
        and the estimate's note says so. None when the channel has no randomised campaign.
        """
        base = self.channel_estimate(channel)
        if base is None:
            return None
        est = self._est.get("segment_channel", {}).get((segment, channel))
        if est is None:
            est = base.model_copy(update={
                "segment": segment, "measured": False, "raw_conversion_uplift": None,
                "treated_rate": None,
                "raw_revenue_uplift": None, "shrinkage": 1.0,
                "note": f"no {segment} customer was in a randomised {channel} campaign; "
                        f"the {channel} average is used",
            })
        if discount_pct is None:
            return est
        offer = self._est.get("offer", {}).get((segment, channel, float(discount_pct)))
        if offer is not None:
            return offer
        mix = self.discount_mix.get((segment, channel))
        if mix is None:
            mix = self.discounts.effect(est.measured_discount_pct)[0]
        return _extrapolate_discount(est, float(discount_pct), self.discounts, mix)

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
    est: UpliftEstimate, discount: float, effects: DiscountEffects, mix: float
) -> UpliftEstimate:
    measured = est.measured_discount_pct
    if abs(discount - measured) < 1e-9 and discount not in effects.levels:
        return est.model_copy(update={"discount_pct": discount})
    effect, effect_se = effects.effect(discount)
    conv = est.conversion_uplift + effect - mix
    lo, hi = est.conversion_ci
    se = float(np.hypot((hi - lo) / (2 * Z95), effect_se))
    offer = f"a {discount:g}% offer" if discount else "a message without a discount"
    if discount in effects.levels:
        how = "placed by what that discount added in other segments and channels"
    elif effects.levels and min(effects.levels) < discount < max(effects.levels):
        how = "placed between the discounts measured in other segments and channels"
    elif len(effects.levels) > 1:
        how = (f"extrapolated from the measured discounts at {effects.slope[0] * 100:+.2f} pts "
               "conversion per discount point")
    else:
        how = f"assumed to convert like the measured offers (avg {measured:.0f}% off)"
    note = f"{offer} was never measured on {est.channel} for {est.segment}; {how}"
    rpo = est.revenue_per_order
    r_lo, r_hi = est.revenue_ci
    r_se = float(np.hypot((r_hi - r_lo) / (2 * Z95), effect_se * rpo))
    return est.model_copy(update={
        "discount_pct": discount,
        "conversion_uplift": conv,
        "conversion_ci": (conv - Z95 * se, conv + Z95 * se),
        "revenue_uplift": conv * rpo,
        "revenue_ci": (conv * rpo - Z95 * r_se, conv * rpo + Z95 * r_se),
        "note": "; ".join(n for n in (est.note, note) if n),
        "treated_rate": None,
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
        The model. An exposure row with a ``segment`` counts in that segment (see
        ``campaign_segments``); one without, in its customer's segment of ``segments``.
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
    today = segments.reindex(exp["customer_id"]).to_numpy()
    if "segment" in exp.columns:
        planned = exp["segment"].astype(object).to_numpy()
        known = pd.notna(planned) & (planned != "")
        today = np.where(known, planned, today)
    exp = exp.assign(
        segment=today,
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
        if cell_rows is not exp:  # conversion rates from the unadjusted outcomes
            raw = combine_strata(stratum_stats(exp, keys), keys).set_index(keys)
            idx = (pd.MultiIndex.from_frame(out[keys]) if len(keys) > 1
                   else pd.Index(out[keys[0]]))
            for col in ("conv_base", "conv_treated"):
                out[col] = raw[col].reindex(idx).to_numpy()
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
    effects = fit_discount_effects(raw_offers)
    mix = _discount_mix(raw_offers, effects)
    off = shrink(raw_offers, _offer_parents(raw_offers, cells["segment_channel"], effects, mix),
                 off_keys, group_keys=["segment", "channel"])
    # Without a message nobody sees the offer: an offer cell's baseline is its segment x
    # channel's (all campaigns), not the few control customers of one discount.
    parent_base = cells["segment_channel"].set_index(["segment", "channel"])["conv_base"]
    off["conv_base"] = parent_base.reindex(pd.MultiIndex.from_frame(off[["segment", "channel"]])
                                           ).to_numpy()
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
                       no_control, notes, effects, mix)


def _discount_mix(offers: pd.DataFrame, effects: DiscountEffects) -> dict[tuple[str, str], float]:
    """Each segment x channel's mean discount effect over its offers (weights: treated)."""
    out: dict[tuple[str, str], float] = {}
    for (seg, ch), rows in offers.groupby(["segment", "channel"], observed=True):
        w = rows["n_t"].to_numpy(np.float64)
        e = np.array([effects.effect(float(d))[0] for d in rows["discount_pct"]])
        out[(str(seg), str(ch))] = float((w * e).sum() / w.sum()) if w.sum() else 0.0
    return out


def _offer_parents(
    offers: pd.DataFrame, parent: pd.DataFrame, effects: DiscountEffects,
    mix: dict[tuple[str, str], float],
) -> pd.DataFrame:
    """Each offer cell's parent: its segment x channel, moved by its discount's effect."""
    keys = ["segment", "channel"]
    par = parent.set_index(keys)
    idx = pd.MultiIndex.from_frame(offers[keys])
    move = np.array([
        effects.effect(float(d))[0] - mix.get((str(s), str(c)), 0.0)
        for s, c, d in zip(offers["segment"], offers["channel"], offers["discount_pct"],
                           strict=True)
    ])
    out = offers[[*keys, "discount_pct"]].copy()
    for m in METRICS:
        scale = 1.0 if m == "conv" else par["aov"].reindex(idx).to_numpy(np.float64)
        out[f"{m}_est"] = par[f"{m}_est"].reindex(idx).to_numpy() + move * scale
        out[f"{m}_se_post"] = par[f"{m}_se_post"].reindex(idx).to_numpy()
    return out


def campaign_segments(shop: ShopData, today: pd.Series) -> pd.Series:
    """Each exposure's segment: today's, without the customer's purchases in that campaign.

    Aligned with ``shop.exposures`` rows. An exposure that records its ``segment`` (a
    read-out's) keeps it; a campaign whose window holds none of its customers' purchases
    (one sent after the shop's "as of" time, say) leaves ``today``'s segment.
    """
    exposures = shop.exposures
    out = today.reindex(exposures["customer_id"]).to_numpy().astype(object)
    if "segment" in exposures.columns:
        planned = exposures["segment"].astype(object).to_numpy()
        recorded = pd.notna(planned) & (planned != "")
        out = np.where(recorded, planned, out)
    else:
        recorded = np.zeros(len(exposures), dtype=bool)
    as_of = profile_as_of(shop)
    orders = build_orders(shop.events[shop.events["timestamp"] <= as_of])
    ends = {str(k): v for k, v in zip(shop.campaigns["campaign_id"], shop.campaigns["end_at"],
                                      strict=True)}
    for key, where in exposures.groupby("campaign_id", sort=True).indices.items():
        cid = str(key)
        pos = where[~recorded[where]]
        if not len(pos) or cid not in ends:
            continue
        rows = exposures.iloc[pos]
        window = rows[["customer_id", "sent_at"]].drop_duplicates("customer_id")
        mine = orders.merge(window, on="customer_id", how="left")
        inside = mine["sent_at"].notna() & (mine["ts"] >= mine["sent_at"]) & (
            mine["ts"] <= ends[cid])
        if not inside.any():
            continue
        seg = segments_from_orders(mine.loc[~inside, ["customer_id", "ts", "value"]],
                                   today.index, as_of)
        out[pos] = seg.reindex(rows["customer_id"]).to_numpy()
    return pd.Series(out, index=exposures.index, dtype=object)


def load_uplift_model(shop: ShopData, profiles: ProfileStore) -> UpliftModel:
    """Uplift estimates and individual models from the shop's randomised campaigns."""
    return shop_uplift_model(shop, profiles.table)


def shop_uplift_model(shop: ShopData, table: pd.DataFrame) -> UpliftModel:
    """``load_uplift_model`` from a profile table (each exposure in its campaign's segment)."""
    exposures = shop.exposures.assign(segment=campaign_segments(shop, table["segment"]))
    return build_uplift_model(
        exposures, shop.campaigns, table["segment"], profile_features(table), events=shop.events,
    )
