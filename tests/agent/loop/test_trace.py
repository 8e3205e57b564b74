"""The trace: redacted before it is written, one JSONL line per event, readable back."""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from agent.__main__ import main
from agent.loop.redact import Redactor
from agent.loop.trace import (
    TraceNotFoundError,
    TraceWriter,
    list_runs,
    load_run,
    load_trace,
    new_run_id,
)
from tools.errors import ToolInputError

SECRET = "sk-test-0123456789abcdefghijkl"


@pytest.fixture
def redactor() -> Redactor:
    customers = pd.DataFrame(
        [
            {
                "customer_id": "C00007",
                "first_name": "Megan",
                "last_name": "Cook",
                "email": "megan.cook83@example.org",
                "phone": "+1 312 555-0147",
                "address": "6769 Sunset Boulevard",
                "notes": "prefers weekend deliveries",
            }
        ]
    )
    return Redactor(customers, secrets=[SECRET])


def _record_run(writer: TraceWriter, *, fail: bool = False) -> None:
    """Events shaped as ``agent.loop.runner`` records them."""
    writer.event("request", {"text": "Tell me about C00007 and draft an SMS for her"})
    route = {
        "text": "Tell me about C00007",
        "language": "en",
        "intents": ["profile", "draft"],
        "stages": ["profile", "draft"],
        "entities": {"customer_ids": ["C00007"], "budget": None, "channels": ["sms"]},
    }
    writer.event("route", {"route": route})
    writer.event(
        "model",
        {"content": "", "tool_calls": [{"name": "lookup_customer", "args": {}}]},
        duration_ms=0.8,
        tokens_in=640,
        tokens_out=20,
    )
    writer.event(
        "tool_call", {"id": "c1", "name": "lookup_customer", "args": {"customer_id": "C00007"}}
    )
    writer.event(
        "tool_result",
        {
            "id": "c1",
            "name": "lookup_customer",
            "summary": "C00007 Megan: loyal, churn risk 0.12",
            "result": {"customer_id": "C00007", "first_name": "Megan", "segment": "loyal"},
        },
        duration_ms=3.21,
    )
    if fail:
        writer.event("error", {"type": "APITimeoutError", "message": "timed out after 3 tries"})
        return
    writer.event(
        "guard",
        {
            "draft_id": "d1",
            "verdict": {
                "passed": False,
                "problems": [{"code": "price", "message": "P00012 costs 19.99, not 9.99"}],
            },
        },
    )
    writer.event(
        "answer",
        {"text": "Megan is a loyal customer.", "stopped": "done"},
        duration_ms=1.5,
        tokens_in=812,
        tokens_out=64,
    )


def test_personal_data_and_keys_are_redacted_before_anything_is_stored(
    tmp_path: Path, redactor: Redactor
) -> None:
    writer = TraceWriter(tmp_path, redactor)
    event = writer.event(
        "tool_call",
        {
            "name": "draft_message",
            "args": {
                "to": "megan.cook83@example.org",
                "body": "Hi Megan Cook, call +1 312 555-0147 or visit 6769 Sunset Boulevard",
                "note": "prefers weekend deliveries",
                "headers": {"Authorization": f"Bearer {SECRET}"},
            },
        },
    )
    stored = writer.path.read_text(encoding="utf-8")
    for value in ("megan.cook83", "Cook", "555-0147", "Sunset", "weekend", SECRET):
        assert value not in stored
        assert value not in json.dumps(event.data)
    assert "Hi Megan [last_name], call [phone] or visit [address]" in stored
    assert event.data["args"]["to"] == "[email]"


def test_each_event_is_one_json_line_read_back_in_order(tmp_path: Path, redactor: Redactor) -> None:
    writer = TraceWriter(tmp_path, redactor)
    _record_run(writer)
    lines = writer.path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(writer.events) == 7
    assert [json.loads(line)["seq"] for line in lines] == [1, 2, 3, 4, 5, 6, 7]
    events = load_trace(tmp_path, writer.run_id)
    assert events == writer.events
    assert [e.kind for e in events] == [
        "request",
        "route",
        "model",
        "tool_call",
        "tool_result",
        "guard",
        "answer",
    ]
    assert all(e.at.tzinfo is not None and e.at.utcoffset() == timedelta(0) for e in events)
    assert events[-1].tokens_in == 812 and events[-1].duration_ms == 1.5


def test_run_ids_sort_by_start_time_and_are_unique() -> None:
    start = datetime(2025, 3, 9, 23, 59, 59, 999000, tzinfo=UTC)
    times = [start + timedelta(milliseconds=k * 7) for k in range(50)]
    ids = [new_run_id(t) for t in times]
    assert sorted(ids) == ids
    assert ids[0].startswith("r20250309-235959-999-")
    assert len({new_run_id(start) for _ in range(200)}) == 200


def test_a_truncated_last_line_is_reported_and_the_rest_kept(
    tmp_path: Path, redactor: Redactor, caplog: pytest.LogCaptureFixture
) -> None:
    writer = TraceWriter(tmp_path, redactor)
    _record_run(writer)
    data = writer.path.read_bytes()
    writer.path.write_bytes(data[: len(data) - 40])  # killed in the middle of the last write
    run = load_run(tmp_path, writer.run_id)
    assert [e.seq for e in run.events] == [1, 2, 3, 4, 5, 6]
    assert len(run.problems) == 1 and "last line is truncated" in run.problems[0]
    with caplog.at_level(logging.WARNING):
        assert len(load_trace(tmp_path, writer.run_id)) == 6
    assert "truncated" in caplog.text


def test_unknown_run_id_names_recent_runs_and_close_matches(
    tmp_path: Path, redactor: Redactor
) -> None:
    with pytest.raises(TraceNotFoundError, match="no runs in"):
        load_trace(tmp_path, "r20250101-000000-000-abcdef")
    writer = TraceWriter(tmp_path, redactor, run_id="r20250101-120000-123-a1b2c3")
    writer.event("request", {"text": "hi"})
    with pytest.raises(TraceNotFoundError) as info:
        load_trace(tmp_path, "r20250101-120000-123-a1b2c4")
    message = str(info.value)
    assert "did you mean r20250101-120000-123-a1b2c3" in message
    assert "recent runs: r20250101-120000-123-a1b2c3" in message


@pytest.mark.parametrize("bad", ["../../etc/passwd", "a/b", "", ".hidden", "x..y"])
def test_run_ids_cannot_escape_the_trace_directory(
    tmp_path: Path, redactor: Redactor, bad: str
) -> None:
    with pytest.raises(ToolInputError, match="invalid run id"):
        load_trace(tmp_path, bad)
    if bad:
        with pytest.raises(ToolInputError):
            TraceWriter(tmp_path, redactor, run_id=bad)


def test_parallel_events_get_distinct_ordered_numbers(tmp_path: Path, redactor: Redactor) -> None:
    writer = TraceWriter(tmp_path, redactor, fsync="never")

    def work(k: int) -> None:
        for i in range(50):
            writer.event("tool_call", {"name": f"t{k}", "args": {"i": i}})

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    events = load_trace(tmp_path, writer.run_id)
    assert [e.seq for e in events] == list(range(1, 201))


def test_a_continued_run_keeps_numbering(tmp_path: Path, redactor: Redactor) -> None:
    first = TraceWriter(tmp_path, redactor)
    first.event("request", {"text": "first turn"})
    again = TraceWriter(tmp_path, redactor, run_id=first.run_id)
    assert again.event("answer", {"text": "second"}).seq == 2
    assert len(load_trace(tmp_path, first.run_id)) == 2


def test_list_runs_newest_first_with_outcome_tools_and_short_request(
    tmp_path: Path, redactor: Redactor
) -> None:
    base = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)
    good = TraceWriter(tmp_path, redactor, run_id=new_run_id(base))
    _record_run(good)
    bad = TraceWriter(tmp_path, redactor, run_id=new_run_id(base + timedelta(minutes=1)))
    _record_run(bad, fail=True)
    long = TraceWriter(tmp_path, redactor, run_id=new_run_id(base + timedelta(minutes=2)))
    long.event("request", {"text": "Megan Cook " + "word " * 100})
    runs = list_runs(tmp_path, limit=10)
    assert [r.run_id for r in runs] == [long.run_id, bad.run_id, good.run_id]
    assert runs[0].request.startswith("Megan [last_name] word") and len(runs[0].request) == 80
    assert (runs[1].ok, runs[2].ok, runs[0].ok) == (False, True, False)
    assert runs[2].tool_names == ["lookup_customer"] and runs[2].events == 7
    assert [r.run_id for r in list_runs(tmp_path, limit=2)] == [long.run_id, bad.run_id]
    with pytest.raises(ToolInputError, match="limit"):
        list_runs(tmp_path, limit=0)


def test_events_are_cheap_and_the_finished_run_is_synced(
    tmp_path: Path, redactor: Redactor, monkeypatch: pytest.MonkeyPatch
) -> None:

    synced: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    writer = TraceWriter(tmp_path, redactor)
    for i in range(50):
        writer.event("tool_result", {"name": "x", "summary": f"step {i}", "artifact": {"n": i}})
    assert synced == []  # flushed, not fsynced, mid-run
    writer.event("answer", {"text": "done"})
    assert len(synced) == 1
    always = TraceWriter(tmp_path, redactor, fsync="every_event")
    for i in range(10):
        always.event("tool_result", {"name": "x", "summary": f"step {i}"})
    assert len(synced) == 11


# --- the CLI -------------------------------------------------------------------------------


@pytest.fixture
def cli_state(settings: object, state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AGENT_STATE_DIR", str(state_dir))
    return state_dir / "traces"


def test_trace_list_and_show_print_readable_runs(
    cli_state: Path, redactor: Redactor, capsys: pytest.CaptureFixture[str]
) -> None:
    writer = TraceWriter(cli_state, redactor)
    _record_run(writer)
    failed = TraceWriter(cli_state, redactor)
    _record_run(failed, fail=True)

    assert main(["trace", "list"]) == 0
    out = capsys.readouterr().out
    assert writer.run_id in out and failed.run_id in out
    assert "FAILED" in out and "lookup_customer" in out
    assert "Tell me about C00007" in out

    assert main(["trace", "show", writer.run_id]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith(f"run {writer.run_id}: started") and "7 events" in lines[0]
    assert "intents profile, draft; stages profile, draft; language en" in out
    assert 'entities {"customer_ids": ["C00007"], "channels": ["sms"]}' in out
    assert "(no text)  (0.8 ms, tokens in 640 / out 20)" in out
    assert "calls lookup_customer" in out
    assert 'lookup_customer {"customer_id": "C00007"}' in out
    assert "lookup_customer: C00007 Megan: loyal, churn risk 0.12  (3.2 ms)" in out
    assert "FAILED (draft_id d1)" in out and "price: P00012 costs 19.99, not 9.99" in out
    assert "Megan is a loyal customer.  (1.5 ms, tokens in 812 / out 64)" in out
    assert main(["trace", "show", failed.run_id]) == 0
    out = capsys.readouterr().out
    assert "FAILED (no answer or an error)" in out
    assert "APITimeoutError: timed out after 3 tries" in out


def test_trace_json_output(
    cli_state: Path, redactor: Redactor, capsys: pytest.CaptureFixture[str]
) -> None:
    writer = TraceWriter(cli_state, redactor)
    _record_run(writer)
    assert main(["trace", "show", writer.run_id, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["run_id"] == writer.run_id
    assert [e["kind"] for e in shown["events"]][:4] == ["request", "route", "model", "tool_call"]
    assert shown["events"][4]["data"]["result"]["segment"] == "loyal"
    assert main(["trace", "list", "--json", "--limit", "5"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["runs"][0]["run_id"] == writer.run_id
    assert listed["runs"][0]["tool_names"] == ["lookup_customer"]


def test_trace_cli_errors_are_one_line(
    cli_state: Path, redactor: Redactor, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["trace", "list"]) == 0
    assert "no runs recorded yet" in capsys.readouterr().out
    writer = TraceWriter(cli_state, redactor)
    _record_run(writer)
    assert main(["trace", "show", "r-nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no trace for run 'r-nope'") and writer.run_id in err
    assert "Traceback" not in err
    assert main(["trace", "show", "../secrets"]) == 2
    assert "invalid run id" in capsys.readouterr().err
    assert main(["trace", "list", "--limit", "0"]) == 2


def test_trace_show_warns_about_a_truncated_file(
    cli_state: Path, redactor: Redactor, capsys: pytest.CaptureFixture[str]
) -> None:
    writer = TraceWriter(cli_state, redactor)
    _record_run(writer)
    with writer.path.open("ab") as handle:
        handle.write(b'{"run_id": "x", "seq": 7, "ki')
        os.fsync(handle.fileno())
    assert main(["trace", "show", writer.run_id]) == 0
    captured = capsys.readouterr()
    assert "warning:" in captured.err and "truncated" in captured.err
    assert "Megan is a loyal customer." in captured.out
