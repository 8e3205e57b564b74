"""The exact budget allocation behind ``optimize_campaign``: a small MILP solved by HiGHS.

The decision is made over *cells*: a group of interchangeable customers (same segment and
the same set of channels they consented to) times one channel and one offer. Each cell has a
value per contact (the goal: incremental revenue, conversions or profit) and a cost per
contact; the variable is the integer number of contacts in the cell.

Constraints (all linear):

* one message per customer: the contacts of a group's cells sum to at most its size (a
  customer who consented to e-mail and SMS is counted once, whichever channel they get;
  channels a group has no consent for have no cell at all);
* budget: total cost at most the budget;
* channel capacity: contacts per channel at most the capacity;
* segment shares of the **budget**: ``min_share[s] x budget <= cost spent on s <=
  max_share[s] x budget`` (shares of the given budget rather than of the plan's spend, so
  the constraint means the same thing at every budget of the what-if curve).

``scipy.optimize.milp`` (HiGHS branch and bound) solves it to proven optimality (within 0.01%
of the best bound beyond ``EXACT_UP_TO`` cells); the tests
compare it with brute force on small random instances. ``greedy_allocation`` is the usual
value-per-cost heuristic, kept for the benchmark's optimality gap.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


_LIBC = ctypes.CDLL(None)

#: Problems up to this many cells are solved to proven optimality (gap 0); larger ones stop
#: within ``MIP_REL_GAP`` (0.01%) of the best bound. Proving the last hundredth of a percent can
#: take minutes when many cells have nearly the same value per cost, as offers of one segment
#: do: the demo's plan over e-mail and SMS (220 cells) hit the 30 s limit at gap 0, and a
#: 700-customer shop's plan (30 cells, half held out) took 94 s at gap 0 or 1e-5 and takes
#: 1.4 s at 1e-4, with the same plan value; 0.01% is far inside the uplift estimates' intervals.
EXACT_UP_TO = 12
MIP_REL_GAP = 1e-4


class InfeasibleAllocationError(ValueError):
    """The constraints cannot all hold; ``constraint`` names the one to relax."""

    def __init__(self, constraint: str, message: str) -> None:
        super().__init__(message)
        self.constraint = constraint


@dataclass
class AllocationProblem:
    """Cells over customer groups, with the budget and the optional constraints.

    Attributes:
        group_size: customers per group (G,).
        group_segment: the segment of each group (G,), used by the share constraints.
        cell_group: the group of each cell (K,).
        cell_channel: the channel of each cell (K,), used by the capacities.
        value: goal value per contact of each cell (K,).
        cost: cost per contact of each cell (K,), all >= 0.
        budget: the most that may be spent.
        capacity: most contacts per channel.
        min_share: least share of the budget spent per segment.
        max_share: most share of the budget spent per segment.
    """

    group_size: IntArray
    group_segment: list[str]
    cell_group: IntArray
    cell_channel: list[str]
    value: FloatArray
    cost: FloatArray
    budget: float
    capacity: dict[str, int] = field(default_factory=dict)
    min_share: dict[str, float] = field(default_factory=dict)
    max_share: dict[str, float] = field(default_factory=dict)

    @property
    def n_cells(self) -> int:
        """Number of cells (decision variables)."""
        return len(self.value)

    def cell_segment(self) -> list[str]:
        """The segment of each cell."""
        return [self.group_segment[g] for g in self.cell_group]

    def with_budget(self, budget: float) -> AllocationProblem:
        """The same problem at another budget."""
        return AllocationProblem(
            self.group_size,
            self.group_segment,
            self.cell_group,
            self.cell_channel,
            self.value,
            self.cost,
            budget,
            dict(self.capacity),
            dict(self.min_share),
            dict(self.max_share),
        )


@dataclass
class Allocation:
    """Integer contacts per cell and what they add up to."""

    contacts: IntArray
    objective: float
    cost: float
    seconds: float = 0.0
    status: str = "optimal"
    gap: float = 0.0


def evaluate(problem: AllocationProblem, contacts: IntArray) -> Allocation:
    """Objective and cost of given contacts (no feasibility check)."""
    x = contacts.astype(np.float64)
    return Allocation(
        contacts=contacts.astype(np.int64),
        objective=float(problem.value @ x),
        cost=float(problem.cost @ x),
    )


def is_feasible(problem: AllocationProblem, contacts: IntArray, tol: float = 1e-6) -> bool:
    """Whether ``contacts`` satisfies every constraint of ``problem``."""
    x = contacts.astype(np.float64)
    if (x < 0).any():
        return False
    per_group = np.bincount(problem.cell_group, weights=x, minlength=len(problem.group_size))
    if (per_group > problem.group_size + tol).any():
        return False
    spend = problem.cost * x
    if spend.sum() > problem.budget * (1 + 1e-9) + tol:
        return False
    channels = np.asarray(problem.cell_channel, dtype=object)
    for ch, cap in problem.capacity.items():
        if x[channels == ch].sum() > cap + tol:
            return False
    segments = np.asarray(problem.cell_segment(), dtype=object)
    for seg, share in problem.min_share.items():
        if spend[segments == seg].sum() < share * problem.budget - tol:
            return False
    for seg, share in problem.max_share.items():
        if spend[segments == seg].sum() > share * problem.budget + tol:
            return False
    return True


def _check_shares(problem: AllocationProblem) -> None:
    """Name the share constraint that cannot hold, before asking the solver."""
    total_min = sum(problem.min_share.values())
    if total_min > 1 + 1e-9:
        raise InfeasibleAllocationError(
            "min_segment_share",
            f"min_segment_share: the minimum shares add up to {total_min:.0%} of the budget "
            "(more than 100%)",
        )
    for seg, lo in problem.min_share.items():
        hi = problem.max_share.get(seg)
        if hi is not None and lo > hi + 1e-12:
            raise InfeasibleAllocationError(
                f"min_segment_share[{seg}]",
                f"min_segment_share[{seg}] ({lo:.0%}) is above max_segment_share[{seg}] ({hi:.0%})",
            )
    segments = problem.cell_segment()
    max_cost = np.zeros(len(problem.group_size))
    np.maximum.at(max_cost, problem.cell_group, problem.cost)
    group_segment = np.asarray(problem.group_segment, dtype=object)
    for seg, lo in problem.min_share.items():
        if lo <= 0:
            continue
        mine = group_segment == seg
        most = float((problem.group_size[mine] * max_cost[mine]).sum())
        need = lo * problem.budget
        if most < need - 1e-9:
            reachable = int(problem.group_size[mine].sum())
            why = (
                f"its {reachable:,} reachable customers can absorb at most {most:,.2f}"
                if seg in segments
                else "no customer of that segment is reachable (audience, consent, frequency cap)"
            )
            raise InfeasibleAllocationError(
                f"min_segment_share[{seg}]",
                f"min_segment_share[{seg}] needs at least {need:,.2f} of the budget, but {why}",
            )


def _build(problem: AllocationProblem) -> tuple[FloatArray, list[LinearConstraint], Bounds]:
    k = problem.n_cells
    cols = np.arange(k)
    constraints: list[LinearConstraint] = []
    groups = coo_matrix(
        (np.ones(k), (problem.cell_group, cols)), shape=(len(problem.group_size), k)
    ).tocsr()
    constraints.append(LinearConstraint(groups, -np.inf, problem.group_size.astype(np.float64)))
    constraints.append(LinearConstraint(problem.cost.reshape(1, -1), -np.inf, problem.budget))
    channels = np.asarray(problem.cell_channel, dtype=object)
    for ch, cap in problem.capacity.items():
        row = (channels == ch).astype(np.float64).reshape(1, -1)
        constraints.append(LinearConstraint(row, -np.inf, float(cap)))
    segments = np.asarray(problem.cell_segment(), dtype=object)
    for seg in sorted(set(problem.min_share) | set(problem.max_share)):
        row = (problem.cost * (segments == seg)).reshape(1, -1)
        lo = problem.min_share.get(seg, 0.0) * problem.budget
        hi = problem.max_share.get(seg, np.inf) * problem.budget
        constraints.append(LinearConstraint(row, lo - 1e-9, hi + 1e-9))
    upper = problem.group_size[problem.cell_group].astype(np.float64)
    for ch, cap in problem.capacity.items():
        upper = np.where(channels == ch, np.minimum(upper, cap), upper)
    with np.errstate(divide="ignore"):
        by_budget = np.where(
            problem.cost > 0,
            np.floor(problem.budget / np.maximum(problem.cost, 1e-300) + 1e-9),
            np.inf,
        )
    upper = np.minimum(upper, by_budget)
    # A cell that loses value is never worth a contact unless a minimum share forces spend
    # in its segment; fixing it at zero keeps the search small.
    forced = np.isin(segments, [s for s, v in problem.min_share.items() if v > 0])
    upper = np.where((problem.value <= 0) & ~forced, 0.0, upper)
    return -problem.value, constraints, Bounds(np.zeros(k), upper)


_STDOUT_LOCK = threading.Lock()


@contextmanager
def _native_stdout_to_stderr() -> Iterator[None]:
    """Point file descriptor 1 at stderr while native code runs, then restore it.

    Hand-written because HiGHS writes with C ``printf`` (Python's ``redirect_stdout`` cannot
    catch it). C's buffer is flushed before restoring, so nothing leaks out later. Output
    that another thread writes to fd 1 meanwhile (milliseconds) lands on stderr, not lost.
    """
    out_fd, err_fd = 1, 2  # C's stdout and stderr, whatever ``sys.stdout`` is now
    with _STDOUT_LOCK:
        sys.stdout.flush()
        try:
            saved = os.dup(out_fd)
        except OSError:  # no fd 1 at all (a daemon): nothing to protect
            yield
            return
        try:
            os.dup2(err_fd, out_fd)
            yield
        finally:
            _LIBC.fflush(None)
            os.dup2(saved, out_fd)
            os.close(saved)


def solve_allocation(
    problem: AllocationProblem, *, time_limit: float = 30.0, mip_rel_gap: float | None = None
) -> Allocation:
    """Solve the allocation exactly with HiGHS (``scipy.optimize.milp``).

    ``mip_rel_gap`` is the relative distance to the best bound at which HiGHS may stop;
    by default 0 (proven optimal) up to ``EXACT_UP_TO`` cells and ``MIP_REL_GAP`` beyond
    (proving the last 0.01% can take minutes; the achieved gap is reported in
    ``Allocation.gap``).
    HiGHS 1.12 can print a stray debug line on the process's stdout even when silent (see
    jump-dev/HiGHS.jl#312); ``_native_stdout_to_stderr`` sends it to stderr so a command's
    JSON output stays clean.

    Raises:
        InfeasibleAllocationError: the constraints cannot all hold (names the constraint).
    """
    if problem.n_cells == 0:
        _check_shares(problem)
        return Allocation(np.zeros(0, dtype=np.int64), 0.0, 0.0)
    if (problem.cost < 0).any():
        raise ValueError("costs per contact cannot be negative")
    _check_shares(problem)
    start = time.perf_counter()
    c, constraints, bounds = _build(problem)
    if mip_rel_gap is None:
        mip_rel_gap = 0.0 if problem.n_cells <= EXACT_UP_TO else MIP_REL_GAP
    with _native_stdout_to_stderr():
        res = milp(
            c,
            constraints=constraints,
            integrality=np.ones(problem.n_cells),
            bounds=bounds,
            options={"time_limit": time_limit, "mip_rel_gap": mip_rel_gap},
        )
    seconds = time.perf_counter() - start
    if res.x is None:
        if res.status == 2:
            raise _diagnose(problem)
        raise RuntimeError(f"HiGHS stopped without a plan: {res.message}")
    contacts = np.rint(res.x).astype(np.int64)
    out = evaluate(problem, contacts)
    out.seconds = seconds
    out.gap = float(getattr(res, "mip_gap", 0.0) or 0.0)
    out.status = "optimal" if res.status == 0 else f"stopped: {res.message}"
    logger.debug("milp %d cells: %.4fs, objective %.4f", problem.n_cells, seconds, out.objective)
    return out


def _diagnose(problem: AllocationProblem) -> InfeasibleAllocationError:
    """Find which constraint makes the problem infeasible by relaxing one kind at a time."""
    if problem.capacity:
        relaxed = problem.with_budget(problem.budget)
        relaxed.capacity = {}
        if _feasible(relaxed):
            return InfeasibleAllocationError(
                "channel_capacity",
                "channel_capacity: with these capacities the minimum segment shares "
                f"({_shares(problem.min_share)}) cannot be spent",
            )
    if problem.max_share:
        relaxed = problem.with_budget(problem.budget)
        relaxed.max_share = {}
        if _feasible(relaxed):
            return InfeasibleAllocationError(
                "max_segment_share",
                "max_segment_share: cannot hold together with min_segment_share "
                f"({_shares(problem.min_share)})",
            )
    return InfeasibleAllocationError(
        "min_segment_share",
        f"min_segment_share ({_shares(problem.min_share)}) cannot be met with whole contacts "
        "within the budget and one message per customer",
    )


def _feasible(problem: AllocationProblem) -> bool:
    c, constraints, bounds = _build(problem)
    with _native_stdout_to_stderr():
        res = milp(c, constraints=constraints, integrality=np.ones(len(c)), bounds=bounds)
    return res.x is not None


def _shares(shares: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.0%}" for k, v in sorted(shares.items()))


def greedy_allocation(problem: AllocationProblem) -> Allocation:
    """Fill cells in order of value per cost (ignores share minimums; for the benchmark)."""
    start = time.perf_counter()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(
            problem.cost > 0,
            problem.value / problem.cost,
            np.where(problem.value > 0, np.inf, -np.inf),
        )
    left_group = problem.group_size.astype(np.int64).copy()
    left_cap = dict(problem.capacity)
    segments = problem.cell_segment()
    seg_spent: dict[str, float] = {}
    budget = problem.budget
    contacts = np.zeros(problem.n_cells, dtype=np.int64)
    for k in np.argsort(-ratio, kind="stable"):
        if problem.value[k] <= 0:
            break
        g = problem.cell_group[k]
        ch = problem.cell_channel[k]
        n = int(left_group[g])
        if ch in left_cap:
            n = min(n, left_cap[ch])
        cost = float(problem.cost[k])
        if cost > 0:
            n = min(n, int(np.floor(budget / cost + 1e-9)))
        seg = segments[k]
        if seg in problem.max_share and cost > 0:
            room = problem.max_share[seg] * problem.budget - seg_spent.get(seg, 0.0)
            n = min(n, int(np.floor(room / cost + 1e-9)))
        if n <= 0:
            continue
        contacts[k] = n
        left_group[g] -= n
        if ch in left_cap:
            left_cap[ch] -= n
        budget -= n * problem.cost[k]
        seg_spent[seg] = seg_spent.get(seg, 0.0) + n * problem.cost[k]
    out = evaluate(problem, contacts)
    out.seconds = time.perf_counter() - start
    out.status = "greedy"
    return out
