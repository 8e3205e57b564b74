"""Benchmark the exact campaign budget solver against the greedy uplift-per-cost heuristic.

Instance: 1,000 segments x 3 channels x 3 offers (9,000 integer variables), segments of
50-2,000 customers, one message per customer, a budget of 20% of what contacting everyone
on their dearest cell would cost, and (second run) capacities on two channels and maximum
segment shares (which the greedy also respects). Prints the exact solve time (target: under
2 s), the greedy time, their ratio, the greedy's optimality gap against the exact plan and
the share of the budget each spends. (Greedy by uplift per cost gives every customer the
cheapest message first, so the one-message rule leaves it little room for better ones.)

Run: ``.venv/bin/python bench/bench_solver.py [--seeds N]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from tools.campaigns.solver import (
    AllocationProblem,
    greedy_allocation,
    is_feasible,
    solve_allocation,
)

CHANNEL_COST = {"email": 0.05, "sms": 0.08, "push": 0.01}
OFFER_COST = (0.0, 0.4, 0.9)  # expected offer cost per contact
OFFER_LIFT = (1.0, 1.35, 1.6)


def make_problem(seed: int, constrained: bool) -> AllocationProblem:
    """A random instance of 1,000 segments x 3 channels x 3 offers."""
    rng = np.random.default_rng(seed)
    n_seg = 1000
    sizes = rng.integers(50, 2001, n_seg)
    segments = [f"s{i:04d}" for i in range(n_seg)]
    seg_effect = rng.lognormal(-0.5, 0.8, n_seg)
    cell_group, cell_channel, value, cost = [], [], [], []
    for g in range(n_seg):
        for ch, ch_cost in CHANNEL_COST.items():
            ch_effect = rng.normal(1.0, 0.4)
            for offer_cost, lift in zip(OFFER_COST, OFFER_LIFT, strict=True):
                cell_group.append(g)
                cell_channel.append(ch)
                value.append(seg_effect[g] * ch_effect * lift + rng.normal(0, 0.2))
                cost.append(ch_cost + offer_cost * rng.uniform(0.8, 1.2))
    cost_arr = np.array(cost)
    dearest = cost_arr.reshape(n_seg, -1).max(axis=1)
    budget = 0.2 * float((dearest * sizes).sum())
    capacity = (
        {"sms": int(sizes.sum() * 0.05), "push": int(sizes.sum() * 0.2)} if (constrained) else {}
    )
    max_share = {segments[i]: 0.0005 for i in range(5)} if constrained else {}
    return AllocationProblem(
        group_size=sizes.astype(np.int64),
        group_segment=segments,
        cell_group=np.array(cell_group, dtype=np.int64),
        cell_channel=cell_channel,
        value=np.array(value),
        cost=cost_arr,
        budget=budget,
        capacity=capacity,
        max_share=max_share,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="instances per setting")
    args = parser.parse_args()
    print("instance: 1,000 segments x 3 channels x 3 offers = 9,000 integer variables")
    for constrained in (False, True):
        label = "budget + capacities + shares" if constrained else "budget only"
        exact_t, greedy_t, gaps = [], [], []
        for seed in range(args.seeds):
            problem = make_problem(seed, constrained)
            start = time.perf_counter()
            exact = solve_allocation(problem)
            exact_t.append(time.perf_counter() - start)
            greedy = greedy_allocation(problem)
            greedy_t.append(greedy.seconds)
            assert is_feasible(problem, exact.contacts), "exact plan violates a constraint"
            gap = (exact.objective - greedy.objective) / exact.objective
            assert is_feasible(problem, greedy.contacts), "greedy plan violates a constraint"
            gaps.append(gap)
            print(
                f"  [{label}] seed {seed}: exact {exact_t[-1]:.3f} s ({exact.status}, proven "
                f"within {exact.gap:.1e} of the optimum), "
                f"greedy {greedy_t[-1] * 1000:.1f} ms, objective exact {exact.objective:,.1f} "
                f"greedy {greedy.objective:,.1f}, gap {gap:.2%}; budget spent exact "
                f"{exact.cost / problem.budget:.0%}, greedy {greedy.cost / problem.budget:.0%}"
            )
        med_exact = statistics.median(exact_t)
        med_greedy = statistics.median(greedy_t)
        print(
            f"{label}: exact solve median {med_exact:.3f} s (target < 2 s: "
            f"{'met' if max(exact_t) < 2 else 'MISSED'}), greedy median "
            f"{med_greedy * 1000:.1f} ms, time ratio greedy/exact {med_greedy / med_exact:.4f}, "
            f"greedy optimality gap median "
            f"{statistics.median(gaps):.2%} (max {max(gaps):.2%})"
        )


if __name__ == "__main__":
    main()
