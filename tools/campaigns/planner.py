"""From an audience and measured uplift to a ``CampaignPlan`` (used by ``optimize_campaign``).

Steps: drop customers inside the frequency cap and those without consent for any allowed
channel (counted by reason); group the rest by segment and *consent pattern* (the set of
allowed channels they consented to), so one group's customers are interchangeable; build one
cell per group x consented channel x offer with its value and cost per contact; solve the
allocation exactly (``tools.campaigns.solver``); then pick the customers of each group for its
cells, ranked by the individual uplift model (an assignment problem when a group has several
cells, solved as a linear program whose optimum is integral). Consent holds by
construction: a cell exists only for channels its whole group consented to.

Expected increments use the cells' (segment-level) estimates; the customers picked inside a
cell are those the individual model ranks highest, so the plan's numbers are conservative.
Intervals of a row are its contacts times the cell's 95% interval; totals add the rows'
variances (cells treated as independent).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from tools.campaigns.models import Goal, PlanRow, SelectedContact, WhatIfPoint
from tools.campaigns.solver import (
    Allocation,
    AllocationProblem,
    InfeasibleAllocationError,
    solve_allocation,
)
from tools.campaigns.uplift import Z95, GoalMetric, UpliftEstimate, UpliftModel

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
WHAT_IF_SHARES = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)


@dataclass(frozen=True)
class ResolvedOffer:
    """An offer with its discount and costs settled."""

    name: str
    discount_pct: float
    cost_per_conversion: float
    cost_share_of_revenue: float


@dataclass
class Eligibility:
    """Who can be planned for: groups of interchangeable customers, and who was dropped."""

    segments: list[str]
    patterns: list[tuple[str, ...]]
    members: list[list[str]]
    excluded: dict[str, int]
    audience_size: int

    @property
    def eligible(self) -> int:
        """Customers left after the filters."""
        return sum(len(m) for m in self.members)


def build_eligibility(
    table: pd.DataFrame, channels: list[str], as_of: pd.Timestamp, cap_days: int
) -> Eligibility:
    """Apply the frequency cap and consent to the audience's profile rows, then group them.

    A customer inside the frequency cap is counted under ``frequency_cap`` only; one with no
    consent for any of ``channels`` under ``no_consent``.
    """
    excluded = {"frequency_cap": 0, "no_consent": 0}
    if table.empty:
        return Eligibility([], [], [], excluded, 0)
    capped = pd.Series(False, index=table.index)
    if cap_days > 0:
        last = pd.to_datetime(table["last_contacted_at"], utc=True)
        capped = (last >= as_of - pd.Timedelta(days=cap_days)).fillna(False).astype(bool)
    consent = pd.DataFrame(
        {ch: table[f"consent_{ch}"].fillna(False).astype(bool) for ch in channels},
        index=table.index,
    )
    any_consent = consent.any(axis=1) if channels else pd.Series(False, index=table.index)
    excluded["frequency_cap"] = int(capped.sum())
    excluded["no_consent"] = int((~capped & ~any_consent).sum())
    keep = ~capped & any_consent
    rows = table.loc[keep]
    pattern = (
        consent.loc[keep].apply(lambda r: tuple(ch for ch in channels if r[ch]), axis=1)
        if len(rows)
        else pd.Series(dtype=object)
    )
    frame = pd.DataFrame({"segment": rows["segment"].astype(str), "pattern": pattern})
    segments: list[str] = []
    patterns: list[tuple[str, ...]] = []
    members: list[list[str]] = []
    for key, ids in frame.groupby(["segment", "pattern"], sort=True).groups.items():
        seg, pat = cast(tuple[str, tuple[str, ...]], key)
        segments.append(str(seg))
        patterns.append(tuple(pat))
        members.append(sorted(str(i) for i in ids))
    return Eligibility(segments, patterns, members, excluded, len(table))


@dataclass
class Cell:
    """One decision cell: a group on one channel with one offer."""

    group: int
    segment: str
    channel: str
    offer: ResolvedOffer
    estimate: UpliftEstimate
    cost: float
    value: float


def build_cells(
    elig: Eligibility,
    model: UpliftModel,
    goal: Goal,
    channel_costs: dict[str, float],
    offers: list[ResolvedOffer],
) -> list[Cell]:
    """Value and cost per contact of every group x consented channel x offer."""
    cells: list[Cell] = []
    for g, (seg, pattern) in enumerate(zip(elig.segments, elig.patterns, strict=True)):
        for ch in pattern:
            for offer in offers:
                est = model.estimate(seg, ch, offer.discount_pct)
                if est is None:
                    continue
                orders = est.treated_conversion
                offer_cost = orders * (
                    offer.cost_per_conversion + offer.cost_share_of_revenue * est.revenue_per_order
                )
                cost = channel_costs[ch] + offer_cost
                value = {
                    "revenue": est.revenue_uplift,
                    "conversions": est.conversion_uplift,
                    "profit": est.revenue_uplift - cost,
                }[goal]
                cells.append(Cell(g, seg, ch, offer, est, cost, value))
    return cells


def build_problem(
    elig: Eligibility,
    cells: list[Cell],
    budget: float,
    capacity: dict[str, int],
    min_share: dict[str, float],
    max_share: dict[str, float],
) -> AllocationProblem:
    """The allocation problem over the cells."""
    return AllocationProblem(
        group_size=np.array([len(m) for m in elig.members], dtype=np.int64),
        group_segment=list(elig.segments),
        cell_group=np.array([c.group for c in cells], dtype=np.int64),
        cell_channel=[c.channel for c in cells],
        value=np.array([c.value for c in cells], dtype=np.float64),
        cost=np.array([c.cost for c in cells], dtype=np.float64),
        budget=budget,
        capacity=dict(capacity),
        min_share=dict(min_share),
        max_share=dict(max_share),
    )


def assign_customers(scores: FloatArray, quota: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Give each cell ``quota[k]`` customers, at most one cell each, maximising the score sum.

    ``scores`` is customers x cells. Returns each customer's cell index, or -1. With one
    cell this is a top-k; otherwise a transportation problem (totally unimodular, so the
    linear program's optimum is a whole assignment).
    """
    n, m = scores.shape
    out = np.full(n, -1, dtype=np.int64)
    if n == 0 or quota.sum() == 0:
        return out
    if m == 1:
        top = np.argsort(-scores[:, 0], kind="stable")[: int(quota[0])]
        out[top] = 0
        return out
    rows = np.repeat(np.arange(n), m)
    cols = np.arange(n * m)
    per_customer = coo_matrix((np.ones(n * m), (rows, cols)), shape=(n, n * m))
    per_cell = coo_matrix((np.ones(n * m), (np.tile(np.arange(m), n), cols)), shape=(m, n * m))
    res = linprog(
        -scores.ravel(),
        A_ub=per_customer,
        b_ub=np.ones(n),
        A_eq=per_cell,
        b_eq=quota.astype(np.float64),
        bounds=(0, 1),
        method="highs-ds",
    )
    if res.x is None:
        raise RuntimeError(f"customer assignment failed: {res.message}")
    z = res.x.reshape(n, m)
    best = z.argmax(axis=1)
    chosen = z[np.arange(n), best] > 0.5
    out[chosen] = best[chosen]
    return out


def select_customers(
    elig: Eligibility,
    cells: list[Cell],
    alloc: Allocation,
    model: UpliftModel,
    goal: Goal,
    value_90d: pd.Series,
) -> list[SelectedContact]:
    """Pick the customers of every group for its cells, best individual uplift first."""
    metric: GoalMetric = "conversions" if goal == "conversions" else "revenue"
    by_group: dict[int, list[int]] = {}
    for k, cell in enumerate(cells):
        if alloc.contacts[k] > 0:
            by_group.setdefault(cell.group, []).append(k)
    selected: list[SelectedContact] = []
    for g, ks in sorted(by_group.items()):
        ids = elig.members[g]
        fallback = value_90d.reindex(ids).fillna(0.0).to_numpy(np.float64)
        fallback = fallback / (np.abs(fallback).max() or 1.0) * 1e-6
        columns = []
        for k in ks:
            cell = cells[k]
            cell_up = (
                cell.estimate.conversion_uplift
                if metric == "conversions"
                else (cell.estimate.revenue_uplift)
            )
            score = model.score(ids, cell.channel, metric, cell_up)
            columns.append((score if score is not None else np.full(len(ids), cell_up)) + fallback)
        scores = np.column_stack(columns)
        quota = np.array([alloc.contacts[k] for k in ks], dtype=np.int64)
        where = assign_customers(scores, quota)
        for i, j in enumerate(where):
            if j < 0:
                continue
            cell = cells[ks[j]]
            selected.append(
                SelectedContact(
                    customer_id=ids[i],
                    segment=cell.segment,
                    channel=cell.channel,
                    offer=cell.offer.name,
                    score=round(float(scores[i, j]), 6),
                )
            )
    selected.sort(key=lambda s: (-s.score, s.customer_id))
    return selected


def _pts(x: float) -> str:
    return f"{x * 100:+.1f}"


def build_rows(
    elig: Eligibility,
    cells: list[Cell],
    alloc: Allocation,
    currency: str,
    capacity: dict[str, int],
) -> list[PlanRow]:
    """One row per segment x channel x offer with contacts, with its reason."""
    reach: dict[tuple[str, str], int] = {}
    for seg, pattern, members in zip(elig.segments, elig.patterns, elig.members, strict=True):
        for ch in pattern:
            reach[(seg, ch)] = reach.get((seg, ch), 0) + len(members)
    used: dict[str, int] = {}
    for k, cell in enumerate(cells):
        used[cell.channel] = used.get(cell.channel, 0) + int(alloc.contacts[k])
    best: dict[str, tuple[str, str]] = {}
    for seg in set(elig.segments):
        mine = [c for c in cells if c.segment == seg]
        if mine:
            top = max(mine, key=lambda c: c.value)
            best[seg] = (top.channel, top.offer.name)
    grouped: dict[tuple[str, str, str], list[int]] = {}
    for k, cell in enumerate(cells):
        if alloc.contacts[k] > 0:
            grouped.setdefault((cell.segment, cell.channel, cell.offer.name), []).append(k)
    rows = []
    for (seg, ch, offer), ks in grouped.items():
        n = int(sum(alloc.contacts[k] for k in ks))
        est = cells[ks[0]].estimate
        cost = float(sum(alloc.contacts[k] * cells[k].cost for k in ks))
        c_lo, c_hi = est.conversion_ci
        r_lo, r_hi = est.revenue_ci
        reachable = reach.get((seg, ch), 0)
        lead = (
            f"{seg} customers respond best to {ch}"
            if best.get(seg) == (ch, offer)
            else f"{seg} customers also get {ch}"
        )
        offer_txt = "" if offer == "no offer" else f" with {offer}"
        if n >= reachable:
            limit = "all of them chosen"
        elif ch in capacity and used.get(ch, 0) >= capacity[ch]:
            limit = f"{n:,} chosen ({ch} capacity reached)"
        else:
            limit = f"{n:,} chosen, the ones the individual model ranks highest"
        note = ""
        if est.shrinkage >= 0.5:
            note = (
                f"; small sample ({est.n_treatment + est.n_control:,} in past tests), "
                f"pulled toward the {ch} average"
            )
        if est.note and "never measured" not in est.note:  # offer notes go to assumptions
            note += f"; {est.note}"
        reason = (
            f"{lead}{offer_txt} ({_pts(est.conversion_uplift)} pts conversion, 95% CI "
            f"{_pts(c_lo)} to {_pts(c_hi)}; {est.revenue_uplift:+,.2f} {currency} revenue per "
            f"message); {reachable:,} reachable with consent, {limit}{note}"
        )
        rows.append(
            PlanRow(
                segment=seg,
                channel=ch,
                offer=offer,
                contacts=n,
                reachable=reachable,
                cost=round(cost, 2),
                conversion_uplift_pts=round(est.conversion_uplift * 100, 3),
                conversion_uplift_ci_pts=(round(c_lo * 100, 3), round(c_hi * 100, 3)),
                incremental_conversions=round(n * est.conversion_uplift, 3),
                incremental_conversions_ci=(round(n * c_lo, 3), round(n * c_hi, 3)),
                incremental_revenue=round(n * est.revenue_uplift, 2),
                incremental_revenue_ci=(round(n * r_lo, 2), round(n * r_hi, 2)),
                reason=reason,
            )
        )
    rows.sort(key=lambda r: (-r.incremental_revenue, r.segment, r.channel))
    return rows


def interval_total(rows: list[PlanRow], field: str) -> tuple[float, float, float]:
    """Sum of a row quantity and its 95% interval (row variances added)."""
    total = sum(float(getattr(r, field)) for r in rows)
    var = sum(
        ((getattr(r, f"{field}_ci")[1] - getattr(r, f"{field}_ci")[0]) / (2 * Z95)) ** 2
        for r in rows
    )
    half = Z95 * float(np.sqrt(var))
    return total, total - half, total + half


def what_if_curve(problem: AllocationProblem, cells: list[Cell]) -> list[WhatIfPoint]:
    """The optimal plan's expected return at 10% to 200% of the budget."""
    conv = np.array([c.estimate.conversion_uplift for c in cells], dtype=np.float64)
    rev = np.array([c.estimate.revenue_uplift for c in cells], dtype=np.float64)
    points = []
    for share in WHAT_IF_SHARES:
        budget = problem.budget * share
        try:
            alloc = solve_allocation(problem.with_budget(budget))
        except InfeasibleAllocationError:
            points.append(
                WhatIfPoint(
                    budget=round(budget, 2),
                    share_of_budget=share,
                    contacts=None,
                    cost=None,
                    expected_return=None,
                    incremental_revenue=None,
                    incremental_conversions=None,
                )
            )
            continue
        x = alloc.contacts.astype(np.float64)
        points.append(
            WhatIfPoint(
                budget=round(budget, 2),
                share_of_budget=share,
                contacts=int(x.sum()),
                cost=round(alloc.cost, 2),
                expected_return=round(alloc.objective, 4),
                incremental_revenue=round(float(rev @ x), 2),
                incremental_conversions=round(float(conv @ x), 3),
            )
        )
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
    unit = {
        "revenue": f"{currency} of incremental revenue",
        "conversions": "conversions",
        "profit": f"{currency} of profit",
    }[goal]
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
