"""From an audience and measured uplift to the cells of a plan (used by ``optimize_campaign``).

Steps: drop customers with no consent for any allowed channel and those every frequency
rule on their consented channels blocks (counted by reason, and each rule's blocks counted);
group the rest by segment and *contact pattern* (the allowed channels they consented to and
may be messaged on now), so one group's customers are interchangeable; build one cell per
group x channel of its pattern x offer with its value and cost per contact (the message plus
the offer's expected cost: treated conversion x what a redeemed order costs); solve the
allocation exactly (``tools.campaigns.solver``); then pick the customers of each group for
its cells, ranked by the individual uplift model (an assignment problem when a group has
several cells, solved as a linear program whose optimum is integral). Consent and the
frequency rules hold by construction: a cell exists only for channels its whole group may
receive.

With a holdout share ``h`` the solver chooses customers, not messages: a chosen customer
costs and brings ``1 - h`` of a message (``h`` of every cell's chosen customers are held out
at random afterwards, ``tools.campaigns.holdout``), so the messaged customers spend the budget.
With Thompson exploration each cell's value is a draw from its estimate's posterior (normal,
its 95% interval), so uncertain cells get tried; the reported numbers stay the estimates.

The rows, intervals, what-if curve and binding constraints are built in
``tools.campaigns.plan_rows``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from tools.campaigns.inputs import ResolvedOffer
from tools.campaigns.models import Goal, SelectedContact
from tools.campaigns.solver import Allocation, AllocationProblem
from tools.campaigns.uplift import Z95, GoalMetric, UpliftEstimate, UpliftModel
from tools.config import FrequencyRule
from tools.customers.contact_rules import ContactHistory

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]


@dataclass
class Eligibility:
    """Who can be planned for: groups of interchangeable customers, and who was dropped."""

    segments: list[str]
    patterns: list[tuple[str, ...]]
    members: list[list[str]]
    excluded: dict[str, int]
    audience_size: int
    by_rule: dict[str, int] = field(default_factory=dict)

    @property
    def eligible(self) -> int:
        """Customers left after the filters."""
        return sum(len(m) for m in self.members)


def build_eligibility(
    table: pd.DataFrame, channels: list[str], history: ContactHistory,
    rules: tuple[FrequencyRule, ...],
) -> Eligibility:
    """Apply consent and the frequency rules per channel to the audience, then group it.

    A customer with no consent for any of ``channels`` counts under ``no_consent``; one with
    consent whom the rules block on every consented channel under ``frequency_cap``.
    ``by_rule`` counts, per rule, the consented customer x channel pairs it blocks.
    """
    excluded = {"frequency_cap": 0, "no_consent": 0}
    if table.empty:
        return Eligibility([], [], [], excluded, 0)
    consent = pd.DataFrame(
        {ch: table[f"consent_{ch}"].fillna(False).astype(bool) for ch in channels},
        index=table.index,
    )
    usable = consent.copy()
    by_rule: dict[str, int] = {}
    for ch in channels:
        rule = history.blocking_rule(table.index, ch, rules)
        hit = rule.notna().to_numpy() & consent[ch].to_numpy()
        usable[ch] = consent[ch].to_numpy() & ~hit
        for label, n in pd.Series(rule.to_numpy()[hit]).value_counts().items():
            by_rule[str(label)] = by_rule.get(str(label), 0) + int(n)
    any_consent = consent.any(axis=1) if channels else pd.Series(False, index=table.index)
    any_usable = usable.any(axis=1) if channels else pd.Series(False, index=table.index)
    excluded["no_consent"] = int((~any_consent).sum())
    excluded["frequency_cap"] = int((any_consent & ~any_usable).sum())
    rows = table.loc[any_usable]
    pattern = usable.loc[any_usable].apply(
        lambda r: tuple(ch for ch in channels if r[ch]), axis=1
    ) if len(rows) else pd.Series(dtype=object)
    frame = pd.DataFrame({"segment": rows["segment"].astype(str), "pattern": pattern})
    segments: list[str] = []
    patterns: list[tuple[str, ...]] = []
    members: list[list[str]] = []
    for key, ids in frame.groupby(["segment", "pattern"], sort=True).groups.items():
        seg, pat = cast(tuple[str, tuple[str, ...]], key)
        segments.append(str(seg))
        patterns.append(tuple(pat))
        members.append(sorted(str(i) for i in ids))
    return Eligibility(segments, patterns, members, excluded, len(table),
                       dict(sorted(by_rule.items())))


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
    solve_value: float = 0.0


def _goal_value(goal: Goal, conv: float, rpo: float, cost: float) -> float:
    return {"revenue": conv * rpo, "conversions": conv, "profit": conv * rpo - cost}[goal]


def build_cells(
    elig: Eligibility, model: UpliftModel, goal: Goal, channel_costs: dict[str, float],
    offers: list[ResolvedOffer], rng: np.random.Generator | None = None,
) -> list[Cell]:
    """Value and cost per contact of every group x allowed channel x offer.

    With ``rng`` (Thompson exploration) ``solve_value`` is computed from one draw of the
    cell's conversion uplift (one draw per segment x channel x offer, shared by its groups).
    """
    cells: list[Cell] = []
    draws: dict[tuple[str, str, float], float] = {}
    for g, (seg, pattern) in enumerate(zip(elig.segments, elig.patterns, strict=True)):
        for ch in pattern:
            for offer in offers:
                est = model.estimate(seg, ch, offer.discount_pct)
                if est is None:
                    continue
                rpo = est.revenue_per_order
                cost = channel_costs[ch] + est.treated_conversion * offer.cost_per_order(rpo)
                value = _goal_value(goal, est.conversion_uplift, rpo, cost)
                solve_value = value
                if rng is not None:
                    key = (seg, ch, offer.discount_pct)
                    if key not in draws:
                        lo, hi = est.conversion_ci
                        draws[key] = float(rng.normal(est.conversion_uplift,
                                                      max(hi - lo, 0.0) / (2 * Z95)))
                    solve_value = _goal_value(goal, draws[key], rpo, cost)
                cells.append(Cell(g, seg, ch, offer, est, cost, value, solve_value))
    return cells


def build_problem(
    elig: Eligibility, cells: list[Cell], budget: float, capacity: dict[str, int],
    min_share: dict[str, float], max_share: dict[str, float], holdout_share: float = 0.0,
) -> AllocationProblem:
    """The allocation problem over the cells, per chosen customer (see the module docstring)."""
    keep = 1.0 - holdout_share
    return AllocationProblem(
        group_size=np.array([len(m) for m in elig.members], dtype=np.int64),
        group_segment=list(elig.segments),
        cell_group=np.array([c.group for c in cells], dtype=np.int64),
        cell_channel=[c.channel for c in cells],
        value=np.array([c.solve_value * keep for c in cells], dtype=np.float64),
        cost=np.array([c.cost * keep for c in cells], dtype=np.float64),
        budget=budget,
        capacity={ch: int(np.floor(n / keep + 1e-9)) for ch, n in capacity.items()},
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
        -scores.ravel(), A_ub=per_customer, b_ub=np.ones(n), A_eq=per_cell,
        b_eq=quota.astype(np.float64), bounds=(0, 1), method="highs-ds",
    )
    if res.x is None:
        raise RuntimeError(f"customer assignment failed: {res.message}")
    z = res.x.reshape(n, m)
    best = z.argmax(axis=1)
    chosen = z[np.arange(n), best] > 0.5
    out[chosen] = best[chosen]
    return out


def select_customers(
    elig: Eligibility, cells: list[Cell], alloc: Allocation, model: UpliftModel, goal: Goal,
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
            cell_up = cell.estimate.conversion_uplift if metric == "conversions" else (
                cell.estimate.revenue_uplift)
            score = model.score(ids, cell.channel, metric, cell_up)
            columns.append((score if score is not None else np.full(len(ids), cell_up)) + fallback)
        scores = np.column_stack(columns)
        quota = np.array([alloc.contacts[k] for k in ks], dtype=np.int64)
        where = assign_customers(scores, quota)
        for i, j in enumerate(where):
            if j < 0:
                continue
            cell = cells[ks[j]]
            selected.append(SelectedContact(
                customer_id=ids[i], segment=cell.segment, channel=cell.channel,
                offer=cell.offer.name, score=round(float(scores[i, j]), 6),
                discount_pct=cell.offer.discount_pct,
            ))
    selected.sort(key=lambda s: (-s.score, s.customer_id))
    return selected
