"""Shop changes as transactions: commit, roll back, roll forward, refuse what cannot be done.

The kills at every write step of real commands are in ``tests/faults``; these tests put a
shop folder in each state a kill can leave and check what opening it does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import build_minimal_shop
from tools.errors import DataValidationError
from tools.shop import journal
from tools.shop.journal import JOURNAL, PENDING, TMP_PREFIX, ShopTransaction, recover
from tools.shop.store import load_shop, save_shop, write_shop_change


@pytest.fixture
def shop_dir(tmp_path: Path) -> Path:
    return save_shop(build_minimal_shop(), tmp_path / "shop")


def _without(frame: pd.DataFrame, customer: str) -> pd.DataFrame:
    return frame[frame["customer_id"] != customer].reset_index(drop=True)


def _forget_c1(shop_dir: Path) -> dict[str, pd.DataFrame]:
    shop = load_shop(shop_dir)
    return {name: _without(shop.table(name), "C00001")
            for name in ("customers", "events", "exposures")}


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_change_switches_every_table_at_once(shop_dir: Path) -> None:
    before = load_shop(shop_dir).version
    after = write_shop_change(shop_dir, _forget_c1(shop_dir), label="forget one")
    shop = load_shop(shop_dir)
    assert "C00001" not in set(shop.customers["customer_id"])
    assert "C00001" not in set(shop.events["customer_id"])
    assert shop.version == after.version != before
    assert shop.recovered is None
    assert not any(n.startswith((TMP_PREFIX, ".shop-")) for n in _names(shop_dir))


def test_a_change_that_would_leave_dangling_ids_is_refused_whole(shop_dir: Path) -> None:
    tables = _forget_c1(shop_dir)
    before = load_shop(shop_dir).version
    with pytest.raises(DataValidationError, match="is not a known customer_id"):
        write_shop_change(shop_dir, {"customers": tables["customers"]})  # events still point
    assert load_shop(shop_dir).version == before
    with pytest.raises(DataValidationError, match="unknown table"):
        write_shop_change(shop_dir, {"orders": tables["events"]})


def test_an_error_before_the_commit_leaves_the_old_shop_and_no_temporary(shop_dir: Path) -> None:
    before = load_shop(shop_dir).version

    def fail(tx: ShopTransaction) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_shop_change(shop_dir, _forget_c1(shop_dir), also=fail)
    assert load_shop(shop_dir).version == before
    assert not any(n.startswith((TMP_PREFIX, ".shop-")) for n in _names(shop_dir))


def test_a_killed_change_before_its_commit_is_rolled_back_when_the_shop_opens(
    shop_dir: Path,
) -> None:
    before = load_shop(shop_dir).version
    tx = ShopTransaction(shop_dir, "import transactions").__enter__()
    tx.stage(shop_dir / "customers.parquet", lambda tmp: tmp.write_bytes(b"half a file"))
    assert tx._lock is not None
    tx._lock.close()  # the process dies: the kernel drops its lock, nothing else runs
    tx._close_pending()
    assert (shop_dir / PENDING).exists()
    shop = load_shop(shop_dir)
    assert shop.version == before
    assert shop.recovered is not None and shop.recovered.action == "rolled back"
    assert "import transactions" in shop.recovered.describe()
    assert not any(n.startswith((TMP_PREFIX, ".shop-")) for n in _names(shop_dir))


def test_a_killed_change_after_its_commit_is_finished_when_the_shop_opens(
    shop_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def killed(root: Path, journal_: dict[str, object]) -> None:
        raise KeyboardInterrupt  # the process dies right after the commit point

    monkeypatch.setattr(journal, "_apply", killed)
    with pytest.raises(KeyboardInterrupt):
        write_shop_change(shop_dir, _forget_c1(shop_dir), label="erasure")
    monkeypatch.undo()
    assert (shop_dir / JOURNAL).exists()
    shop = load_shop(shop_dir)
    assert shop.recovered is not None and shop.recovered.action == "finished"
    assert "C00001" not in set(shop.customers["customer_id"])
    assert "C00001" not in set(shop.exposures["customer_id"])
    assert recover(shop_dir) is None  # idempotent: nothing left to do
    assert not any(n.startswith((TMP_PREFIX, ".shop-")) for n in _names(shop_dir))


def test_finishing_is_idempotent_when_a_kill_lands_halfway_through_the_switch(
    shop_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = journal.os.replace
    calls = {"n": 0}

    def replace_then_die(src: str, dst: str) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # the journal was renamed (1), one table switched (2), then death
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(journal.os, "replace", replace_then_die)
    with pytest.raises(KeyboardInterrupt):
        write_shop_change(shop_dir, _forget_c1(shop_dir))
    monkeypatch.undo()
    shop = load_shop(shop_dir)  # a mix on disk until now: opening finishes it
    assert shop.recovered is not None and shop.recovered.action == "finished"
    assert "C00001" not in set(shop.customers["customer_id"])


def test_a_journal_whose_new_file_is_gone_is_refused_not_half_applied(shop_dir: Path) -> None:
    entry = {
        "id": "x",
        "label": "change",
        "steps": [
            {"op": "replace", "target": "customers.parquet",
             "staged": f"{TMP_PREFIX}x-0-customers.parquet", "sha256": "0" * 64, "clear": []}
        ],
    }
    (shop_dir / JOURNAL).write_text(json.dumps(entry), encoding="utf-8")
    with pytest.raises(DataValidationError, match="cannot be finished: the new version of"):
        load_shop(shop_dir)
