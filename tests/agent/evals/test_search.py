"""Search evaluation: the query sets, the splits, scoring and the ``eval search`` command."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from agent.evals.search import (
    load_chinese_queries,
    load_instacart,
    score_run,
    split_of,
    summarise,
)
from agent.evals.search_demo import load_demo_queries, relevant_ids
from tests.conftest import DEMO_DIR, shared_dataset

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_demo_query_set_pairs_chinese_and_english_with_relevant_products() -> None:
    queries = load_demo_queries()
    assert len(queries) >= 100
    assert len({q["id"] for q in queries}) == len(queries)
    assert {q["kind"] for q in queries} == {"category", "type", "attribute", "brand"}
    assert all(CJK.search(q["zh"]) and not CJK.search(q["en"]) for q in queries)
    products = pd.read_parquet(DEMO_DIR / "products.parquet")
    sizes = [len(relevant_ids(products, q["relevant"])) for q in queries]
    assert min(sizes) >= 5  # every query has products to find


def test_relevance_rules_combine_keys() -> None:
    products = pd.DataFrame(
        {
            "product_id": ["P1", "P2", "P3"],
            "category": ["a", "a", "b"],
            "brand": ["X", "Y", "X"],
            "tags": [["tent", "green"], ["tent"], ["tent"]],
        }
    )
    assert relevant_ids(products, {"tags_any": ["Tent"]}) == {"P1", "P2", "P3"}
    assert relevant_ids(products, {"category": ["a"], "brand": ["X"]}) == {"P1"}


def test_bad_query_file_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "queries.jsonl"
    bad.write_text('{"note": "x"}\n{"id": "d1", "zh": "帐篷", "en": "tent"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        load_demo_queries(bad)


def test_chinese_instacart_queries_cover_the_aisles() -> None:
    catalog = shared_dataset("instacart_catalog")
    with (catalog / "aisles.csv").open(encoding="utf-8") as fh:
        aisles = {row["aisle"] for row in csv.DictReader(fh)}
    queries = load_chinese_queries()
    assert set(queries) == aisles - {"missing", "other"}
    assert all(CJK.search(q) for q in queries.values())


def test_splits_are_deterministic_and_both_used() -> None:
    names = [f"aisle {i}" for i in range(200)]
    parts = [split_of(n) for n in names]
    assert parts == [split_of(n) for n in names]
    assert 60 < parts.count("tune") < 140


def test_scoring() -> None:
    assert score_run(["a", "x", "b"], {"a", "b"}) == (1.0, 1.0)  # 2 of min(10, 2)
    precision, rr = score_run(["x", "y", "a"] + ["z"] * 7, {"a"} | {f"r{i}" for i in range(20)})
    assert (precision, rr) == (0.1, pytest.approx(1 / 3))
    summary = summarise({"q1": (1.0, 1.0), "q2": (0.0, 0.0)})
    assert summary["all"] == {"precision@10": 0.5, "mrr": 0.5, "queries": 2}


def test_instacart_loader_keeps_the_aisle_out_of_the_products() -> None:
    catalog = shared_dataset("instacart_catalog")
    frame, relevant = load_instacart(catalog, limit=200)
    assert len(frame) == 200 and sum(len(v) for v in relevant.values()) == 200
    departments = set(pd.read_csv(catalog / "departments.csv")["department"])
    assert set(frame["category"]) <= departments  # the department is the category
    category = dict(zip(frame["product_id"], frame["category"], strict=True))
    for aisle, ids in relevant.items():  # the aisle (the label) is never a product's text
        if aisle not in departments:
            assert all(category[pid] != aisle for pid in ids)


def test_eval_search_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from agent.__main__ import main

    catalog = shared_dataset("instacart_catalog")
    monkeypatch.setenv("AGENT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    args = ["eval", "search", "--catalog", "instacart", "--path", str(catalog), "--limit", "300"]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(out["methods"]) == {"vector", "lexical", "hybrid"}
    for scores in out["methods"].values():
        for part in (scores, scores["tune"], scores["all"]):
            assert 0 <= part["precision@10"] <= 1 and 0 <= part["mrr"] <= 1
    assert out["methods"]["vector"]["all"]["precision@10"] > 0.05
    assert out["methods"]["lexical"]["all"]["mrr"] > 0.05
    assert out["chinese"]["all"]["queries"] > 0 and out["chinese"]["all"]["precision@10"] > 0
    assert set(out["splits"]["tune"]) | set(out["splits"]["report"]) == set(
        load_instacart(catalog, 300)[1]
    )
    assert out["products"] == 300 and out["embedded"] == 300
    assert out["latency"]["hybrid_p50_ms"] > 0 and out["latency"]["bare_chroma_p50_ms"] > 0
    # A second run reuses the index under the state directory.
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "hybrid" in table and "0 embedded" in table and "bare chromadb" in table


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--limit", "0"], "--limit"),
        (["--limit", "10", "--fit-fusion"], "--fit-fusion"),
        (["--catalog", "demo", "--fit-fusion"], "instacart only"),
        (["--catalog", "demo", "--limit", "5"], "instacart only"),
    ],
)
def test_eval_search_bad_options(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    words: str,
) -> None:
    from agent.__main__ import main

    monkeypatch.setenv("AGENT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    assert main(["eval", "search", *extra]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_eval_search_missing_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from agent.__main__ import main

    monkeypatch.setenv("AGENT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    assert main(["eval", "search", "--path", str(tmp_path / "nowhere"), "--json"]) == 2
    err = capsys.readouterr().err
    assert "nowhere" in err and "Traceback" not in err


@pytest.mark.slow
def test_eval_search_demo_in_both_languages(
    demo_settings: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from agent.__main__ import main

    monkeypatch.setenv("AGENT_STATE_DIR", str(demo_settings.state_dir))
    monkeypatch.setenv("AGENT_DATA_DIR", str(DEMO_DIR))
    assert main(["eval", "search", "--catalog", "demo", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    en, zh = out["languages"]["en"], out["languages"]["zh"]
    assert en["all"]["queries"] == zh["all"]["queries"] == out["queries"] >= 100
    assert en["report"]["precision@10"] > 0.8
    assert abs(out["gap"]) <= 0.05  # Chinese as good as English on the paired queries
    assert set(out["by_kind"]) == {"category", "type", "attribute", "brand"}
