"""Ready in seconds: requests that need no product index answer while it builds.

On a fresh state directory the app says what is still warming, in the request's language.

A real ``ToolDeps`` on the demo shop with an empty state directory, the real warm-up thread
(Chroma + MiniLM building the index in the background) and the real offline runner.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from agent.loop.runner import AgentRunner
from agent.settings import Settings
from agent.ui.callbacks import AppCallbacks, new_session
from agent.ui.warmup import Warmup
from tests.conftest import DEMO_DIR
from tools.deps import ToolDeps


def _building(deps: ToolDeps, name: str) -> bool:
    return any(s.name == name and s.state != "ready" for s in deps.readiness())


@pytest.fixture
def fresh(tmp_path: Path) -> Any:
    settings = Settings(data_dir=DEMO_DIR, state_dir=tmp_path / "state")
    deps = ToolDeps(settings.tool_config())
    runner = AgentRunner(settings, deps=deps)
    warmup = Warmup(deps)
    yield settings, deps, runner, warmup
    warmup.done.wait(timeout=600)  # leave no thread writing into the state dir


def test_profiles_and_segments_answer_while_the_product_index_builds(fresh: Any) -> None:
    settings, deps, runner, warmup = fresh
    cb = AppCallbacks(settings, runner, warmup)
    assert [s.state for s in deps.readiness()][1:] == ["waiting"] * 4  # the runner read the shop
    warmup.start()
    deadline = time.monotonic() + 120
    while not _building(deps, "products") or "products" not in deps.__dict__:
        assert time.monotonic() < deadline, deps.readiness()
        time.sleep(0.05)
    # The status line names the index and its progress while it builds.
    assert "Still preparing: the product index" in cb.status_text()

    sess = new_session()
    last = list(cb.respond("Tell me about C00042", None, sess))[-1]
    answer = last["chatbot"][-1]["content"]
    assert "C00042" in answer and "Still preparing: the product index" in answer
    segment = list(cb.respond("How many at-risk customers are there?", None, sess))[-1]
    assert "segment_md" in segment
    zh = list(cb.respond("介绍一下客户 C00042", None, new_session()))[-1]
    assert "仍在准备：商品索引" in zh["chatbot"][-1]["content"]
    # All three answered before the index was done: nothing waited for it.
    assert _building(deps, "products"), "the index finished too early to show anything"

    # A search waits for the index and then answers; the note is gone once all is built.
    found = list(cb.respond("Find waterproof jackets", None, sess))[-1]
    assert "products_df" in found
    assert warmup.done.wait(timeout=600)
    assert warmup.failed == []
    assert all(s.state == "ready" for s in deps.readiness())
    assert "Still preparing" not in cb.status_text()
    again = list(cb.respond("Tell me about C00042", None, sess))[-1]
    assert "Still preparing" not in again["chatbot"][-1]["content"]
