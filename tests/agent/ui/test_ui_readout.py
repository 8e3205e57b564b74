"""The plan panel's holdout, export and read-out views (pure functions, no Gradio)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from agent.offline.labels import Words
from agent.ui import readout, views
from agent.ui.warmup import Warmup
from tests.agent.offline.test_answer_words import latin_words

#: What a Chinese screen may show in Latin letters: the results file's column names and
#: values (the marketer types them), ids, units and currency codes.
FILE_WORDS = "customer_id\nconverted\nrevenue\nsent_at\nCSV\nParquet\ngroup\ntreatment\nRFM"

PLAN: dict[str, Any] = {
    "plan_id": "P0123456789", "currency": "USD", "seed": 4, "holdout_share": 0.1,
    "holdout": [{"customer_id": f"C{i:05d}"} for i in range(55)], "mde_pts": 2.9,
    "budget_left": 2947.12,
    "binding": [
        {"kind": "audience", "count": 534, "detail": "every one of the 534 eligible customers "
                                                      "with a positive expected lift is in"},
        {"kind": "consent", "count": 75, "detail": "75 of the audience have no consent"},
    ],
    "rows": [
        {"segment": "at_risk", "channel": "email", "offer": "20% off", "contacts": 246,
         "holdout": 28, "conversion_uplift_pts": 7.6, "mde_pts": 13.5, "learnable": True},
        {"segment": "new", "channel": "sms", "offer": "no offer", "contacts": 1,
         "holdout": 1, "conversion_uplift_pts": 3.2, "mde_pts": None, "learnable": False},
    ],
}
READOUT: dict[str, Any] = {
    "plan_id": "P0123456789", "currency": "USD", "joined": True, "campaign_ids": ["K021"],
    "exposures_added": 276, "notes": ["3 of the plan's 276 customers are not in the file"],
    "missing_from_file": 3, "customers_in_plan": 276,
    "totals": {"treated": 247, "holdout": 29, "incremental_revenue": 2411.5,
               "incremental_revenue_ci": (-120.0, 4943.0), "predicted_incremental_revenue":
               2062.9, "predicted_incremental_revenue_ci": (900.0, 3200.0),
               "outcome": "unclear", "within_prediction": True,
               "verdict": "the campaign's incremental revenue cannot be told from zero"},
    "cells": [
        {"segment": "at_risk", "channel": "email", "offer": "20% off", "treated": 246,
         "holdout": 28, "lift_pts": 9.4, "lift_ci_pts": (1.2, 15.1), "predicted_lift_pts": 7.6,
         "lift_is_real": True, "differs_from_prediction": False, "incremental_revenue": 2400.0},
        {"segment": "new", "channel": "sms", "offer": "no offer", "treated": 1, "holdout": 1,
         "lift_pts": 0.0, "lift_ci_pts": (-79.3, 79.3), "predicted_lift_pts": 3.2,
         "lift_is_real": False, "differs_from_prediction": False, "incremental_revenue": 11.5},
    ],
}


def test_holdout_summary_names_plan_holdout_power_small_cells_and_what_binds() -> None:
    text = readout.holdout_summary(PLAN)
    assert "`P0123456789`" in text
    assert "55 customers (10% of every cell, seed 4)" in text
    assert "2.9 pts for the whole plan" in text
    assert "1 of 2 cells are too small to learn anything from: New × SMS × no offer" in text
    assert "2,947.12 USD left unspent" in text and "534 eligible customers" in text
    assert readout.holdout_summary(None) == readout.NO_PLAN
    spent = {**PLAN, "budget_left": 0.0}
    assert "left unspent" not in readout.holdout_summary(spent)
    zh = readout.holdout_summary(PLAN, Words("zh"))
    assert "新客户 × 短信 × 无优惠" in zh and "预算还剩 2,947.12 USD 未花完" in zh
    assert "所有预计有正向提升的可触达客户都已在计划中" in zh


def test_power_table_lists_each_cell_with_its_detectable_lift() -> None:
    table = readout.power_table(PLAN)
    assert list(table.columns) == readout.POWER_COLUMNS
    assert table["Detectable lift (pts)"].tolist() == ["13.5", "-"]
    assert table["Learnable"].tolist() == ["yes", "too small"]
    assert readout.power_table(PLAN, Words("zh"))["能否学到"].tolist() == ["能", "样本太小"]
    assert readout.power_table(None).empty


def test_readout_views_show_lift_interval_prediction_and_the_join() -> None:
    text = readout.readout_summary(READOUT)
    assert "Read-out of plan `P0123456789`" in text
    assert "2,411.50 USD" in text and "Predicted" in text
    assert "cannot be told from zero" in text
    assert "Joined the shop as K021 (276 exposures)" in text
    assert "not in the file" in text
    table = readout.readout_table(READOUT)
    assert list(table.columns) == readout.READOUT_COLUMNS
    assert table.loc[0, "95% interval"] == "+1.2 to +15.1"
    assert table["Real?"].tolist() == ["yes", "not yet"]
    fig = readout.readout_chart(READOUT)
    assert fig is not None
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "At risk · e-mail · 20% off", "New · SMS · no offer"]
    assert readout.readout_chart(None) is None
    assert readout.readout_table(None).empty
    assert readout.readout_summary(None) == readout.NO_READOUT


def test_export_note_and_safe_upload_names() -> None:
    note = readout.export_note({"plan_id": "P1", "treatment": 4100, "holdout": 460, "seed": 0})
    assert "4,100 to message, 460 held out (seed 0)" in note
    assert readout.upload_name("P0123456789", "../../etc/results (1).csv") == (
        "P0123456789-results_1_.csv")
    assert readout.upload_name("P1", "...") == "P1-results"


def _chart_text(fig: Any) -> str:
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.get_yticklabels()] + [ax.get_xlabel()]
    texts += [t.get_text() for t in ax.get_legend().get_texts()]
    return "\n".join(texts)


def test_the_readout_reads_all_in_chinese() -> None:
    zh = Words("zh")
    table = readout.readout_table(READOUT, zh)
    screens = [
        readout.readout_summary(READOUT, zh), readout.readout_summary(None, zh),
        table.to_csv(index=False), _chart_text(readout.readout_chart(READOUT, zh)),
        readout.holdout_summary(PLAN, zh), readout.power_table(PLAN, zh).to_csv(index=False),
        readout.export_note({"plan_id": "P1", "treatment": 4100, "holdout": 460, "seed": 0}, zh),
    ]
    for text in screens:  # as rendered: HTML tags are not words on the screen
        assert not latin_words(re.sub(r"<[^>]+>", " ", text), FILE_WORDS), text
    summary = screens[0]
    assert "本次活动的增量收入与零无法区分" in summary and "K021" in summary
    assert "有 1 个单元单独看无法与零提升区分" in summary and "有 3 位不在文件中" in summary
    assert table["是否真实？"].tolist() == ["是", "尚不能确定"]
    assert table.loc[0, "95% 区间"] == "+1.2 至 +15.1"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_verdict_says_the_read_outs_outcome_in_words(lang: str) -> None:
    w = Words(lang)
    text = readout.readout_summary(READOUT, w)
    assert w.say("readout", "total_unclear") in text and w.say("readout", "inside") in text
    real = {**READOUT, "totals": {**READOUT["totals"], "outcome": "real",
                                  "within_prediction": False}}
    text = readout.readout_summary(real, w)
    assert w.say("readout", "total_real") in text and w.say("readout", "outside") in text


class _Store:
    def __init__(self, name: str, percent: int | None) -> None:
        self.name, self.percent, self.state = name, percent, "building"


class _Deps:
    def readiness(self) -> list[_Store]:
        return [_Store("products", 42), _Store("recommender", None)]


def test_the_status_line_and_warmup_notes_read_all_in_chinese() -> None:
    line = views.status_line("offline", "Northwind Goods",
                             {"customers": 5000, "products": 1500, "purchases": 21000},
                             "2026-10-31T23:59:59Z", Words("zh"))
    assert "5,000 位客户" in line and "截至 2026-10-31" in line
    assert not latin_words(line, "Northwind Goods"), line
    warmup = Warmup(_Deps())
    warmup.failed = ["uplift"]
    notes = [warmup.note(kind, "zh") for kind in ("status", "answer", "pending")]
    notes.append(warmup.failed_note("zh"))
    assert notes[0] == "⏳ 仍在准备：商品索引 (42%)、推荐模型。其余请求可立即回答。"
    assert notes[3] == "⚠️ 尚未就绪：活动增益模型（见服务器日志）"
    for note in notes:
        assert not latin_words(note, ""), note
    english = warmup.note("status", "en")
    assert english == ("⏳ Still preparing: the product index (42%), recommendations. "
                       "Everything else answers now.")
