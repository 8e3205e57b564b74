"""Campaigns that learn, measured: plan, simulate from the hidden truth, read out, update, repeat.

``run_loop`` runs the whole cycle on a generated shop (the demo) against its planted truth
(``agent.evals.loop_world``). Every round each policy spends the same budget over the same
customers (consent and frequency rules as on "as of"; rounds are four weeks apart, so a
round's own messages never block the next):

* ``learning``: the product's optimiser (``optimize_campaign``: a seeded holdout in every
  cell); its plan's outcomes are simulated from the truth, read out
  (``tools.campaigns.readout``) and joined to the shop, and the uplift model is re-estimated
  from the grown shop before the next round;
* ``learning_thompson``: the same with Thompson exploration (each cell's value drawn from
  its estimate's posterior when planning);
* ``no_update``: the same optimiser that never reads out (its estimates stay those of the
  shop's history);
* ``random``: random eligible customers with a random allowed channel and offer, to the
  budget at true costs;
* ``oracle``: the allocation that knows every customer's truth and plays by the same rules
  (the same holdout share; ``oracle_no_holdout`` is the one without, for reference: a 10%
  holdout alone costs about 7% of the incremental revenue on the demo).

A policy's incremental revenue is its messages' *expected* incremental revenue under the
truth (held-out customers bring nothing); regret is the oracle's minus the policy's, summed
over rounds. The simulation of outcomes is deterministic per seed. The learners are judged
by the acceptance of issue 12: over the rounds, the learner's cumulative regret below the
no-update optimiser's and random's, and its last round within 15% of the oracle.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel

from agent.evals.loop_world import (
    TruthWorld,
    evaluate_messages,
    oracle_allocation,
    random_allocation,
)
from tools.campaigns.inputs import resolve_channel_costs, resolve_offers
from tools.campaigns.models import CampaignPlan
from tools.campaigns.optimize import build_plan
from tools.campaigns.planner import build_eligibility
from tools.campaigns.plans import assignment_frame
from tools.campaigns.readout import join_tables
from tools.campaigns.uplift import UpliftModel, load_uplift_model, shop_uplift_model
from tools.config import ToolConfig
from tools.customers.churn import profile_as_of
from tools.customers.contact_rules import ContactHistory
from tools.customers.profiles import ProfileStore, load_profile_store
from tools.errors import ToolInputError
from tools.shop.schemas import CHANNELS
from tools.shop.store import ShopData, load_shop

logger = logging.getLogger(__name__)

Policy = Literal["learning", "learning_thompson", "no_update", "random", "oracle",
                 "oracle_no_holdout"]
POLICIES: tuple[Policy, ...] = ("learning", "learning_thompson", "no_update", "random",
                                "oracle", "oracle_no_holdout")
LEARNERS: dict[Policy, Literal["none", "thompson"]] = {
    "learning": "none", "learning_thompson": "thompson",
}
ROUND_DAYS = 28
ORACLE_SHARE = 0.85


class LoopDeps:
    """What the plan tool needs (``CampaignDeps``), over a shop held in memory."""

    def __init__(
        self, config: ToolConfig, shop: ShopData, profiles: ProfileStore, uplift: UpliftModel
    ) -> None:
        self.config = config
        self.shop = shop
        self.profiles = profiles
        self.uplift = uplift

    def reload_shop(self) -> None:
        """Nothing to reload: the loop replaces the shop itself."""


class RoundResult(BaseModel):
    """One round: each policy's expected incremental revenue, cost and regret."""

    round: int
    revenue: dict[str, float]
    cost: dict[str, float]
    messaged: dict[str, int]
    regret: dict[str, float]
    cumulative_regret: dict[str, float]


class SeedRun(BaseModel):
    """All rounds of one seed."""

    seed: int
    rounds: list[RoundResult]
    last_round_share_of_oracle: dict[str, float]
    accepted: bool


class Spread(BaseModel):
    """A figure over the seeds."""

    mean: float
    sd: float
    min: float
    max: float


class LoopReport(BaseModel):
    """The loop over every seed, with the spread of its figures."""

    data_dir: str
    rounds: int
    budget: float
    holdout_share: float
    seeds: list[int]
    runs: list[SeedRun]
    revenue_by_round: dict[str, list[Spread]]
    cumulative_regret: dict[str, Spread]
    last_round_share_of_oracle: dict[str, Spread]
    exploration_gain: Spread
    accepted: bool
    accepted_seeds: int
    notes: list[str]
    seconds: float


def _spread(values: list[float]) -> Spread:
    arr = np.asarray(values, dtype=np.float64)
    return Spread(mean=round(float(arr.mean()), 2), sd=round(float(arr.std(ddof=1)), 2)
                  if len(arr) > 1 else 0.0, min=round(float(arr.min()), 2),
                  max=round(float(arr.max()), 2))


def _plan(
    config: ToolConfig, shop: ShopData, profiles: ProfileStore, model: UpliftModel,
    budget: float, seed: int, exploration: Literal["none", "thompson"],
) -> CampaignPlan:
    return build_plan(LoopDeps(config, shop, profiles, model), budget, seed=seed,
                      exploration=exploration, what_if=False, save=False)


def _messages(plan: CampaignPlan) -> pd.DataFrame:
    frame = assignment_frame(plan)
    return frame[frame["group"] == "treatment"]


def run_seed(
    data_dir: Path, cache_dir: Path, *, rounds: int, budget: float, seed: int,
    holdout_share: float, config: ToolConfig | None = None,
) -> SeedRun:
    """Run every policy for ``rounds`` rounds with one seed."""
    config = (config or ToolConfig(data_dir=data_dir)).model_copy(
        update={"holdout_share": holdout_share})
    shop0 = load_shop(data_dir)
    profiles = load_profile_store(shop0, cache_dir)
    table = profiles.table
    world = TruthWorld(Path(data_dir) / "truth")
    base = load_uplift_model(shop0, profiles)
    costs, _ = resolve_channel_costs(None, shop0.campaigns, base)
    offers = [(o.name, o.discount_pct) for o in resolve_offers(None, shop0.campaigns, 0.0, base)]
    as_of = profile_as_of(shop0)
    channels = [str(c) for c in CHANNELS if c in costs and base.channel_estimate(c) is not None]
    elig = build_eligibility(table, channels, ContactHistory.from_shop(shop0, as_of),
                             config.frequency_rules)
    allowed = {cid: pattern for pattern, members in zip(elig.patterns, elig.members,
                                                        strict=True) for cid in members}
    oracle = oracle_allocation(world, allowed, offers, costs, budget, holdout_share)
    free = oracle_allocation(world, allowed, offers, costs, budget)
    state = dict.fromkeys(LEARNERS, (shop0, base))
    out: list[RoundResult] = []
    total = dict.fromkeys(POLICIES, 0.0)
    for r in range(1, rounds + 1):
        revenue: dict[str, float] = {"oracle": oracle.value, "oracle_no_holdout": free.value}
        cost: dict[str, float] = {"oracle": oracle.cost, "oracle_no_holdout": free.cost}
        messaged: dict[str, int] = {
            "oracle": round(len(oracle.customer_ids) * (1 - holdout_share)),
            "oracle_no_holdout": len(free.customer_ids),
        }
        rng = np.random.default_rng([seed, r])
        rand = random_allocation(world, allowed, offers, costs, budget, rng)
        revenue["random"], cost["random"] = rand.value, rand.cost
        messaged["random"] = len(rand.customer_ids)
        static = _plan(config, shop0, profiles, base, budget, seed * 1000 + r, "none")
        got = evaluate_messages(world, _messages(static), costs)
        revenue["no_update"], cost["no_update"] = got.value, got.cost
        messaged["no_update"] = len(got.customer_ids)
        for name, mode in LEARNERS.items():
            shop, model = state[name]
            plan = _plan(config, shop, profiles, model, budget, seed * 1000 + r, mode)
            got = evaluate_messages(world, _messages(plan), costs)
            revenue[name], cost[name], messaged[name] = got.value, got.cost, len(got.customer_ids)
            results = world.simulate(assignment_frame(plan), np.random.default_rng(
                [seed, r, POLICIES.index(name)]))
            results["sent_at"] = as_of + pd.Timedelta(days=ROUND_DAYS * r)
            campaigns, exposures, _ = join_tables(shop, plan, results)
            shop = dataclasses.replace(shop, campaigns=campaigns, exposures=exposures)
            model = shop_uplift_model(shop, table)
            state[name] = (shop, model)
        regret = {p: round(oracle.value - revenue[p], 2) for p in POLICIES}
        for p in POLICIES:
            total[p] += regret[p]
        out.append(RoundResult(
            round=r, revenue={p: round(revenue[p], 2) for p in POLICIES},
            cost={p: round(cost[p], 2) for p in POLICIES}, messaged=messaged, regret=regret,
            cumulative_regret={p: round(total[p], 2) for p in POLICIES},
        ))
        logger.info("loop seed %d round %d: %s", seed, r, out[-1].revenue)
    last = out[-1].revenue
    share = {p: round(last[p] / oracle.value, 4) if oracle.value else 0.0 for p in POLICIES}
    ok = (total["learning"] < total["no_update"] and total["learning"] < total["random"]
          and share["learning"] >= ORACLE_SHARE)
    return SeedRun(seed=seed, rounds=out, last_round_share_of_oracle=share, accepted=ok)


def run_loop(
    data_dir: Path, cache_dir: Path, *, rounds: int = 6, budget: float = 5000.0,
    seeds: list[int] | None = None, holdout_share: float = 0.1,
    config: ToolConfig | None = None,
) -> LoopReport:
    """Run the loop for every seed and summarise (see the module docstring).

    Raises:
        ToolInputError: fewer than one round or seed, or a budget that is not positive.
        DataNotFoundError: the shop has no planted truth.
    """
    seeds = seeds or [0]
    if rounds < 1:
        raise ToolInputError(f"rounds: must be 1 or more, got {rounds}")
    if not budget > 0:
        raise ToolInputError(f"budget: must be a positive amount, got {budget}")
    start = time.perf_counter()
    runs = [run_seed(Path(data_dir), Path(cache_dir), rounds=rounds, budget=budget, seed=s,
                     holdout_share=holdout_share, config=config) for s in seeds]
    by_round = {p: [_spread([run.rounds[r].revenue[p] for run in runs]) for r in range(rounds)]
                for p in POLICIES}
    regret = {p: _spread([run.rounds[-1].cumulative_regret[p] for run in runs])
              for p in POLICIES}
    share = {p: _spread([run.last_round_share_of_oracle[p] for run in runs]) for p in POLICIES}
    gain = _spread([run.rounds[-1].cumulative_regret["learning"]
                    - run.rounds[-1].cumulative_regret["learning_thompson"] for run in runs])
    accepted = sum(run.accepted for run in runs)
    notes = [
        f"{rounds} rounds of a {budget:,.0f} budget over every channel and customer, "
        f"{ROUND_DAYS} days apart; holdout {holdout_share:.0%} per cell",
        "revenue = expected incremental revenue of the messages under the planted truth "
        "(held-out customers bring nothing); regret = oracle - policy",
        "exploration gain = learning's cumulative regret - learning_thompson's (positive: "
        "Thompson sampling helped)",
    ]
    return LoopReport(
        data_dir=str(data_dir), rounds=rounds, budget=budget, holdout_share=holdout_share,
        seeds=list(seeds), runs=runs, revenue_by_round=by_round, cumulative_regret=regret,
        last_round_share_of_oracle=share, exploration_gain=gain,
        accepted=accepted == len(runs), accepted_seeds=accepted, notes=notes,
        seconds=round(time.perf_counter() - start, 1),
    )
