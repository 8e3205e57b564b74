"""Optional SmolLM2 polish: its text is kept only when the copy guard passes."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from tools.copy.drafting import draft_message


@pytest.mark.slow
def test_polished_drafts_pass_the_guard_or_fall_back_to_the_template(demo_deps: Any) -> None:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed (the local-llm extra)")
    from agent.loop.polish import build_local_rewriter

    rewriter = build_local_rewriter(max_tokens=160)
    demo_deps.copy_rewriter = rewriter
    try:
        for customer, channel in [("C00003", "email"), ("C00002", "sms")]:
            draft = draft_message(
                demo_deps, customer, channel, goal="recommendations", product_ids=["P00001"]
            )
            assert draft.guard.passed, draft.guard.problems
            if draft.source == "template":  # the model's text was rejected, and we say why
                assert draft.rewrite_rejections
            else:
                assert draft.source in ("model", "polished")
    finally:
        demo_deps.copy_rewriter = None
