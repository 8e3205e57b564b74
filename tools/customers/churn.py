"""The computations behind customer profiles: orders, RFM, interests, churn and value.

``build_profile_table`` turns a shop into one row per customer (the definitions, including
the segment rule table, are in ``tools.customers.profiles``). The churn and value model, documented
here because profiles, segments and campaign planning rely on it:

* **Orders.** A customer's purchase lines on one calendar day (UTC) form one order; the
  event model has no order id, and a basket's lines can carry slightly different timestamps.
* **Label.** At a cutoff ``t`` a customer has *churned* when they place no order in
  ``(t, t + 90 days]``.
* **Features at a cutoff** (every customer who signed up by ``t``, buyers and prospects
  alike): whether they ever bought, log days since the last order (since sign-up for
  prospects), log orders, log lifetime spend, log orders in the last 90 days, log views and
  carts in the last 30 and 90 days, log tenure, log average gap between orders, and log of
  how overdue the next order is (recency over average gap).
* **Fit.** A standardised logistic regression (scikit-learn) is fitted on features at
  ``as_of - 90 days`` with labels from the following 90 days, then applied to features at
  ``as_of``: ``churn_risk`` is the predicted probability of no order in the next 90 days.
* **Check.** The same recipe is fitted one window earlier (cutoff ``as_of - 180 days``) and
  scored on the ``as_of - 90 days`` window it never saw: that ROC AUC is ``churn_auc``.
* **Fallback.** When the history is shorter than one window or the labels have one class,
  a customer's orders are taken as a Poisson process at their historical rate
  (orders over ``max(tenure, 90 days)``), so ``churn_risk = exp(-90 * rate)``.
* **Expected 90-day value** = ``(1 - churn_risk) x E[orders | at least one] x AOV``, where
  ``E[orders | at least one] = m / (1 - exp(-m))`` for ``m = 90 x rate`` (a zero-truncated
  Poisson mean, 1 for a customer with no rate yet) and AOV is the customer's average order
  value (the shop's median order value for prospects).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tools.shop.schemas import CHANNELS
from tools.shop.store import ShopData

logger = logging.getLogger(__name__)

EVENT_WEIGHTS = {"purchase": 3.0, "cart": 2.0, "view": 1.0}
BUDGET_BELOW, PREMIUM_ABOVE = 0.8, 1.25
TOP_N = 3
RECENT_VIEWS = 5
_SEGMENT_GRID = [  # rows R=1..5, columns FM=1..5 (the table in the module docstring)
    ["lost", "lost", "at_risk", "at_risk", "cannot_lose"],
    ["hibernating", "hibernating", "at_risk", "at_risk", "cannot_lose"],
    ["need_attention", "need_attention", "need_attention", "loyal", "loyal"],
    ["promising", "potential_loyalists", "potential_loyalists", "loyal", "loyal"],
    ["new", "potential_loyalists", "potential_loyalists", "champions", "champions"],
]
_AGE_BANDS = [
    (18, "under 18"),
    (25, "18-24"),
    (35, "25-34"),
    (45, "35-44"),
    (55, "45-54"),
    (65, "55-64"),
    (200, "65+"),
]


WINDOW = pd.Timedelta(days=90)
FEATURES: tuple[str, ...] = (
    "has_purchased",
    "log_recency",
    "log_orders",
    "log_spend",
    "log_orders_90",
    "log_views_30",
    "log_views_90",
    "log_tenure",
    "log_gap",
    "log_overdue",
)


def _days(delta: pd.Series) -> pd.Series:
    """Durations as fractional days."""
    days: pd.Series = delta.dt.total_seconds() / 86400.0
    return days


def build_orders(events: pd.DataFrame) -> pd.DataFrame:
    """Collapse purchase lines into orders: one row per customer and UTC day.

    Args:
        events: The events table (only purchases are used).

    Returns:
        Columns customer_id, ts (last line's timestamp), value (sum of quantity x unit price).
    """
    purch = events[events["event_type"] == "purchase"]
    value = purch["quantity"].to_numpy(dtype="float64") * purch["unit_price"].to_numpy(
        dtype="float64"
    )
    frame = pd.DataFrame(
        {
            "customer_id": purch["customer_id"].to_numpy(),
            "day": purch["timestamp"].dt.floor("D").to_numpy(),
            "ts": purch["timestamp"].to_numpy(),
            "value": value,
        }
    )
    orders = frame.groupby(["customer_id", "day"], sort=False).agg(
        ts=("ts", "max"), value=("value", "sum")
    )
    out = orders.reset_index()[["customer_id", "ts", "value"]]
    out["ts"] = pd.to_datetime(out["ts"], utc=True)
    return out


def behaviour_features(
    orders: pd.DataFrame,
    browsing: pd.DataFrame,
    signup: pd.Series,
    cutoff: pd.Timestamp,
) -> pd.DataFrame:
    """Features of every customer signed up by ``cutoff``, using only what happened by then.

    Args:
        orders: Output of ``build_orders``.
        browsing: View and cart events (customer_id, timestamp).
        signup: Sign-up time per customer (indexed by customer_id).
        cutoff: The moment the features describe.

    Returns:
        One row per customer (index customer_id) with the columns in ``FEATURES`` plus
        ``rate`` (orders per day) and ``aov`` (average order value, NaN for prospects).
    """
    known = signup[signup <= cutoff]
    idx = known.index
    o = orders[orders["ts"] <= cutoff]
    g = o.groupby("customer_id", sort=False)
    last = g["ts"].max().reindex(idx)
    first = g["ts"].min().reindex(idx)
    n_orders = g.size().reindex(idx, fill_value=0).astype("float64")
    spend = g["value"].sum().reindex(idx, fill_value=0.0)
    recent = o[o["ts"] > cutoff - WINDOW].groupby("customer_id", sort=False).size()
    b = browsing[browsing["timestamp"] <= cutoff]
    views_90 = b[b["timestamp"] > cutoff - WINDOW].groupby("customer_id", sort=False).size()
    views_30 = (
        b[b["timestamp"] > cutoff - pd.Timedelta(days=30)].groupby("customer_id", sort=False).size()
    )
    tenure = _days(cutoff - known).clip(lower=0.0)
    since_last = _days(cutoff - last).fillna(tenure)
    span = _days(cutoff - first).fillna(tenure)
    gap = span / n_orders.clip(lower=1.0)
    rate = n_orders / span.clip(lower=90.0)
    feats = pd.DataFrame(
        {
            "has_purchased": (n_orders > 0).astype("float64"),
            "log_recency": np.log1p(since_last),
            "log_orders": np.log1p(n_orders),
            "log_spend": np.log1p(spend),
            "log_orders_90": np.log1p(recent.reindex(idx, fill_value=0).astype("float64")),
            "log_views_30": np.log1p(views_30.reindex(idx, fill_value=0).astype("float64")),
            "log_views_90": np.log1p(views_90.reindex(idx, fill_value=0).astype("float64")),
            "log_tenure": np.log1p(tenure),
            "log_gap": np.log1p(gap),
            "log_overdue": np.log1p((since_last / gap.clip(lower=1.0)).clip(upper=50.0)),
            "rate": rate,
            "aov": (spend / n_orders).where(n_orders > 0),
        },
        index=idx,
    )
    return feats.astype("float64")


def churn_labels(orders: pd.DataFrame, index: pd.Index, cutoff: pd.Timestamp) -> np.ndarray:
    """1 for customers in ``index`` with no order in ``(cutoff, cutoff + 90 days]``."""
    window = orders[(orders["ts"] > cutoff) & (orders["ts"] <= cutoff + WINDOW)]
    active = pd.Index(window["customer_id"].unique())
    return (~index.isin(active)).astype("int64")


@dataclass
class ChurnEstimate:
    """Churn risk and expected value per customer, with how the model was checked."""

    churn_risk: pd.Series
    expected_value_90d: pd.Series
    auc: float
    method: str
    train_rows: int


def _fit(features: pd.DataFrame, labels: np.ndarray) -> object | None:
    """A standardised logistic regression, or None when the labels have a single class."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if len(np.unique(labels)) < 2:
        return None
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    model.fit(features[list(FEATURES)].to_numpy(), labels)
    fitted: object = model
    return fitted


def _predict(model: object, features: pd.DataFrame) -> np.ndarray:
    proba: np.ndarray = model.predict_proba(features[list(FEATURES)].to_numpy())  # type: ignore[attr-defined]
    return proba[:, 1]


def estimate_churn(events: pd.DataFrame, signup: pd.Series, as_of: pd.Timestamp) -> ChurnEstimate:
    """Fit the churn model on the history and score every customer at ``as_of``.

    Args:
        events: The events table, already cut at ``as_of``.
        signup: Sign-up time per customer (indexed by customer_id); customers who signed up
            after ``as_of`` are scored as if they signed up at ``as_of``.
        as_of: The moment the profiles describe.

    Returns:
        A ``ChurnEstimate`` indexed like ``signup``.
    """
    from sklearn.metrics import roc_auc_score

    signup = signup.where(signup <= as_of, as_of)
    orders = build_orders(events)
    browsing = events.loc[events["event_type"] != "purchase", ["customer_id", "timestamp"]]
    now = behaviour_features(orders, browsing, signup, as_of)
    start = events["timestamp"].min() if len(events) else as_of
    auc = float("nan")
    method = "poisson_fallback"
    risk = np.exp(-90.0 * now["rate"].to_numpy())
    train_rows = 0
    if start <= as_of - WINDOW:
        cut = as_of - WINDOW
        train = behaviour_features(orders, browsing, signup, cut)
        labels = churn_labels(orders, train.index, cut)
        model = _fit(train, labels)
        if model is not None:
            risk = _predict(model, now)
            method = "logistic_regression"
            train_rows = len(train)
            if start <= as_of - 2 * WINDOW:
                early_cut = as_of - 2 * WINDOW
                early = behaviour_features(orders, browsing, signup, early_cut)
                early_model = _fit(early, churn_labels(orders, early.index, early_cut))
                if early_model is not None and len(np.unique(labels)) == 2:
                    auc = float(roc_auc_score(labels, _predict(early_model, train)))
    if method == "poisson_fallback":
        logger.warning(
            "churn model: history too short or one-class labels; using the Poisson fallback"
        )
    risk = np.clip(risk, 0.001, 0.999)
    m = 90.0 * now["rate"].to_numpy()
    # Mean of a zero-truncated Poisson: expected orders given at least one; 1 as m -> 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        orders_if_active = np.where(m > 1e-6, m / -np.expm1(-m), 1.0)
    order_values = orders["value"]
    fallback_aov = float(order_values.median()) if len(order_values) else 0.0
    aov = now["aov"].fillna(fallback_aov).to_numpy()
    value = (1.0 - risk) * orders_if_active * aov
    logger.info("churn model %s fitted on %d customers, AUC %.3f", method, train_rows, auc)
    return ChurnEstimate(
        churn_risk=pd.Series(risk, index=now.index).reindex(signup.index),
        expected_value_90d=pd.Series(value, index=now.index).reindex(signup.index),
        auc=auc,
        method=method,
        train_rows=train_rows,
    )


def profile_as_of(shop: ShopData) -> pd.Timestamp:
    """The moment profiles describe: ``meta["as_of"]`` if set, else the latest event."""
    raw = shop.meta.get("as_of")
    if raw:
        ts = pd.Timestamp(raw)
        return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    if len(shop.events):
        return pd.Timestamp(shop.events["timestamp"].max())
    return pd.Timestamp("1970-01-01", tz="UTC")


def _rfm_grid(
    recency: pd.Series, freq: pd.Series, spend: pd.Series, idx: pd.Index
) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """RFM segment per customer (the module's grid), and the buyers' R, F and M scores."""
    buyers = freq > 0
    r = _quintile(-recency[buyers])
    f = _quintile(freq[buyers].astype("float64"))
    m = _quintile(spend[buyers])
    fm = np.floor((f + m) / 2 + 0.5).astype("int64")
    grid = np.array(_SEGMENT_GRID, dtype=object)
    segment = pd.Series("prospects", index=idx, dtype=object)
    segment[buyers] = grid[r.to_numpy() - 1, fm.to_numpy() - 1]
    return segment, r, f, m


def segments_from_orders(orders: pd.DataFrame, idx: pd.Index, as_of: pd.Timestamp) -> pd.Series:
    """Each customer's RFM segment at ``as_of`` from orders (``build_orders``) up to then."""
    orders = orders[orders["ts"] <= as_of]
    og = orders.groupby("customer_id")
    freq = og.size().reindex(idx, fill_value=0).astype("int64")
    spend = og["value"].sum().reindex(idx, fill_value=0.0)
    recency = _days(as_of - og["ts"].max().reindex(idx))
    return _rfm_grid(recency, freq, spend, idx)[0]


def _quintile(values: pd.Series) -> pd.Series:
    """Scores 1-5 by rank, ties at their lowest position."""
    rank = values.rank(method="min").to_numpy()
    scores = np.clip(1 + np.floor(5 * (rank - 1) / len(values)), 1, 5)
    return pd.Series(scores.astype("int64"), index=values.index)


def category_labels(shop: ShopData) -> dict[str, dict[str, str]]:
    """Display names per category and language from ``meta["categories"]`` (may be empty)."""
    raw = shop.meta.get("categories")
    if not isinstance(raw, dict):
        return {}
    return {
        str(key): {str(lang): str(text) for lang, text in names.items()}
        for key, names in raw.items()
        if isinstance(names, dict)
    }


def _lists_by_key(keys: np.ndarray, values: np.ndarray) -> pd.Series:
    """Group ``values`` into Python lists by ``keys`` (contiguous runs; keys must be sorted).

    Hand-written because ``groupby(...).agg(list)`` calls Python once per group, which is
    the slowest step of the build at 100,000 customers; one ``np.split`` is not.
    """
    if len(keys) == 0:
        return pd.Series([], dtype=object)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    parts = np.split(values, starts[1:])
    return pd.Series([p.tolist() for p in parts], index=keys[starts], dtype=object)


def _top_lists(weights: pd.DataFrame, key: str, n: int) -> tuple[pd.Series, pd.Series]:
    """Per customer, the top ``n`` values of ``key`` by weight, and their shares."""
    total = weights.groupby("customer_id")["w"].transform("sum")
    w = weights.assign(share=weights["w"] / total)
    w = w.sort_values(["customer_id", "w", key], ascending=[True, False, True])
    top = w.groupby("customer_id", sort=False).head(n)
    keys = top["customer_id"].to_numpy()
    return (
        _lists_by_key(keys, top[key].to_numpy(dtype=object)),
        _lists_by_key(keys, top["share"].to_numpy(dtype="float64")),
    )


def _preferred_channel(
    shop: ShopData, index: pd.Index, as_of: pd.Timestamp
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Preferred channel, the reason, and the last contact time per customer."""
    exp = shop.exposures
    sent = exp[(exp["group"] == "treatment") & (exp["sent_at"] <= as_of)]
    sent = sent.merge(shop.campaigns[["campaign_id", "channel"]], on="campaign_id", how="left")
    last = sent.groupby("customer_id")["sent_at"].max().reindex(index)
    per = sent.groupby(["customer_id", "channel"]).agg(
        n=("converted", "size"), conv=("converted", "sum")
    )
    per = per.reset_index()
    per["rate"] = per["conv"] / per["n"]
    messages = per.groupby("customer_id")["n"].sum().reindex(index, fill_value=0)
    best = per[per["conv"] > 0].sort_values(
        ["customer_id", "conv", "rate", "channel"], ascending=[True, False, False, True]
    )
    best = best.drop_duplicates("customer_id").set_index("customer_id")
    channel = best["channel"].reindex(index)
    reason = pd.Series("never contacted by a campaign", index=index, dtype=object)
    silent = messages > 0
    reason[silent] = "no conversion from " + messages[silent].astype(str) + " campaign message(s)"
    has = channel.notna()
    reason[has] = (
        "converted "
        + best["conv"].reindex(index)[has].astype(int).astype(str)
        + " of "
        + best["n"].reindex(index)[has].astype(int).astype(str)
        + " times by "
        + channel[has].astype(str)
    )
    return channel.astype(object).where(has, None), reason, last


def build_profile_table(shop: ShopData) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Compute every customer's profile as one row of a DataFrame (index customer_id).

    Returns:
        The table and metadata (as_of, churn AUC and method, categories, currency).
    """
    as_of = profile_as_of(shop)
    cust = shop.customers.set_index("customer_id")
    idx = cust.index
    events = shop.events[shop.events["timestamp"] <= as_of]
    products = shop.products.set_index("product_id")

    orders = build_orders(events)
    og = orders.groupby("customer_id")
    last = og["ts"].max().reindex(idx)
    freq = og.size().reindex(idx, fill_value=0).astype("int64")
    spend = og["value"].sum().reindex(idx, fill_value=0.0)
    recency = _days(as_of - last)
    segment, r, f, m = _rfm_grid(recency, freq, spend, idx)

    # Interests: category and brand shares of weighted interactions.
    ev = events[["customer_id", "product_id", "event_type"]]
    ev = ev.assign(
        w=ev["event_type"].map(EVENT_WEIGHTS).astype("float64"),
        category=products["category"].reindex(ev["product_id"]).to_numpy(),
        brand=products["brand"].reindex(ev["product_id"]).to_numpy(),
    )
    cat_w = ev.groupby(["customer_id", "category"])["w"].sum().reset_index()
    top_cats, top_shares = _top_lists(cat_w, "category", TOP_N)
    brand_w = ev[ev["brand"] != ""].groupby(["customer_id", "brand"])["w"].sum().reset_index()
    top_brands, _ = _top_lists(brand_w, "brand", TOP_N)

    # Price band: paid price against the category's median catalog price.
    purch = events[events["event_type"] == "purchase"]
    cat_median = products.groupby("category")["price"].median()
    line_cat = products["category"].reindex(purch["product_id"]).to_numpy()
    ratio = purch["unit_price"].to_numpy() / cat_median.reindex(line_cat).to_numpy()
    ratio_s = (
        pd.Series(ratio, index=purch["customer_id"].to_numpy())
        .replace([np.inf, -np.inf], np.nan)
        .dropna()
    )
    price_ratio = ratio_s.groupby(level=0).median().reindex(idx)
    band = pd.Series(None, index=idx, dtype=object)
    band[price_ratio.notna()] = "mid"
    band[price_ratio < BUDGET_BELOW] = "budget"
    band[price_ratio > PREMIUM_ABOVE] = "premium"

    # Recent views: last distinct products viewed, newest first.
    views = events.loc[events["event_type"] == "view", ["customer_id", "product_id", "timestamp"]]
    views = views.sort_values(["customer_id", "timestamp"], ascending=[True, False])
    views = views.drop_duplicates(["customer_id", "product_id"])
    views = views.groupby("customer_id", sort=False).head(RECENT_VIEWS)
    view_keys = views["customer_id"].to_numpy()
    view_ids = _lists_by_key(view_keys, views["product_id"].to_numpy(dtype=object))
    titles = products["title"].reindex(views["product_id"]).to_numpy(dtype=object)
    view_titles = _lists_by_key(view_keys, titles)

    channel, reason, contacted = _preferred_channel(shop, idx, as_of)
    churn = estimate_churn(events, cust["signup_at"], as_of)

    def lists(series: pd.Series) -> pd.Series:
        out = series.reindex(idx)
        return out.map(lambda v: v if isinstance(v, list) else [])

    age = cust["age"].astype("Int64")
    bins = [-1] + [b - 1 for b, _ in _AGE_BANDS]
    age_band = pd.cut(age.astype("float64"), bins=bins, labels=[lab for _, lab in _AGE_BANDS])
    currency = str(
        shop.meta.get("currency")
        or (shop.products["currency"].mode().iloc[0] if len(shop.products) else "USD")
    )
    cats = lists(top_cats)
    table = pd.DataFrame(
        {
            "first_name": cust["first_name"],
            "language": cust["language"],
            "city": cust["city"],
            "country": cust["country"],
            "gender": cust["gender"],
            "age": age,
            "age_band": age_band.astype(object).where(age_band.notna(), None),
            "segment": segment,
            "recency_days": np.floor(recency),
            "frequency": freq,
            "monetary": spend.astype("float64"),
            "r_score": r.reindex(idx).astype("Int64"),
            "f_score": f.reindex(idx).astype("Int64"),
            "m_score": m.reindex(idx).astype("Int64"),
            "top_category": cats.map(lambda v: v[0] if v else None),
            "top_categories": cats,
            "top_category_shares": lists(top_shares),
            "favourite_brands": lists(top_brands),
            "price_band": band,
            "price_ratio": price_ratio.astype("float64"),
            "preferred_channel": channel,
            "preferred_channel_reason": reason,
            "churn_risk": churn.churn_risk.astype("float64"),
            "expected_value_90d": churn.expected_value_90d.astype("float64"),
            "last_purchase_at": last,
            "recent_view_ids": lists(view_ids),
            "recent_view_titles": lists(view_titles),
            **{f"consent_{ch}": cust[f"consent_{ch}"].astype(bool) for ch in CHANNELS},
            **{f"consent_{ch}_at": cust[f"consent_{ch}_at"] for ch in CHANNELS},
            "last_contacted_at": pd.to_datetime(contacted, utc=True),
        },
        index=idx,
    )
    table.index.name = "customer_id"
    meta = {
        "as_of": as_of.isoformat(),
        "churn_auc": churn.auc,
        "churn_method": churn.method,
        "categories": sorted(shop.products["category"].unique().tolist()),
        "category_labels": category_labels(shop),
        "currency": currency,
    }
    return table, meta
