"""A reviewer's actions are appended, redacted, to the trace of the run they act on."""

from __future__ import annotations

from typing import Any

from agent.loop.runner import AgentRunner
from agent.loop.trace import load_run


def test_review_events_extend_the_run_trace(demo_settings: Any, demo_deps: Any) -> None:
    runner = AgentRunner(demo_settings, deps=demo_deps)
    result = runner.run("Draft an SMS for C00003")
    email = str(demo_deps.shop.customers.set_index("customer_id").loc["C00003", "email"])
    runner.record_review(
        result.run_id, "approve", {"draft_id": result.drafts[0].draft_id, "note": f"ok {email}"}
    )
    events = load_run(demo_settings.trace_dir, result.run_id).events
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    review = events[-1]
    assert review.kind == "review" and review.data["action"] == "approve"
    assert review.data["draft_id"] == result.drafts[0].draft_id
    assert email not in str(review.data)
