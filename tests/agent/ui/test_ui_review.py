"""The app's review actions (edit, approve, reject, export) land in the trace of the draft's run.

Drives the Gradio-free callbacks of ``agent.ui.callbacks`` with a real ``AgentRunner`` on the
demo shop (offline model), then reads the run's trace back as ``trace show`` would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.loop.runner import AgentRunner
from agent.loop.trace import TraceEvent, load_run
from agent.ui.callbacks import AppCallbacks, Update, Warmup, new_session


@pytest.fixture(scope="module")
def callbacks(demo_settings: Any, demo_deps: Any) -> AppCallbacks:
    runner = AgentRunner(demo_settings, deps=demo_deps)
    warmup = Warmup(demo_deps)
    warmup.done.set()  # the shared demo deps build lazily; no background warm-up needed
    return AppCallbacks(demo_settings, runner, warmup)


def _reviews(cb: AppCallbacks, run_id: str) -> list[TraceEvent]:
    events = load_run(cb.settings.trace_dir, run_id).events
    return [e for e in events if e.kind == "review"]


def test_review_actions_are_recorded_in_the_trace_of_the_drafts_run(
    callbacks: AppCallbacks,
) -> None:
    cb = callbacks
    sess = new_session()
    outputs = list(cb.respond("Draft an SMS for C00003", None, sess))
    assert outputs[-1]["tabs"] == Update({"selected": "drafts"})
    assert len(sess.drafts) == 1
    item = sess.drafts[0]
    assert item.run_id and item.run_id in outputs[-1]["run_md"]
    run_id, key = item.run_id, item.key
    original = str(item.draft.body)
    assert _reviews(cb, run_id) == []

    # An edit that leaves a placeholder fails the re-check: recorded with its problem codes,
    # never with the text; approving it is refused and not recorded.
    marker = "Zebra-sale-marker"
    out = cb.save(key, "", "", "", f"{original} {marker} {{first_name}}", sess)
    assert "found problems" in out["detail_md"]
    cb.approve(key, "", sess)
    assert sess.drafts[0].status == "pending"
    # Fixing the text passes the guard; then the reviewer approves and exports.
    cb.save(key, "", "", "", original, sess)
    cb.approve(key, "", sess)
    exported = cb.export(sess)
    assert exported["export_md"] == "Exported 1 approved draft."
    files = [Path(exported[k].props["value"]).name for k in ("csv_file", "jsonl_file")]
    cb.reject(key, sess)

    reviews = _reviews(cb, run_id)
    assert [e.data["action"] for e in reviews] == ["edit", "edit", "approve", "export", "reject"]
    bad_edit, good_edit, approve, export, reject = (e.data for e in reviews)
    assert bad_edit["draft_id"] == key and bad_edit["guard_passed"] is False
    assert "placeholder" in bad_edit["problems"]
    assert good_edit["guard_passed"] is True and good_edit["problems"] == []
    assert approve == {"action": "approve", "draft_id": key}
    assert export == {"action": "export", "draft_ids": [key], "files": files, "by": "local user"}
    assert reject == {"action": "reject", "draft_id": key}
    trace_file = (cb.settings.trace_dir / f"{run_id}.jsonl").read_text(encoding="utf-8")
    assert marker not in trace_file


def test_export_records_one_event_per_run_and_no_changes_record_nothing(
    callbacks: AppCallbacks,
) -> None:
    cb = callbacks
    sess = new_session()
    # Other customers than the first test's: an export never repeats a customer's message.
    for request in ("Draft an SMS for C00005", "Draft an SMS for C00004"):
        list(cb.respond(request, None, sess))
    runs = [i.run_id for i in sess.drafts]
    assert len(sess.drafts) == 2 and len(set(runs)) == 2
    first = sess.drafts[0]
    out = cb.save(first.key, "", "", "", str(first.draft.body), sess)  # nothing changed
    assert "No changes to save." in out["detail_md"]
    for item in sess.drafts:
        cb.approve(item.key, "", sess)
    exported = cb.export(sess)
    files = [Path(exported[k].props["value"]).name for k in ("csv_file", "jsonl_file")]
    for item in sess.drafts:
        data = [e.data for e in _reviews(cb, item.run_id)]
        assert data == [
            {"action": "approve", "draft_id": item.key},
            {"action": "export", "draft_ids": [item.key], "files": files, "by": "local user"},
        ]
