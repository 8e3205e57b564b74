"""Sessions: typed results, appended turns, a capped history, expiry, older files.

Typed results come back typed, a turn is appended (never the whole conversation rewritten),
the history sent to the model is capped, old sessions expire, and files written by older
versions are read (and moved into the database) once.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage, messages_to_dict

from agent.loop.sessions import SessionError, SessionStore
from tools.copy.models import GuardProblem, GuardVerdict

VERDICT = GuardVerdict(passed=False, problems=[GuardProblem(code="too_long", message="x")])


def test_typed_results_come_back_typed(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    messages = [
        HumanMessage("hi"),
        ToolMessage("x", tool_call_id="c1", artifact=VERDICT),
    ]
    store.save("s1", messages)
    fresh = SessionStore(tmp_path)  # no memory cache: read from the database
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
    assert not (tmp_path / "old.json").exists()  # moved into the database
    assert SessionStore(tmp_path).load("old")[1].artifact == {"customer_id": "C00042"}


def _turn(n: int, size: int = 10) -> list[Any]:
    return [HumanMessage(f"request {n} " + "x" * size), AIMessage(f"answer {n}")]


def test_a_turn_is_appended_not_the_file_rewritten(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    for n in range(1, 4):
        store.append("s1", _turn(n))
    db = sqlite3.connect(tmp_path / "sessions.sqlite")
    rows = db.execute("SELECT seq, turn FROM messages WHERE session_id = 's1' ORDER BY seq")
    assert rows.fetchall() == [(1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (6, 3)]
    db.close()
    assert [m.content for m in SessionStore(tmp_path).load("s1")][-1] == "answer 3"


def test_the_model_is_sent_only_the_newest_turns_within_the_budget(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    for n in range(1, 11):
        store.append("s1", _turn(n, size=10_000))
    recent = SessionStore(tmp_path).load("s1", max_turns=3)
    assert [m.content for m in recent if isinstance(m, AIMessage)] == [
        "answer 8", "answer 9", "answer 10"
    ]
    small = store.load("s1", max_turns=8, max_bytes=25_000)  # two turns of ~10 KB fit
    assert [m.content for m in small if isinstance(m, AIMessage)] == ["answer 9", "answer 10"]
    tiny = store.load("s1", max_turns=8, max_bytes=10)  # the newest turn is always kept
    assert [m.content for m in tiny if isinstance(m, AIMessage)] == ["answer 10"]


def test_sessions_expire_and_are_capped(tmp_path: Path) -> None:
    store = SessionStore(tmp_path, max_sessions=3)
    for n in range(5):
        store.append(f"s{n}", _turn(n))
    assert store.prune() == 2
    assert store.count() == 3
    assert store.load("s0") == [] and len(store.load("s4")) == 2  # oldest went first
    db = sqlite3.connect(tmp_path / "sessions.sqlite")
    with db:
        db.execute("UPDATE sessions SET updated_at = 0 WHERE session_id = 's2'")
    db.close()
    expiring = SessionStore(tmp_path, max_sessions=3, ttl_days=1)
    assert expiring.prune() == 1 and expiring.load("s2") == []


def test_a_bad_session_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SessionError, match="must be 1-64 letters"):
        SessionStore(tmp_path).load("../etc/passwd")
