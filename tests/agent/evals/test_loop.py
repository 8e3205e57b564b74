"""``eval loop``: plan, simulate from the truth, read out, update; deterministic per seed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from agent.__main__ import main
from agent.evals.loop import POLICIES, run_loop, run_seed
from agent.evals.loop_world import TruthWorld, oracle_allocation, random_allocation
from tools.errors import DataNotFoundError, ToolInputError
from tools.shop.demo.generator import write_demo_shop


@pytest.fixture(scope="module")
def small_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("loop")
    write_demo_shop(root / "shop", seed=3, customers=600, products=60)
    return root / "shop"


def test_a_round_is_deterministic_per_seed_and_its_regret_adds_up(
    small_shop: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    first = run_seed(small_shop, cache, rounds=2, budget=600.0, seed=1, holdout_share=0.2)
    again = run_seed(small_shop, cache, rounds=2, budget=600.0, seed=1, holdout_share=0.2)
    other = run_seed(small_shop, cache, rounds=2, budget=600.0, seed=2, holdout_share=0.2)
    assert first.model_dump() == again.model_dump()
    assert other.rounds[0].revenue["random"] != first.rounds[0].revenue["random"]
    total = dict.fromkeys(POLICIES, 0.0)
    for r in first.rounds:
        assert set(r.revenue) == set(POLICIES)
        for p in POLICIES:
            assert r.regret[p] == pytest.approx(r.revenue["oracle"] - r.revenue[p], abs=0.02)
            total[p] += r.regret[p]
            assert r.cumulative_regret[p] == pytest.approx(total[p], abs=0.05)
        # The oracle knows the truth: random spending cannot match it, a holdout costs it.
        assert r.revenue["random"] < r.revenue["oracle"] < r.revenue["oracle_no_holdout"]
        assert r.cost["random"] <= 600.0 + 1e-6 and r.cost["oracle"] <= 600.0 + 1e-6
        assert r.messaged["learning"] > 0
    # Round one: the learner has learned nothing yet, so it plans as the no-update optimiser.
    assert first.rounds[0].revenue["learning"] == first.rounds[0].revenue["no_update"]
    # Round two: the learner planned with its read-out joined; the no-update one did not.
    assert first.rounds[1].revenue["learning"] != first.rounds[1].revenue["no_update"]


def test_the_truth_world_prices_and_simulates_as_the_generator_does(small_shop: Path) -> None:
    world = TruthWorld(small_shop / "truth")
    truth = pd.read_parquet(small_shop / "truth" / "uplift.parquet")
    email = truth[truth["channel"] == "email"].set_index("customer_id")
    rows = world.rows(email.index[:50])
    no_offer = world.conversion_lift(rows, np.zeros(50, dtype=np.int64), np.zeros(50))
    assert np.allclose(no_offer, email["conversion_uplift"].to_numpy()[:50], atol=1e-6)
    deeper = world.conversion_lift(rows, np.zeros(50, dtype=np.int64), np.full(50, 20.0))
    assert (deeper >= no_offer - 1e-12).all()
    cost = world.cost(rows, np.zeros(50, dtype=np.int64), np.full(50, 20.0), np.full(50, 0.05))
    assert (cost > 0.05).all()  # a discount costs its value on every expected order
    assignment = pd.DataFrame({"customer_id": email.index[:400], "channel": "email",
                               "discount_pct": 20.0, "group": "treatment"})
    a = world.simulate(assignment, np.random.default_rng(0))
    b = world.simulate(assignment, np.random.default_rng(0))
    assert a.equals(b) and (a.loc[~a["converted"], "revenue"] == 0).all()
    assert (a.loc[a["converted"], "revenue"] > 0).all()


def test_oracle_beats_random_at_the_same_budget(small_shop: Path) -> None:
    world = TruthWorld(small_shop / "truth")
    allowed = dict.fromkeys(world.ids[:300], ("email", "push"))
    offers = [("no offer", 0.0), ("20% off", 20.0)]
    costs = {"email": 0.05, "push": 0.01}
    best = oracle_allocation(world, allowed, offers, costs, 150.0)
    rand = random_allocation(world, allowed, offers, costs, 150.0, np.random.default_rng(0))
    assert best.cost <= 150.0 + 1e-6 and rand.cost <= 150.0 + 1e-6
    assert best.value > rand.value
    assert len(set(best.customer_ids)) == len(best.customer_ids)


def test_bad_arguments_and_shops_without_truth_are_refused(
    small_shop: Path, tmp_path: Path
) -> None:
    with pytest.raises(ToolInputError, match="rounds"):
        run_loop(small_shop, tmp_path, rounds=0)
    with pytest.raises(ToolInputError, match="budget"):
        run_loop(small_shop, tmp_path, budget=0)
    with pytest.raises(DataNotFoundError, match="no planted truth"):
        TruthWorld(tmp_path)


def test_cli_prints_the_table_or_one_json_object(
    small_shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    for key in ("AGENT_DATA_DIR", "AGENT_STATE_DIR"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AGENT_STATE_DIR", str(tmp_path / "state"))
    args = ["eval", "loop", "--data", str(small_shop), "--rounds", "2", "--budget", "600",
            "--seeds", "2"]
    assert main([*args, "--json"]) == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["rounds"] == 2 and report["seeds"] == [0, 1] and len(report["runs"]) == 2
    assert set(report["cumulative_regret"]) == set(POLICIES)
    assert len(report["revenue_by_round"]["learning"]) == 2
    assert report["accepted_seeds"] == sum(run["accepted"] for run in report["runs"])
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Incremental revenue per round" in out and "cumulative regret" in out
    assert "Thompson sampling changes the learner's cumulative regret" in out
    assert main(["eval", "loop", "--data", str(small_shop), "--rounds", "0"]) == 2
    assert "--rounds: must be 1 or more" in capsys.readouterr().err
