"""``python -m agent ask``: the JSON contract scripts rely on, and clean errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from agent.__main__ import main
from tests.conftest import ROOT


def _ask(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["ask", *args, "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()[-1]
    data: dict[str, Any] = json.loads(out)
    return data


@pytest.fixture
def demo_env(demo_settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_STATE_DIR", str(demo_settings.state_dir))
    monkeypatch.delenv("AGENT_PROVIDER", raising=False)


def test_json_has_answer_run_id_tool_calls_drafts_and_artifacts(
    demo_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _ask(["给 C00002 写一条短信"], capsys)
    assert set(data) >= {"answer", "run_id", "tool_calls", "drafts", "artifacts"}
    assert [c["name"] for c in data["tool_calls"]] == ["recommend_products", "draft_message"]
    assert all(c["ok"] for c in data["tool_calls"])
    draft = data["drafts"][0]
    assert draft["channel"] == "sms" and draft["language"] == "zh"
    assert draft["guard"]["passed"] is True
    assert "回复TD退订" in draft["body"]


def test_session_carries_a_follow_up_across_cli_calls(
    demo_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _ask(["How many loyal customers like running?", "--session", "cli-s1"], capsys)
    assert [c["name"] for c in first["tool_calls"]] == ["find_customers"]
    second = _ask(["and draft them an SMS", "--session", "cli-s1"], capsys)
    assert second["drafts"] and {d["channel"] for d in second["drafts"]} == {"sms"}


def test_trace_show_prints_the_run(demo_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    run_id = _ask(["Tell me about C00042"], capsys)["run_id"]
    assert main(["trace", "show", run_id]) == 0
    shown = capsys.readouterr().out
    assert "lookup_customer" in shown and "C00042" in shown


def test_bad_session_id_is_one_clear_line_in_a_real_process(demo_settings: Any) -> None:
    env = {**os.environ, "AGENT_STATE_DIR": str(demo_settings.state_dir)}
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "ask", "hello", "--session", "../../etc"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 2
    assert "session id" in proc.stderr and "Traceback" not in proc.stderr
