"""The drafts panel in Chinese: every note, the export note and faults say no English sentence.

Drives the Gradio-free callbacks (``agent.ui.callbacks`` and ``agent.ui.draft_callbacks``) with
a real ``AgentRunner`` on the demo shop (offline model) in a Chinese interface: select nothing,
an edit the guard fails, approving it, a second draft for the same customer, a reason, a
rejection, exports (new, repeated, held back by the frequency rules) and a fault. What may stay
in Latin letters is what has no Chinese form: ids, the shop's names (brands, product titles,
first names, offer codes), the drafts' own copy and "UTC"; the checker is the one of the
all-Chinese answers (``tests/agent/offline/test_answer_words.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.loop.runner import AgentRunner
from agent.settings import Settings
from agent.ui import views
from agent.ui.callbacks import AppCallbacks, new_session
from agent.ui.history import PanelView
from agent.ui.warmup import Warmup
from tests.agent.offline.test_answer_words import latin_words
from tests.conftest import DEMO_DIR


@pytest.fixture
def cb(tmp_path: Path, demo_deps: Any) -> AppCallbacks:
    settings = Settings(_env_file=None, data_dir=DEMO_DIR, state_dir=tmp_path / "state")
    warmup = Warmup(demo_deps)
    warmup.done.set()
    return AppCallbacks(settings, AgentRunner(settings, deps=demo_deps), warmup)


def _names(sess: views.SessionView, demo_deps: Any) -> str:
    """What a note may show as it is: the shop's names and the drafts' own text and codes."""
    products = demo_deps.shop.products
    names = [*products["brand"].astype(str), *products["title"].astype(str),
             *products["title_zh"].astype(str), "UTC"]
    for item in sess.drafts:
        d = item.draft
        names += [str(views.field(d, k, default="") or "")
                  for k in ("first_name", "subject", "preheader", "title", "body")]
        names.append(str(views.field(views.field(d, "offer"), "code", default="") or ""))
    return "\n".join(n for n in names if n)


def _english(text: str, sess: views.SessionView, demo_deps: Any) -> list[str]:
    return latin_words(text, _names(sess, demo_deps))


def _zh_session() -> views.SessionView:
    sess = new_session()
    sess.lang = "zh"
    return sess


def test_review_notes_and_exports_in_a_chinese_interface_say_no_english(
    cb: AppCallbacks, demo_deps: Any
) -> None:
    sess = _zh_session()
    shown: list[str] = []

    shown.append(cb.approve(None, "", sess)["detail_md"])
    assert "请先选择" in shown[-1]

    for text in ("给 C00003 写一条短信", "再给 C00003 写一条短信", "给 C00004 写一条短信",
                 "给 C00010 写一条短信"):
        list(cb.respond(text, None, sess))
    assert [i.draft.customer_id for i in sess.drafts] == ["C00003", "C00003", "C00004", "C00010"]
    first, second, third, held = (i.key for i in sess.drafts)
    body = str(sess.drafts[0].draft.body)

    # An edit that leaves a placeholder fails the guard; approving it is refused.
    shown.append(cb.save(first, "", "", "", body + " {first_name}", sess)["detail_md"])
    assert "审核发现问题" in shown[-1]
    shown.append(cb.approve(first, "", sess)["detail_md"])
    assert "未通过审核" in shown[-1] and sess.drafts[0].status == "pending"
    shown.append(cb.save(first, "", "", "", body, sess)["detail_md"])
    assert "审核通过" in shown[-1]
    shown.append(cb.approve(first, "", sess)["detail_md"])
    assert "已通过。" in shown[-1] and sess.drafts[0].status == "approved"

    # A second message for the same customer, channel and campaign needs a reason.
    shown.append(cb.approve(second, "", sess)["detail_md"])
    assert "已为 C00003 · 短信" in shown[-1] and sess.drafts[1].status == "pending"
    shown.append(cb.approve(second, "客户要求提醒", sess)["detail_md"])
    assert "已作为第二条消息通过：客户要求提醒" in shown[-1]
    shown.append(cb.reject(third, sess)["detail_md"])
    assert "已拒绝。" in shown[-1]
    shown.append(cb.approve(held, "", sess)["detail_md"])

    out = cb.export(sess, "ana")
    shown.append(out["export_md"])
    assert shown[-1].startswith("已导出 2 份") and out["csv_file"].props["visible"] is True
    assert "导出时暂缓" in shown[-1] and "C00010 · 短信" in shown[-1]  # the frequency rules
    shown.append(cb.select(first, sess)["detail_md"])
    assert "导出时间：" in shown[-1]

    again = cb.export(sess, "ana")
    shown.append(again["export_md"])
    assert "没有新的草稿可导出" in shown[-1] and "已导出过" in shown[-1]
    assert again["csv_file"].props["visible"] is False

    for text in shown:
        leftover = _english(text, sess, demo_deps)
        assert not leftover, f"English in the Chinese drafts panel: {leftover}\n{text}"


def test_a_note_written_in_english_is_said_again_after_switching_to_chinese(
    cb: AppCallbacks,
) -> None:
    sess = new_session()
    list(cb.respond("Draft an SMS for C00003", None, sess))
    key = sess.drafts[0].key
    assert "Approved." in cb.approve(key, "", sess)["detail_md"]
    out = cb.language("zh", PanelView(), key, sess)
    assert "已通过。" in out["detail_md"] and "Approved." not in out["detail_md"]
    out = cb.language("en", PanelView(), key, sess)
    assert "Approved." in out["detail_md"]


def test_a_fault_in_a_draft_action_is_told_in_the_interfaces_language(
    cb: AppCallbacks, demo_deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sess = _zh_session()
    list(cb.respond("给 C00003 写一条短信", None, sess))
    key = sess.drafts[0].key

    def broken(draft: Any) -> Any:
        raise RuntimeError("guard store is gone")

    monkeypatch.setattr(cb.runner, "check_draft", broken)
    out = cb.guarded(cb.save)(key, "", "", "", "新的正文", sess)
    text = out["detail_md"]
    assert "出错了" in text and "guard store is gone" not in text
    assert _english(text.replace("RuntimeError", ""), sess, demo_deps) == []
    sess.lang = "en"
    assert "Something went wrong" in cb.guarded(cb.save)(key, "", "", "", "new body", sess)[
        "detail_md"]
