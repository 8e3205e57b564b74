"""Uplift estimation: cell estimates, shrinkage, campaigns without control, individual models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tools.campaigns.learners import ProportionalUplift, TLearnerUplift
from tools.campaigns.uplift import build_uplift_model
from tools.campaigns.uplift_stats import dersimonian_laird_tau2

START = pd.Timestamp("2026-03-01T10:00:00Z")


def exposures_frame(rows: list[tuple[str, str, str, bool, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["campaign_id", "customer_id", "group", "converted", "revenue"]
    ).assign(sent_at=START)


def campaigns_frame(spec: dict[str, tuple[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "campaign_id": list(spec),
            "channel": [c for c, _ in spec.values()],
            "discount_pct": [d for _, d in spec.values()],
        }
    )


def simulate(
    rng: np.random.Generator,
    segments: dict[str, int],
    effects: dict[tuple[str, str], float],
    campaigns: dict[str, tuple[str, float]],
    base: float = 0.04,
    treat_share: float = 0.7,
) -> tuple[pd.DataFrame, pd.Series]:
    """Each campaign reaches every customer; treatment converts at base + effect."""
    ids, segs = [], []
    for seg, n in segments.items():
        for _ in range(n):
            ids.append(f"C{len(ids) + 1:05d}")
            segs.append(seg)
    rows = []
    for camp, (ch, _) in campaigns.items():
        for cid, seg in zip(ids, segs, strict=True):
            treated = rng.random() < treat_share
            p = base + (effects.get((seg, ch), 0.0) if treated else 0.0)
            conv = bool(rng.random() < p)
            rows.append(
                (
                    camp,
                    cid,
                    "treatment" if treated else "control",
                    conv,
                    float(rng.gamma(5, 20)) if conv else 0.0,
                )
            )
    return exposures_frame(rows), pd.Series(segs, index=ids)


def test_cell_estimates_recover_planted_uplift_within_their_intervals() -> None:
    rng = np.random.default_rng(1)
    effects = {
        ("loyal", "email"): 0.10,
        ("loyal", "sms"): 0.0,
        ("lost", "email"): 0.0,
        ("lost", "sms"): 0.06,
        ("champions", "email"): 0.05,
        ("champions", "sms"): 0.02,
    }
    camps = {"K001": ("email", 10.0), "K002": ("sms", 10.0), "K003": ("email", 20.0)}
    exp, seg = simulate(rng, {"loyal": 1500, "lost": 1500, "champions": 1500}, effects, camps)
    model = build_uplift_model(exp, campaigns_frame(camps), seg)
    covered = 0
    for (s, ch), truth in effects.items():
        est = model.estimate(s, ch)
        assert est is not None and est.measured
        assert abs(est.conversion_uplift - truth) < 0.03, (s, ch, est.conversion_uplift)
        lo, hi = est.conversion_ci
        covered += lo <= truth <= hi
        assert est.revenue_per_order == pytest.approx(100, rel=0.15)  # gamma(5, 20) mean
    assert covered >= 5
    best = max(model.estimates(), key=lambda e: e.conversion_uplift)
    assert (best.segment, best.channel) == ("loyal", "email")


def test_small_cells_are_pulled_toward_the_channel_and_large_ones_keep_their_value() -> None:
    rng = np.random.default_rng(2)
    effects = {
        ("loyal", "email"): 0.12,
        ("lost", "email"): 0.0,
        ("at_risk", "email"): 0.06,
        ("new", "email"): 0.0,
    }
    camps = {"K001": ("email", 10.0)}
    exp, seg = simulate(
        rng, {"loyal": 3000, "lost": 3000, "at_risk": 3000, "new": 20}, effects, camps
    )
    # Plant a lucky streak in the tiny segment: every treated 'new' customer converted.
    new_t = exp["customer_id"].isin(seg.index[seg == "new"]) & (exp["group"] == "treatment")
    exp.loc[new_t, ["converted", "revenue"]] = [True, 100.0]
    model = build_uplift_model(exp, campaigns_frame(camps), seg)
    channel = model.channel_estimate("email")
    new, loyal = model.estimate("new", "email"), model.estimate("loyal", "email")
    assert channel is not None and new is not None and loyal is not None
    assert new.measured and new.n_control > 0
    assert new.raw_conversion_uplift is not None and new.raw_conversion_uplift > 0.5
    assert new.shrinkage > 0.8
    moved = (new.raw_conversion_uplift - new.conversion_uplift) / (
        new.raw_conversion_uplift - channel.conversion_uplift
    )
    assert moved > 0.8  # most of the way from its lucky raw value to the channel's
    assert loyal.shrinkage < 0.5 and loyal.conversion_uplift > 0.09


def test_per_campaign_differences_avoid_mixing_baselines() -> None:
    # Zero true uplift; campaign A has a high baseline and holds out few, B the reverse.
    rng = np.random.default_rng(3)
    rows = []
    for camp, base, share in (("K001", 0.30, 0.95), ("K002", 0.02, 0.05)):
        for i in range(10000):
            treated = rng.random() < share
            conv = bool(rng.random() < base)
            rows.append(
                (
                    camp,
                    f"C{i:05d}",
                    "treatment" if treated else "control",
                    conv,
                    50.0 if conv else 0.0,
                )
            )
    exp = exposures_frame(rows)
    seg = pd.Series("loyal", index=[f"C{i:05d}" for i in range(10000)])
    model = build_uplift_model(
        exp, campaigns_frame({"K001": ("email", 0), "K002": ("email", 0)}), seg
    )
    pooled = (
        exp.loc[exp["group"] == "treatment", "converted"].mean()
        - exp.loc[exp["group"] == "control", "converted"].mean()
    )
    est = model.channel_estimate("email")
    assert est is not None
    assert abs(pooled) > 0.1  # pooling rows would invent a large effect...
    assert abs(est.conversion_uplift) < abs(pooled) / 5  # ...the per-campaign one does not
    assert est.conversion_ci[0] < 0 < est.conversion_ci[1]


def test_campaigns_without_control_give_no_estimate_and_say_so() -> None:
    rows = [
        ("K001", f"C{i:05d}", "treatment", i % 10 == 0, 30.0 if i % 10 == 0 else 0.0)
        for i in range(500)
    ]
    seg = pd.Series("loyal", index=[f"C{i:05d}" for i in range(500)])
    model = build_uplift_model(exposures_frame(rows), campaigns_frame({"K001": ("email", 0)}), seg)
    assert model.channel_estimate("email") is None
    assert model.estimate("loyal", "email") is None
    assert model.campaigns_without_control == ["K001"]
    assert any("K001" in n and "no control group" in n for n in model.notes)


def test_pre_period_purchases_narrow_the_interval() -> None:
    """CUPED: customers who bought before convert more; adjusting for it cuts the noise."""
    rng = np.random.default_rng(4)
    n = 6000
    ids = [f"C{i:05d}" for i in range(n)]
    heavy = rng.random(n) < 0.3
    treated = rng.random(n) < 0.5
    p = np.where(heavy, 0.6, 0.02) + np.where(treated, 0.03, 0.0)
    conv = rng.random(n) < p
    exp = exposures_frame(
        [
            ("K001", c, "treatment" if t else "control", bool(v), 80.0 if v else 0.0)
            for c, t, v in zip(ids, treated, conv, strict=True)
        ]
    )
    events = pd.DataFrame(
        {
            "customer_id": [c for c, h in zip(ids, heavy, strict=True) if h for _ in range(3)],
            "event_type": "purchase",
            "quantity": 1,
            "unit_price": 40.0,
        }
    )
    events["timestamp"] = START - pd.Timedelta(days=20)
    seg = pd.Series("loyal", index=ids)
    camps = campaigns_frame({"K001": ("email", 0.0)})
    plain = build_uplift_model(exp, camps, seg).channel_estimate("email")
    adjusted = build_uplift_model(exp, camps, seg, events=events).channel_estimate("email")
    assert plain is not None and adjusted is not None
    width = plain.conversion_ci[1] - plain.conversion_ci[0]
    adjusted_width = adjusted.conversion_ci[1] - adjusted.conversion_ci[0]
    assert adjusted_width < 0.85 * width
    assert abs(adjusted.conversion_uplift - 0.03) < 0.02


def test_unmeasured_discount_is_flagged_and_priced() -> None:
    rng = np.random.default_rng(5)
    camps = {"K001": ("email", 20.0)}
    exp, seg = simulate(rng, {"loyal": 3000}, {("loyal", "email"): 0.08}, camps)
    model = build_uplift_model(exp, campaigns_frame(camps), seg)
    measured = model.estimate("loyal", "email", 20.0)
    full_price = model.estimate("loyal", "email", 0.0)
    assert measured is not None and full_price is not None
    assert "never measured" not in measured.note
    # One discount ever measured: nothing tells discounts apart, so the message converts alike
    # and an order is worth what the measured orders were (the note says it was assumed).
    assert "never measured" in full_price.note and "assumed" in full_price.note
    assert full_price.conversion_uplift == pytest.approx(measured.conversion_uplift)
    assert full_price.revenue_per_order == pytest.approx(measured.revenue_per_order)


def simulate_offers(
    rng: np.random.Generator, reach: dict[str, list[str]], effect: dict[tuple[str, float], float],
    discounts: dict[str, float], n: int = 2500, base: float = 0.04,
) -> tuple[pd.DataFrame, pd.Series]:
    """E-mail campaigns at given discounts, each reaching the listed segments (half treated)."""
    segs = {s: [f"C{i:05d}" for i in range(k * n + 1, (k + 1) * n + 1)]
            for k, s in enumerate(sorted({s for ss in reach.values() for s in ss}))}
    rows = []
    for camp, segments in reach.items():
        d = discounts[camp]
        for seg_name in segments:
            for cid in segs[seg_name]:
                treated = rng.random() < 0.5
                p = base + (effect[(seg_name, d)] if treated else 0.0)
                conv = bool(rng.random() < p)
                rows.append((camp, cid, "treatment" if treated else "control", conv,
                             80.0 if conv else 0.0))
    seg = pd.Series({cid: s for s, ids in segs.items() for cid in ids})
    return exposures_frame(rows), seg


def test_a_discount_measured_in_other_cells_places_an_unmeasured_offer() -> None:
    rng = np.random.default_rng(11)
    # Loyal customers were tested at 10% and 20% off (the deeper discount adds 5 pts); lost
    # ones only at 10%. The lost segment at 20% should move by what 20% added for loyal.
    effect = {("loyal", 10.0): 0.03, ("loyal", 20.0): 0.08, ("lost", 10.0): 0.01}
    discounts = {"K001": 10.0, "K002": 20.0}
    exp, seg = simulate_offers(rng, {"K001": ["loyal", "lost"], "K002": ["loyal"]}, effect,
                               discounts)
    model = build_uplift_model(exp, campaigns_frame({k: ("email", d)
                                                     for k, d in discounts.items()}), seg)
    step, step_se = model.discounts.effect(20.0)
    assert abs(step - 0.05) < 2.5 * step_se + 0.005
    lost10 = model.estimate("lost", "email", 10.0)
    lost20 = model.estimate("lost", "email", 20.0)
    assert lost10 is not None and lost20 is not None
    assert "never measured" in lost20.note and "other segments" in lost20.note
    assert lost20.conversion_uplift - lost10.conversion_uplift == pytest.approx(step, abs=0.01)
    # The placed estimate is uncertain by the step's error too.
    assert (lost20.conversion_ci[1] - lost20.conversion_ci[0]) > (
        lost10.conversion_ci[1] - lost10.conversion_ci[0])
    # Below every measured discount the line through the levels extrapolates (never upward).
    plain = model.estimate("loyal", "email", 0.0)
    loyal10 = model.estimate("loyal", "email", 10.0)
    assert plain is not None and loyal10 is not None
    assert plain.conversion_uplift <= loyal10.conversion_uplift + 1e-9
    assert "extrapolated" in plain.note


def test_discount_effects_recover_planted_levels_and_ignore_single_level_cells() -> None:
    from tools.campaigns.uplift_stats import fit_discount_effects

    rows = []
    base = {("a", "email"): 0.02, ("b", "email"): 0.05, ("a", "sms"): 0.01, ("c", "sms"): 0.3}
    steps = {10.0: 0.0, 15.0: 0.01, 25.0: 0.03}
    for (s, ch), b in base.items():
        levels = [10.0] if s == "c" else list(steps)
        for d in levels:
            rows.append({"segment": s, "channel": ch, "discount_pct": d,
                         "conv_raw": b + steps[d] + (0.2 if s == "c" else 0.0),
                         "conv_se": 0.001, "n_t": 100})
    effects = fit_discount_effects(pd.DataFrame(rows))
    for d, step in steps.items():
        assert effects.levels[d][0] == pytest.approx(step, abs=1e-6)
    assert effects.effect(20.0)[0] == pytest.approx(0.02, abs=1e-6)  # between 15 and 25
    assert effects.effect(30.0)[0] > effects.effect(25.0)[0]  # beyond: the slope continues
    assert effects.slope[0] > 0


def test_dersimonian_laird_sees_spread_only_beyond_noise() -> None:
    se = np.full(8, 0.01)
    parent = np.zeros(8)
    assert dersimonian_laird_tau2(np.full(8, 0.05), se, parent) == 0.0
    spread = np.array([0.0, 0.1, 0.2, 0.3, 0.0, 0.1, 0.2, 0.3])
    tau2 = dersimonian_laird_tau2(spread, se, parent)
    assert tau2 == pytest.approx(np.var(spread, ddof=1) - 0.01**2, rel=0.05)


def _heterogeneous(
    rng: np.random.Generator, n: int
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    x = pd.DataFrame({"activity": rng.random(n), "noise": rng.random(n)})
    arm = np.where(rng.random(n) < 0.5, "treatment", "control").astype(object)
    base = 0.02 + 0.2 * x["activity"].to_numpy()
    true_uplift = 0.5 * base  # the message lifts conversion by half for everyone
    event = rng.random(n) < base + (arm == "treatment") * true_uplift
    return x, arm, event, true_uplift


@pytest.mark.parametrize("learner", [ProportionalUplift, TLearnerUplift])
def test_individual_models_rank_customers_by_their_uplift(learner: type) -> None:
    from scipy.stats import spearmanr

    rng = np.random.default_rng(6)
    x, arm, event, _ = _heterogeneous(rng, 20000)
    model = learner().fit(x, arm, event)
    x_new, _, _, truth = _heterogeneous(np.random.default_rng(7), 3000)
    scores = model.event_uplift(x_new)["treatment"]
    assert spearmanr(scores, truth).statistic > 0.5
