"""Sessions persist typed tool results and read back files written by older versions."""

from __future__ import annotations

import json
from pathlib import Path

from langchain_core.messages import HumanMessage, ToolMessage, messages_to_dict

from agent.loop.sessions import SessionStore
from tools.copy.models import GuardProblem, GuardVerdict

VERDICT = GuardVerdict(passed=False, problems=[GuardProblem(code="too_long", message="x")])


def test_typed_results_come_back_typed(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    messages = [
        HumanMessage("hi"),
        ToolMessage("x", tool_call_id="c1", artifact=VERDICT),
    ]
    store.save("s1", messages)
    fresh = SessionStore(tmp_path)  # no memory cache: read from the file
    loaded = fresh.load("s1")
    assert isinstance(loaded[1], ToolMessage)
    assert loaded[1].artifact == VERDICT


def test_a_result_whose_model_moved_loads_as_plain_data(tmp_path: Path) -> None:
    # A session written before the modules moved (``tools.profiles`` no longer exists).
    message = ToolMessage("x", tool_call_id="c1")
    raw = messages_to_dict([HumanMessage("hi"), message])
    raw[1]["data"]["artifact"] = {
        "__model__": "tools.profiles:CustomerProfile",
        "data": {"customer_id": "C00042"},
    }
    (tmp_path / "old.json").write_text(json.dumps(raw), encoding="utf-8")
    loaded = SessionStore(tmp_path).load("old")
    assert loaded[0].content == "hi"
    assert loaded[1].artifact == {"customer_id": "C00042"}
