"""Behaviour of the demo shop's customers: sessions and events, campaigns and conversions.

Vectorised simulation over the customers and products of ``tools.shop.demo.entities``: sessions
thinned by season, views by tastes, popularity and price preference, the view-cart-purchase
funnel with complement follow-ups, and randomised campaigns whose conversions follow each
archetype's baseline plus the true uplift (see the ``tools.shop.demo.generator`` docstring).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from tools.shop.demo.catalog import CATEGORIES
from tools.shop.demo.world import (
    ARCHETYPE_SPECS,
    ARCHETYPES,
    AS_OF,
    CAMPAIGNS,
    COST_PER_CONTACT,
    HOUR_WEIGHTS,
    Arr,
    epoch,
    epoch_seconds,
    month_of,
    offer_uplift,
    sample_rows,
    to_ts,
)
from tools.shop.schemas import CHANNELS

#: Share of a past campaign's customers who got the message (the rest are its control group).
TREATED_SHARE = 0.5
# ----------------------------------------------------------------------------- events

_SENS_LEVELS = np.linspace(-1.0, 1.0, 9)
_PROSPECT = ARCHETYPES.index("prospect")


def build_events(
    rng: np.random.Generator,
    arche: Arr,
    start: Arr,
    end: Arr,
    signup: Arr,
    tastes: Arr,
    sens: Arr,
    cat_idx: Arr,
    popularity: Arr,
    price_z: Arr,
    prices: Arr,
    complements: list[Arr],
) -> pd.DataFrame:
    """Views, carts and purchases over the 12 months before ``AS_OF``."""
    n = len(arche)
    n_cat = len(CATEGORIES)
    specs = [ARCHETYPE_SPECS[a] for a in ARCHETYPES]
    season = np.array([c.season for c in CATEGORIES], dtype=np.float64)  # (cat, month)
    overall = season.mean(axis=0)
    overall = overall / overall.mean()
    # Sessions: a Poisson process over each customer's active window, thinned by season.
    rate = np.array([s.sessions_per_month for s in specs])[arche] / 30.44
    window = np.maximum(start - end, 0.5)
    cand = rng.poisson(rate * window * overall.max())
    s_cust = np.repeat(np.arange(n), cand)
    s_days = end[s_cust] + rng.random(len(s_cust)) * window[s_cust]
    s_sec = epoch(s_days)
    keep = rng.random(len(s_cust)) < overall[month_of(s_sec)] / overall.max()
    s_cust, s_days = s_cust[keep], s_days[keep]
    # Everyone who is not a pure prospect visits at least once.
    seen = np.bincount(s_cust, minlength=n) > 0
    lonely = np.flatnonzero(~seen)
    s_cust = np.concatenate([s_cust, lonely])
    s_days = np.concatenate([s_days, end[lonely] + rng.random(len(lonely)) * window[lonely]])
    s_days = np.minimum(s_days, signup[s_cust] - 0.05)
    # Time of day: most shopping happens in the evening.
    hours = rng.choice(24, len(s_cust), p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    day_start = np.floor(epoch(s_days) / 86400.0) * 86400.0
    s_sec = day_start + hours * 3600.0 + rng.random(len(s_cust)) * 3000.0
    s_sec = np.maximum(s_sec, epoch(signup[s_cust]) + 600.0)
    s_sec = np.minimum(s_sec, AS_OF.timestamp() - 3600.0)
    order = np.lexsort((s_sec, s_cust))
    s_cust, s_sec = s_cust[order], s_sec[order]
    n_sess = len(s_cust)
    # A session's category follows the customer's tastes times the category's season.
    month = month_of(s_sec)
    s_cat = sample_rows(rng, tastes[s_cust] * season[:, month].T)
    # Views within the session.
    vps = np.array([s.views_per_session for s in specs])[arche[s_cust]]
    n_views = 1 + rng.poisson(np.maximum(vps - 1.0, 0.0))
    v_sess = np.repeat(np.arange(n_sess), n_views)
    gaps = rng.exponential(150.0, len(v_sess))
    csum = np.cumsum(gaps)
    first = np.concatenate([[0], np.cumsum(n_views)[:-1]])
    v_sec = s_sec[v_sess] + csum - (csum[first] - gaps[first])[v_sess]
    v_cust = s_cust[v_sess]
    v_cat = s_cat[v_sess]
    level = np.abs(sens[:, None] - _SENS_LEVELS[None, :]).argmin(axis=1)[v_cust]
    v_prod = np.zeros(len(v_sess), dtype=np.int64)
    for c in range(n_cat):
        members = np.flatnonzero(cat_idx == c)
        for lv, s_val in enumerate(_SENS_LEVELS):
            rows = np.flatnonzero((v_cat == c) & (level == lv))
            if len(rows) == 0:
                continue
            w = popularity[members] * np.exp(-1.6 * s_val * price_z[members])
            cdf = np.cumsum(w) / w.sum()
            pick = np.searchsorted(cdf, rng.random(len(rows)), side="right")
            v_prod[rows] = members[np.minimum(pick, len(members) - 1)]
    # Funnel: view -> cart -> purchase.
    a_of_view = arche[v_cust]
    cart = rng.random(len(v_sess)) < np.array([s.cart_rate for s in specs])[a_of_view]
    buy = cart & (rng.random(len(v_sess)) < np.array([s.buy_rate for s in specs])[a_of_view])
    # Every customer but a prospect has bought at least once (their first viewed product).
    first_view = np.unique(v_cust, return_index=True)[1]
    first_view = first_view[~buy[first_view] & (arche[v_cust[first_view]] != _PROSPECT)]
    cart[first_view] = True
    buy[first_view] = True
    c_sec = v_sec + rng.uniform(20, 240, len(v_sess))
    b_sec = c_sec + rng.uniform(60, 900, len(v_sess))
    # Complements: "goes well with" products bought in the same or a following session.
    bought = np.flatnonzero(buy)
    follow = bought[rng.random(len(bought)) < 0.35]
    f_prod = np.array(
        [complements[int(p)][int(rng.integers(len(complements[int(p)])))] for p in v_prod[follow]],
        dtype=np.int64,
    )
    later = rng.random(len(follow)) < 0.45
    f_sec = b_sec[follow] + np.where(
        later, rng.uniform(1, 21, len(follow)) * 86400.0, rng.uniform(120, 1800, len(follow))
    )
    f_cust = v_cust[follow]
    limit = np.minimum(epoch(end[f_cust]) + 2 * 86400.0, AS_OF.timestamp() - 60.0)
    ok = f_sec < limit
    f_prod, f_sec, f_cust = f_prod[ok], f_sec[ok], f_cust[ok]
    # Assemble: views, carts, purchases, then the complement's view/cart/purchase.
    consumable = np.array([c.consumable for c in CATEGORIES])
    qty_main = 1 + rng.poisson(consumable[cat_idx[v_prod]])
    qty_follow = 1 + rng.poisson(consumable[cat_idx[f_prod]])
    cust = np.concatenate([v_cust, v_cust[cart], v_cust[buy], f_cust, f_cust, f_cust])
    prod = np.concatenate([v_prod, v_prod[cart], v_prod[buy], f_prod, f_prod, f_prod])
    kind = np.concatenate(
        [
            np.zeros(len(v_prod), np.int8),
            np.ones(int(cart.sum()), np.int8),
            np.full(int(buy.sum()), 2, np.int8),
            np.zeros(len(f_prod), np.int8),
            np.ones(len(f_prod), np.int8),
            np.full(len(f_prod), 2, np.int8),
        ]
    )
    qty = np.concatenate(
        [
            np.ones(len(v_prod), np.int64),
            np.where(buy[cart], qty_main[cart], 1),
            qty_main[buy],
            np.ones(len(f_prod), np.int64),
            qty_follow,
            qty_follow,
        ]
    )
    sec = np.concatenate([v_sec, c_sec[cart], b_sec[buy], f_sec - 240.0, f_sec - 120.0, f_sec])
    sec = np.floor(np.minimum(sec, AS_OF.timestamp() - 1.0))
    price = prices[prod]
    # Occasional discounts on purchases, more of them in Black Friday week.
    day = (sec // 86400).astype("int64").astype("datetime64[D]")
    bf = (day >= np.datetime64("2025-11-24")) & (day <= np.datetime64("2025-12-01"))
    disc = (kind == 2) & (rng.random(len(kind)) < np.where(bf, 0.45, 0.10))
    pct = rng.choice([0.10, 0.15, 0.20, 0.25, 0.30], len(kind))
    unit = np.where(disc, np.round(price * (1.0 - pct), 2), price)
    order = np.lexsort((kind, prod, cust, sec))
    cust_ids = np.array([f"C{i + 1:05d}" for i in range(n)], dtype=object)
    prod_ids = np.array([f"P{i + 1:05d}" for i in range(len(prices))], dtype=object)
    types = np.array(["view", "cart", "purchase"], dtype=object)
    return pd.DataFrame(
        {
            "customer_id": cust_ids[cust[order]],
            "product_id": prod_ids[prod[order]],
            "event_type": types[kind[order]],
            "quantity": qty[order].astype("int64"),
            "unit_price": unit[order].astype("float64"),
            "timestamp": to_ts(sec[order]),
        }
    )


# ----------------------------------------------------------------------------- campaigns


def typical_basket(events: pd.DataFrame, n: int, tastes: Arr, prices: Arr, cat_idx: Arr) -> Arr:
    """Each customer's mean order value (a day's purchases); taste-based for non-buyers."""
    buys = events[events["event_type"] == "purchase"]
    value = buys["unit_price"] * buys["quantity"]
    idx = buys["customer_id"].str.slice(1).astype("int64").to_numpy() - 1
    day = buys["timestamp"].dt.floor("D")
    orders = pd.DataFrame({"c": idx, "d": day, "v": value.to_numpy()})
    per_order = orders.groupby(["c", "d"], sort=True)["v"].sum()
    mean = per_order.groupby(level="c").mean()
    cat_mean = np.array([prices[cat_idx == c].mean() for c in range(len(CATEGORIES))])
    basket = tastes @ cat_mean * 1.3
    basket[mean.index.to_numpy()] = mean.to_numpy()
    out: Arr = np.round(basket, 2)
    return out


def build_uplift(rng: np.random.Generator, arche: Arr, sens: Arr) -> tuple[Arr, Arr, Arr]:
    """Per customer: baseline conversion, the true uplift per channel, the discount response.

    The discount response (conversion a 10% discount adds to a message, see
    ``tools.shop.demo.world.offer_uplift``) follows the archetype and grows with the customer's
    price sensitivity.
    """
    n = len(arche)
    specs = [ARCHETYPE_SPECS[a] for a in ARCHETYPES]
    base = np.array([s.baseline for s in specs])[arche]
    baseline = np.clip(base * rng.lognormal(-0.045, 0.3, n), 0.0, 0.9)
    effect = np.array([s.uplift for s in specs])[arche]  # (n, 3)
    uplift = effect * rng.lognormal(-0.06, 0.35, (n, len(CHANNELS)))
    uplift = np.clip(uplift, -baseline[:, None], 0.9 - baseline[:, None])
    response = np.array([s.discount_response for s in specs])[arche]
    response = response * (1.0 + 0.6 * sens) * rng.lognormal(-0.045, 0.3, n)
    return baseline, uplift, np.round(np.clip(response, 0.0, None), 6)


def build_campaigns(
    rng: np.random.Generator,
    customers: pd.DataFrame,
    events: pd.DataFrame,
    baseline: Arr,
    uplift: Arr,
    response: Arr,
    basket: Arr,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Campaign rows and their randomised exposures (``TREATED_SHARE`` treatment, the rest control).

    A treated customer converts with their baseline plus the true uplift of the channel and
    the campaign's discount (``offer_uplift``); a control customer with the baseline.

    A campaign aimed at segments (the win-back) goes to customers whose last purchase before
    the send was at least 60 days earlier, as a marketer would select them; the others go to
    a random sample of everyone who may be contacted.
    """
    signup = epoch_seconds(customers["signup_at"])
    buys = events[events["event_type"] == "purchase"]
    buy_cust = buys["customer_id"].str.slice(1).astype("int64").to_numpy() - 1
    buy_sec = epoch_seconds(buys["timestamp"])
    camp_rows: list[dict[str, Any]] = []
    exp_frames: list[pd.DataFrame] = []
    for k, plan in enumerate(CAMPAIGNS):
        cid = f"K{k + 1:03d}"
        start = AS_OF - timedelta(days=plan.sent_days_ago)
        start = start.replace(second=0, microsecond=0)
        lo, hi = COST_PER_CONTACT[plan.channel]
        camp_rows.append(
            {
                "campaign_id": cid,
                "name": plan.name,
                "channel": plan.channel,
                "offer": plan.offer,
                "discount_pct": float(plan.discount_pct),
                "start_at": pd.Timestamp(start),
                "end_at": pd.Timestamp(start + timedelta(days=plan.duration_days)),
                "cost_per_contact": round(float(rng.uniform(lo, hi)), 3),
                "target_categories": list(plan.categories),
                "target_segments": list(plan.segments),
                "description": plan.description,
            }
        )
        sent = start.timestamp()
        granted = customers[f"consent_{plan.channel}"].to_numpy(dtype=bool)
        given = epoch_seconds(customers[f"consent_{plan.channel}_at"])
        # Only customers whose consent was held when the campaign went out (NaN never is).
        eligible = granted & (given <= sent) & (signup <= sent)
        if plan.segments:
            before = buy_sec < sent
            last = np.full(len(customers), -np.inf)
            np.maximum.at(last, buy_cust[before], buy_sec[before])
            eligible &= np.isfinite(last) & (last <= sent - 60 * 86400.0)
        pool = np.flatnonzero(eligible)
        size = min(plan.reach, len(pool))
        chosen = np.sort(rng.choice(pool, size, replace=False))
        treat = rng.random(size) < TREATED_SHARE
        ch = CHANNELS.index(plan.channel)  # type: ignore[arg-type]
        effect = offer_uplift(uplift[chosen, ch], response[chosen], baseline[chosen],
                              plan.discount_pct)
        p = np.clip(baseline[chosen] + np.where(treat, effect, 0.0), 0.0, 1.0)
        converted = rng.random(size) < p
        revenue = np.where(
            converted, np.round(basket[chosen] * rng.lognormal(-0.08, 0.4, size), 2), 0.0
        )
        sent_at = sent + rng.uniform(0, 3600, size)
        exp_frames.append(
            pd.DataFrame(
                {
                    "campaign_id": cid,
                    "customer_id": customers["customer_id"].to_numpy()[chosen],
                    "group": np.where(treat, "treatment", "control"),
                    "sent_at": to_ts(sent_at),
                    "converted": converted,
                    "revenue": revenue.astype("float64"),
                }
            )
        )
    return pd.DataFrame(camp_rows), pd.concat(exp_frames, ignore_index=True)


def conversion_events(
    rng: np.random.Generator,
    campaigns: pd.DataFrame,
    exposures: pd.DataFrame,
    tastes: Arr,
    sens: Arr,
    cat_idx: Arr,
    popularity: Arr,
    price_z: Arr,
    prices: Arr,
) -> pd.DataFrame:
    """The view, cart and purchase behind every conversion; sets each exposure's revenue.

    The product comes from the campaign's categories (by the customer's tastes and price
    preference), the quantity brings the order near the drawn revenue, treated customers pay
    the offer price and control customers the list price.
    """
    slugs = [c.slug for c in CATEGORIES]
    camp = {str(r["campaign_id"]): r for r in campaigns.to_dict("records")}
    rows: list[tuple[int, int, float, int, float]] = []
    revenue = exposures["revenue"].to_numpy(dtype=np.float64).copy()
    sent = epoch_seconds(exposures["sent_at"])
    camp_ids = exposures["campaign_id"].astype(str).tolist()
    cust_ids = exposures["customer_id"].astype(str).tolist()
    treated_all = (exposures["group"] == "treatment").to_numpy(dtype=bool)
    for pos in np.flatnonzero(exposures["converted"].to_numpy(dtype=bool)).tolist():
        plan = camp[camp_ids[pos]]
        cust = int(cust_ids[pos][1:]) - 1
        targets = [slugs.index(c) for c in plan["target_categories"]] or list(range(len(slugs)))
        weights = tastes[cust, targets]
        cat = targets[int(rng.choice(len(targets), p=weights / weights.sum()))]
        members = np.flatnonzero(cat_idx == cat)
        w = popularity[members] * np.exp(-1.6 * sens[cust] * price_z[members])
        prod = int(members[int(rng.choice(len(members), p=w / w.sum()))])
        off = float(plan["discount_pct"]) / 100.0 if treated_all[pos] else 0.0
        unit = round(float(prices[prod]) * (1.0 - off), 2)
        qty = int(np.clip(round(revenue[pos] / max(unit, 0.01)), 1, 5))
        revenue[pos] = round(unit * qty, 2)
        window = min(pd.Timestamp(plan["end_at"]).timestamp(), AS_OF.timestamp() - 60.0)
        when = float(sent[pos] + 600.0 + rng.random() * max(window - sent[pos] - 600.0, 0.0))
        rows.append((cust, prod, unit, qty, np.floor(when)))
    exposures["revenue"] = revenue
    if not rows:
        return pd.DataFrame()
    cust_a, prod_a, unit_a, qty_a, sec_a = (np.asarray(col) for col in zip(*rows, strict=True))
    m = len(rows)
    return pd.DataFrame(
        {
            "customer_id": np.tile([f"C{c + 1:05d}" for c in cust_a], 3),
            "product_id": np.tile([f"P{p + 1:05d}" for p in prod_a], 3),
            "event_type": np.repeat(["view", "cart", "purchase"], m),
            "quantity": np.concatenate([np.ones(m, np.int64), qty_a, qty_a]).astype("int64"),
            "unit_price": np.concatenate([prices[prod_a], prices[prod_a], unit_a]),
            "timestamp": to_ts(np.concatenate([sec_a - 300.0, sec_a - 120.0, sec_a])),
        }
    )


def merge_events(events: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:
    """Both event tables in one, ordered by time (then customer, product, funnel step)."""
    merged = pd.concat([events, extra], ignore_index=True)
    step = merged["event_type"].map({"view": 0, "cart": 1, "purchase": 2})
    merged = merged.assign(_step=step).sort_values(
        ["timestamp", "customer_id", "product_id", "_step"], kind="mergesort"
    )
    return merged.drop(columns="_step").reset_index(drop=True)
