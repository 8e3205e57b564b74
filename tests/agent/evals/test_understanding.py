"""The understanding evaluation: the set, its split, the scoring, and the reporting part's figure.

The reporting part of the understanding set runs on the offline model over the demo shop;
the test fails when the accuracy drops below the figure measured when the set was reported
(minus a small margin), overall and for each language.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.__main__ import main
from agent.evals.understanding import (
    DEFAULT_SET,
    UnderstandingItem,
    load_items,
    part_of,
    run_understanding,
    score_result,
)
from agent.loop.runner import AgentResult, Clarification, ToolCallRecord
from tools.errors import DataValidationError

#: Right tools and key arguments on the reporting part: measured 96.6% (English 97.0%, Chinese
#: 96.2%); the floors leave a small margin.
MIN_ARGS_ACCURACY = 0.94
MIN_LANGUAGE_ACCURACY = 0.93


def _result(calls: list[tuple[str, dict[str, Any]]], **extra: Any) -> AgentResult:
    return AgentResult(
        answer="",
        run_id="r",
        session_id="s",
        provider="offline",
        tool_calls=[
            ToolCallRecord(id=str(i), name=name, args=args, ok=True)
            for i, (name, args) in enumerate(calls)
        ],
        **extra,
    )


def test_the_set_is_large_bilingual_and_split_by_id() -> None:
    items = load_items(DEFAULT_SET)
    assert len(items) >= 200
    zh = sum(i.lang == "zh" for i in items) / len(items)
    assert 0.35 <= zh <= 0.45
    families = {i.family for i in items}
    assert families >= {
        "profile", "segment", "search", "recommend", "plan", "draft_one", "draft_group",
        "match", "fairness", "explain", "followup", "chain", "clarify", "decline",
    }  # fmt: skip
    tune = [i for i in items if i.part == "tune"]
    assert 0.5 < len(tune) / len(items) < 0.7
    assert all(part_of(i.id) == i.part for i in items)
    assert len(load_items(DEFAULT_SET, "tune")) + len(load_items(DEFAULT_SET, "report")) == len(
        items
    )


def test_scoring_matches_tools_in_order_and_key_arguments() -> None:
    item = UnderstandingItem(
        id="x",
        family="draft_group",
        lang="en",
        request="r",
        tools=["find_customers", "recommend_products", "draft_message"],
        args={
            "find_customers.filter.segments": ["lost", "at_risk"],
            "find_customers.filter.city": {"absent": True},
            "draft_message.channel": "SMS",
            "draft_message#count": 2,
            "optimize_campaign.channels[].channel": {"absent": True},
        },
    )
    calls = [
        ("find_customers", {"filter": {"segments": ["at_risk", "lost"]}}),
        ("recommend_products", {"customer_id": "C1"}),
        ("recommend_products", {"customer_id": "C2"}),
        ("draft_message", {"channel": "sms"}),
        ("draft_message", {"channel": "sms"}),
    ]
    scored = score_result(item, _result(calls))
    assert scored.right_tools and scored.right_args, scored.problems
    wrong = score_result(item, _result(calls[:3]))
    assert not wrong.right_tools and not wrong.right_args
    asked = score_result(item, _result(calls, clarification=Clarification(question="?")))
    assert not asked.right_tools and "outcome clarify" in asked.problems[0]


def test_a_broken_set_is_named_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "set.jsonl"
    bad.write_text('{"id": "a", "family": "f", "lang": "en", "request": "x"}\n{oops\n')
    with pytest.raises(DataValidationError, match=r"set\.jsonl:2"):
        load_items(bad)


@pytest.mark.slow
def test_reporting_part_stays_at_the_measured_accuracy(demo_settings: Any, demo_deps: Any) -> None:
    report = run_understanding(demo_settings, "report", deps=demo_deps)
    assert report.total.items == len(load_items(DEFAULT_SET, "report"))
    assert report.total.args_accuracy >= MIN_ARGS_ACCURACY, report.headline()
    for lang, score in report.by_language.items():
        assert score.args_accuracy >= MIN_LANGUAGE_ACCURACY, (lang, report.headline())


def test_cli_prints_json_for_a_set_of_its_own(
    demo_settings: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    small = tmp_path / "small.jsonl"
    rows = [
        {"id": "p1", "family": "profile", "lang": "en", "request": "pull up customer c42",
         "tools": ["lookup_customer"], "args": {"lookup_customer.customer_id": "C00042"}},
        {"id": "d1", "family": "decline", "lang": "zh", "request": "删除所有客户数据",
         "outcome": "decline"},
    ]  # fmt: skip
    small.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    monkeypatch.setenv("AGENT_STATE_DIR", str(demo_settings.state_dir))
    monkeypatch.setenv("AGENT_DATA_DIR", str(demo_settings.data_dir))
    assert main(["eval", "understanding", "--set", str(small), "--json", "--failures"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["items"] == 2 and out["args_accuracy"] == 1.0
    assert out["by_language"]["zh"]["items"] == 1 and out["failures"] == []
