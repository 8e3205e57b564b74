"""The hidden truth of a generated shop as a world to act in: values, costs, outcomes.

``TruthWorld`` reads ``truth/uplift.parquet`` and ``truth/customers.parquet`` (what the demo
generator hid) and answers, for any customer x channel x discount: the true conversion lift
of a message (``tools.shop.demo.world.offer_uplift``), the expected incremental revenue
(lift x the customer's typical basket), the expected cost (the message plus the discount's
value on every expected redemption, at the true treated conversion), and a simulated
outcome: conversion with the baseline (plus the lift when messaged), revenue drawn around
the basket as the generator draws it. The random draws come from the generator handed in,
so a seed fixes them.

``oracle_allocation`` spends a budget knowing every customer's truth (a linear program over
customer x channel x offer, at most one message each, solved by HiGHS; its optimum has at
most one fractional customer, dropped), with or without the plans' holdout rule.
``random_allocation`` spends it on random eligible customers with a random allowed channel
and offer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, vstack

from tools.errors import DataNotFoundError
from tools.shop.demo.world import offer_uplift
from tools.shop.schemas import CHANNELS

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Option:
    """A message a customer may get: a channel and a discount (with its message cost)."""

    channel: str
    offer: str
    discount_pct: float
    message_cost: float


class TruthWorld:
    """Per-customer truth: baseline, lift per channel, discount response, typical basket."""

    def __init__(self, truth_dir: Path) -> None:
        uplift_path = Path(truth_dir) / "uplift.parquet"
        people_path = Path(truth_dir) / "customers.parquet"
        if not uplift_path.is_file() or not people_path.is_file():
            raise DataNotFoundError(
                f"no planted truth in {truth_dir} (only generated shops have it; make one "
                "with `python -m agent data demo`)"
            )
        uplift = pd.read_parquet(uplift_path)
        if "discount_response" not in uplift.columns:
            raise DataNotFoundError(
                f"{uplift_path} has no discount_response column: regenerate the shop with "
                "`python -m agent data demo`"
            )
        people = pd.read_parquet(people_path).set_index("customer_id")
        wide = uplift.pivot(index="customer_id", columns="channel", values="conversion_uplift")
        self.ids = pd.Index(wide.index.astype(str))
        self.position = pd.Series(np.arange(len(self.ids)), index=self.ids)
        self.lift = wide.reindex(columns=list(CHANNELS)).fillna(0.0).to_numpy(np.float64)
        first = uplift.drop_duplicates("customer_id").set_index("customer_id").reindex(self.ids)
        self.baseline = first["baseline_conversion"].to_numpy(np.float64)
        self.response = first["discount_response"].to_numpy(np.float64)
        self.basket = people["typical_basket"].reindex(self.ids).fillna(0.0).to_numpy(
            np.float64)

    def rows(self, customer_ids: pd.Series | list[str]) -> npt.NDArray[np.int64]:
        """Row positions of customer ids."""
        return self.position.reindex(pd.Index(customer_ids)).to_numpy(np.int64)

    def conversion_lift(
        self, rows: npt.NDArray[np.int64], channels: npt.NDArray[np.int64],
        discounts: FloatArray,
    ) -> FloatArray:
        """True conversion lift of each message."""
        lift: FloatArray = offer_uplift(self.lift[rows, channels], self.response[rows],
                                        self.baseline[rows], discounts)
        return lift

    def value(
        self, rows: npt.NDArray[np.int64], channels: npt.NDArray[np.int64], discounts: FloatArray
    ) -> FloatArray:
        """Expected incremental revenue of each message."""
        out: FloatArray = self.conversion_lift(rows, channels, discounts) * self.basket[rows]
        return out

    def cost(
        self, rows: npt.NDArray[np.int64], channels: npt.NDArray[np.int64], discounts: FloatArray,
        message_costs: FloatArray,
    ) -> FloatArray:
        """Expected cost of each message: its price plus the discount on expected orders."""
        treated = self.baseline[rows] + self.conversion_lift(rows, channels, discounts)
        discount_value = self.basket[rows] * discounts / (100.0 - discounts)
        out: FloatArray = message_costs + treated * discount_value
        return out

    def simulate(
        self, assignment: pd.DataFrame, rng: np.random.Generator
    ) -> pd.DataFrame:
        """Outcomes of an assignment (customer_id, channel, discount_pct, group).

        Returns:
            customer_id, converted, revenue: one row per assigned customer.
        """
        rows = self.rows(assignment["customer_id"])
        channels = np.array([CHANNELS.index(c) for c in assignment["channel"]], dtype=np.int64)
        discounts = assignment["discount_pct"].to_numpy(np.float64)
        treated = (assignment["group"] == "treatment").to_numpy()
        p = self.baseline[rows] + np.where(
            treated, self.conversion_lift(rows, channels, discounts), 0.0)
        converted = rng.random(len(rows)) < np.clip(p, 0.0, 1.0)
        revenue = np.where(
            converted, np.round(self.basket[rows] * rng.lognormal(-0.08, 0.4, len(rows)), 2), 0.0)
        return pd.DataFrame({"customer_id": assignment["customer_id"].to_numpy(),
                             "converted": converted, "revenue": revenue.astype(np.float64)})


@dataclass
class Allocation:
    """Who gets which option, and what it is truly worth."""

    customer_ids: list[str]
    options: list[Option]
    value: float
    cost: float


def _evaluate(world: TruthWorld, ids: list[str], options: list[Option]) -> Allocation:
    if not ids:
        return Allocation([], [], 0.0, 0.0)
    rows = world.rows(ids)
    ch = np.array([CHANNELS.index(o.channel) for o in options], dtype=np.int64)
    d = np.array([o.discount_pct for o in options], dtype=np.float64)
    msg = np.array([o.message_cost for o in options], dtype=np.float64)
    return Allocation(ids, options, float(world.value(rows, ch, d).sum()),
                      float(world.cost(rows, ch, d, msg).sum()))


def evaluate_messages(
    world: TruthWorld, messages: pd.DataFrame, message_costs: dict[str, float]
) -> Allocation:
    """True value and cost of messages (customer_id, channel, offer, discount_pct)."""
    options = [Option(str(c), str(o), float(d), message_costs.get(str(c), 0.0))
               for c, o, d in zip(messages["channel"], messages["offer"],
                                  messages["discount_pct"], strict=True)]
    return _evaluate(world, [str(x) for x in messages["customer_id"]], options)


def _candidates(
    allowed: dict[str, tuple[str, ...]], offers: list[tuple[str, float]],
    message_costs: dict[str, float],
) -> tuple[list[str], list[Option], npt.NDArray[np.int64]]:
    ids, opts, owner = [], [], []
    for k, (cid, channels) in enumerate(sorted(allowed.items())):
        ids.append(cid)
        for ch in channels:
            for name, d in offers:
                opts.append(Option(ch, name, d, message_costs[ch]))
                owner.append(k)
    return ids, opts, np.array(owner, dtype=np.int64)


def oracle_allocation(
    world: TruthWorld, allowed: dict[str, tuple[str, ...]], offers: list[tuple[str, float]],
    message_costs: dict[str, float], budget: float, holdout_share: float = 0.0,
) -> Allocation:
    """The most true incremental revenue a budget buys (see the module docstring).

    With ``holdout_share`` the oracle plays by the plans' rule: it chooses customers of whom
    that share is held out at random, so a chosen customer brings and costs ``1 - share`` of
    a message (the value and cost returned are these expectations).
    """
    ids, opts, owner = _candidates(allowed, offers, message_costs)
    if not opts:
        return Allocation([], [], 0.0, 0.0)
    rows = world.rows([ids[k] for k in owner])
    ch = np.array([CHANNELS.index(o.channel) for o in opts], dtype=np.int64)
    d = np.array([o.discount_pct for o in opts], dtype=np.float64)
    msg = np.array([o.message_cost for o in opts], dtype=np.float64)
    value = world.value(rows, ch, d)
    cost = world.cost(rows, ch, d, msg)
    keep = value > 0
    value, cost, owner_k = value[keep], cost[keep], owner[keep]
    kept = [o for o, k in zip(opts, keep, strict=True) if k]
    if not len(value):
        return Allocation([], [], 0.0, 0.0)
    n = len(value)
    per_customer = coo_matrix((np.ones(n), (owner_k, np.arange(n))), shape=(len(ids), n))
    a_ub = vstack([coo_matrix(cost.reshape(1, -1)), per_customer]).tocsr()
    keep_share = 1.0 - holdout_share
    res = linprog(-value, A_ub=a_ub, b_ub=np.r_[budget / keep_share, np.ones(len(ids))],
                  bounds=(0, 1), method="highs")
    if res.x is None:
        raise RuntimeError(f"oracle LP failed: {res.message}")
    chosen = np.flatnonzero(res.x > 1 - 1e-6)
    out = _evaluate(world, [ids[owner_k[i]] for i in chosen], [kept[i] for i in chosen])
    out.value *= keep_share
    out.cost *= keep_share
    return out


def random_allocation(
    world: TruthWorld, allowed: dict[str, tuple[str, ...]], offers: list[tuple[str, float]],
    message_costs: dict[str, float], budget: float, rng: np.random.Generator,
) -> Allocation:
    """Random eligible customers, each with a random allowed channel and offer, to the budget."""
    order = sorted(allowed)
    ids: list[str] = []
    opts: list[Option] = []
    spent = 0.0
    for k in rng.permutation(len(order)):
        cid = order[int(k)]
        channels = allowed[cid]
        ch = channels[int(rng.integers(len(channels)))]
        name, d = offers[int(rng.integers(len(offers)))]
        option = Option(ch, name, d, message_costs[ch])
        row = world.rows([cid])
        cost = float(world.cost(row, np.array([CHANNELS.index(ch)]), np.array([d]),
                                np.array([option.message_cost]))[0])
        if spent + cost > budget:
            continue
        spent += cost
        ids.append(cid)
        opts.append(option)
    return _evaluate(world, ids, opts)
