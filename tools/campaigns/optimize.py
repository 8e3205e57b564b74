"""Campaign tools: an exact budget plan from measured uplift, and campaign matching.

``optimize_campaign`` plans a budget; ``match_campaigns`` says which running campaigns fit a
customer, and why. The uplift comes from past campaigns with randomised control groups
(``tools.campaigns.uplift``); the plan is solved exactly as a MILP (``tools.campaigns.solver``) and
explained row by row (``tools.campaigns.planner``). ``match_campaigns`` lives in
``tools.campaigns.matching``.
"""

from __future__ import annotations

import difflib
import logging
import re
from typing import Any

import pandas as pd

from tools.campaigns.models import (
    CampaignDeps,
    CampaignPlan,
    ChannelCost,
    Goal,
    OfferOption,
    PlanTotals,
    SolverInfo,
)
from tools.campaigns.planner import (
    Eligibility,
    ResolvedOffer,
    build_cells,
    build_eligibility,
    build_problem,
    build_rows,
    interval_total,
    marginal_return,
    select_customers,
    what_if_curve,
)
from tools.campaigns.solver import InfeasibleAllocationError, solve_allocation
from tools.campaigns.uplift import UpliftModel, load_uplift_model
from tools.customers.churn import profile_as_of
from tools.errors import ToolInputError
from tools.fairness import audit_selection
from tools.shop.schemas import CHANNELS, SEGMENTS, SegmentFilter

__all__ = ["UpliftModel", "load_uplift_model", "optimize_campaign"]

logger = logging.getLogger(__name__)

NO_OFFER_NAMES = {"", "no offer", "none", "no discount", "nothing"}


# --------------------------------------------------------------------- input checks


def resolve_channel_costs(
    channels: list[ChannelCost] | None, campaigns: pd.DataFrame, model: UpliftModel
) -> tuple[dict[str, float], list[str]]:
    """Cost per contact of each allowed channel (history's median when not given).

    Returns:
        The costs and notes about channels that cannot be used.

    Raises:
        ToolInputError: a channel twice, or a cost missing with no history to take it from.
    """
    history = {
        str(k): float(v)
        for k, v in campaigns.groupby("channel")["cost_per_contact"].median().items()
    }
    notes: list[str] = []
    costs: dict[str, float]
    if channels is None:
        costs = {ch: float(history[ch]) for ch in CHANNELS if ch in history}
        if not costs:
            raise ToolInputError(
                "channels: no past campaign gives a cost per contact; pass channels with "
                'cost_per_contact, e.g. [{"channel": "email", "cost_per_contact": 0.05}]'
            )
    else:
        costs = {}
        for i, item in enumerate(channels):
            if item.channel in costs:
                raise ToolInputError(f"channels[{i}]: {item.channel} is listed twice")
            if item.cost_per_contact is None:
                if item.channel not in history:
                    raise ToolInputError(
                        f"channels[{i}].cost_per_contact: missing for {item.channel}, and no "
                        f"past {item.channel} campaign gives one; pass cost_per_contact"
                    )
                costs[item.channel] = float(history[item.channel])
            else:
                costs[item.channel] = float(item.cost_per_contact)
        if not costs:
            raise ToolInputError("channels: give at least one channel")
    for ch in list(costs):
        if model.channel_estimate(ch) is None:
            notes.append(
                f"{ch}: no past {ch} campaign had a randomised control group, so its uplift is "
                f"unknown and it is not used"
            )
    return costs, notes


def resolve_offers(
    offers: list[OfferOption] | None, campaigns: pd.DataFrame
) -> list[ResolvedOffer]:
    """Settle each offer's discount (from the name or a past campaign's offer).

    Raises:
        ToolInputError: an offer named twice or one whose discount cannot be told.
    """
    if not offers:
        return [ResolvedOffer("no offer", 0.0, 0.0, 0.0)]
    known = {
        str(o).strip().lower(): float(d)
        for o, d in zip(campaigns["offer"], campaigns["discount_pct"], strict=True)
        if str(o)
    }
    out: list[ResolvedOffer] = []
    seen: set[str] = set()
    for i, offer in enumerate(offers):
        name = offer.name.strip() or "no offer"
        key = name.lower()
        if key in seen:
            raise ToolInputError(f"offers[{i}]: offer {name!r} is listed twice")
        seen.add(key)
        discount = offer.discount_pct
        if discount is None:
            pct = re.search(r"(\d+(?:\.\d+)?)\s*%", name)
            if key in NO_OFFER_NAMES:
                discount = 0.0
            elif pct:
                discount = float(pct.group(1))
            elif key in known:
                discount = known[key]
            else:
                close = difflib.get_close_matches(key, list(known), n=3, cutoff=0.5)
                hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
                raise ToolInputError(
                    f"offers[{i}]: unknown offer {name!r}; give its discount_pct (and any "
                    f"cost_per_conversion or cost_share_of_revenue), or name it like "
                    f"'15% off' or 'no offer'.{hint}"
                )
        if discount >= 100:
            raise ToolInputError(f"offers[{i}].discount_pct: must be below 100, got {discount:g}")
        out.append(
            ResolvedOffer(
                name, float(discount), offer.cost_per_conversion, offer.cost_share_of_revenue
            )
        )
    return out


def _check_segment_keys(shares: dict[str, float] | None, field: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in (shares or {}).items():
        seg = key.strip().lower()
        if seg not in SEGMENTS:
            close = difflib.get_close_matches(seg, SEGMENTS, n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise ToolInputError(
                f"{field}: unknown segment {key!r}; {hint}segments: {', '.join(SEGMENTS)}"
            )
        if not 0 <= value <= 1:
            raise ToolInputError(f"{field}[{seg}]: a share between 0 and 1, got {value}")
        out[seg] = float(value)
    return out


def _check_capacity(capacity: dict[str, int] | None, costs: dict[str, float]) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, value in (capacity or {}).items():
        ch = key.strip().lower()
        if ch not in CHANNELS:
            raise ToolInputError(
                f"channel_capacity: unknown channel {key!r}; channels: {', '.join(CHANNELS)}"
            )
        if ch not in costs:
            raise ToolInputError(
                f"channel_capacity[{ch}]: {ch} is not among the plan's channels "
                f"({', '.join(costs)})"
            )
        if value < 0:
            raise ToolInputError(f"channel_capacity[{ch}]: must be 0 or more, got {value}")
        out[ch] = int(value)
    return out


# ------------------------------------------------------------------ optimize_campaign


def _empty_message(elig: Eligibility, channels: list[str], cap_days: int) -> str:
    if elig.audience_size == 0:
        return "no customer matches the audience filter"
    parts = []
    if elig.excluded["frequency_cap"]:
        parts.append(
            f"{elig.excluded['frequency_cap']:,} were contacted in the last "
            f"{cap_days} days (frequency cap)"
        )
    if elig.excluded["no_consent"]:
        parts.append(
            f"{elig.excluded['no_consent']:,} have no consent for "
            f"{' or '.join(channels) or 'any allowed channel'}"
        )
    return f"all {elig.audience_size:,} customers of the audience were excluded: " + "; ".join(
        parts
    )


def optimize_campaign(
    deps: CampaignDeps,
    budget: float,
    goal: Goal = "revenue",
    channels: list[ChannelCost] | None = None,
    offers: list[OfferOption] | None = None,
    audience: SegmentFilter | None = None,
    channel_capacity: dict[str, int] | None = None,
    min_segment_share: dict[str, float] | None = None,
    max_segment_share: dict[str, float] | None = None,
    frequency_cap_days: int | None = None,
) -> CampaignPlan:
    """Plan a campaign budget: which segment gets which channel and offer, for the most uplift.

    Uses uplift measured in past campaigns with randomised control groups and solves the
    allocation exactly. Never selects a customer without consent for the channel, at most one
    message per customer, and skips customers contacted within the frequency cap.

    Args:
        deps: The shop's stores (supplied by the runtime, not by the model).
        budget: Total money to spend on messages and offers (must be positive).
        goal: What to maximise: "revenue" (incremental revenue), "conversions"
            (incremental conversions) or "profit" (incremental revenue minus costs).
        channels: Allowed channels with their cost per message, e.g.
            [{"channel": "email", "cost_per_contact": 0.05}]; omit for every channel with
            past tests, at the median cost of past campaigns.
        offers: Offers to choose from, e.g. [{"name": "no offer"}, {"name": "15% off"}];
            default: no offer.
        audience: Which customers may be contacted (a segment filter); default: everyone.
        channel_capacity: Most messages per channel, e.g. {"sms": 500}.
        min_segment_share: Least share of the budget per segment, e.g. {"at_risk": 0.2}.
        max_segment_share: Most share of the budget per segment, e.g. {"champions": 0.3}.
        frequency_cap_days: Skip customers contacted within this many days (default from
            settings).
    """
    if not budget > 0:
        raise ToolInputError(f"budget: must be a positive amount, got {budget}")
    shop, profiles, model = deps.shop, deps.profiles, deps.uplift
    currency = str(shop.meta.get("currency") or "USD")
    as_of = profile_as_of(shop)
    cap_days = (
        deps.config.frequency_cap_days if frequency_cap_days is None else (frequency_cap_days)
    )
    if cap_days < 0:
        raise ToolInputError(f"frequency_cap_days: must be 0 or more, got {cap_days}")
    costs, channel_notes = resolve_channel_costs(channels, shop.campaigns, model)
    resolved = resolve_offers(offers, shop.campaigns)
    capacity = _check_capacity(channel_capacity, costs)
    min_share = _check_segment_keys(min_segment_share, "min_segment_share")
    max_share = _check_segment_keys(max_segment_share, "max_segment_share")
    usable = [ch for ch in costs if model.channel_estimate(ch) is not None]
    ids = profiles.filter_ids(audience or SegmentFilter(), deps.config.allow_protected_targeting)
    if usable:
        elig = build_eligibility(profiles.table.loc[ids], usable, as_of, cap_days)
    else:  # nothing measured: nobody can be planned for, whatever their consent
        elig = build_eligibility(profiles.table.iloc[:0], usable, as_of, cap_days)
        elig.audience_size = len(ids)
        elig.excluded["no_uplift_estimate"] = len(ids)
    cells = build_cells(elig, model, goal, costs, resolved)
    problem = build_problem(elig, cells, budget, capacity, min_share, max_share)
    try:
        alloc = solve_allocation(problem)
    except InfeasibleAllocationError as exc:
        raise ToolInputError(f"constraints cannot all hold: {exc}") from exc
    rows = build_rows(elig, cells, alloc, currency, capacity)
    selected = select_customers(
        elig, cells, alloc, model, goal, profiles.table["expected_value_90d"]
    )
    conv, conv_lo, conv_hi = interval_total(rows, "incremental_conversions")
    rev, rev_lo, rev_hi = interval_total(rows, "incremental_revenue")
    cost = float(sum(r.cost for r in rows))
    totals = PlanTotals(
        contacts=int(alloc.contacts.sum()),
        cost=round(cost, 2),
        incremental_conversions=round(conv, 3),
        incremental_conversions_ci=(round(conv_lo, 3), round(conv_hi, 3)),
        incremental_revenue=round(rev, 2),
        incremental_revenue_ci=(round(rev_lo, 2), round(rev_hi, 2)),
        profit=round(rev - cost, 2),
        roi=round((rev - cost) / cost, 4) if cost > 0 else None,
    )
    marginal, marginal_note = marginal_return(problem, alloc, goal, currency)
    if not usable:
        message = "no allowed channel has measured uplift: " + "; ".join(
            model.notes + channel_notes or ["no randomised campaign"]
        )
    elif elig.eligible == 0:
        message = _empty_message(elig, usable, cap_days)
    elif totals.contacts == 0:
        message = (
            "no contact is expected to add to the goal at this budget "
            f"(cheapest cell costs {min(c.cost for c in cells):,.4g} {currency})"
            if cells
            else "no measured uplift for the eligible customers"
        )
    else:
        message = (
            f"{totals.contacts:,} of {elig.eligible:,} eligible customers contacted "
            f"across {len(rows)} segment x channel x offer cells"
        )
    # Every plan carries its fairness audit: selection among the eligible customers.
    eligible_ids = {c for group in elig.members for c in group}
    population = shop.customers[shop.customers["customer_id"].isin(eligible_ids)]
    fairness = audit_selection(
        population, [s.customer_id for s in selected], note="plan selection among the eligible"
    )
    return CampaignPlan(
        fairness=fairness,
        goal=goal,
        budget=budget,
        currency=currency,
        as_of=as_of.to_pydatetime(),
        audience_size=elig.audience_size,
        eligible=elig.eligible,
        rows=rows,
        totals=totals,
        marginal_return=marginal,
        marginal_note=marginal_note,
        what_if=what_if_curve(problem, cells) if cells else [],
        selected=selected,
        excluded=dict(elig.excluded),
        assumptions=_assumptions(cells, model, channel_notes, goal),
        constraints=_constraints(
            budget, costs, resolved, capacity, min_share, max_share, cap_days, audience, currency
        ),
        message=message,
        solver=SolverInfo(
            status=alloc.status, variables=problem.n_cells, seconds=round(alloc.seconds, 4)
        ),
    )


def _assumptions(
    cells: list[Any], model: UpliftModel, channel_notes: list[str], goal: Goal
) -> list[str]:
    out = [
        "uplift per contact is measured in past campaigns with randomised control groups "
        "(treatment minus control, per campaign, adjusted for pre-campaign purchases), "
        "pulled toward the channel average where a segment's sample is small",
        "incremental revenue = incremental conversions x the segment's revenue per order; "
        "the discount given to customers who would have bought anyway is not counted unless "
        "set as an offer cost",
        "offer costs are counted in the budget at their expected value (expected converting "
        "customers x cost per conversion and share of revenue)",
        "customers inside a cell are chosen by an individual uplift model; the plan's numbers "
        "use the cell averages, so they are conservative",
        "totals' intervals treat cells as independent",
    ]
    if goal == "profit":
        out.append(
            "profit = incremental revenue - message and offer costs (no product margins "
            "in the data)"
        )
    notes = sorted({c.estimate.note for c in cells if "never measured" in c.estimate.note})
    out.extend(notes)
    out.extend(channel_notes)
    out.extend(model.notes)
    return out


def _constraints(
    budget: float,
    costs: dict[str, float],
    offers: list[ResolvedOffer],
    capacity: dict[str, int],
    min_share: dict[str, float],
    max_share: dict[str, float],
    cap_days: int,
    audience: SegmentFilter | None,
    currency: str,
) -> list[str]:
    out = [
        f"budget: at most {budget:,.2f} {currency}",
        "at most one message per customer in this campaign",
        "a customer is only messaged on a channel they consented to",
        "channel costs per message: " + ", ".join(f"{c} {v:,.4g}" for c, v in costs.items()),
        "offers: "
        + ", ".join(
            o.name + (f" ({o.discount_pct:g}% off)" if o.discount_pct else "") for o in offers
        ),
    ]
    out.append(
        f"frequency cap: nobody contacted in the last {cap_days} days"
        if cap_days
        else "no frequency cap"
    )
    out.extend(f"{ch}: at most {n:,} messages" for ch, n in capacity.items())
    out.extend(f"{s}: at least {v:.0%} of the budget" for s, v in min_share.items())
    out.extend(f"{s}: at most {v:.0%} of the budget" for s, v in max_share.items())
    if audience is not None:
        fields = audience.model_dump(exclude_none=True, exclude={"limit"})
        if fields:
            out.append("audience: " + ", ".join(f"{k}={v}" for k, v in fields.items()))
    return out
