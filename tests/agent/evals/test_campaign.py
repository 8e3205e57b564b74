"""``python -m agent eval campaign``: Hillstrom off-policy evaluation and the demo's truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agent.__main__ import main
from tests.conftest import DEMO_DIR, shared_dataset

POLICIES = ("optimizer", "random", "mens_email_random", "recency_rule")


def write_hillstrom_like(path: Path, n: int = 9000, seed: int = 0) -> Path:
    """A Hillstrom-shaped test where e-mails lift visits in proportion to recent activity."""
    rng = np.random.default_rng(seed)
    recency = rng.integers(1, 13, n)
    history = rng.gamma(2, 120, n).round(2)
    activity = np.exp(-recency / 4) * (1 + history / 300)
    arm = rng.choice(["No E-Mail", "Mens E-Mail", "Womens E-Mail"], n)
    base = 0.04 + 0.3 * activity / activity.max()
    lift = np.where(arm == "Mens E-Mail", 2.0, np.where(arm == "Womens E-Mail", 1.5, 1.0))
    visit = rng.random(n) < np.clip(base * lift, 0, 1)
    conversion = visit & (rng.random(n) < 0.3)
    spend = np.where(conversion, rng.gamma(3, 40, n), 0.0).round(2)
    pd.DataFrame(
        {
            "recency": recency,
            "history_segment": "2) $100 - $200",
            "history": history,
            "mens": rng.integers(0, 2, n),
            "womens": rng.integers(0, 2, n),
            "zip_code": rng.choice(["Urban", "Rural", "Surburban"], n),
            "newbie": rng.integers(0, 2, n),
            "channel": rng.choice(["Web", "Phone", "Multichannel"], n),
            "segment": arm,
            "visit": visit.astype(int),
            "conversion": conversion.astype(int),
            "spend": spend,
        }
    ).to_csv(path, index=False)
    return path


def run_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, object]:
    assert main(argv) == 0
    out = capsys.readouterr().out.strip().splitlines()
    data: dict[str, object] = json.loads(out[-1])
    return data


def test_hillstrom_json_has_every_policy_and_the_optimiser_finds_the_planted_responders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = write_hillstrom_like(tmp_path / "h.csv")
    data = run_json(
        capsys, ["eval", "campaign", "--hillstrom", str(csv), "--json", "--bootstrap", "200"]
    )
    policies = data["policies"]
    assert isinstance(policies, dict) and set(POLICIES) <= set(policies)
    for name in POLICIES:
        p = policies[name]
        assert set(p) >= {"spend_per_customer", "visits_per_customer", "ci"}
        lo, hi = p["ci"]
        assert lo <= p["spend_per_customer"] <= hi
    # Planted: the most active customers respond most, so targeting them beats random.
    assert (
        policies["optimizer"]["visits_per_customer"]
        > 1.3 * policies["random"]["visits_per_customer"]
    )
    assert (
        policies["optimizer"]["visits_per_customer"]
        > policies["mens_email_random"]["visits_per_customer"]
    )


def test_hillstrom_table_output_prints_ratios(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = write_hillstrom_like(tmp_path / "h.csv", n=4000)
    assert main(["eval", "campaign", "--hillstrom", str(csv), "--bootstrap", "100"]) == 0
    out = capsys.readouterr().out
    assert "Optimiser / baseline on incremental spend" in out
    for name in POLICIES:
        assert name in out


@pytest.mark.slow
def test_optimiser_beats_every_baseline_on_the_real_hillstrom_test(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = shared_dataset("hillstrom/hillstrom.csv")
    data = run_json(
        capsys, ["eval", "campaign", "--hillstrom", str(path), "--json", "--bootstrap", "200"]
    )
    policies = data["policies"]
    assert isinstance(policies, dict)
    opt = policies["optimizer"]["spend_per_customer"]
    for name in ("random", "mens_email_random", "recency_rule"):
        assert opt > policies[name]["spend_per_customer"], name
    assert data["beats_every_baseline"] is True


@pytest.mark.parametrize(
    ("content", "needle"),
    [(None, "not found"), ("a,b\n1,2\n", "missing column")],
)
def test_bad_hillstrom_file_fails_with_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, needle: str
) -> None:
    path = tmp_path / "h.csv"
    if content is not None:
        path.write_text(content)
    assert main(["eval", "campaign", "--hillstrom", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]


def test_shop_without_planted_truth_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENT_STATE_DIR", str(tmp_path / "state"))
    assert main(["eval", "campaign", "--data", str(tmp_path)]) == 2
    assert "truth" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_shop_estimates_recover_the_planted_top_cells(
    state_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if not (DEMO_DIR / "truth" / "uplift.parquet").is_file():
        pytest.skip(f"no demo shop truth at {DEMO_DIR / 'truth'}")
    monkeypatch.setenv("AGENT_STATE_DIR", str(state_dir))
    data = run_json(capsys, ["eval", "campaign", "--data", str(DEMO_DIR), "--json"])
    revenue = data["revenue"]
    assert isinstance(revenue, dict)
    assert revenue["estimable_cells"]["top3_shared"] >= 2
    assert revenue["estimable_cells"]["spearman"] > 0.5
    assert data["accepted"] is True


def test_help_names_both_sources(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["eval", "campaign", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "--hillstrom" in out and "--data" in out and "--json" in out and "--worlds" in out
    assert "%%" not in out  # the description is not %-formatted: a literal 30% reads "30%"


def test_repeat_reports_mean_values_and_win_shares_over_splits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = write_hillstrom_like(tmp_path / "h.csv", n=4000)
    data = run_json(
        capsys,
        [
            "eval",
            "campaign",
            "--hillstrom",
            str(csv),
            "--json",
            "--bootstrap",
            "50",
            "--repeat",
            "3",
        ],
    )
    repeat = data["repeat"]
    assert isinstance(repeat, dict)
    assert repeat["splits"] == 3 and repeat["seeds"] == [0, 1, 2]
    assert set(repeat["optimizer_wins_share"]) >= {"random", "mens_email_random", "recency_rule"}
    assert 0 <= repeat["optimizer_beats_all_share"] <= 1
    assert main(["eval", "campaign", "--hillstrom", str(csv), "--repeat", "0"]) == 2


@pytest.mark.slow
def test_worlds_scores_recovery_on_a_freshly_generated_shop(
    state_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENT_STATE_DIR", str(state_dir))
    data = run_json(capsys, ["eval", "campaign", "--worlds", "1", "--json"])
    worlds = data["worlds"]
    assert isinstance(worlds, list) and [w["seed"] for w in worlds] == [1]
    figures = worlds[0]["spearman"]
    assert set(figures) == {"revenue_estimable_cells", "revenue_all_cells",
                            "conversion_estimable_cells", "conversion_all_cells"}
    assert figures["revenue_estimable_cells"] > 0.5  # a world nobody tuned on
    assert data["mean"] == figures


def test_worlds_below_one_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "campaign", "--worlds", "0"]) == 2
    assert "--worlds" in capsys.readouterr().err
