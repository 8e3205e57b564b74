"""Limits: request size before anything runs, request rates, trace size per run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.loop.limits import (
    RateLimitedError,
    RateLimiter,
    RequestGate,
    RequestTooLargeError,
    check_request,
)
from agent.loop.redact import Redactor
from agent.loop.trace import TraceWriter, read_run
from agent.settings import Settings
from agent.ui.gate import AppGate


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_size_limit_counts_utf8_bytes_and_names_the_setting() -> None:
    check_request("x" * 8192, 8192)
    with pytest.raises(RequestTooLargeError) as info:
        check_request("客" * 3000, 8192)  # 3,000 characters, 9,000 bytes
    assert str(info.value).startswith("the request is 9,000 bytes; the limit is 8,192 bytes")
    assert "AGENT_MAX_REQUEST_BYTES" in str(info.value)


def test_a_sliding_window_lets_the_limit_through_then_says_how_long_to_wait() -> None:
    clock = Clock()
    limiter = RateLimiter(3, 60.0, clock=clock)
    assert [limiter.hit("a") for _ in range(3)] == [None, None, None]
    assert limiter.hit("a") == pytest.approx(60.0)
    assert limiter.hit("b") is None  # keys are apart
    clock.now = 30.0
    assert limiter.hit("a") == pytest.approx(30.0)
    clock.now = 60.5
    assert limiter.hit("a") is None


def test_the_limiter_keeps_a_bounded_number_of_keys() -> None:
    limiter = RateLimiter(2, 60.0, max_keys=50)
    for n in range(5000):
        limiter.hit(f"session-{n}")
    assert len(limiter) == 50


def test_the_gate_limits_sessions_and_users_apart() -> None:
    gate = RequestGate.from_limits(100, session_per_min=2, user_per_min=3)
    gate.admit("hi", "s1", "ana")
    gate.admit("hi", "s1", "ana")
    with pytest.raises(RateLimitedError, match="at most 2 a minute \\(AGENT_RATE_LIMIT_SESSION\\)"):
        gate.admit("hi", "s1", "ana")
    gate.admit("hi", "s2", "ana")
    with pytest.raises(RateLimitedError, match="too many requests from ana: at most 3"):
        gate.admit("hi", "s3", "ana")
    gate.admit("hi", "s4", "bob")
    with pytest.raises(RequestTooLargeError):
        gate.admit("x" * 101, "s5", "bob")


def test_the_app_answers_an_oversized_request_without_echoing_it(tmp_path: Path) -> None:
    gate = AppGate(Settings(state_dir=tmp_path))
    huge = "Tell me about C00042 " + "x" * 3_000_000
    shown = gate.refusal(huge, [], "s1", None)
    assert shown is not None
    user, answer = shown["chatbot"]
    assert len(user["content"]) < 300 and "(3,000,021 characters)" in user["content"]
    assert answer["content"].startswith("⚠️ Not run: the request is 3,000,021 bytes")
    assert gate.refusal("Tell me about C00042", [], "s1", None) is None


def test_an_oversized_request_never_reaches_the_model_the_trace_or_the_session(
    settings: Settings, demo_deps: Any
) -> None:
    from agent.loop.runner import AgentRunner
    from tests.fakes import ScriptedChatModel

    model = ScriptedChatModel(script=[])  # any model call would fail: its script is empty
    runner = AgentRunner(settings, deps=demo_deps, model=model)
    with pytest.raises(RequestTooLargeError):
        runner.run("x" * (settings.max_request_bytes + 1), session="big")
    assert not settings.trace_dir.exists() or not list(settings.trace_dir.iterdir())
    assert runner.history("big") == []


def test_a_run_trace_stops_growing_at_its_limit_but_keeps_its_end(tmp_path: Path) -> None:
    trace = TraceWriter(tmp_path, Redactor(), max_bytes=20_000)
    trace.event("request", {"text": "hi"})
    for n in range(500):
        trace.event("tool_result", {"id": str(n), "result": {"rows": ["y" * 100] * 10}})
    trace.event("answer", {"text": "the answer " + "z" * 5000, "stopped": False})
    assert trace.path.stat().st_size < 20_000 + 3000
    run = read_run(trace.path)
    assert run.problems == []
    assert json.loads(trace.path.read_text().splitlines()[0])["data"]["text"] == "hi"
    marker, end = run.events[-2], run.events[-1]
    assert marker.data["truncated"] is True and set(marker.data) == {"truncated", "bytes"}
    assert end.kind == "answer" and end.seq == 502  # the skipped steps keep their numbers
    assert end.data["truncated"] is True and end.data["text"].startswith("the answer")
    assert len(trace.events) == len(run.events)  # memory holds no more than the file
