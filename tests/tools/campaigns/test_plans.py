"""Holdouts, power and saved assignments of plans; the two flagship plans on the demo shop."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.tools.campaigns.test_optimize import make_deps
from tools.campaigns.holdout import minimum_detectable_lift, treated_count


@pytest.fixture(scope="module")
def small_shop() -> Any:
    from tests.tools.campaigns.test_optimize import make_shop
    from tools.campaigns.uplift import load_uplift_model

    shop, profiles = make_shop()
    return shop, profiles, load_uplift_model(shop, profiles)  # type: ignore[arg-type]


def cells(plan: Any) -> dict[tuple[str, str, str], tuple[set[str], set[str]]]:
    out: dict[tuple[str, str, str], tuple[set[str], set[str]]] = {}
    for c in plan.selected:
        out.setdefault((c.segment, c.channel, c.offer), (set(), set()))[0].add(c.customer_id)
    for c in plan.holdout:
        out.setdefault((c.segment, c.channel, c.offer), (set(), set()))[1].add(c.customer_id)
    return out


def test_every_cell_keeps_a_seeded_random_holdout_of_its_share(
    small_shop: Any, tmp_path: Path
) -> None:
    from tools.campaigns.optimize import optimize_campaign

    deps = make_deps(small_shop, tmp_path)
    plan = optimize_campaign(deps, 60.0)
    assert plan.holdout_share == 0.1 and plan.seed == 0 and plan.plan_id.startswith("P")
    by_cell = cells(plan)
    assert {(r.segment, r.channel, r.offer) for r in plan.rows} == set(by_cell)
    for row in plan.rows:
        messaged, held = by_cell[(row.segment, row.channel, row.offer)]
        assert not messaged & held
        assert (len(messaged), len(held)) == (row.contacts, row.holdout)
        chosen = row.contacts + row.holdout
        assert row.contacts == treated_count(chosen, 0.1) and row.holdout >= 1
        assert row.holdout == pytest.approx(0.1 * chosen, abs=1.0)
    # Held-out customers cost nothing: the plan's cost is its messages'.
    assert plan.totals.cost <= 60.0 + 1e-6
    assert plan.totals.contacts == len(plan.selected)
    # Same request, same seed: the same holdout; another seed: another one.
    again = optimize_campaign(deps, 60.0)
    assert [c.customer_id for c in again.holdout] == [c.customer_id for c in plan.holdout]
    other = optimize_campaign(deps, 60.0, seed=7)
    assert other.plan_id != plan.plan_id
    assert {c.customer_id for c in other.holdout} != {c.customer_id for c in plan.holdout}
    bigger = optimize_campaign(deps, 60.0, holdout_share=0.3)
    held = sum(r.holdout for r in bigger.rows) / sum(r.holdout + r.contacts for r in bigger.rows)
    assert 0.27 < held < 0.4


def test_mde_per_cell_comes_from_statsmodels_power_and_small_cells_are_flagged(
    small_shop: Any, tmp_path: Path
) -> None:
    from statsmodels.stats.power import NormalIndPower  # type: ignore[import-untyped]

    from tools.campaigns.optimize import optimize_campaign

    plan = optimize_campaign(make_deps(small_shop, tmp_path), 60.0)
    for row in plan.rows:
        base = row.baseline_conversion_pts / 100
        if row.mde_pts is None:
            assert not row.learnable
            continue
        h = NormalIndPower().solve_power(nobs1=row.contacts, ratio=row.holdout / row.contacts,
                                         alpha=0.05, power=0.8)
        expected = math.sin(math.asin(math.sqrt(base)) + h / 2) ** 2 - base
        assert row.mde_pts == pytest.approx(expected * 100, abs=0.01)
    assert plan.mde_pts is not None and plan.mde_pts < min(
        r.mde_pts for r in plan.rows if r.mde_pts is not None)  # pooled: more power
    # A lift of 2 pts on a 5% base needs thousands: 400 vs 40 cannot see it, 40,000 vs
    # 4,000 can; one held-out customer shows nothing.
    small = minimum_detectable_lift(400, 40, 0.05)
    large = minimum_detectable_lift(40_000, 4_000, 0.05)
    assert small is not None and large is not None and large < 0.02 < small
    assert minimum_detectable_lift(9, 1, 0.05) is None
    assert minimum_detectable_lift(5, 0, 0.05) is None
    for warning in plan.warnings:
        assert "too small to learn anything" in warning
    tiny = [r for r in plan.rows if not r.learnable]
    assert len(plan.warnings) == len(tiny)


def test_no_holdout_is_allowed_but_warned_about(small_shop: Any, tmp_path: Path) -> None:
    from tools.campaigns.optimize import optimize_campaign

    plan = optimize_campaign(make_deps(small_shop, tmp_path), 60.0, holdout_share=0.0)
    assert plan.holdout == [] and all(r.holdout == 0 for r in plan.rows)
    assert plan.warnings[0].startswith("no holdout")


def test_assignment_exports_as_csv_and_parquet_with_the_seed(
    small_shop: Any, tmp_path: Path
) -> None:
    from tools.campaigns.optimize import optimize_campaign
    from tools.registry import call_tool

    deps = make_deps(small_shop, tmp_path)
    plan = optimize_campaign(deps, 60.0, seed=3)
    assert plan.saved_to and Path(plan.saved_to).is_file()
    csv = call_tool(deps, "export_assignment", {"plan_id": plan.plan_id})
    parquet = call_tool(deps, "export_assignment", {"plan_id": plan.plan_id,
                                                    "format": "parquet"})
    a = pd.read_csv(csv.path, dtype={"customer_id": str})
    b = pd.read_parquet(parquet.path)
    assert list(a.columns) == ["plan_id", "customer_id", "segment", "channel", "offer",
                               "discount_pct", "group", "seed", "holdout_share"]
    assert a.equals(b.astype(a.dtypes.to_dict()))
    assert set(a["plan_id"]) == {plan.plan_id} and set(a["seed"]) == {3}
    assert (a["group"] == "treatment").sum() == csv.treatment == plan.totals.contacts
    assert (a["group"] == "holdout").sum() == csv.holdout == len(plan.holdout)
    assert set(a.loc[a["group"] == "holdout", "customer_id"]) == {
        c.customer_id for c in plan.holdout}
    assert not a["customer_id"].duplicated().any()
    assert Path(csv.path).parent == tmp_path / "exports"


def test_export_refuses_unknown_plans_and_paths_outside(
    small_shop: Any, tmp_path: Path
) -> None:
    from tools.campaigns.optimize import optimize_campaign
    from tools.errors import PathNotAllowedError, ToolInputError
    from tools.registry import call_tool

    deps = make_deps(small_shop, tmp_path)
    plan = optimize_campaign(deps, 20.0)
    with pytest.raises(ToolInputError, match=f"no saved plan 'P0000000000'; recent plans: "
                                              f"{plan.plan_id}"):
        call_tool(deps, "export_assignment", {"plan_id": "P0000000000"})
    with pytest.raises(ToolInputError, match="is not a plan id"):
        call_tool(deps, "export_assignment", {"plan_id": "../../etc/passwd"})
    with pytest.raises(PathNotAllowedError, match="outside the allowed directories"):
        call_tool(deps, "export_assignment", {"plan_id": plan.plan_id,
                                              "path": "/proc/assignment.csv"})


# --------------------------------------------------------------- the demo shop's flagship plans


@pytest.mark.slow
@pytest.mark.parametrize(
    "request_args",
    [
        {"channels": [{"channel": "email"}, {"channel": "sms"}],
         "audience": {"segments": ["at_risk"]}},
        {},
    ],
    ids=["email-sms-at-risk", "everyone-every-channel"],
)
def test_flagship_plans_spend_the_budget_or_say_what_binds(
    demo_deps: Any, request_args: dict[str, Any]
) -> None:
    from tools.registry import call_tool

    plan = call_tool(demo_deps, "optimize_campaign", {"budget": 5000, **request_args})
    assert len(plan.rows) >= 2  # several segment x channel x offer cells
    if plan.totals.cost < 0.6 * 5000:
        kinds = [b.kind for b in plan.binding]
        assert kinds and kinds[0] != "budget"
        assert all(b.count > 0 or b.kind == "shares" for b in plan.binding)
        assert plan.budget_left == pytest.approx(5000 - plan.totals.cost, abs=0.01)
    else:
        assert plan.binding[0].kind == "budget"
    # The what-if curve rises and bends: every step adds, later steps add less per dollar.
    curve = [(p.budget, p.incremental_revenue) for p in plan.what_if
             if p.incremental_revenue is not None]
    budgets = np.array([b for b, _ in curve])
    revenue = np.array([r for _, r in curve])
    assert budgets[0] == 500 and budgets[-1] == 10_000
    slopes = np.diff(revenue) / np.diff(budgets)
    assert (slopes >= -1e-6).all()
    if plan.binding[0].kind == "budget":
        assert revenue[-1] > revenue[0] * 1.2
        assert slopes[-1] < slopes[0] * 0.7


@pytest.mark.slow
def test_the_everyone_plan_spends_most_of_its_budget(demo_deps: Any) -> None:
    from tools.registry import call_tool

    plan = call_tool(demo_deps, "optimize_campaign", {"budget": 5000})
    assert plan.totals.cost >= 0.6 * 5000
    assert len({(r.segment, r.channel, r.offer) for r in plan.rows}) >= 10
    assert len({r.offer for r in plan.rows}) >= 3 and len({r.channel for r in plan.rows}) == 3
    assert any("discount" in a and "redeemed" in a for a in plan.assumptions)
