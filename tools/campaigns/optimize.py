"""Campaign tools: an exact budget plan from measured uplift, with a holdout in every cell.

``optimize_campaign`` plans a budget; ``match_campaigns`` says which running campaigns fit a
customer, and why. The uplift comes from past campaigns with randomised control groups
(``tools.campaigns.uplift``); the plan is solved exactly as a MILP (``tools.campaigns.solver``),
explained row by row (``tools.campaigns.plan_rows``), given a seeded random holdout per cell
with the power to read it (``tools.campaigns.holdout``) and saved under an id
(``tools.campaigns.plans``) for the export of its assignment and its read-out
(``tools.campaigns.readout``). ``match_campaigns`` lives in ``tools.campaigns.matching``.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np

from tools.campaigns.holdout import ALPHA, POWER, minimum_detectable_lift
from tools.campaigns.inputs import (
    NO_OFFER_NAMES,
    ResolvedOffer,
    check_capacity,
    check_segment_keys,
    resolve_channel_costs,
    resolve_offers,
)
from tools.campaigns.models import (
    CampaignDeps,
    CampaignPlan,
    ChannelCost,
    Goal,
    OfferOption,
    PlanRow,
    PlanTotals,
    SolverInfo,
)
from tools.campaigns.plan_rows import (
    binding_constraints,
    build_rows,
    interval_total,
    marginal_return,
    power_warnings,
    split_holdout,
    what_if_curve,
)
from tools.campaigns.planner import (
    Eligibility,
    build_cells,
    build_eligibility,
    build_problem,
    select_customers,
)
from tools.campaigns.plans import plan_id_of, save_plan
from tools.campaigns.solver import InfeasibleAllocationError, solve_allocation
from tools.campaigns.uplift import UpliftModel, load_uplift_model
from tools.config import FrequencyRule
from tools.customers.churn import profile_as_of
from tools.customers.contact_rules import ContactHistory, resolve_rules, rules_text
from tools.errors import ToolInputError
from tools.fairness import audit_selection
from tools.shop.schemas import SegmentFilter

__all__ = ["NO_OFFER_NAMES", "UpliftModel", "load_uplift_model", "optimize_campaign",
           "resolve_offers"]

logger = logging.getLogger(__name__)

Exploration = Literal["none", "thompson"]


def _empty_message(elig: Eligibility, channels: list[str]) -> str:
    if elig.audience_size == 0:
        return "no customer matches the audience filter"
    parts = []
    if elig.excluded["frequency_cap"]:
        parts.append(f"{elig.excluded['frequency_cap']:,} may get no message now under the "
                     "frequency rules")
    if elig.excluded["no_consent"]:
        parts.append(f"{elig.excluded['no_consent']:,} have no consent for "
                     f"{' or '.join(channels) or 'any allowed channel'}")
    return (f"all {elig.audience_size:,} customers of the audience were excluded: "
            + "; ".join(parts))


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
    holdout_share: float | None = None,
    frequency_rules: dict[str, str] | None = None,
    frequency_cap_days: int | None = None,
    seed: int = 0,
    exploration: Exploration | None = None,
) -> CampaignPlan:
    """Plan a campaign budget: which segment gets which channel and offer, for the most uplift.

    Uses uplift measured in past campaigns with randomised control groups and solves the
    allocation exactly. Never selects a customer without consent for the channel, at most one
    message per customer, and respects the frequency rules per channel. Every cell keeps a
    random holdout so that the results can be read out; the plan gets an id for that.

    Args:
        deps: The shop's stores (supplied by the runtime, not by the model).
        budget: Total money to spend on messages and offers (must be positive).
        goal: What to maximise: "revenue" (incremental revenue), "conversions"
            (incremental conversions) or "profit" (incremental revenue minus costs).
        channels: Allowed channels with their cost per message, e.g.
            [{"channel": "email", "cost_per_contact": 0.05}]; omit for every channel with
            past tests, at the median cost of past campaigns.
        offers: Offers to choose from, e.g. [{"name": "no offer"}, {"name": "15% off"},
            {"name": "free shipping"}]; default: no offer and every discount tested before.
        audience: Which customers may be contacted (a segment filter); default: everyone.
        channel_capacity: Most messages per channel, e.g. {"sms": 500}.
        min_segment_share: Least share of the budget per segment, e.g. {"at_risk": 0.2}.
        max_segment_share: Most share of the budget per segment, e.g. {"champions": 0.3}.
        holdout_share: Share of every cell held out at random to measure its lift, 0-0.5
            (default from settings, 0.1).
        frequency_rules: Per-channel contact limits replacing the settings', e.g.
            {"sms": "1/30"} (at most 1 SMS in 30 days) or {"email": "off"}.
        frequency_cap_days: Instead of the rules: skip anyone contacted on any channel in
            this many days (0: no limit).
        seed: Seed of the random holdout (and of exploration).
        exploration: "none" (plan on the estimates) or "thompson" (plan on a draw from their
            posteriors, to try uncertain cells); default from settings.
    """
    return build_plan(
        deps, budget, goal=goal, channels=channels, offers=offers, audience=audience,
        channel_capacity=channel_capacity, min_segment_share=min_segment_share,
        max_segment_share=max_segment_share, holdout_share=holdout_share,
        frequency_rules=frequency_rules, frequency_cap_days=frequency_cap_days, seed=seed,
        exploration=exploration,
    )


def build_plan(
    deps: CampaignDeps,
    budget: float,
    *,
    goal: Goal = "revenue",
    channels: list[ChannelCost] | None = None,
    offers: list[OfferOption] | None = None,
    audience: SegmentFilter | None = None,
    channel_capacity: dict[str, int] | None = None,
    min_segment_share: dict[str, float] | None = None,
    max_segment_share: dict[str, float] | None = None,
    holdout_share: float | None = None,
    frequency_rules: dict[str, str] | None = None,
    frequency_cap_days: int | None = None,
    seed: int = 0,
    exploration: Exploration | None = None,
    what_if: bool = True,
    save: bool = True,
) -> CampaignPlan:
    """``optimize_campaign`` with two switches for evaluations: the what-if curve and saving.

    Raises:
        ToolInputError: a bad argument (named) or constraints that cannot all hold.
    """
    if not budget > 0:
        raise ToolInputError(f"budget: must be a positive amount, got {budget}")
    config = deps.config
    share = config.holdout_share if holdout_share is None else float(holdout_share)
    if not 0 <= share <= 0.5:
        raise ToolInputError(f"holdout_share: a share between 0 and 0.5, got {holdout_share}")
    explore = exploration or config.campaign_exploration
    if explore not in ("none", "thompson"):
        raise ToolInputError(f"exploration: 'none' or 'thompson', got {exploration!r}")
    if seed < 0:
        raise ToolInputError(f"seed: must be 0 or more, got {seed}")
    shop, profiles, model = deps.shop, deps.profiles, deps.uplift
    currency = str(shop.meta.get("currency") or "USD")
    as_of = profile_as_of(shop)
    rules = resolve_rules(config.frequency_rules, frequency_rules, frequency_cap_days)
    costs, channel_notes = resolve_channel_costs(channels, shop.campaigns, model)
    fee = float(shop.meta.get("shipping_fee") or config.shipping_fee)
    resolved = resolve_offers(offers, shop.campaigns, fee, model)
    capacity = check_capacity(channel_capacity, costs)
    min_share = check_segment_keys(min_segment_share, "min_segment_share")
    max_share = check_segment_keys(max_segment_share, "max_segment_share")
    usable = [ch for ch in costs if model.channel_estimate(ch) is not None]
    ids = profiles.filter_ids(audience or SegmentFilter(), config.allow_protected_targeting)
    history = ContactHistory.from_shop(shop, as_of)
    if usable:
        elig = build_eligibility(profiles.table.loc[ids], usable, history, rules)
    else:  # nothing measured: nobody can be planned for, whatever their consent
        elig = build_eligibility(profiles.table.iloc[:0], usable, history, rules)
        elig.audience_size = len(ids)
        elig.excluded["no_uplift_estimate"] = len(ids)
    arguments = {
        "budget": budget, "goal": goal, "channels": costs, "offers": [o.__dict__ for o in resolved],
        "audience": audience.model_dump(mode="json") if audience else None,
        "capacity": capacity, "min_share": min_share, "max_share": max_share,
        "holdout_share": share, "rules": [r.label for r in rules], "seed": seed,
        "exploration": explore,
    }
    plan_id = plan_id_of(shop.version, arguments)
    rng = np.random.default_rng([seed, 1]) if explore == "thompson" else None
    cells = build_cells(elig, model, goal, costs, resolved, rng)
    problem = build_problem(elig, cells, budget, capacity, min_share, max_share, share)
    try:
        alloc = solve_allocation(problem)
    except InfeasibleAllocationError as exc:
        raise ToolInputError(f"constraints cannot all hold: {exc}") from exc
    chosen = select_customers(
        elig, cells, alloc, model, goal, profiles.table["expected_value_90d"]
    )
    split = split_holdout(chosen, share, seed)
    rows = build_rows(elig, cells, split, currency, capacity)
    totals = _totals(rows)
    marginal, marginal_note = marginal_return(problem, alloc, goal, currency)
    binding = binding_constraints(elig, cells, alloc, problem, totals.cost, usable, currency)
    message = _message(elig, usable, totals, rows, cells, model, channel_notes, currency)
    # Every plan carries its fairness audit: selection among the eligible customers.
    eligible_ids = {c for group in elig.members for c in group}
    population = shop.customers[shop.customers["customer_id"].isin(eligible_ids)]
    fairness = audit_selection(
        population, [s.customer_id for s in split.treated],
        note="plan selection among the eligible",
    )
    plan = CampaignPlan(
        fairness=fairness,
        goal=goal, budget=budget, currency=currency, as_of=as_of.to_pydatetime(),
        audience_size=elig.audience_size, eligible=elig.eligible, rows=rows, totals=totals,
        marginal_return=marginal, marginal_note=marginal_note,
        what_if=what_if_curve(problem, cells, 1.0 - share) if cells and what_if else [],
        selected=split.treated, excluded=dict(elig.excluded),
        assumptions=_assumptions(cells, model, channel_notes, goal, share, fee),
        constraints=_constraints(budget, costs, resolved, capacity, min_share, max_share,
                                 rules, audience, currency),
        message=message,
        solver=SolverInfo(status=alloc.status, variables=problem.n_cells,
                          seconds=round(alloc.seconds, 4)),
        plan_id=plan_id, channel_costs=costs, seed=seed, holdout_share=share,
        holdout=split.holdout,
        exploration=explore, excluded_by_rule=dict(elig.by_rule),
        budget_left=round(max(budget - totals.cost, 0.0), 2), binding=binding,
        mde_pts=_plan_mde(rows), mde_power=POWER, mde_alpha=ALPHA,
        warnings=power_warnings(rows, share) if rows else [],
    )
    if save:
        path = save_plan(config, plan)
        plan = plan.model_copy(update={"saved_to": str(path)})
        save_plan(config, plan)
    return plan


def _totals(rows: list[PlanRow]) -> PlanTotals:
    conv, conv_lo, conv_hi = interval_total(rows, "incremental_conversions")
    rev, rev_lo, rev_hi = interval_total(rows, "incremental_revenue")
    cost = float(sum(r.cost for r in rows))
    return PlanTotals(
        contacts=int(sum(r.contacts for r in rows)), cost=round(cost, 2),
        incremental_conversions=round(conv, 3),
        incremental_conversions_ci=(round(conv_lo, 3), round(conv_hi, 3)),
        incremental_revenue=round(rev, 2),
        incremental_revenue_ci=(round(rev_lo, 2), round(rev_hi, 2)),
        profit=round(rev - cost, 2),
        roi=round((rev - cost) / cost, 4) if cost > 0 else None,
    )


def _plan_mde(rows: list[PlanRow]) -> float | None:
    """The MDE of all cells pooled (messaged against held out), in points."""
    n_t = sum(r.contacts for r in rows)
    n_c = sum(r.holdout for r in rows)
    if not n_t or not n_c:
        return None
    base = sum(r.baseline_conversion_pts * r.holdout for r in rows) / n_c / 100
    mde = minimum_detectable_lift(n_t, n_c, base)
    return None if mde is None else round(mde * 100, 2)


def _message(
    elig: Eligibility, usable: list[str], totals: PlanTotals, rows: list[PlanRow],
    cells: list[Any], model: UpliftModel, channel_notes: list[str], currency: str,
) -> str:
    if not usable:
        return "no allowed channel has measured uplift: " + "; ".join(
            model.notes + channel_notes or ["no randomised campaign"]
        )
    if elig.eligible == 0:
        return _empty_message(elig, usable)
    if totals.contacts == 0:
        return ("no contact is expected to add to the goal at this budget "
                f"(cheapest cell costs {min(c.cost for c in cells):,.4g} {currency})"
                if cells else "no measured uplift for the eligible customers")
    held = sum(r.holdout for r in rows)
    return (f"{totals.contacts:,} of {elig.eligible:,} eligible customers messaged and "
            f"{held:,} held out across {len(rows)} segment x channel x offer cells")


def _assumptions(
    cells: list[Any], model: UpliftModel, channel_notes: list[str], goal: Goal,
    holdout_share: float, shipping_fee: float,
) -> list[str]:
    out = [
        "uplift per contact is measured in past campaigns with randomised control groups "
        "(treatment minus control, per campaign, adjusted for pre-campaign purchases), "
        "pulled toward the channel average where a segment's sample is small",
        "incremental revenue = incremental conversions x the segment's revenue per order",
        "a message costs its channel's price; an offer costs, per messaged customer, the "
        "expected converting share (baseline + uplift) x what a redeemed order costs: a "
        "discount its value (discount % of the order's list price), free shipping the "
        f"average shipping fee ({shipping_fee:,.2f}), plus any cost per conversion or share of "
        "revenue given; the discount given to customers who would have bought anyway is "
        "counted",
        "customers inside a cell are chosen by an individual uplift model; the plan's numbers "
        "use the cell averages, so they are conservative",
        "totals' intervals treat cells as independent",
    ]
    if holdout_share > 0:
        out.append(
            f"{holdout_share:.0%} of every cell's chosen customers are held out at random "
            "(seeded) and not messaged; the numbers count the messaged customers only"
        )
    if goal == "profit":
        out.append("profit = incremental revenue - message and offer costs (no product margins "
                   "in the data)")
    notes = sorted({c.estimate.note for c in cells if "never measured" in c.estimate.note})
    out.extend(notes)
    out.extend(channel_notes)
    out.extend(model.notes)
    return out


def _constraints(
    budget: float, costs: dict[str, float], offers: list[ResolvedOffer], capacity: dict[str, int],
    min_share: dict[str, float], max_share: dict[str, float], rules: tuple[FrequencyRule, ...],
    audience: SegmentFilter | None, currency: str,
) -> list[str]:
    out = [
        f"budget: at most {budget:,.2f} {currency}",
        "at most one message per customer in this campaign",
        "a customer is only messaged on a channel they consented to",
        "channel costs per message: " + ", ".join(f"{c} {v:,.4g}" for c, v in costs.items()),
        "offers: " + ", ".join(
            o.name + (f" ({o.discount_pct:g}% off)" if o.discount_pct else "") for o in offers
        ),
        "frequency rules: " + rules_text(rules),
    ]
    out.extend(f"{ch}: at most {n:,} messages" for ch, n in capacity.items())
    out.extend(f"{s}: at least {v:.0%} of the budget" for s, v in min_share.items())
    out.extend(f"{s}: at most {v:.0%} of the budget" for s, v in max_share.items())
    if audience is not None:
        fields = audience.model_dump(exclude_none=True, exclude={"limit"})
        if fields:
            out.append("audience: " + ", ".join(f"{k}={v}" for k, v in fields.items()))
    return out
