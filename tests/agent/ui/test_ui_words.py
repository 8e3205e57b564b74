"""The app's words and panels without a browser: languages, panels that follow the talk, plans.

Built on the typed results of ``test_ui_views`` (profiles, segments, products, plans); the
browser tests (``test_browser_words.py``) check the same in chromium.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from agent.offline.labels import Words, browser_language
from agent.ui import history, language, views
from agent.ui.callbacks import Update, update
from tests.agent.ui.test_ui_views import _plan, _profile, _result, _row
from tools.campaigns.models import BindingConstraint
from tools.catalog.search import ProductHit, ProductSearchResult
from tools.customers.profiles import SegmentResult
from tools.shop.schemas import SegmentFilter

CATEGORIES = {"outdoor": {"en": "outdoor gear", "zh": "户外装备"}}


def _segment(n: int = 45) -> SegmentResult:
    ids = [f"C{i:05d}" for i in range(1, n + 1)]
    return SegmentResult(
        count=n,
        sample=[_profile(customer_id=c, first_name=f"名{i}") for i, c in enumerate(ids[:10])],
        customer_ids=ids,
        filter=SegmentFilter(segments=["at_risk"], categories=["outdoor"]),
    )


def _lookup(customer_id: str) -> Any:
    return _profile(customer_id=customer_id, first_name="Zoe", segment="lost")


def _search() -> ProductSearchResult:
    hit = ProductHit(product_id="P00009", title="Dome tent", title_zh="圆顶帐篷",
                     category="outdoor", price=99, stock=3, score=0.8, matched_fields=["title"])
    return ProductSearchResult(query="tent", matching_products=1, hits=[hit])


def _values(out: dict[str, Any], name: str) -> dict[str, Any]:
    value = out[name]
    return value.props if isinstance(value, Update) else {"value": value}


def test_the_latest_result_opens_its_tab_and_older_ones_stay_reachable() -> None:
    view = history.PanelView(categories=CATEGORIES)
    calls = history.HistoryCallbacks(_lookup, Path("unused"), update)

    out = calls.after_run(view, _result([("lookup_customer", _profile())]))
    assert out["tabs"].props["selected"] == "customers"
    assert _values(out, "profile_md")["visible"] and "Mia" in _values(out, "profile_md")["value"]

    out = calls.after_run(view, _result([("find_customers", _segment())]))
    assert out["tabs"].props["selected"] == "customers"
    assert _values(out, "profile_md")["visible"] is False  # no segment under an old profile
    assert _values(out, "segment_df")["visible"] and "Page 1 of 3" in out["segment_page_md"]
    options = _values(out, "customers_history")["choices"]
    assert [label.split(" · ")[0] for label, _ in options] == ["#2", "#1"]  # latest first

    out = calls.after_run(view, _result([("search_products", _search())]))
    assert out["tabs"].props["selected"] == "products"

    out = calls.after_run(view, _result([]))  # "why these products?": no new result
    assert out["tabs"].props["selected"] == "products"  # the tab of what it explains

    out = calls.after_run(view, _result([("optimize_campaign", _plan())]))
    assert out["tabs"].props["selected"] == "plan"

    picked = calls.pick("customers", options[-1][1], view)  # back to the first profile
    assert _values(picked, "profile_md")["visible"] and "Mia" in _values(picked, "profile_md")[
        "value"]
    assert _values(picked, "segment_df")["visible"] is False


def test_a_segment_opens_in_full_page_by_page_and_exports_every_customer(tmp_path: Path) -> None:
    view = history.PanelView(lang="zh", categories=CATEGORIES)
    calls = history.HistoryCallbacks(_lookup, tmp_path, update)
    calls.after_run(view, _result([("find_customers", _segment(45))]))
    page = calls.turn_page(1, view)
    table = _values(page, "segment_df")["value"]
    assert "第 2 / 3 页" in page["segment_page_md"]
    assert table["客户"].tolist() == [f"C{i:05d}" for i in range(21, 41)]  # looked up
    assert table["分群"].tolist()[0] == "已流失"
    last = calls.turn_page(5, view)  # past the end: the last page
    assert len(_values(last, "segment_df")["value"]) == 5

    out = calls.export_segment(view, "20261031T000000Z")
    path = Path(_values(out, "segment_file")["value"])
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a BOM, so Excel reads the Chinese names
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0][:3] == ["客户", "名字", "分群"]
    assert len(rows) == 46 and len({r[0] for r in rows[1:]}) == 45  # everyone, once
    assert "45" in out["segment_note"]
    assert not list(tmp_path.glob("*.part"))


def test_the_language_switch_relabels_the_interface_and_redraws_the_panels() -> None:
    view = history.PanelView(categories=CATEGORIES)
    calls = history.HistoryCallbacks(_lookup, Path("unused"), update, "Northwind")
    calls.after_run(view, _result([("optimize_campaign", _plan())]))
    out = calls.language("zh", view)
    assert out["send"].props["value"] == "发送"
    assert out["tab_plan"].props["label"] == "📈 营销计划"
    assert out["header"] == "# 🛍️ 营销助手 · Northwind"
    assert out["examples"].props["samples"][0] == ["介绍一下客户 C00042"]
    assert "营销计划" in out["plan_md"] and "Campaign plan" not in out["plan_md"]
    assert out["readout_md"].startswith("_上传活动结果")  # the read-out's empty state too
    plan_id = _plan().plan_id
    view.readout = {"plan_id": plan_id, "currency": "USD", "cells": [], "totals": {
        "treated": 10, "holdout": 2, "incremental_revenue": 5.0,
        "incremental_revenue_ci": (-1.0, 9.0), "predicted_incremental_revenue_ci": (0.0, 9.0)}}
    out = calls.language("en", view)
    assert "Read-out of plan" in out["readout_md"] and "cannot be told from zero" in out[
        "readout_md"]
    out = calls.language("zh", view)
    assert "计划复盘" in out["readout_md"] and "与零无法区分" in out["readout_md"]
    en = language.relabel(Words("en"), update)
    assert set(en) >= set(language.STATIC_TEXT) - {"status"}
    assert en["send"].props["value"] == "Send"


@pytest.mark.parametrize(
    ("header", "lang"),
    [("zh-CN,zh;q=0.9,en;q=0.8", "zh"), ("en-US,en;q=0.9", "en"), ("fr-FR,zh-TW;q=0.5", "zh"),
     ("de-DE", "en"), ("", "en"), ("en;q=0.2,zh;q=0.8", "zh"), ("zh;q=0", "en")],
)  # fmt: skip
def test_the_browsers_language_is_the_default(header: str, lang: str) -> None:
    assert browser_language(header) == lang


def test_the_plan_chart_has_the_budget_on_its_scale_with_the_unspent_part() -> None:
    plan = _plan(rows=[_row("at_risk", "sms", 78, 3.15, 0.04, 5.1, (-1, 9), "")])
    plan = plan.model_copy(update={
        "budget": 5.0, "budget_left": 1.85,
        "binding": [BindingConstraint(kind="audience", count=78, detail="all 78 reachable")],
    })  # fmt: skip
    fig = views.plan_chart(plan)
    assert fig is not None
    ax = fig.axes[0]
    assert ax.get_xlim()[1] > 5.0  # the whole budget is on the scale, not just the 3.15 spent
    widths = sorted(round(b.get_width(), 2) for b in ax.patches)
    assert 1.85 in widths  # the unspent part
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["SMS", "Unspent"]
    summary = views.plan_summary(plan)
    assert "1.85 USD of the budget is not spent: every eligible customer" in summary
    zh = views.plan_summary(plan, Words("zh"))
    assert "预算中有 1.85 USD 未花完：所有预计有正向提升的可触达客户都已在计划中" in zh
    zh_fig = views.plan_chart(plan, Words("zh"))
    assert zh_fig is not None
    assert [t.get_text() for t in zh_fig.axes[0].get_legend().get_texts()] == ["短信", "未花完"]


def test_empty_panels_say_a_sentence_and_show_no_frame() -> None:
    view = history.PanelView()
    out = history.render(view, update)
    assert out["plan_plot"].props == {"value": None, "visible": False}
    assert out["whatif_plot"].props["visible"] is False
    assert out["plan_md"].startswith("_Ask for a campaign plan")
    assert out["products_df"].props["visible"] is False
    assert out["products_note"].startswith("_Ask for recommendations")
    zh = history.render(history.PanelView(lang="zh"), update)
    assert zh["products_note"].startswith("_请求推荐")
