"""``data check`` and ``data import`` from the command line, and the path allow-list."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from agent.__main__ import main
from agent.settings import PROJECT_ROOT, Settings
from tests.conftest import RETAIL_CSV, RETAIL_MAP, build_minimal_shop, shared_dataset
from tools.errors import PathNotAllowedError
from tools.shop.paths import SHARED_DATASETS_DIR, allowed_roots, ensure_allowed
from tools.shop.store import save_shop


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean environment whose working directory (an allowed root) is a temp folder."""
    for key in list(os.environ):
        if key.startswith("AGENT_"):
            monkeypatch.delenv(key)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("AGENT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AGENT_DATA_DIR", str(tmp_path / "data"))
    return work


@pytest.fixture
def shop_dir(workdir: Path) -> Path:
    return save_shop(build_minimal_shop(), workdir / "shop")


# ------------------------------------------------------------------------------ data check


def test_check_prints_a_table_of_counts(shop_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "check", str(shop_dir)]) == 0
    out = capsys.readouterr().out
    assert "Tiny test shop" in out and "valid" in out
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()[3:] if line.strip()}
    assert rows == {
        "customers": "3",
        "products": "3",
        "events": "5",
        "purchases": "2",
        "campaigns": "1",
        "exposures": "3",
        "categories": "2",
        "languages": "2",
    }


def test_check_json_is_one_object(shop_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "check", str(shop_dir), "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    data = json.loads(out[0])
    assert data["valid"] is True
    assert data["customers"] == 3 and data["purchases"] == 2 and data["categories"] == 2
    assert data["language_counts"] == {"en": 1, "zh": 2}


def test_check_defaults_to_the_configured_data_dir(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    save_shop(build_minimal_shop(), workdir / "configured")
    monkeypatch.setenv("AGENT_DATA_DIR", str(workdir / "configured"))
    assert main(["data", "check", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["data_dir"] == str(workdir / "configured")


def test_check_malformed_shop_exits_2_with_the_clear_message(
    shop_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = pq.read_table(shop_dir / "events.parquet").to_pandas()
    frame.loc[1, "event_type"] = "buy"
    frame.to_parquet(shop_dir / "events.parquet", index=False)
    assert main(["data", "check", str(shop_dir)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ")
    assert "events.parquet row 2, column 'event_type': expected one of view, cart, purchase" in (
        captured.err
    )
    assert "Traceback" not in captured.err


def test_check_missing_dir_exits_2(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "check", str(workdir / "nope")]) == 2
    err = capsys.readouterr().err
    assert err == f"error: shop directory {workdir / 'nope'}: directory not found\n"


def test_check_in_a_real_subprocess(shop_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_")}
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "data", "check", str(shop_dir), "--json"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["events"] == 5


def test_help_texts_describe_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    for argv, words in (
        (["data", "check", "--help"], "malformed"),
        (["data", "import", "transactions", "--help"], "customer_id=CustomerID"),
        (["data", "import", "complete-journey", "--help"], "--assume-consent"),
    ):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 0
        assert words in capsys.readouterr().out


# ---------------------------------------------------------------------------- data import


def _retail(workdir: Path) -> Path:
    path = workdir / "retail.csv"
    path.write_text(RETAIL_CSV, encoding="utf-8")
    return path


def test_import_transactions_then_check(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["data", "import", "transactions", str(_retail(workdir)), "--map", RETAIL_MAP]
    assert main([*argv, "--out", "imported"]) == 0
    out = capsys.readouterr().out
    assert "excluded: missing customer" in out and "excluded: cancelled" in out
    assert re.search(r"^purchase lines imported +8$", out, re.MULTILINE)
    assert main(["data", "check", "imported", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["purchases"] == 8 and data["customers"] == 4
    meta = json.loads((workdir / "imported" / "shop.json").read_text(encoding="utf-8"))
    assert meta["import"]["excluded"]["missing_customer"] == 2

    # A second import into the same folder is refused unless --overwrite is given.
    assert main([*argv, "--out", "imported"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main([*argv, "--out", "imported", "--overwrite", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows_imported"] == 8


def test_import_transactions_assumed_consent(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["data", "import", "transactions", str(_retail(workdir)), "--map", RETAIL_MAP]
    assert main([*argv, "--out", "c", "--assume-consent", "email,sms"]) == 0
    customers = pq.read_table(workdir / "c" / "customers.parquet").to_pandas()
    assert customers["consent_email"].all() and customers["consent_sms"].all()
    assert not customers["consent_push"].any()
    assert main([*argv, "--out", "d", "--assume-consent", "fax"]) == 2
    assert "unknown channel 'fax'" in capsys.readouterr().err


def test_import_transactions_bad_mapping_exits_2(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = RETAIL_MAP.replace("Quantity", "Qty")
    code = main(
        ["data", "import", "transactions", str(_retail(workdir)), "--map", bad, "--out", "x"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "no column 'Qty'" in err and "its columns: InvoiceNo, StockCode" in err
    assert not (workdir / "x").exists()


def test_the_operator_may_import_outside_the_project_folders(
    workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "elsewhere" / "shop"
    argv = ["data", "import", "transactions", str(_retail(workdir)), "--map", RETAIL_MAP]
    assert main([*argv, "--out", str(outside)]) == 0, capsys.readouterr().err
    assert main(["data", "check", str(outside), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["valid"] is True


def test_import_complete_journey_cli_meets_acceptance(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = shared_dataset("complete_journey")
    assert main(["data", "import", "complete-journey", str(source), "--out", "cj"]) == 0
    out = capsys.readouterr().out
    assert "no control group" in out and "NOT consenting" in out
    assert main(["data", "check", "cj", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["customers"] >= 2300
    assert data["products"] >= 20000
    assert data["purchases"] >= 74000
    assert data["categories"] >= 12


# --------------------------------------------------------------------------- allow-list


def _settings(tmp_path: Path, **extra: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", state_dir=tmp_path / "state", **extra)  # type: ignore[arg-type]


def test_allowed_paths_resolve_inside_roots(workdir: Path, tmp_path: Path) -> None:
    config = _settings(tmp_path).tool_config()
    assert ensure_allowed("out/shop", config, purpose="write") == workdir / "out" / "shop"
    inside_state = tmp_path / "state" / "exports" / "c.json"
    assert ensure_allowed(inside_state, config, purpose="write") == inside_state
    assert ensure_allowed(tmp_path / "data", config, purpose="read") == tmp_path / "data"


def test_paths_outside_are_refused_with_the_allowed_dirs(workdir: Path, tmp_path: Path) -> None:
    config = _settings(tmp_path).tool_config()
    with pytest.raises(PathNotAllowedError) as info:
        ensure_allowed("/etc/passwd", config, purpose="read", what="import source")
    message = str(info.value)
    assert message.startswith("import source path /etc/passwd is outside the allowed directories")
    for root in (workdir, tmp_path / "data", tmp_path / "state"):
        assert str(root) in message


def test_dot_dot_and_symlinks_cannot_escape(workdir: Path, tmp_path: Path) -> None:
    config = _settings(tmp_path).tool_config()
    secret = tmp_path / "secret"
    secret.mkdir()
    with pytest.raises(PathNotAllowedError):
        ensure_allowed("../secret/x.csv", config, purpose="read")
    (workdir / "link").symlink_to(secret)
    with pytest.raises(PathNotAllowedError):
        ensure_allowed("link/x.csv", config, purpose="write")


def test_extra_allowed_dirs_extend_the_list(workdir: Path, tmp_path: Path) -> None:
    extra = tmp_path / "exports"
    config = _settings(tmp_path, allowed_dirs=[extra]).tool_config()
    assert ensure_allowed(extra / "a.json", config, purpose="write") == extra / "a.json"
    assert extra in allowed_roots(config, purpose="write")


def test_shared_datasets_are_read_only(workdir: Path, tmp_path: Path) -> None:
    config = _settings(tmp_path).tool_config()
    target = SHARED_DATASETS_DIR / "complete_journey"
    assert ensure_allowed(target, config, purpose="read") == target.resolve()
    with pytest.raises(PathNotAllowedError, match="shared data sets are read only"):
        ensure_allowed(target / "out", config, purpose="write")
