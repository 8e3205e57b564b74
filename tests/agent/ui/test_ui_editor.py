"""The draft editor's callbacks: the offer picker, the drafts panel in words, the SMS meter.

Drives the Gradio-free callbacks of ``agent.ui.callbacks`` with a real ``AgentRunner`` on the
demo shop (offline model), as ``app.py`` wires them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from agent.loop.runner import AgentRunner
from agent.loop.trace import load_run
from agent.offline.labels import Words, label_tables
from agent.settings import Settings
from agent.ui.callbacks import AppCallbacks, Update, new_session
from agent.ui.draft_text import offer_text
from agent.ui.history import PanelView
from agent.ui.warmup import Warmup
from tests.conftest import DEMO_DIR


@pytest.fixture
def cb(tmp_path: Path, demo_deps: Any) -> AppCallbacks:
    settings = Settings(_env_file=None, data_dir=DEMO_DIR, state_dir=tmp_path)
    warmup = Warmup(demo_deps)
    warmup.done.set()
    return AppCallbacks(settings, AgentRunner(settings, deps=demo_deps), warmup)


def _codes() -> set[str]:
    """Every code the word mapping has a word for (channels, languages, segments...)."""
    tables = label_tables()["en"]
    return {code for kind in ("channel", "language", "segment", "goal", "problem")
            for code in tables[kind]} | {"pending", "approved", "rejected"}


def _cells(table: Any) -> list[str]:
    return [str(v) for v in table.to_numpy().ravel()]


def test_picking_an_offer_rewrites_the_draft_and_the_guard_accepts_exactly_it(
    cb: AppCallbacks,
) -> None:
    sess = new_session()
    list(cb.respond("Draft an e-mail for C00005 featuring P00049", None, sess))
    item = sess.drafts[0]
    out = cb.draft_view(sess, item.key)
    picker = out["offer_dd"].props
    keys = [key for _, key in picker["choices"]]
    assert picker["value"] == "none" and picker["visible"]
    assert keys[0] == "none" and keys[-1] == "free-shipping"
    assert [label for label, _ in picker["choices"]][1:4] == ["10% off", "15% off", "20% off"]

    out = cb.attach_offer(item.key, "discount:15", "spring15", sess)
    draft = sess.drafts[0].draft
    assert draft.offer.discount_pct == 15 and draft.offer.code == "SPRING15"
    assert "15% off" in draft.body and "SPRING15" in draft.body
    assert out["offer_dd"].props["value"] == "discount:15"
    assert out["offer_code"].props["value"] == "SPRING15"
    assert "Offer attached: 15% off · code SPRING15" in out["detail_md"]
    assert draft.guard.passed, draft.guard.reasons()
    assert sess.drafts[0].key == item.key and sess.drafts[0].edited
    cb.approve(item.key, "", sess)
    assert sess.drafts[0].status == "approved"

    # Another discount typed into the text is refused with its reason; approval too.
    body = draft.body.replace("15% off", "25% off", 1)
    out = cb.save(item.key, str(draft.subject), str(draft.preheader), "", body, sess)
    assert "mentions '25%' but the offer is 15% off" in out["detail_md"]
    cb.approve(item.key, "", sess)
    assert sess.drafts[0].status == "pending"

    # A malformed code is named, and the draft keeps its offer.
    out = cb.guarded(cb.attach_offer)(item.key, "discount:20", "20% OFF", sess)
    assert "offer code '20% OFF'" in out["detail_md"]
    assert sess.drafts[0].draft.offer.discount_pct == 15

    reviews = [e.data for e in load_run(cb.settings.trace_dir, item.run_id).events
               if e.kind == "review"]
    assert reviews[0] == {"action": "offer", "draft_id": item.key, "offer": "discount:15",
                          "code": "SPRING15", "guard_passed": True, "problems": []}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_drafts_table_shows_words_and_names_beside_ids(cb: AppCallbacks, lang: str) -> None:
    sess = new_session()
    view = PanelView(lang=lang)
    list(cb.respond("Draft an SMS for C00002 featuring P00049", None, sess, view))
    list(cb.respond("Draft an e-mail for C00003", None, sess, view))
    table = cb.draft_view(sess, sess.drafts[0].key)["drafts_df"]
    words = label_tables()[lang]
    assert list(table.columns)[:4] == [words["ui"][k] for k in (
        "col_draft_n", "col_draft_customer", "col_draft_channel", "col_draft_products")]
    customers, channels, products = (table.iloc[:, i].tolist() for i in (1, 2, 3))
    assert customers == ["雪 (C00002)", "Samuel (C00003)"]
    assert channels == [f"{words['channel']['sms']} · {words['language']['zh']}",
                        f"{words['channel']['email']} · {words['language']['en']}"]
    title_zh = sess.drafts[0].draft.products[0].title
    assert products[0] == f"{title_zh} (P00049)"
    codes = _codes()
    for cell in _cells(table.iloc[:, [2, 6, 7]]):  # channel, guard, status: words only
        assert not set(re.split(r"[\s·:：;；,()]+", cell)) & codes, cell
    if lang == "zh":
        assert all(re.search(r"[\u4e00-\u9fff]", c) for c in _cells(table.iloc[:, [2, 6, 7]]))


def test_switching_the_language_redraws_the_drafts_panel_and_keeps_the_labels(
    cb: AppCallbacks,
) -> None:
    sess = new_session()
    view = PanelView()
    list(cb.respond("Draft an SMS for C00003", None, sess, view))
    key = sess.drafts[0].key
    out = cb.language("zh", view, key, sess)
    assert sess.lang == "zh" and sess.editing == key  # the meter counts the draft in view
    table = out["drafts_df"]
    assert isinstance(table, Update) and table.props["label"] == "本次会话的草稿"
    assert table.props["value"].iloc[0, 2] == "短信 · 英文"
    assert out["picker"].props["label"] == "审核草稿" and out["picker"].props["value"] == key
    assert out["offer_dd"].props["label"] == "草稿中的优惠"
    assert out["reason_tb"].props["label"].startswith("通过第二条消息的理由")
    assert out["offer_dd"].props["choices"][0][0].startswith("无优惠")
    # The meter speaks the marketer's language, whatever the customer's (here English).
    assert cb.sms_meter("Hi", key, sess).startswith("📏 **短信：** 2 个字符 · 1 条 · GSM-7")
    assert out["sms_md"].startswith("📏 **短信：**")


@pytest.mark.parametrize(("offer", "en", "zh"), [
    ({"name": "15% off", "discount_pct": 15, "code": "SPRING15"}, "15% off · code SPRING15",
     "15% 折扣 · 优惠码 SPRING15"),
    ({"name": "Spring sale", "discount_pct": 10}, "Spring sale · 10% off", None),
    ({"name": "code SPRING15", "code": "SPRING15"}, "code SPRING15", None),
])
def test_an_offer_is_said_once_with_its_discount_and_code(
    offer: dict[str, Any], en: str, zh: str | None
) -> None:
    assert offer_text(offer, Words("en")) == en
    if zh is not None:
        assert offer_text(offer, Words("zh")) == zh
