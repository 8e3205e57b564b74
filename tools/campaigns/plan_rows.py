"""A solved allocation explained: rows with holdouts and power, totals, what-if, what binds.

Expected increments use the cells' (segment-level) estimates; the customers picked inside a
cell are those the individual model ranks highest, so the plan's numbers are conservative.
Intervals of a row are its messaged contacts times the cell's 95% interval; totals add the
rows' variances (cells treated as independent). Holdouts are drawn per row (segment x
channel x offer) with one seeded generator, rows in sorted order, so a seed fixes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tools.campaigns.holdout import draw_holdout, minimum_detectable_lift, treated_count
from tools.campaigns.models import BindingConstraint, Goal, PlanRow, SelectedContact, WhatIfPoint
from tools.campaigns.planner import Cell, Eligibility
from tools.campaigns.solver import (
    Allocation,
    AllocationProblem,
    InfeasibleAllocationError,
    solve_allocation,
)
from tools.campaigns.uplift import Z95

WHAT_IF_SHARES = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)
RowKey = tuple[str, str, str]
def _pts(x: float) -> str:
    return f"{x * 100:+.1f}"


@dataclass
class Split:
    """The chosen customers of a plan split into messaged and held out, per row."""

    treated: list[SelectedContact]
    holdout: list[SelectedContact]
    counts: dict[RowKey, tuple[int, int]]


def split_holdout(chosen: list[SelectedContact], share: float, seed: int) -> Split:
    """Hold out ``share`` of every row's chosen customers at random (seeded)."""
    rows: dict[RowKey, list[SelectedContact]] = {}
    for c in chosen:
        rows.setdefault((c.segment, c.channel, c.offer), []).append(c)
    rng = np.random.default_rng(seed)
    treated: list[SelectedContact] = []
    held: list[SelectedContact] = []
    counts: dict[RowKey, tuple[int, int]] = {}
    for key in sorted(rows):
        members = rows[key]
        n_t = treated_count(len(members), share)
        if n_t == 0:  # a row of one chosen customer: nothing to message, nothing to learn
            continue
        out = draw_holdout([c.customer_id for c in members], len(members) - n_t, rng)
        for c in members:
            if c.customer_id in out:
                held.append(c.model_copy(update={"group": "holdout"}))
            else:
                treated.append(c)
        counts[key] = (n_t, len(members) - n_t)
    treated.sort(key=lambda s: (-s.score, s.customer_id))
    held.sort(key=lambda s: s.customer_id)
    return Split(treated, held, counts)


def build_rows(
    elig: Eligibility, cells: list[Cell], split: Split, currency: str,
    capacity: dict[str, int],
) -> list[PlanRow]:
    """One row per segment x channel x offer with messaged contacts, with its reason."""
    reach: dict[tuple[str, str], int] = {}
    for seg, pattern, members in zip(elig.segments, elig.patterns, elig.members, strict=True):
        for ch in pattern:
            reach[(seg, ch)] = reach.get((seg, ch), 0) + len(members)
    used: dict[str, int] = {}
    for (_, ch, _), (n_t, _) in split.counts.items():
        used[ch] = used.get(ch, 0) + n_t
    best: dict[str, tuple[str, str]] = {}
    first: dict[RowKey, Cell] = {}
    for cell in cells:
        first.setdefault((cell.segment, cell.channel, cell.offer.name), cell)
        top = best.get(cell.segment)
        if top is None or cell.value > first[(cell.segment, *top)].value:
            best[cell.segment] = (cell.channel, cell.offer.name)
    rows = []
    for (seg, ch, offer), (n, held) in split.counts.items():
        cell = first[(seg, ch, offer)]
        est = cell.estimate
        c_lo, c_hi = est.conversion_ci
        r_lo, r_hi = est.revenue_ci
        reachable = reach.get((seg, ch), 0)
        lead = (f"{seg} customers respond best to {ch}" if best.get(seg) == (ch, offer)
                else f"{seg} customers also get {ch}")
        offer_txt = "" if offer == "no offer" else f" with {offer}"
        if n + held >= reachable:
            limit = "all of them chosen"
        elif ch in capacity and used.get(ch, 0) >= capacity[ch] - 1:
            limit = f"{n:,} chosen ({ch} capacity reached)"
        else:
            limit = f"{n:,} chosen, the ones the individual model ranks highest"
        note = ""
        if est.shrinkage >= 0.5:
            note = (f"; small sample ({est.n_treatment + est.n_control:,} in past tests), "
                    f"pulled toward the {ch} average")
        if est.note and "never measured" not in est.note:  # offer notes go to assumptions
            note += f"; {est.note}"
        mde = minimum_detectable_lift(n, held, est.baseline_conversion)
        # Nothing can be learned when even a lift to certain conversion would not show.
        learnable = mde is not None and mde < 1.0 - est.baseline_conversion
        reason = (
            f"{lead}{offer_txt} ({_pts(est.conversion_uplift)} pts conversion, 95% CI "
            f"{_pts(c_lo)} to {_pts(c_hi)}; {est.revenue_uplift:+,.2f} {currency} revenue per "
            f"message); {reachable:,} reachable, {limit}, {held:,} held out{note}"
        )
        rows.append(PlanRow(
            segment=seg, channel=ch, offer=offer, discount_pct=cell.offer.discount_pct,
            contacts=n, holdout=held, reachable=reachable, cost=round(n * cell.cost, 2),
            cost_per_contact=round(cell.cost, 4),
            baseline_conversion_pts=round(est.baseline_conversion * 100, 3),
            mde_pts=None if mde is None else round(mde * 100, 2), learnable=learnable,
            conversion_uplift_pts=round(est.conversion_uplift * 100, 3),
            conversion_uplift_ci_pts=(round(c_lo * 100, 3), round(c_hi * 100, 3)),
            incremental_conversions=round(n * est.conversion_uplift, 3),
            incremental_conversions_ci=(round(n * c_lo, 3), round(n * c_hi, 3)),
            incremental_revenue=round(n * est.revenue_uplift, 2),
            incremental_revenue_ci=(round(n * r_lo, 2), round(n * r_hi, 2)),
            reason=reason,
        ))
    rows.sort(key=lambda r: (-r.incremental_revenue, r.segment, r.channel, r.offer))
    return rows


def power_warnings(rows: list[PlanRow], share: float) -> list[str]:
    """One warning per row too small to learn anything from (no lift at all would show)."""
    if share <= 0:
        return ["no holdout: nothing this plan does can be measured (set holdout_share above 0)"]
    out = []
    for r in rows:
        if r.learnable:
            continue
        cell = f"{r.segment} x {r.channel} x {r.offer}"
        if r.mde_pts is None:
            out.append(f"{cell}: {r.contacts:,} messaged and {r.holdout:,} held out are too few "
                       "to measure any lift")
        else:
            out.append(
                f"{cell}: too small to learn anything: with {r.contacts:,} messaged and "
                f"{r.holdout:,} held out only a lift of {r.mde_pts:.1f} pts would show at 80% "
                "power, more than any message can add"
            )
    return out


def interval_total(rows: list[PlanRow], field: str) -> tuple[float, float, float]:
    """Sum of a row quantity and its 95% interval (row variances added)."""
    total = sum(float(getattr(r, field)) for r in rows)
    var = sum(((getattr(r, f"{field}_ci")[1] - getattr(r, f"{field}_ci")[0]) / (2 * Z95)) ** 2
              for r in rows)
    half = Z95 * float(np.sqrt(var))
    return total, total - half, total + half


def what_if_curve(
    problem: AllocationProblem, cells: list[Cell], keep: float = 1.0
) -> list[WhatIfPoint]:
    """The optimal plan's expected return at 10% to 200% of the budget."""
    conv = np.array([c.estimate.conversion_uplift for c in cells], dtype=np.float64) * keep
    rev = np.array([c.estimate.revenue_uplift for c in cells], dtype=np.float64) * keep
    points = []
    for share in WHAT_IF_SHARES:
        budget = problem.budget * share
        try:
            alloc = solve_allocation(problem.with_budget(budget))
        except InfeasibleAllocationError:
            points.append(WhatIfPoint(
                budget=round(budget, 2), share_of_budget=share, contacts=None, cost=None,
                expected_return=None, incremental_revenue=None, incremental_conversions=None,
            ))
            continue
        x = alloc.contacts.astype(np.float64)
        points.append(WhatIfPoint(
            budget=round(budget, 2), share_of_budget=share,
            contacts=int(round(float(x.sum()) * keep)), cost=round(alloc.cost, 2),
            expected_return=round(alloc.objective, 4),
            incremental_revenue=round(float(rev @ x), 2),
            incremental_conversions=round(float(conv @ x), 3),
        ))
    return points


def marginal_return(
    problem: AllocationProblem, alloc: Allocation, goal: Goal, currency: str
) -> tuple[float | None, str]:
    """Goal units per extra unit of budget, by re-solving at a slightly larger budget."""
    if problem.n_cells == 0:
        return None, "no cell to spend on"
    step = max(problem.budget * 0.01, float(problem.cost.max()))
    try:
        more = solve_allocation(problem.with_budget(problem.budget + step))
    except InfeasibleAllocationError as exc:
        return None, f"cannot re-solve at a larger budget: {exc}"
    gain = (more.objective - alloc.objective) / step
    unit = {"revenue": f"{currency} of incremental revenue", "conversions": "conversions",
            "profit": f"{currency} of profit"}[goal]
    if gain <= 1e-12:
        left = problem.budget - alloc.cost
        return 0.0, (
            f"the budget is not the limit: {left:,.2f} {currency} is left unspent because no "
            "further contact is expected to pay (or consent, capacity and the audience are "
            "exhausted)"
        )
    return gain, (
        f"each extra 1 {currency} of budget (next {step:,.2f}) is expected to bring "
        f"{gain:,.4g} {unit}"
    )


def binding_constraints(
    elig: Eligibility, cells: list[Cell], alloc: Allocation, problem: AllocationProblem,
    spent: float, channels: list[str], currency: str,
) -> list[BindingConstraint]:
    """What stops the plan: the budget, or (when money is left) the limits with their counts.

    Money counts as left when more than 2% of the budget (and more than one message of the
    cheapest useful cell) is unspent.
    """
    left = problem.budget - spent
    useful = [c.cost for c in cells if c.solve_value > 0]
    if left <= max(0.02 * problem.budget, min(useful, default=0.0)):
        return [BindingConstraint(
            kind="budget", count=int(alloc.contacts.sum()),
            detail=f"the budget is spent ({spent:,.2f} of {problem.budget:,.2f} {currency})",
        )]
    chosen = np.bincount(problem.cell_group, weights=alloc.contacts.astype(np.float64),
                         minlength=len(elig.members)) if len(cells) else np.zeros(0)
    positive = np.zeros(len(elig.members), dtype=bool)
    for c in cells:
        positive[c.group] |= c.solve_value > 0
    sizes = np.array([len(m) for m in elig.members], dtype=np.int64)
    no_gain = int((sizes - chosen)[~positive].sum()) if len(sizes) else 0
    worth = int(sizes[positive].sum()) if len(sizes) else 0
    out: list[BindingConstraint] = []
    via = " or ".join(channels)
    if worth and chosen[positive].sum() >= worth - 0.5:
        out.append(BindingConstraint(
            kind="audience", count=worth,
            detail=f"every one of the {worth:,} eligible customers with a positive expected "
                   f"lift is in the plan at its best {via} cell",
        ))
    for ch, cap in problem.capacity.items():
        used = int(sum(alloc.contacts[k] for k, c in enumerate(cells) if c.channel == ch))
        if used >= cap:
            out.append(BindingConstraint(kind="capacity", count=cap,
                                         detail=f"{ch} capacity of {cap:,} messages is used up"))
    if elig.excluded.get("no_consent"):
        n = elig.excluded["no_consent"]
        out.append(BindingConstraint(kind="consent", count=n,
                                     detail=f"{n:,} of the audience have no consent for {via}"))
    if elig.excluded.get("frequency_cap") or elig.by_rule:
        n = elig.excluded.get("frequency_cap", 0)
        rules = "; ".join(f"{label}: {k:,}" for label, k in elig.by_rule.items())
        out.append(BindingConstraint(
            kind="frequency", count=n,
            detail=f"{n:,} may get no message now under the frequency rules ({rules})",
        ))
    if no_gain:
        out.append(BindingConstraint(
            kind="no_positive_uplift", count=no_gain,
            detail=f"{no_gain:,} eligible customers have no cell with a positive expected lift",
        ))
    if problem.min_share or problem.max_share:
        out.append(BindingConstraint(kind="shares", count=0,
                                     detail="the segment budget shares limit the spend"))
    return out
