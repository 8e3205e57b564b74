"""Errors, not tracebacks: every operator mistake found by the careful-operator review.

Each case runs the command as an operator would and expects exit code 2 (as ``--help``
says) and exactly one ``error:`` line naming what and where.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.__main__ import main
from tests.conftest import RETAIL_CSV, RETAIL_MAP, build_minimal_shop
from tools.shop.store import load_shop, save_shop

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in [k for k in os.environ if k.startswith("AGENT_")]:
        monkeypatch.delenv(key)
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("AGENT_STATE_DIR", str(folder / "state"))
    save_shop(build_minimal_shop(), folder / "shop")
    monkeypatch.setenv("AGENT_DATA_DIR", str(folder / "shop"))
    (folder / "retail.csv").write_text(RETAIL_CSV, encoding="utf-8")
    return folder


def _import(csv: str, out: str = "new", *extra: str) -> list[str]:
    return ["data", "import", "transactions", csv, "--map", RETAIL_MAP, "--out", out, *extra]


def _write(path: Path, data: str | bytes) -> str:
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return str(path)


CASES: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "quantity inf": (
        lambda w: _import(_write(w / "q.csv", RETAIL_CSV.replace(",6,12/1/2010 8:26", ",inf,12/1/"
                                                                 "2010 8:26", 1))),
        "row 1, column 'Quantity': expected a finite number of at most 1e+12, got 'inf'",
    ),
    "price 1e308": (
        lambda w: _import(_write(w / "p.csv", RETAIL_CSV.replace("8:26,2.55", "8:26,1e308", 1))),
        "column 'UnitPrice': expected a finite number of at most 1e+12, got '1e308'",
    ),
    "--out naming a file": (
        lambda w: _import("retail.csv", "retail.csv"),
        "retail.csv is a file; name a directory",
    ),
    "an existing shop without --overwrite, refused before reading": (
        lambda w: _import(_write(w / "garbage.csv", HEADER + '"unclosed\n' * 3), "shop"),
        "already holds a shop (customers.parquet",
    ),
    "a column mapped to two keys": (
        lambda w: ["data", "import", "transactions", "retail.csv", "--out", "new", "--map",
                   RETAIL_MAP.replace("customer_id=CustomerID", "customer_id=StockCode")],
        "--map column 'StockCode' is mapped to both customer_id and product_id",
    ),
    "a key given twice": (
        lambda w: _import("retail.csv", "new") + ["--map", RETAIL_MAP + ",country=Description"],
        "--map key 'country' is given twice",
    ),
    "dates mixing day and month first": (
        lambda w: _import(_write(w / "d.csv", RETAIL_CSV.replace("12/1/2010 8:34",
                                                                 "13/12/2010 8:34"))),
        "the dates mix day-first and month-first",
    ),
    "UTF-8 and Latin-1 in one file": (
        lambda w: _import(_write(
            w / "e.csv",
            HEADER.encode()
            + "1,A,CAFÉ,1,12/13/2010 8:26,2.5,17850,UK\n".encode()
            + "2,B,CRÈME,1,12/13/2010 8:28,1.5,17850,UK\n".encode("latin-1"),
        )),
        "the file mixes encodings",
    ),
    "batch --out naming a folder": (
        lambda w: ["batch", "--ids", _write(w / "ids.txt", "C00001\n"), "--channel", "email",
                   "--out", str(w)],
        "is a directory; name a file to write",
    ),
    "batch --ids naming a file that is not ids": (
        lambda w: ["batch", "--ids", _write(w / "passwd", "root:x:0:0:root:/root:/bin/bash\n"),
                   "--channel", "email", "--out", "drafts.jsonl"],
        "line 1: not a customer id",
    ),
    "a tool argument of Infinity": (
        lambda w: ["tool", "find_customers", '{"min_spend": Infinity}'],
        "min_spend: inf is not a finite number",
    ),
    "an oversized request to ask": (
        lambda w: ["ask", "Tell me about C00001 " + "x" * 9000],
        "the limit is 8,192 bytes (AGENT_MAX_REQUEST_BYTES)",
    ),
    "an unknown customer to forget": (
        lambda w: ["data", "forget", "C99999", "--yes"],
        "unknown customer_id 'C99999'",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_operator_mistake_is_one_clear_line_and_exit_code_2(
    case: str, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build, message = CASES[case]
    argv = build(work)
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert message in lines[0], err
    assert not (work / "new").exists()  # nothing half-written
    assert sorted(load_shop(work / "shop").customers["customer_id"]) == [
        "C00001", "C00002", "C00003"
    ]


def test_a_setting_that_is_not_json_is_one_line_for_every_command(
    work: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENT_UI_USERS", "{ana: secret")
    for argv in (["data", "check"], ["ask", "hi"], ["tool", "lookup_customer", "{}"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: AGENT_UI_USERS is not valid JSON") and err.count("\n") == 1


def test_json_output_never_holds_nan_or_infinity(capsys: pytest.CaptureFixture[str]) -> None:
    from agent.cli.common import print_json

    print_json({"ratio": float("inf"), "rows": [float("nan"), 1.5], "ok": True})
    text = capsys.readouterr().out
    assert json.loads(text) == {"ratio": None, "rows": [None, 1.5], "ok": True}
    assert "Infinity" not in text and "NaN" not in text
