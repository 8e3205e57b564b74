"""Read-outs: lift per cell against the holdout, clear errors for bad files, the shop learns.

Runs on a small generated shop written to disk (the read-out joins the shop's own files), with
outcomes simulated from its planted truth.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from agent.__main__ import main
from agent.evals.loop_world import TruthWorld
from tools.config import ToolConfig
from tools.deps import ToolDeps
from tools.errors import ToolInputError
from tools.registry import call_tool
from tools.shop.demo.generator import write_demo_shop


@pytest.fixture(scope="module")
def base_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("readout")
    write_demo_shop(root / "shop", seed=5, customers=700, products=60)
    return root / "shop"


@pytest.fixture
def shop_dir(base_shop: Path, tmp_path: Path) -> Path:
    """A fresh copy of the small shop per test (read-outs write into it)."""
    target = tmp_path / "shop"
    shutil.copytree(base_shop, target)
    return target


def deps_for(shop_dir: Path) -> ToolDeps:
    return ToolDeps(ToolConfig(data_dir=shop_dir, state_dir=work_dir(shop_dir)))


def work_dir(shop_dir: Path) -> Path:
    """The state directory: where files may be read from and written to."""
    path = shop_dir.parent / "state"
    path.mkdir(exist_ok=True)
    return path


def plan_and_results(
    deps: ToolDeps, shop_dir: Path, seed: int = 0
) -> tuple[Any, pd.DataFrame]:
    """A plan over everyone and its outcomes simulated from the planted truth."""
    plan = call_tool(deps, "optimize_campaign", {"budget": 800, "holdout_share": 0.3})
    export = call_tool(deps, "export_assignment", {"plan_id": plan.plan_id})
    assignment = pd.read_csv(export.path, dtype={"customer_id": str})
    results = TruthWorld(shop_dir / "truth").simulate(assignment, np.random.default_rng(seed))
    return plan, results


def test_read_out_gives_lift_per_cell_and_joins_the_shop(shop_dir: Path) -> None:
    deps = deps_for(shop_dir)
    before = deps.shop
    n_campaigns, n_exposures = len(before.campaigns), len(before.exposures)
    plan, results = plan_and_results(deps, shop_dir)
    file = work_dir(shop_dir) / "results.csv"
    results.to_csv(file, index=False)
    readout = call_tool(deps, "read_out_campaign",
                        {"plan_id": plan.plan_id, "results_path": str(file)})
    totals = readout.totals
    lo, hi = totals.incremental_revenue_ci
    assert totals.outcome == ("real" if lo > 0 else "lost" if hi < 0 else "unclear")
    p_lo, p_hi = totals.predicted_incremental_revenue_ci
    assert totals.within_prediction == (p_lo <= totals.incremental_revenue <= p_hi)
    assert {(c.segment, c.channel, c.offer) for c in readout.cells} == {
        (r.segment, r.channel, r.offer) for r in plan.rows if r.holdout}
    merged = results.set_index("customer_id")
    for cell in readout.cells:
        treated = [c.customer_id for c in plan.selected
                   if (c.segment, c.channel, c.offer) == (cell.segment, cell.channel, cell.offer)]
        held = [c.customer_id for c in plan.holdout
                if (c.segment, c.channel, c.offer) == (cell.segment, cell.channel, cell.offer)]
        lift = merged.loc[treated, "converted"].mean() - merged.loc[held, "converted"].mean()
        assert cell.lift_pts == pytest.approx(lift * 100, abs=1e-3)
        assert cell.lift_ci_pts[0] <= cell.lift_pts <= cell.lift_ci_pts[1]
        assert cell.lift_is_real == (cell.lift_ci_pts[0] > 0 or cell.lift_ci_pts[1] < 0)
        assert cell.predicted_lift_pts == next(
            r.conversion_uplift_pts for r in plan.rows
            if (r.segment, r.channel, r.offer) == (cell.segment, cell.channel, cell.offer))
        assert ("real lift" in cell.verdict) == (cell.lift_ci_pts[0] > 0)
    t = readout.totals
    assert t.treated == len(plan.selected) and t.holdout == len(plan.holdout)
    assert t.incremental_revenue_ci[0] <= t.incremental_revenue <= t.incremental_revenue_ci[1]
    # The campaign joined the shop: one campaign per channel x offer, an exposure per customer.
    pairs = {(c.channel, c.offer) for c in [*plan.selected, *plan.holdout]}
    assert readout.joined and len(readout.campaign_ids) == len(pairs)
    after = deps.shop  # reloaded from disk by the read-out
    assert len(after.campaigns) == n_campaigns + len(pairs)
    assert len(after.exposures) == n_exposures + readout.exposures_added
    assert readout.exposures_added == len(plan.selected) + len(plan.holdout)
    mine = after.exposures[after.exposures["campaign_id"].isin(readout.campaign_ids)]
    assert set(mine.loc[mine["group"] == "control", "customer_id"]) == {
        c.customer_id for c in plan.holdout}
    assert set(readout.campaign_ids) <= set(after.campaigns["campaign_id"])
    new = after.campaigns[after.campaigns["campaign_id"].isin(readout.campaign_ids)]
    assert new["name"].str.startswith(f"{plan.plan_id}: ").all()
    # The next plan's uplift estimates include the new campaigns.
    used = {c for est in deps.uplift.estimates() for c in est.campaigns}
    assert used & set(readout.campaign_ids)
    # A plan joins once; reading it again without joining is fine.
    with pytest.raises(ToolInputError, match="read out into the shop already"):
        call_tool(deps, "read_out_campaign", {"plan_id": plan.plan_id, "results_path": str(file)})
    again = call_tool(deps, "read_out_campaign", {"plan_id": plan.plan_id,
                                                  "results_path": str(file), "join": False})
    assert not again.joined and len(deps.shop.campaigns) == len(after.campaigns)


def test_intervals_cover_the_true_lift_of_most_cells(shop_dir: Path) -> None:
    """Over several simulated read-outs, the 95% intervals cover the planted lift."""
    from tools.campaigns.plans import assignment_frame
    from tools.campaigns.readout import compute_readout
    from tools.shop.schemas import CHANNELS

    deps = deps_for(shop_dir)
    plan = call_tool(deps, "optimize_campaign", {"budget": 800, "holdout_share": 0.5})
    world = TruthWorld(shop_dir / "truth")
    assignment = assignment_frame(plan)
    covered = total = 0
    for seed in range(8):
        results = world.simulate(assignment, np.random.default_rng(seed))
        cells, _ = compute_readout(plan, results)
        for cell in cells:
            members = assignment[(assignment["segment"] == cell.segment)
                                 & (assignment["channel"] == cell.channel)
                                 & (assignment["offer"] == cell.offer)
                                 & (assignment["group"] == "treatment")]
            rows = world.rows(members["customer_id"])
            truth = world.conversion_lift(
                rows, np.full(len(rows), CHANNELS.index(cell.channel)),  # type: ignore[arg-type]
                np.full(len(rows), cell.discount_pct)).mean() * 100
            covered += cell.lift_ci_pts[0] <= truth <= cell.lift_ci_pts[1]
            total += 1
    assert total >= 16 and covered / total >= 0.85


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ("customer_id,converted\nC00001,true\n", ".csv",
         "missing column(s) revenue; expected customer_id, converted, revenue"),
        ("customer_id,converted,revenue\n{a},true,12\n{a},false,0\n", ".csv",
         "row 2, column 'customer_id': '{a}' appears twice"),
        ("customer_id,converted,revenue\n{a},true,12\nC99999,false,0\n", ".csv",
         "row 2, column 'customer_id': 'C99999' is not in plan"),
        ("customer_id,converted,revenue\n{a},maybe,12\n", ".csv",
         "row 1, column 'converted': expected true/false (or yes/no, 1/0), got 'maybe'"),
        ("customer_id,converted,revenue\n{a},yes,-4\n", ".csv",
         "row 1, column 'revenue': expected a number, 0 or more, got '-4'"),
        ("customer_id,converted,revenue\n{a},no,9.5\n", ".csv",
         "row 1, column 'revenue': 9.5 for a customer who did not convert"),
        ("customer_id,converted,revenue,sent_at\n{a},1,9.5,last tuesday\n", ".csv",
         "row 1, column 'sent_at': cannot read time 'last tuesday'"),
        ("customer_id,converted,revenue\n", ".csv", "no rows"),
        ("whatever", ".xlsx", "unknown type '.xlsx'; give a .csv or .parquet file"),
    ],
)
def test_bad_results_files_name_file_row_column_and_write_nothing(
    shop_dir: Path, content: str, suffix: str, message: str
) -> None:
    deps = deps_for(shop_dir)
    plan = call_tool(deps, "optimize_campaign", {"budget": 300})
    a = plan.selected[0].customer_id
    file = work_dir(shop_dir) / f"bad{suffix}"
    file.write_text(content.format(a=a), encoding="utf-8")
    before = {p.name: p.read_bytes() for p in shop_dir.glob("*.parquet")}
    with pytest.raises(ToolInputError) as err:
        call_tool(deps, "read_out_campaign", {"plan_id": plan.plan_id, "results_path": str(file)})
    assert file.name in str(err.value) and message.format(a=a) in str(err.value)
    assert {p.name: p.read_bytes() for p in shop_dir.glob("*.parquet")} == before


def test_missing_customers_count_as_not_converted_and_parquet_reads(shop_dir: Path) -> None:
    deps = deps_for(shop_dir)
    plan, results = plan_and_results(deps, shop_dir, seed=1)
    converters = results[results["converted"]]
    file = work_dir(shop_dir) / "converters.parquet"
    converters.to_parquet(file)
    readout = call_tool(deps, "read_out_campaign", {"plan_id": plan.plan_id,
                                                    "results_path": str(file), "join": False})
    assert readout.rows_read == len(converters)
    assert readout.missing_from_file == len(results) - len(converters)
    assert any("count as not converted" in n for n in readout.notes)
    full = work_dir(shop_dir) / "all.csv"
    results.to_csv(full, index=False)
    same = call_tool(deps, "read_out_campaign", {"plan_id": plan.plan_id,
                                                 "results_path": str(full), "join": False})
    assert [c.lift_pts for c in same.cells] == [c.lift_pts for c in readout.cells]


def test_a_join_that_breaks_the_data_model_writes_no_table(shop_dir: Path) -> None:
    from tools.errors import DataValidationError
    from tools.shop.store import load_shop, write_shop_change

    shop = load_shop(shop_dir)
    before = {p.name: p.read_bytes() for p in shop_dir.glob("*.parquet")}
    campaigns = pd.concat([shop.campaigns, shop.campaigns.tail(1).assign(campaign_id="K999")],
                          ignore_index=True)
    exposures = pd.concat([shop.exposures, shop.exposures.tail(1).assign(
        campaign_id="K998", customer_id="C00001")], ignore_index=True)
    with pytest.raises(DataValidationError, match="'K998' is not a known campaign_id"):
        write_shop_change(shop_dir, {"campaigns": campaigns, "exposures": exposures}, base=shop)
    assert {p.name: p.read_bytes() for p in shop_dir.glob("*.parquet")} == before


def test_cli_exports_and_reads_results_back(
    shop_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(shop_dir.parent)
    monkeypatch.setenv("AGENT_DATA_DIR", str(shop_dir))
    monkeypatch.setenv("AGENT_STATE_DIR", str(shop_dir.parent / "state"))
    deps = deps_for(shop_dir)
    plan, results = plan_and_results(deps, shop_dir, seed=2)
    assert main(["campaign", "export", plan.plan_id, "--format", "parquet", "--out",
                 "plan.parquet", "--json"]) == 0
    exported = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert exported["rows"] == len(pd.read_parquet(shop_dir.parent / "plan.parquet"))
    results.to_csv(shop_dir.parent / "results.csv", index=False)
    assert main(["campaign", "results", plan.plan_id, "results.csv"]) == 0
    out = capsys.readouterr().out
    assert "lift pts" in out and "Incremental revenue:" in out and "Joined the shop as K" in out
    assert main(["campaign", "results", "Pnope", "results.csv"]) == 2
    assert "no saved plan 'Pnope'" in capsys.readouterr().err
