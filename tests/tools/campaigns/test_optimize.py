"""The campaign budget solver against brute force, and the planning tools on a small shop.

The planning tests run on a synthetic shop (built here, with randomised control groups whose
true uplift differs by segment and channel) and a ProfileStore-like stub, so they do not
depend on the demo shop's generator.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tools.campaigns.solver import (
    AllocationProblem,
    InfeasibleAllocationError,
    evaluate,
    greedy_allocation,
    is_feasible,
    solve_allocation,
)

# ----------------------------------------------------------------- brute force


def brute_force(problem: AllocationProblem) -> float | None:
    """Best objective over every integer plan (None when none is feasible)."""
    per_group: list[list[dict[int, int]]] = []
    for g, size in enumerate(problem.group_size):
        ks = [k for k in range(problem.n_cells) if problem.cell_group[k] == g]
        options = []
        for counts in itertools.product(range(int(size) + 1), repeat=len(ks)):
            if sum(counts) <= size:
                options.append(dict(zip(ks, counts, strict=True)))
        per_group.append(options)
    best = None
    for combo in itertools.product(*per_group):
        x = np.zeros(problem.n_cells, dtype=np.int64)
        for part in combo:
            for k, n in part.items():
                x[k] = n
        if is_feasible(problem, x):
            value = evaluate(problem, x).objective
            best = value if best is None or value > best else best
    return best


def random_problem(rng: np.random.Generator, shares: bool, capacity: bool) -> AllocationProblem:
    n_groups = int(rng.integers(1, 4))
    sizes = rng.integers(0, 4, n_groups)
    segments = [str(s) for s in rng.choice(["a", "b"], n_groups)]
    cell_group, channels = [], []
    for g in range(n_groups):
        chans = [c for c in ("email", "sms") if rng.random() < 0.8] or ["email"]
        for ch in chans:
            cell_group.append(g)
            channels.append(ch)
    k = len(cell_group)
    value = rng.normal(1.0, 1.5, k).round(2)
    cost = rng.choice([0.5, 1.0, 1.5, 2.0], k)
    problem = AllocationProblem(
        group_size=sizes.astype(np.int64), group_segment=segments,
        cell_group=np.array(cell_group, dtype=np.int64), cell_channel=channels,
        value=value, cost=cost, budget=float(rng.choice([1.0, 2.5, 4.0, 6.0])),
    )
    if capacity:
        problem.capacity = {"email": int(rng.integers(0, 4))}
    if shares:
        seg = segments[0]
        if rng.random() < 0.5:
            problem.min_share = {seg: float(rng.choice([0.1, 0.3, 0.5]))}
        else:
            problem.max_share = {seg: float(rng.choice([0.2, 0.4]))}
    return problem


@pytest.mark.parametrize("seed", range(60))
def test_milp_matches_brute_force_on_small_instances(seed: int) -> None:
    rng = np.random.default_rng(seed)
    problem = random_problem(rng, shares=seed % 3 != 0, capacity=seed % 2 == 0)
    best = brute_force(problem)
    if best is None:
        with pytest.raises(InfeasibleAllocationError):
            solve_allocation(problem)
        return
    alloc = solve_allocation(problem)
    assert is_feasible(problem, alloc.contacts)
    assert alloc.objective == pytest.approx(best, abs=1e-9)


def test_brute_force_covers_binding_share_and_capacity_constraints() -> None:
    """The random instances above really exercise the constraints (else they test little)."""
    binding = {"min": 0, "max": 0, "cap": 0, "infeasible": 0}
    for seed in range(60):
        problem = random_problem(np.random.default_rng(seed), seed % 3 != 0, seed % 2 == 0)
        loose = AllocationProblem(problem.group_size, problem.group_segment, problem.cell_group,
                                  problem.cell_channel, problem.value, problem.cost,
                                  problem.budget)
        free, tight = brute_force(loose), brute_force(problem)
        if tight is None:
            binding["infeasible"] += 1
        elif free is not None and tight < free - 1e-9:
            key = "min" if problem.min_share else "max" if problem.max_share else "cap"
            binding[key] += 1
    assert all(n >= 2 for n in binding.values()), binding


def test_min_share_forces_spend_on_a_segment_with_low_value() -> None:
    problem = AllocationProblem(
        group_size=np.array([10, 10]), group_segment=["good", "poor"],
        cell_group=np.array([0, 1]), cell_channel=["email", "email"],
        value=np.array([3.0, -0.5]), cost=np.array([1.0, 1.0]), budget=10.0,
        min_share={"poor": 0.3},
    )
    alloc = solve_allocation(problem)
    assert alloc.contacts.tolist() == [7, 3]


def test_infeasible_min_share_names_the_segment() -> None:
    problem = AllocationProblem(
        group_size=np.array([10, 2]), group_segment=["a", "b"],
        cell_group=np.array([0, 1]), cell_channel=["email", "email"],
        value=np.array([1.0, 1.0]), cost=np.array([1.0, 1.0]), budget=10.0,
        min_share={"b": 0.5},
    )
    with pytest.raises(InfeasibleAllocationError) as err:
        solve_allocation(problem)
    assert err.value.constraint == "min_segment_share[b]"
    assert "2 reachable customers" in str(err.value)


def test_capacity_conflicting_with_min_share_names_capacity() -> None:
    problem = AllocationProblem(
        group_size=np.array([10, 10]), group_segment=["a", "b"],
        cell_group=np.array([0, 1]), cell_channel=["email", "sms"],
        value=np.array([1.0, 1.0]), cost=np.array([1.0, 1.0]), budget=10.0,
        capacity={"sms": 1}, min_share={"b": 0.5},
    )
    with pytest.raises(InfeasibleAllocationError) as err:
        solve_allocation(problem)
    assert err.value.constraint == "channel_capacity"


def test_greedy_is_beaten_when_the_cheap_message_uses_up_the_customer() -> None:
    # One customer group; push is cheap but weak, email dear but strong.
    problem = AllocationProblem(
        group_size=np.array([10]), group_segment=["a"],
        cell_group=np.array([0, 0]), cell_channel=["push", "email"],
        value=np.array([0.1, 2.0]), cost=np.array([0.01, 1.0]), budget=10.0,
    )
    exact, greedy = solve_allocation(problem), greedy_allocation(problem)
    assert exact.contacts.tolist() == [0, 10]
    assert greedy.objective < exact.objective


# ----------------------------------------------------------- a synthetic shop

SEGS = ("loyal", "at_risk", "lost", "champions")
TRUE_CONV = {  # true conversion uplift by segment x channel
    ("loyal", "email"): 0.08, ("loyal", "sms"): 0.01, ("loyal", "push"): 0.02,
    ("at_risk", "email"): 0.02, ("at_risk", "sms"): 0.09, ("at_risk", "push"): 0.0,
    ("lost", "email"): 0.0, ("lost", "sms"): 0.0, ("lost", "push"): 0.0,
    ("champions", "email"): 0.04, ("champions", "sms"): 0.02, ("champions", "push"): 0.06,
}


@dataclass
class StubProfiles:
    """A ProfileStore-like object: ``table`` and ``filter_ids``."""

    table: pd.DataFrame
    as_of: pd.Timestamp

    def filter_ids(self, f: Any, settings_allow_protected: bool = False) -> list[str]:
        t = self.table
        mask = pd.Series(True, index=t.index)
        if f.segments:
            mask &= t["segment"].isin(f.segments)
        if f.consent_channel:
            mask &= t[f"consent_{f.consent_channel}"]
        if f.min_churn_risk is not None:
            mask &= t["churn_risk"] >= f.min_churn_risk
        return sorted(t.index[mask])

    def get(self, customer_id: str) -> Any:
        from tools.errors import ToolInputError

        if customer_id not in self.table.index:
            raise ToolInputError(f"unknown customer_id {customer_id!r}")
        return type("P", (), {"customer_id": customer_id})()


def make_shop(n: int = 3000, seed: int = 7) -> tuple[Any, StubProfiles]:
    from tools.shop.store import ShopData

    rng = np.random.default_rng(seed)
    as_of = pd.Timestamp("2026-06-30T23:59:59Z")
    ids = [f"C{i:05d}" for i in range(1, n + 1)]
    seg = rng.choice(SEGS, n, p=[0.35, 0.3, 0.2, 0.15])
    recent = rng.random(n) < 0.1  # e-mailed three days ago (K005, no control group)
    table = pd.DataFrame({
        "segment": seg,
        "recency_days": rng.integers(1, 300, n).astype(float),
        "frequency": rng.integers(1, 20, n),
        "monetary": rng.gamma(2, 150, n),
        "churn_risk": rng.random(n),
        "expected_value_90d": rng.gamma(2, 30, n),
        "top_category": "toys",
        "top_categories": [["toys", "books"]] * n,
        "language": rng.choice(["en", "zh"], n),
        "city": "Springfield",
        "gender": "unknown",
        "age": 40,
        "consent_email": rng.random(n) < 0.8,
        "consent_sms": rng.random(n) < 0.5,
        "consent_push": rng.random(n) < 0.6,
        "last_contacted_at": pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]")
        .mask(pd.Series(recent), as_of - pd.Timedelta(days=3)).to_numpy(),
        "price_band": rng.choice(["budget", "mid", "premium"], n),
    }, index=pd.Index(ids, name="customer_id"))
    campaigns = pd.DataFrame({
        "campaign_id": ["K001", "K002", "K003", "K004", "K005"],
        "name": ["Mail", "Text", "Push", "Now", "News"],
        "channel": ["email", "sms", "push", "email", "email"],
        "offer": ["10% off toys", "10% off toys", "10% off toys", "15% off books", ""],
        "discount_pct": [10.0, 10.0, 10.0, 15.0, 0.0],
        "start_at": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01", "2026-06-25",
                                    "2026-06-27"], utc=True),
        "end_at": pd.to_datetime(["2026-01-15", "2026-02-15", "2026-03-15", "2026-07-15",
                                  "2026-06-28"], utc=True),
        "cost_per_contact": [0.05, 0.09, 0.01, 0.05, 0.05],
        "target_categories": [["toys"], ["toys"], ["toys"], ["books"], []],
        "target_segments": [[], [], [], ["loyal"], []],
        "description": [""] * 5,
    })
    rows = [("K005", ids[i], "treatment", as_of - pd.Timedelta(days=3), False, 0.0)
            for i in np.flatnonzero(recent)]
    for camp in campaigns.itertuples():
        if camp.campaign_id in ("K004", "K005"):
            continue
        who = rng.choice(n, size=int(n * 0.8), replace=False)
        for i in who:
            treated = rng.random() < 0.75
            base = 0.03
            p = base + (TRUE_CONV[(seg[i], camp.channel)] if treated else 0.0)
            conv = rng.random() < p
            rows.append((camp.campaign_id, ids[i], "treatment" if treated else "control",
                         camp.start_at, bool(conv), float(rng.gamma(4, 25)) if conv else 0.0))
    exposures = pd.DataFrame(rows, columns=["campaign_id", "customer_id", "group", "sent_at",
                                            "converted", "revenue"])
    empty_events = pd.DataFrame({
        "customer_id": pd.Series([], dtype=object), "product_id": pd.Series([], dtype=object),
        "event_type": pd.Series([], dtype=object), "quantity": pd.Series([], dtype="int64"),
        "unit_price": pd.Series([], dtype="float64"),
        "timestamp": pd.Series([], dtype="datetime64[ns, UTC]"),
    })
    shop = ShopData(
        customers=pd.DataFrame({"customer_id": ids}), products=pd.DataFrame(),
        events=empty_events, campaigns=campaigns, exposures=exposures,
        meta={"as_of": as_of.isoformat(), "currency": "USD"},
    )
    return shop, StubProfiles(table, as_of)


@pytest.fixture(scope="module")
def small_shop() -> tuple[Any, StubProfiles, Any]:
    from tools.campaigns.uplift import load_uplift_model

    shop, profiles = make_shop()
    return shop, profiles, load_uplift_model(shop, profiles)  # type: ignore[arg-type]


def make_deps(small_shop: tuple[Any, StubProfiles, Any], tmp_path: Path, **overrides: Any) -> Any:
    from agent.settings import Settings
    from tools.deps import ToolDeps

    shop, profiles, model = small_shop
    deps = ToolDeps(
        Settings(data_dir=tmp_path, state_dir=tmp_path, **overrides).tool_config(), shop=shop
    )
    deps.__dict__["profiles"] = profiles
    deps.__dict__["uplift"] = model
    return deps


# ------------------------------------------------------------ optimize_campaign


def test_plan_prefers_each_segments_best_channel_and_respects_budget(
    small_shop: Any, tmp_path: Path
) -> None:
    from tools.campaigns.optimize import optimize_campaign

    deps = make_deps(small_shop, tmp_path)
    plan = optimize_campaign(deps, budget=30.0, goal="conversions")
    assert plan.totals.cost <= 30.0 + 1e-6
    assert plan.totals.contacts > 0
    assert "lost" not in {r.segment for r in plan.rows}  # planted: no uplift anywhere
    # With room in the budget, each customer gets the channel their segment responds to
    # best among those they consented to (planted: at_risk -> sms, loyal -> email).
    roomy = optimize_campaign(deps, budget=500.0, goal="conversions")
    table = small_shop[1].table
    picked = {s.customer_id: s.channel for s in roomy.selected}
    at_risk_sms = table.index[(table["segment"] == "at_risk") & table["consent_sms"]]
    loyal_email = table.index[(table["segment"] == "loyal") & table["consent_email"]]
    assert {picked.get(c) for c in at_risk_sms if c in picked} == {"sms"}
    assert {picked.get(c) for c in loyal_email if c in picked} == {"email"}
    assert any("at_risk customers respond best to sms" in r.reason for r in roomy.rows)
    sms = next(r for r in roomy.rows if r.segment == "at_risk" and r.channel == "sms")
    assert sms.incremental_conversions_ci[0] < sms.incremental_conversions
    assert sms.incremental_conversions < sms.incremental_conversions_ci[1]
    assert len(plan.what_if) == 10
    returns = [p.expected_return for p in plan.what_if if p.expected_return is not None]
    assert returns == sorted(returns)  # more budget never gives an optimal plan less


def recently_emailed(shop: Any) -> set[str]:
    """Customers e-mailed three days before "as of" (K005)."""
    return set(shop.exposures.loc[shop.exposures["campaign_id"] == "K005", "customer_id"])


def test_every_selected_customer_consented_is_outside_the_rules_and_appears_once(
    small_shop: Any, tmp_path: Path
) -> None:
    from tools.campaigns.models import OfferOption
    from tools.campaigns.optimize import optimize_campaign

    deps = make_deps(small_shop, tmp_path, frequency_rules={"email": "1/7", "sms": "1/14"})
    plan = optimize_campaign(deps, budget=1000.0, offers=[OfferOption(name="no offer")])
    table = small_shop[1].table
    ids = [s.customer_id for s in [*plan.selected, *plan.holdout]]
    assert len(ids) == len(set(ids))
    assert len(plan.selected) == plan.totals.contacts
    recent = recently_emailed(small_shop[0])
    for s in [*plan.selected, *plan.holdout]:
        assert table.loc[s.customer_id, f"consent_{s.channel}"]
        assert not (s.channel == "email" and s.customer_id in recent), s
    # Reported per rule: every recently e-mailed customer with e-mail consent is blocked there,
    # and those who may be reached on no other channel are excluded outright.
    emailable = [c for c in recent if table.loc[c, "consent_email"]]
    assert plan.excluded_by_rule == {"email: at most 1 message in 7 days": len(emailable)}
    only_email = [c for c in emailable
                  if not table.loc[c, "consent_sms"] and not table.loc[c, "consent_push"]]
    assert plan.excluded["frequency_cap"] == len(only_email) > 0
    assert plan.marginal_return == 0.0  # budget not binding: everyone useful is contacted
    # With money left the plan says what binds, with counts: the audience, then consent and
    # the frequency rule that shrank it.
    kinds = [b.kind for b in plan.binding]
    assert kinds[0] == "audience" and {"consent", "frequency"} <= set(kinds)
    frequency = next(b for b in plan.binding if b.kind == "frequency")
    assert frequency.count == len(only_email)
    assert plan.budget_left == pytest.approx(1000.0 - plan.totals.cost, abs=0.01)
    model_view = plan.for_model()
    assert "selected" not in model_view and model_view["selected_count"] == len(plan.selected)
    assert "holdout" not in model_view and model_view["holdout_count"] == len(plan.holdout) > 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    budget=st.floats(min_value=0.5, max_value=400),
    segments=st.none() | st.lists(st.sampled_from(SEGS), min_size=1, max_size=3, unique=True),
    consent=st.none() | st.sampled_from(["email", "sms", "push"]),
    channels=st.lists(st.sampled_from(["email", "sms", "push"]), min_size=1, max_size=3,
                      unique=True),
    cap=st.integers(min_value=0, max_value=30),
    goal=st.sampled_from(["revenue", "conversions", "profit"]),
)
def test_consent_holds_for_every_selected_contact(
    small_shop: Any, tmp_path_factory: pytest.TempPathFactory, budget: float,
    segments: list[str] | None, consent: str | None, channels: list[str], cap: int, goal: str,
) -> None:
    from tools.campaigns.models import ChannelCost
    from tools.campaigns.optimize import optimize_campaign
    from tools.shop.schemas import SegmentFilter

    deps = make_deps(small_shop, tmp_path_factory.mktemp("p"))
    plan = optimize_campaign(
        deps, budget=budget, goal=goal,  # type: ignore[arg-type]
        channels=[ChannelCost(channel=c) for c in channels],  # type: ignore[arg-type]
        audience=SegmentFilter(segments=segments, consent_channel=consent),  # type: ignore[arg-type]
        frequency_cap_days=cap,
    )
    table = small_shop[1].table
    as_of = small_shop[1].as_of
    sent = small_shop[0].exposures
    last = sent[sent["group"] == "treatment"].groupby("customer_id")["sent_at"].max()
    assert plan.totals.cost <= budget + 1e-6
    for s in [*plan.selected, *plan.holdout]:
        assert s.channel in channels
        assert bool(table.loc[s.customer_id, f"consent_{s.channel}"]), s
        when = last.get(s.customer_id)
        assert cap == 0 or when is None or when <= as_of - pd.Timedelta(days=cap)
        if segments:
            assert s.segment in segments


def test_capacity_and_shares_hold_in_the_plan(small_shop: Any, tmp_path: Path) -> None:
    from tools.campaigns.optimize import optimize_campaign

    deps = make_deps(small_shop, tmp_path)
    plan = optimize_campaign(deps, budget=40.0, channel_capacity={"sms": 50},
                             min_segment_share={"lost": 0.1}, max_segment_share={"loyal": 0.2},
                             holdout_share=0.0)
    sms = sum(r.contacts for r in plan.rows if r.channel == "sms")
    assert sms <= 50
    spent = {seg: sum(r.cost for r in plan.rows if r.segment == seg) for seg in SEGS}
    assert spent["lost"] >= 4.0 - 0.01
    assert spent["loyal"] <= 8.0 + 0.01
    assert any("sms: at most 50 messages" in c for c in plan.constraints)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"budget": 0.0}, "budget"),
        ({"budget": -3.0}, "budget"),
        ({"budget": 10.0, "channel_capacity": {"fax": 3}}, "channel_capacity"),
        ({"budget": 10.0, "min_segment_share": {"at_rsk": 0.2}}, "did you mean at_risk"),
        ({"budget": 10.0, "min_segment_share": {"lost": 0.7, "loyal": 0.6}}, "min_segment_share"),
        ({"budget": 10.0, "min_segment_share": {"loyal": 0.5},
          "max_segment_share": {"loyal": 0.2}}, "min_segment_share[loyal]"),
        ({"budget": 10.0, "frequency_cap_days": -1}, "frequency_cap_days"),
        ({"budget": 10.0, "frequency_rules": {"fax": "1/7"}}, "frequency_rules"),
        ({"budget": 10.0, "frequency_rules": {"sms": "often"}}, "expected 'N/D'"),
        ({"budget": 10.0, "frequency_rules": {"sms": "1/7"}, "frequency_cap_days": 3},
         "not both"),
        ({"budget": 10.0, "holdout_share": 0.9}, "holdout_share"),
    ],
)
def test_bad_input_names_the_argument(
    small_shop: Any, tmp_path: Path, kwargs: dict[str, Any], needle: str
) -> None:
    from tools.campaigns.optimize import optimize_campaign
    from tools.errors import ToolInputError

    with pytest.raises(ToolInputError, match=None) as err:
        optimize_campaign(make_deps(small_shop, tmp_path), **kwargs)
    assert needle in str(err.value)


def test_unknown_offer_and_missing_cost_are_refused(small_shop: Any, tmp_path: Path) -> None:
    from tools.campaigns.models import ChannelCost, OfferOption
    from tools.campaigns.optimize import optimize_campaign
    from tools.errors import ToolInputError

    deps = make_deps(small_shop, tmp_path)
    with pytest.raises(ToolInputError, match="unknown offer 'mystery box'"):
        optimize_campaign(deps, 10.0, offers=[OfferOption(name="mystery box")])
    shop = small_shop[0]
    no_push = type(shop)(**{**shop.__dict__, "campaigns": shop.campaigns[
        shop.campaigns["channel"] != "push"]})
    deps = make_deps((no_push, small_shop[1], small_shop[2]), tmp_path)
    with pytest.raises(ToolInputError, match=r"channels\[0\].cost_per_contact"):
        optimize_campaign(deps, 10.0, channels=[ChannelCost(channel="push")])


def test_empty_audience_gives_a_valid_empty_plan_saying_why(
    small_shop: Any, tmp_path: Path
) -> None:
    from tools.campaigns.optimize import optimize_campaign
    from tools.shop.schemas import SegmentFilter

    deps = make_deps(small_shop, tmp_path)
    plan = optimize_campaign(deps, 10.0, audience=SegmentFilter(min_churn_risk=1.0),
                             frequency_cap_days=10_000)
    assert plan.totals.contacts == 0 and plan.selected == [] and plan.rows == []
    assert "frequency rules" in plan.message or "no customer matches" in plan.message


def test_offer_cost_counts_in_the_budget(small_shop: Any, tmp_path: Path) -> None:
    from tools.campaigns.models import OfferOption
    from tools.campaigns.optimize import optimize_campaign

    deps = make_deps(small_shop, tmp_path)
    cheap = optimize_campaign(deps, 1000.0, offers=[OfferOption(name="10% off")])
    dear = optimize_campaign(
        deps, 1000.0, offers=[OfferOption(name="10% off", cost_per_conversion=5.0)]
    )
    # Both spend about the whole budget; the dear offer's cost per converting customer makes
    # each contact cost more, so the same money reaches fewer customers.
    assert dear.totals.contacts < cheap.totals.contacts
    assert dear.totals.cost / dear.totals.contacts > cheap.totals.cost / cheap.totals.contacts
    assert "measured" in " ".join(cheap.assumptions)


# A plan's problem on the demo shop (values rounded) on which HiGHS 1.12 prints a debug line
# from C: "HighsMipSolverData::transformNewIntegerFeasibleSolution tmpSolver.run();".
HIGHS_SEGMENTS = [
    'at_risk', 'cannot_lose', 'champions', 'hibernating', 'lost', 'loyal', 'need_attention',
    'new', 'potential_loyalists', 'promising', 'prospects',
]
HIGHS_GROUPS = (
    "0:34 0:6 0:27 0:3 0:9 0:29 0:10 1:2 2:11 2:10 2:18 2:8 2:13 2:16 2:11 3:23 3:11 3:14 "
    "3:12 3:15 3:31 3:14 4:40 4:8 4:24 4:6 4:19 4:37 4:11 5:62 5:12 5:40 5:16 5:33 5:70 5:24 "
    "6:14 6:2 6:8 6:2 6:5 6:20 6:5 7:5 7:1 7:5 7:4 7:3 7:3 7:2 8:29 8:9 8:27 8:7 8:12 8:28 "
    "8:8 9:6 9:5 9:1 9:2 9:2 10:7 10:1 10:7 10:5 10:11 10:2 "
)

HIGHS_CELLS = (
    "0:0:2.466:0.045 0:0:2.173:0.045 1:0:2.466:0.045 1:0:2.173:0.045 1:2:0.063:0.005 "
    "1:2:0.053:0.005 2:0:2.466:0.045 2:0:2.173:0.045 2:1:-0.654:0.088 2:1:-0.507:0.088 "
    "3:0:2.466:0.045 3:0:2.173:0.045 3:1:-0.654:0.088 3:1:-0.507:0.088 3:2:0.063:0.005 "
    "3:2:0.053:0.005 4:2:0.063:0.005 4:2:0.053:0.005 5:1:-0.654:0.088 5:1:-0.507:0.088 "
    "6:1:-0.654:0.088 6:1:-0.507:0.088 6:2:0.063:0.005 6:2:0.053:0.005 7:1:-0.064:0.088 "
    "7:1:-0.063:0.088 8:0:6.184:0.045 8:0:5.479:0.045 9:0:6.184:0.045 9:0:5.479:0.045 "
    "9:2:0.366:0.005 9:2:0.311:0.005 10:0:6.184:0.045 10:0:5.479:0.045 10:1:0.579:0.088 "
    "10:1:0.756:0.088 11:0:6.184:0.045 11:0:5.479:0.045 11:1:0.579:0.088 11:1:0.756:0.088 "
    "11:2:0.366:0.005 11:2:0.311:0.005 12:2:0.366:0.005 12:2:0.311:0.005 13:1:0.579:0.088 "
    "13:1:0.756:0.088 14:1:0.579:0.088 14:1:0.756:0.088 14:2:0.366:0.005 14:2:0.311:0.005 "
    "15:0:1.062:0.045 15:0:0.677:0.045 16:0:1.062:0.045 16:0:0.677:0.045 16:2:-0.105:0.005 "
    "16:2:-0.090:0.005 17:0:1.062:0.045 17:0:0.677:0.045 17:1:0.239:0.088 17:1:0.143:0.088 "
    "18:0:1.062:0.045 18:0:0.677:0.045 18:1:0.239:0.088 18:1:0.143:0.088 18:2:-0.105:0.005 "
    "18:2:-0.090:0.005 19:2:-0.105:0.005 19:2:-0.090:0.005 20:1:0.239:0.088 20:1:0.143:0.088 "
    "21:1:0.239:0.088 21:1:0.143:0.088 21:2:-0.105:0.005 21:2:-0.090:0.005 22:0:-0.019:0.045 "
    "22:0:-0.176:0.045 23:0:-0.019:0.045 23:0:-0.176:0.045 23:2:0.050:0.005 23:2:0.042:0.005 "
    "24:0:-0.019:0.045 24:0:-0.176:0.045 24:1:-0.027:0.088 24:1:-0.029:0.088 "
    "25:0:-0.019:0.045 25:0:-0.176:0.045 25:1:-0.027:0.088 25:1:-0.029:0.088 25:2:0.050:0.005 "
    "25:2:0.042:0.005 26:2:0.050:0.005 26:2:0.042:0.005 27:1:-0.027:0.088 27:1:-0.029:0.088 "
    "28:1:-0.027:0.088 28:1:-0.029:0.088 28:2:0.050:0.005 28:2:0.042:0.005 29:0:8.725:0.045 "
    "29:0:7.124:0.045 30:0:8.725:0.045 30:0:7.124:0.045 30:2:1.264:0.005 30:2:1.074:0.005 "
    "31:0:8.725:0.045 31:0:7.124:0.045 31:1:0.783:0.088 31:1:0.690:0.088 32:0:8.725:0.045 "
    "32:0:7.124:0.045 32:1:0.783:0.088 32:1:0.690:0.088 32:2:1.264:0.005 32:2:1.074:0.005 "
    "33:2:1.264:0.005 33:2:1.074:0.005 34:1:0.783:0.088 34:1:0.690:0.088 35:1:0.783:0.088 "
    "35:1:0.690:0.088 35:2:1.264:0.005 35:2:1.074:0.005 36:0:1.873:0.045 36:0:1.209:0.045 "
    "37:0:1.873:0.045 37:0:1.209:0.045 37:2:2.841:0.005 37:2:2.414:0.005 38:0:1.873:0.045 "
    "38:0:1.209:0.045 38:1:-0.838:0.088 38:1:-0.775:0.088 39:0:1.873:0.045 39:0:1.209:0.045 "
    "39:1:-0.838:0.088 39:1:-0.775:0.088 39:2:2.841:0.005 39:2:2.414:0.005 40:2:2.841:0.005 "
    "40:2:2.414:0.005 41:1:-0.838:0.088 41:1:-0.775:0.088 42:1:-0.838:0.088 42:1:-0.775:0.088 "
    "42:2:2.841:0.005 42:2:2.414:0.005 43:0:4.179:0.045 43:0:3.505:0.045 44:0:4.179:0.045 "
    "44:0:3.505:0.045 44:2:0.182:0.005 44:2:0.154:0.005 45:0:4.179:0.045 45:0:3.505:0.045 "
    "45:1:-0.093:0.088 45:1:-0.092:0.088 46:0:4.179:0.045 46:0:3.505:0.045 46:1:-0.093:0.088 "
    "46:1:-0.092:0.088 46:2:0.182:0.005 46:2:0.154:0.005 47:2:0.182:0.005 47:2:0.154:0.005 "
    "48:1:-0.093:0.088 48:1:-0.092:0.088 49:1:-0.093:0.088 49:1:-0.092:0.088 49:2:0.182:0.005 "
    "49:2:0.154:0.005 50:0:3.761:0.045 50:0:3.241:0.045 51:0:3.761:0.045 51:0:3.241:0.045 "
    "51:2:4.016:0.005 51:2:3.413:0.005 52:0:3.761:0.045 52:0:3.241:0.045 52:1:-0.480:0.088 "
    "52:1:-0.293:0.088 53:0:3.761:0.045 53:0:3.241:0.045 53:1:-0.480:0.088 53:1:-0.293:0.088 "
    "53:2:4.016:0.005 53:2:3.413:0.005 54:2:4.016:0.005 54:2:3.413:0.005 55:1:-0.480:0.088 "
    "55:1:-0.293:0.088 56:1:-0.480:0.088 56:1:-0.293:0.088 56:2:4.016:0.005 56:2:3.413:0.005 "
    "57:0:4.059:0.045 57:0:3.389:0.045 58:0:4.059:0.045 58:0:3.389:0.045 58:1:-0.090:0.088 "
    "58:1:-0.089:0.088 59:0:4.059:0.045 59:0:3.389:0.045 59:1:-0.090:0.088 59:1:-0.089:0.088 "
    "59:2:0.808:0.005 59:2:0.686:0.005 60:2:0.808:0.005 60:2:0.686:0.005 61:1:-0.090:0.088 "
    "61:1:-0.089:0.088 62:0:2.794:0.045 62:0:2.172:0.045 63:0:2.794:0.045 63:0:2.172:0.045 "
    "63:2:0.580:0.005 63:2:0.492:0.005 64:0:2.794:0.045 64:0:2.172:0.045 64:1:-0.092:0.088 "
    "64:1:-0.091:0.088 65:2:0.580:0.005 65:2:0.492:0.005 66:1:-0.092:0.088 66:1:-0.091:0.088 "
    "67:1:-0.092:0.088 67:1:-0.091:0.088 67:2:0.580:0.005 67:2:0.492:0.005 "
)


def test_solver_writes_nothing_on_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    """A command's JSON output must stay clean even when HiGHS prints from C."""
    groups = [tuple(map(int, g.split(":"))) for g in HIGHS_GROUPS.split()]
    cells = [c.split(":") for c in HIGHS_CELLS.split()]
    problem = AllocationProblem(
        group_size=np.array([n for _, n in groups], dtype=np.int64),
        group_segment=[HIGHS_SEGMENTS[s] for s, _ in groups],
        cell_group=np.array([int(c[0]) for c in cells], dtype=np.int64),
        cell_channel=[("email", "sms", "push")[int(c[1])] for c in cells],
        value=np.array([float(c[2]) for c in cells]),
        cost=np.array([float(c[3]) for c in cells]),
        budget=10.0, capacity={"email": 100}, min_share={"at_risk": 0.2},
    )
    alloc = solve_allocation(problem)
    assert is_feasible(problem, alloc.contacts)
    assert capfd.readouterr().out == ""


# -------------------------------------------------------------- match_campaigns


def test_match_campaigns_explains_fit_and_blocks_without_consent(
    small_shop: Any, tmp_path: Path
) -> None:
    from tools.campaigns.matching import match_campaigns

    deps = make_deps(small_shop, tmp_path, frequency_rules={"email": "1/7"})
    table = small_shop[1].table
    free = ~table.index.isin(sorted(recently_emailed(small_shop[0])))
    loyal = table.index[(table["segment"] == "loyal") & table["consent_email"] & free][0]
    result = match_campaigns(deps, loyal)
    assert [m.campaign_id for m in result.matches] == ["K004"]  # the only running one
    match = result.matches[0]
    assert match.eligible and match.active
    assert "targets loyal customers" in match.reasons
    assert match.fit_score >= 0.5
    assert match.expected_conversion_uplift_pts is not None

    lost = table.index[(table["segment"] == "lost") & ~table["consent_email"] & free][0]
    blocked = match_campaigns(deps, lost).matches[0]
    assert not blocked.eligible
    assert "no consent for email" in blocked.blockers
    assert blocked.fit_score < match.fit_score

    capped = table.index[table["consent_email"] & ~free][0]
    blockers = match_campaigns(deps, capped).matches[0].blockers
    assert any("frequency rule (email: at most 1 message in 7 days); allowed again from "
               "2026-07-04" in b for b in blockers), blockers


def test_match_campaigns_lists_past_campaigns_on_request_and_rejects_unknown_ids(
    small_shop: Any, tmp_path: Path
) -> None:
    from tools.campaigns.matching import match_campaigns
    from tools.errors import ToolInputError

    deps = make_deps(small_shop, tmp_path)
    cid = small_shop[1].table.index[0]
    everything = match_campaigns(deps, cid, include_inactive=True)
    assert {m.campaign_id for m in everything.matches} == {"K001", "K002", "K003", "K004",
                                                           "K005"}
    inactive = [m for m in everything.matches if not m.active]
    assert all(not m.eligible for m in inactive)
    assert everything.matches.index(inactive[0]) > 0 or not everything.matches[0].eligible
    with pytest.raises(ToolInputError, match="unknown customer_id"):
        match_campaigns(deps, "C99999")


def test_shop_without_control_groups_gives_an_empty_plan_that_says_why(
    small_shop: Any, tmp_path: Path
) -> None:
    from tools.campaigns.optimize import optimize_campaign
    from tools.campaigns.uplift import load_uplift_model

    shop, profiles, _ = small_shop
    imported = shop.exposures.assign(group="treatment")  # e.g. an import with no holdout
    shop = type(shop)(**{**shop.__dict__, "exposures": imported})
    model = load_uplift_model(shop, profiles)  # type: ignore[arg-type]
    plan = optimize_campaign(make_deps((shop, profiles, model), tmp_path), 50.0)
    assert plan.totals.contacts == 0 and plan.selected == []
    assert "no control group" in plan.message
    assert plan.excluded["no_uplift_estimate"] == len(profiles.table)


@pytest.mark.slow
def test_plan_on_the_demo_shop_honours_consent_and_the_frequency_rules(settings: Any) -> None:
    """End to end on the real stores (ProfileStore, ShopData) of the demo shop."""
    from tools.campaigns.models import OfferOption
    from tools.campaigns.optimize import optimize_campaign
    from tools.customers.contact_rules import ContactHistory
    from tools.deps import ToolDeps

    if not (settings.data_dir / "exposures.parquet").is_file():
        pytest.skip(f"no demo shop at {settings.data_dir}")
    deps = ToolDeps(settings.tool_config())
    plan = optimize_campaign(deps, 300.0, offers=[OfferOption(name="no offer"),
                                                  OfferOption(name="15% off")])
    assert plan.totals.contacts > 0 and plan.totals.cost <= 300.0
    customers = deps.shop.customers.set_index("customer_id")
    for s in plan.selected:
        assert bool(customers.loc[s.customer_id, f"consent_{s.channel}"])
    history = ContactHistory.from_shop(deps.shop, pd.Timestamp(plan.as_of))
    rules = settings.tool_config().frequency_rules
    for channel in ("email", "sms", "push"):
        chosen = [s.customer_id for s in [*plan.selected, *plan.holdout] if s.channel == channel]
        assert not history.blocked(chosen, channel, rules).any(), channel
    # This week's SMS flash sale and the VIP e-mail after the preview block some customers.
    assert set(plan.excluded_by_rule) == {"email: at most 2 messages in 7 days",
                                          "sms: at most 1 message in 14 days"}
