"""Consent as an invariant: nothing returns a customer as contactable on a channel without consent.

Property-based (hypothesis) over random segment filters (``find_customers``), random draft
requests (``draft_message``), random campaign plans (``optimize_campaign``) and random batch
jobs (``agent.batch.runner``). The ground truth is the raw customers table's ``consent_<channel>``
column, not the profiles the tools read, so a bug in the profile pipeline shows too.
Examples: 220 filters + 200 drafts + 80 plans + 40 batches = 540 cases.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tools.copy.drafting import draft_message
from tools.customers.profiles import find_customers
from tools.errors import ToolInputError
from tools.shop.schemas import CHANNELS, SEGMENTS, SegmentFilter

FILTER_CASES = 220
DRAFT_CASES = 200
PLAN_CASES = 80
BATCH_CASES = 40

COMMON = {
    "deadline": None,
    "derandomize": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


@pytest.fixture(scope="module")
def consent(demo_deps: Any) -> dict[tuple[str, str], bool]:
    """(customer id, channel) -> consent, from the raw customers table."""
    c = demo_deps.shop.customers
    return {
        (cid, ch): bool(flag)
        for ch in CHANNELS
        for cid, flag in zip(c["customer_id"], c[f"consent_{ch}"], strict=True)
    }


@pytest.fixture(scope="module")
def all_ids(demo_deps: Any) -> list[str]:
    return sorted(demo_deps.shop.customers["customer_id"])


@pytest.fixture(scope="module")
def vocabulary(demo_deps: Any) -> dict[str, list[str]]:
    store = demo_deps.profiles
    cities = sorted(c for c in store.table["city"].unique() if c)
    return {"categories": list(store.categories), "cities": cities}


def test_ground_truth_has_both_kinds(consent: dict[tuple[str, str], bool]) -> None:
    """The property is only meaningful if some customers lack consent on every channel."""
    for ch in CHANNELS:
        values = [v for (_, c), v in consent.items() if c == ch]
        assert any(values) and not all(values), ch


def _range(lo: float | None, hi: float | None) -> tuple[float | None, float | None]:
    if lo is not None and hi is not None and lo > hi:
        return hi, lo
    return lo, hi


@st.composite
def segment_filters(draw: st.DrawFn, categories: list[str], cities: list[str]) -> SegmentFilter:
    """A random, valid filter that always asks for consent on some channel."""
    churn = _range(
        draw(st.none() | st.floats(0, 1, allow_nan=False)),
        draw(st.none() | st.floats(0, 1, allow_nan=False)),
    )
    days = _range(draw(st.none() | st.integers(0, 400)), draw(st.none() | st.integers(0, 400)))
    spend = _range(
        draw(st.none() | st.floats(0, 3000, allow_nan=False)),
        draw(st.none() | st.floats(0, 3000, allow_nan=False)),
    )
    return SegmentFilter(
        segments=draw(st.none() | st.lists(st.sampled_from(SEGMENTS), max_size=3, unique=True)),
        categories=draw(
            st.none() | st.lists(st.sampled_from(categories), min_size=1, max_size=2, unique=True)
        ),
        min_churn_risk=churn[0],
        max_churn_risk=churn[1],
        min_days_since_purchase=None if days[0] is None else int(days[0]),
        max_days_since_purchase=None if days[1] is None else int(days[1]),
        min_spend=spend[0],
        max_spend=spend[1],
        consent_channel=draw(st.sampled_from(CHANNELS)),
        language=draw(st.none() | st.sampled_from(["en", "zh"])),
        city=draw(st.none() | st.sampled_from(cities)),
        limit=draw(st.integers(1, 100)),
    )


def test_find_customers_returns_only_consenting_customers(
    demo_deps: Any, consent: dict[tuple[str, str], bool], vocabulary: dict[str, list[str]]
) -> None:
    seen = {"cases": 0, "nonempty": 0}

    @settings(max_examples=FILTER_CASES, **COMMON)
    @given(segment_filters(vocabulary["categories"], vocabulary["cities"]))
    def check(f: SegmentFilter) -> None:
        result = find_customers(demo_deps, f)
        channel = f.consent_channel
        assert channel is not None
        bad = [cid for cid in result.customer_ids if not consent[(cid, channel)]]
        assert not bad, f"{len(bad)} without {channel} consent, e.g. {bad[:5]}"
        for profile in result.sample:
            assert consent[(profile.customer_id, channel)]
            assert profile.consent[channel].granted
        assert result.count == len(result.customer_ids)
        seen["cases"] += 1
        seen["nonempty"] += bool(result.customer_ids)

    check()
    assert seen["cases"] >= FILTER_CASES
    assert seen["nonempty"] >= FILTER_CASES // 5  # the property was not checked on empties only


def test_consent_filter_keeps_every_consenting_match(
    demo_deps: Any, consent: dict[tuple[str, str], bool]
) -> None:
    """The consent filter removes exactly the customers without consent, no one else."""
    for channel in CHANNELS:
        everyone = find_customers(demo_deps, SegmentFilter(segments=["at_risk"])).customer_ids
        with_consent = find_customers(
            demo_deps, SegmentFilter(segments=["at_risk"], consent_channel=channel)
        ).customer_ids
        assert set(with_consent) == {c for c in everyone if consent[(c, channel)]}


def test_draft_message_refuses_without_consent(
    demo_deps: Any, consent: dict[tuple[str, str], bool], all_ids: list[str]
) -> None:
    seen = {"refused": 0, "drafted": 0}

    @settings(max_examples=DRAFT_CASES, **COMMON)
    @given(
        customer=st.sampled_from(all_ids),
        channel=st.sampled_from(CHANNELS),
        goal=st.sampled_from(["re-engage", "win-back", "thank-you", "welcome"]),
    )
    def check(customer: str, channel: str, goal: str) -> None:
        if consent[(customer, channel)]:
            draft = draft_message(demo_deps, customer, channel, goal=goal)  # type: ignore[arg-type]
            assert draft.customer_id == customer and draft.channel == channel
            seen["drafted"] += 1
        else:
            with pytest.raises(ToolInputError, match="consent"):
                draft_message(demo_deps, customer, channel, goal=goal)  # type: ignore[arg-type]
            seen["refused"] += 1

    check()
    assert seen["refused"] + seen["drafted"] >= DRAFT_CASES
    assert seen["refused"] >= 20 and seen["drafted"] >= 20, seen


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("consent-batch")


def test_batch_never_drafts_for_customers_without_consent(
    demo_deps: Any,
    consent: dict[tuple[str, str], bool],
    all_ids: list[str],
    batch_dir: Path,
) -> None:
    from agent.batch.runner import BatchOptions, iter_drafts, run_batch
    from agent.settings import Settings

    batch_settings = Settings(data_dir=demo_deps.config.data_dir, state_dir=batch_dir / "state")
    seen = {"cases": 0, "drafted": 0, "no_consent": 0}

    @settings(max_examples=BATCH_CASES, **COMMON)
    @given(
        ids=st.lists(st.sampled_from(all_ids), min_size=1, max_size=12),
        channel=st.sampled_from(CHANNELS),
    )
    def check(ids: list[str], channel: str) -> None:
        n = seen["cases"]
        ids_file = batch_dir / f"ids-{n}.txt"
        ids_file.write_text("\n".join(ids) + "\n", encoding="utf-8")
        out = batch_dir / f"out-{n}.jsonl"
        summary = run_batch(
            batch_settings,
            BatchOptions(ids_path=ids_file, channel=channel, out=out),  # type: ignore[arg-type]
            deps=demo_deps,
            origin="operator",
        )
        lines = list(iter_drafts(out))
        for line in lines:
            assert consent[(line.customer_id, line.channel)], line.customer_id
        unique = list(dict.fromkeys(ids))
        lacking = [c for c in unique if not consent[(c, channel)]]
        assert summary.skipped.get("no_consent", 0) == len(lacking)
        assert not {line.customer_id for line in lines} & set(lacking)
        seen["cases"] += 1
        seen["drafted"] += len(lines)
        seen["no_consent"] += len(lacking)

    check()
    assert seen["cases"] >= BATCH_CASES
    assert seen["drafted"] > 0 and seen["no_consent"] > 0, seen


def test_plans_select_only_consenting_customers(
    demo_deps: Any, consent: dict[tuple[str, str], bool]
) -> None:
    from pydantic import ValidationError

    from tools.campaigns.optimize import build_plan, optimize_campaign
    from tools.registry import args_model

    seen = {"tried": 0, "cases": 0, "selected": 0}

    @settings(max_examples=PLAN_CASES, **COMMON)
    @given(
        budget=st.floats(20, 20000, allow_nan=False),
        goal=st.sampled_from(["revenue", "conversions", "profit"]),
        channels=st.none()
        | st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=3, unique=True),
        segments=st.none()
        | st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=3, unique=True),
        consent_channel=st.none() | st.sampled_from(CHANNELS),
        offer=st.booleans(),
        cap=st.none() | st.sampled_from([0, 7, 30]),
    )
    def check(
        budget: float,
        goal: str,
        channels: list[str] | None,
        segments: list[str] | None,
        consent_channel: str | None,
        offer: bool,
        cap: int | None,
    ) -> None:
        args: dict[str, Any] = {"budget": budget, "goal": goal}
        if channels:
            args["channels"] = [{"channel": c} for c in channels]
        audience = {"segments": segments} if segments else {}
        if consent_channel:  # an audience asking for one channel's consent, plan on others
            audience["consent_channel"] = consent_channel
        if audience:
            args["audience"] = audience
        if offer:
            args["offers"] = [{"name": "no offer"}, {"name": "15% off"}]
        if cap is not None:
            args["frequency_cap_days"] = cap
        seen["tried"] += 1
        try:
            # The tool's own argument checks, then its plan without the what-if curve and
            # without saving (the selection is the same; the curve re-solves ten budgets).
            typed = args_model(optimize_campaign).model_validate(args)
            plan = build_plan(demo_deps, what_if=False, save=False, **dict(typed))
        except (ToolInputError, ValidationError):
            return
        pairs = [(s.customer_id, s.channel) for s in plan.selected]
        bad = [(c, ch) for c, ch in pairs if not consent[(c, ch)]]
        assert not bad, f"{len(bad)} selected without consent, e.g. {bad[:5]}"
        assert len({c for c, _ in pairs}) == len(pairs)  # one message per customer
        seen["cases"] += 1
        seen["selected"] += len(pairs)

    check()
    assert seen["tried"] >= PLAN_CASES
    assert seen["cases"] >= PLAN_CASES // 2 and seen["selected"] > 0, seen
