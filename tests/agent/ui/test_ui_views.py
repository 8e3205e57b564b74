"""The chat app's pure views: steps, panels, drafts review and export, start-up refusal."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from agent.loop.runner import AgentResult, RunUpdate, ToolArtifact, ToolCallRecord
from agent.ui import views
from tests.conftest import DEMO_DIR, ROOT
from tools.campaigns.models import CampaignPlan, PlanRow, PlanTotals, WhatIfPoint
from tools.catalog.search import ProductHit, ProductSearchResult
from tools.copy.models import GuardProblem, GuardVerdict
from tools.customers.profiles import CategoryShare, CustomerProfile
from tools.recommend.recommender import Recommendation, RecommendationResult
from tools.shop.schemas import Consent, SegmentFilter

# --------------------------------------------------------------------------- helpers


def _call(**kw: Any) -> ToolCallRecord:
    base: dict[str, Any] = {
        "id": "c1",
        "name": "lookup_customer",
        "args": {"customer_id": "C00042"},
        "ok": True,
    }
    return ToolCallRecord(**{**base, **kw})


def _profile(**kw: Any) -> CustomerProfile:
    base: dict[str, Any] = {
        "customer_id": "C00042",
        "first_name": "Mia",
        "segment": "at_risk",
        "churn_risk": 0.734,
        "expected_value_90d": 41.5,
        "recency_days": 120,
        "frequency": 6,
        "monetary": 812.4,
        "r_score": 2,
        "f_score": 4,
        "m_score": 4,
        "top_categories": [CategoryShare(category="outdoor", share=0.52)],
        "favourite_brands": ["Summitra"],
        "price_band": "premium",
        "price_ratio": 1.31,
        "preferred_channel": "email",
        "preferred_channel_reason": "3 of 4 conversions",
        "consent": {"email": Consent(granted=True), "sms": Consent(granted=False)},
        "last_purchase_at": datetime(2026, 7, 3, tzinfo=UTC),
    }
    return CustomerProfile(**{**base, **kw})


def _result(artifacts: list[tuple[str, Any]], drafts: list[Any] | None = None) -> AgentResult:
    return AgentResult(
        answer="done",
        run_id="r1",
        session_id="s1",
        provider="offline",
        artifacts=[
            ToolArtifact(call_id=f"c{i}", tool=tool, args={}, result=res)
            for i, (tool, res) in enumerate(artifacts)
        ],
        drafts=drafts or [],
    )


def _row(
    segment: str,
    channel: str,
    contacts: int,
    cost: float,
    conv: float,
    revenue: float,
    ci: tuple[float, float],
    reason: str,
) -> PlanRow:
    return PlanRow(
        segment=segment,
        channel=channel,
        offer="no offer",
        contacts=contacts,
        reachable=contacts * 2,
        cost=cost,
        conversion_uplift_pts=1.0,
        conversion_uplift_ci_pts=(0.5, 1.5),
        incremental_conversions=conv,
        incremental_conversions_ci=(conv / 2, conv * 2),
        incremental_revenue=revenue,
        incremental_revenue_ci=ci,
        reason=reason,
    )


def _point(budget: float, revenue: float | None) -> WhatIfPoint:
    return WhatIfPoint(
        budget=budget,
        share_of_budget=budget / 5000,
        contacts=None,
        cost=None,
        expected_return=revenue,
        incremental_revenue=revenue,
        incremental_conversions=None,
    )


def _plan(rows: list[PlanRow] | None = None, message: str = "") -> CampaignPlan:
    rows = (
        [
            _row(
                "at_risk",
                "email",
                3000,
                1500,
                60.2,
                4200,
                (3100, 5300),
                "highest measured uplift per contact",
            ),
            _row(
                "at_risk",
                "sms",
                500,
                2500,
                25,
                3000,
                (1800, 4100),
                "reaches those without e-mail consent",
            ),
            _row("cannot_lose", "email", 2000, 1000, 30, 2500, (1500, 3500), "high value at risk"),
        ]
        if rows is None
        else rows
    )
    return CampaignPlan(
        goal="revenue",
        budget=5000,
        currency="USD",
        as_of=datetime(2026, 10, 31, tzinfo=UTC),
        audience_size=8000,
        eligible=6000,
        rows=rows,
        totals=PlanTotals(
            contacts=sum(r.contacts for r in rows),
            cost=sum(r.cost for r in rows),
            incremental_conversions=sum(r.incremental_conversions for r in rows),
            incremental_conversions_ci=(50, 200),
            incremental_revenue=sum(r.incremental_revenue for r in rows),
            incremental_revenue_ci=(6400, 12900),
            profit=4700,
            roi=0.94 if rows else None,
        ),
        marginal_return=0.42,
        marginal_note="",
        what_if=[
            _point(b, r)
            for b, r in [(2500, 6000), (1000, 3000), (5000, 9700), (10000, 12000), (500, None)]
        ],
        selected=[],
        excluded={"no_consent": 2000},
        assumptions=["uplift measured on 10 past campaigns with control groups"],
        constraints=["at most one message per customer"],
        message=message,
    )


# --------------------------------------------------------------------------- chat steps


def test_a_tool_step_is_pending_while_it_runs_then_finished_in_place() -> None:
    history: list[dict[str, Any]] = [{"role": "user", "content": "Tell me about C00042"}]
    running = views.apply_update(history, RunUpdate(kind="tool_call", call=_call()))
    assert history == [{"role": "user", "content": "Tell me about C00042"}]  # not mutated
    step = running[-1]
    assert step["metadata"]["title"] == "🔧 customer profile"  # the tool's name in words
    zh = views.apply_update(history, RunUpdate(kind="tool_call", call=_call()), views.Words("zh"))
    assert zh[-1]["metadata"]["title"] == "🔧 客户画像" and "**参数**" in zh[-1]["content"]
    assert step["metadata"]["status"] == "pending"
    assert '"customer_id": "C00042"' in step["content"]

    done_call = _call(summary="C00042: at_risk, churn risk 73%", duration_ms=12.5)
    finished = views.apply_update(running, RunUpdate(kind="tool_result", call=done_call))
    assert len(finished) == 2  # replaced, not appended
    meta = finished[-1]["metadata"]
    assert meta["status"] == "done"
    assert meta["duration"] == pytest.approx(0.0125)
    assert "C00042: at_risk, churn risk 73%" in finished[-1]["content"]

    answered = views.apply_update(finished, RunUpdate(kind="result", text="Mia is at risk."))
    assert answered[-1] == {"role": "assistant", "content": "Mia is at risk."}


def test_a_failed_tool_step_shows_the_error_and_other_steps_keep_their_place() -> None:
    history = views.apply_update([], RunUpdate(kind="tool_call", call=_call(id="a")))
    history = views.apply_update(
        history, RunUpdate(kind="tool_call", call=_call(id="b", name="recommend_products"))
    )
    failed = _call(id="a", ok=False, error="unknown customer C99999; did you mean C00099?")
    history = views.apply_update(history, RunUpdate(kind="tool_result", call=failed))
    assert [m["metadata"]["id"] for m in history] == ["a", "b"]
    assert history[0]["metadata"]["title"] == "⚠️ customer profile: failed"
    assert "did you mean C00099?" in history[0]["content"]
    assert history[1]["metadata"]["status"] == "pending"


def test_thinking_is_narrated_between_the_steps() -> None:
    history = views.apply_update([], RunUpdate(kind="thinking", text="Looking up the customer."))
    assert history == [{"role": "assistant", "content": "💭 Looking up the customer."}]
    assert views.apply_update([], RunUpdate(kind="thinking", text="  ")) == []


def test_errors_read_as_sentences_without_a_stack_trace() -> None:
    from tools.errors import ToolInputError

    def boom() -> None:
        raise RuntimeError("Traceback (most recent call last):\n  File x.py, line 3")

    try:
        boom()
    except RuntimeError as exc:
        text = views.friendly_error(exc)
    assert "RuntimeError" in text and "log" in text
    assert "Traceback" not in text and "x.py" not in text
    assert "C00042" in views.friendly_error(ToolInputError("unknown customer C00042"))
    assert "could not be reached" in views.friendly_error(ConnectionRefusedError("refused"))


class APITimeoutError(Exception):
    """Named like the OpenAI client's timeout (the app recognises it by name)."""


class RateLimitError(Exception):
    """Named like the OpenAI client's rate limit."""


@pytest.mark.parametrize(
    ("exc", "en", "zh"),
    [
        ("tool", "I could not do that: unknown customer C00042",
         "无法完成：unknown customer C00042"),
        (ConnectionRefusedError("refused"), "could not be reached", "无法连接语言模型"),
        (APITimeoutError("slow"), "did not answer in time", "未能及时回答"),
        (RateLimitError("429"), "too many requests", "请求过多"),
        (ValueError("budget must be positive"), "could not be processed: budget must be positive",
         "无法处理这个请求：budget must be positive"),
        (PermissionError(13, "Permission denied", "/srv/state/exports/x.csv"),
         "could not be read or written", "无法读取或写入文件"),
        (RuntimeError("boom"), "Something went wrong while answering (RuntimeError)",
         "回答时出错了（RuntimeError）"),
    ],
    ids=["tool", "unreachable", "timeout", "rate-limit", "invalid", "file", "fault"],
)
def test_errors_are_framed_in_the_interfaces_language(exc: Any, en: str, zh: str) -> None:
    from tests.agent.offline.test_answer_words import latin_words
    from tools.errors import ToolInputError

    error = ToolInputError("unknown customer C00042") if exc == "tool" else exc
    english = views.friendly_error(error, views.Words("en"))
    chinese = views.friendly_error(error, views.Words("zh"))
    assert en in english and zh in chinese
    assert english == views.friendly_error(error)  # English without words given
    assert "/srv/state" not in english + chinese  # a file fault names no server path
    # Apart from the tool's own message, the error's kind and setting names: all Chinese.
    allowed = "\n".join([str(error), type(error).__name__, "AGENT_OPENAI_BASE_URL", "API"])
    assert latin_words(chinese, allowed) == [], chinese


# --------------------------------------------------------------------------- panels


def test_profile_card_shows_segment_risk_value_and_consent() -> None:
    card = views.profile_card(_profile())
    assert "Mia" in card and "`C00042`" in card
    assert "| Segment | **At risk** |" in card
    assert "| RFM scores (1–5) | recency 2 · frequency 4 · spend 4 |" in card
    assert "| Churn risk | 73% |" in card
    assert "41.50 USD" in card
    assert "2026-07-03 (120 days ago)" in card
    assert "Outdoor 52%" in card
    assert "Premium (1.31× the category median)" in card
    assert "e-mail ✅ · SMS ❌" in card
    assert "at_risk" not in card and "(R2" not in card
    words = views.Words("zh", {"outdoor": {"en": "outdoor", "zh": "户外"}})
    zh = views.profile_card(_profile(), words)
    assert "| 分群 | **流失风险** |" in zh and "户外 52%" in zh and "邮件 ✅ · 短信 ❌" in zh
    assert "| RFM 评分（1–5） | 近度 2 · 频次 4 · 金额 4 |" in zh
    never = views.profile_card(
        _profile(last_purchase_at=None, recency_days=None, segment="prospects")
    )
    assert "never purchased" in never
    assert "C00042" in views.profile_card(None) or "customer" in views.profile_card(None)


def test_segment_summary_and_sample_table() -> None:
    from tools.customers.profiles import SegmentResult

    seg = SegmentResult(
        count=1234,
        sample=[_profile(), _profile(customer_id="C00043", first_name="Li", segment="lost")],
        customer_ids=["C00042", "C00043"],
        filter=SegmentFilter(segments=["at_risk"], categories=["outdoor"]),
    )
    assert "1,234 customers matched" in views.segment_summary(seg)
    assert "Segment: at risk; Likes: outdoor" in views.segment_summary(seg)
    assert "分群：流失风险；喜欢：outdoor" in views.segment_summary(seg, views.Words("zh"))
    table = views.segment_table(seg)
    assert table["Customer"].tolist() == ["C00042", "C00043"]
    assert table["Segment"].tolist() == ["At risk", "Lost"]
    assert table["Churn risk"].tolist() == ["73%", "73%"]


def test_products_table_lists_recommendations_with_reasons_and_search_hits() -> None:
    recs = RecommendationResult(
        customer_id="C00042",
        items=[
            Recommendation(
                product_id="P00001",
                title="Trail pack",
                title_zh="登山背包",
                category="outdoor",
                price=167.99,
                score=0.91234,
                reason="often bought with Trail boots",
                reason_kind="co_purchase",
            ),
            Recommendation(
                product_id="P00002",
                title="Camp mug",
                category="outdoor",
                price=12.5,
                score=0.5,
                reason="popular in outdoor",
                reason_kind="popular",
            ),
        ],
    )
    search = ProductSearchResult(
        query="tent",
        matching_products=40,
        hits=[
            ProductHit(
                product_id="P00009",
                title="Dome tent",
                category="outdoor",
                price=99,
                stock=3,
                score=0.8,
                matched_fields=["title", "tags"],
            )
        ],
    )
    run = _result([("recommend_products", recs), ("search_products", search)])
    table = views.products_table(run)
    assert table["Product"].tolist() == ["P00001", "P00002", "P00009"]
    assert table["#"].tolist() == [1, 2, 1]
    assert table.loc[0, "Title"] == "Trail pack"  # one title, in the reader's language
    assert table.loc[0, "Why"] == "often bought with Trail boots"
    assert table.loc[0, "Price"] == "167.99 USD"
    assert table["For"].tolist() == ["👤 C00042", "", "🔎 tent"]  # once per group
    zh = views.products_table(run, views.Words("zh"))
    assert zh.loc[0, "名称"] == "登山背包" and zh.loc[0, "理由"] == "常与「Trail boots」一起购买"
    assert zh.loc[2, "理由"] == "匹配：标题、标签"
    assert table.loc[2, "Why"] == "matched title, tags"
    assert views.panel_for(_result([("search_products", search)])) == "products"


def test_plan_table_summary_and_charts() -> None:
    plan = _plan()
    table = views.plan_table(plan)
    assert table["Segment"].tolist() == ["At risk", "At risk", "Can't lose"]
    assert table["Contacts"].tolist() == ["3,000", "500", "2,000"]
    assert table["Cost"].tolist() == ["1,500", "2,500", "1,000"]
    assert table.loc[0, "Revenue 95% interval"] == "3,100 – 5,300"
    cheap = _plan(rows=[_row("lost", "sms", 78, 7.02, 0.04, 5.1, (-139.2, 148), "")])
    assert views.plan_table(cheap).loc[0, "Cost"] == "7.02"  # cents kept on small amounts
    assert views.plan_table(cheap).loc[0, "Revenue 95% interval"] == "-139.20 – 148.00"
    summary = views.plan_summary(plan)
    assert "**Contacts** 5,500" in summary
    assert "**Cost** 5,000.00 USD of 5,000.00 USD" in summary
    assert "**Expected incremental revenue** 9,700.00 USD (95% interval 6,400 – 12,900)" in summary
    assert "**ROI** 0.94×" in summary
    assert "0.420" in summary
    assert "<li>at most one message per customer</li>" in summary
    assert "The whole budget is spent." in summary

    fig = views.plan_chart(plan)
    assert fig is not None
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert set(labels) == {"At risk", "Can't lose", "Budget"}
    # Budget per segment: the stacked bars of each segment add up to its spend, and the
    # budget bar to the whole spend (all of the 5,000 budget here).
    widths: dict[float, float] = {}
    for bar in ax.patches:
        widths[round(bar.get_y(), 3)] = widths.get(round(bar.get_y(), 3), 0) + bar.get_width()
    assert sorted(widths.values()) == [1000, 4000, 5000]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["e-mail", "SMS"]
    assert ax.get_xlim()[1] >= 5000

    assert views.what_if_points(plan) == [(1000, 3000), (2500, 6000), (5000, 9700), (10000, 12000)]
    curve = views.what_if_chart(plan)
    assert curve is not None
    xs = list(curve.axes[0].lines[0].get_xdata())
    assert xs == [1000, 2500, 5000, 10000]
    assert views.panel_for(_result([("optimize_campaign", plan)])) == "plan"


def test_an_empty_plan_has_no_charts_and_says_why() -> None:
    empty = _plan(rows=[], message="no customer left after consent and frequency filters")
    empty.what_if = []
    assert views.plan_chart(empty) is None
    assert views.what_if_chart(empty) is None
    summary = views.plan_summary(empty)
    assert "_This plan contacts nobody, so there is no chart: no customer left after" in summary
    assert views.plan_table(empty).empty


def test_status_line_names_the_model_and_the_data_set() -> None:
    line = views.status_line(
        "offline",
        "Northwind Goods",
        {"customers": 5000, "products": 1500, "purchases": 21000},
        "2026-10-31T23:59:59Z",
    )
    assert "offline model" in line
    assert "Northwind Goods — 5,000 customers · 1,500 products · 21,000 purchases" in line
    assert "as of 2026-10-31" in line


# --------------------------------------------------------------------------- drafts


@pytest.fixture(scope="module")
def demo_shop() -> Any:
    from tools.shop.store import load_shop

    return load_shop(DEMO_DIR)


@pytest.fixture(scope="module")
def draft_and_check(demo_shop: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from agent.settings import Settings
    from tools.copy.drafting import draft_message
    from tools.copy.guard import check_draft_in_shop
    from tools.deps import ToolDeps

    settings = Settings(data_dir=DEMO_DIR, state_dir=tmp_path_factory.mktemp("state"))
    deps = ToolDeps(settings.tool_config(), shop=demo_shop)
    customers = demo_shop.customers
    cid = customers[customers["consent_email"] & (customers["language"] == "en")]["customer_id"]
    draft = draft_message(deps, str(cid.iloc[0]), "email", product_ids=["P00001"])

    def check(d: Any) -> GuardVerdict:
        return check_draft_in_shop(d, demo_shop, settings.link_allowlist)

    return draft, check


def test_edited_draft_is_rechecked_and_only_a_passing_draft_can_be_approved(
    draft_and_check: Any, tmp_path: Path
) -> None:
    draft, check = draft_and_check
    assert draft.guard.passed
    items = views.add_drafts([], [draft])
    item = items[0]
    assert views.editable_fields(draft) == ["subject", "preheader", "body"]

    # A wrong price is caught when the edit is re-checked, and approval is refused.
    price = f"{draft.products[0].price:,.2f}"
    bad_body = draft.body.replace(price, "1.00")
    assert bad_body != draft.body
    bad = views.edit_draft(item, {"body": bad_body}, check)
    assert bad.edited and bad.status == "pending"
    assert not views.guard_passed(bad.draft)
    assert "wrong_price" in [p.code for p in bad.draft.guard.problems]
    assert views.guard_text(bad.draft).startswith(views.FAIL_MARK)
    refused = views.set_status(bad, "approved")
    assert refused.status == "pending" and "fails the guard" in refused.note

    # A harmless edit passes, can be approved and is exported with its verdict.
    new_subject = "We saved something for you"
    good = views.edit_draft(bad, {"subject": new_subject, "body": draft.body}, check)
    assert views.guard_passed(good.draft), good.draft.guard.reasons()
    approved = views.set_status(good, "approved")
    assert approved.status == "approved"
    items = views.replace_item(items, approved)
    table = views.drafts_table(items)
    assert table.loc[0, "Guard"] == views.PASS_MARK
    assert table.loc[0, "Status"] == "👍 approved · edited"
    assert table.loc[0, "Headline"] == new_subject

    when = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    paths = views.write_exports(items, tmp_path / "exports", "approved", now=when)
    assert paths is not None
    csv_path, jsonl_path = paths
    with csv_path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["subject"] for r in rows] == [new_subject]
    assert rows[0]["guard_passed"] == "True" and rows[0]["edited"] == "True"
    assert rows[0]["products"] == "P00001"
    records = [json.loads(line) for line in jsonl_path.read_text(encoding="utf-8").splitlines()]
    assert records[0]["subject"] == new_subject
    assert records[0]["body"] == draft.body
    assert records[0]["guard_passed"] is True and records[0]["guard_problems"] == []
    assert records[0]["exported_at"] == "2026-11-01T09:30:00+00:00"
    assert not list((tmp_path / "exports").glob(".*"))  # no temporary files left behind


def test_only_approved_drafts_are_exported(draft_and_check: Any, tmp_path: Path) -> None:
    draft, _ = draft_and_check
    items = views.add_drafts([], [draft, draft, draft])
    assert len({i.key for i in items}) == 3  # same draft id three times: keys stay unique
    assert views.write_exports(items, tmp_path, "none") is None
    items = views.replace_item(items, views.set_status(items[0], "rejected"))
    items = views.replace_item(items, views.set_status(items[2], "approved"))
    records = views.export_records(items, datetime(2026, 11, 1, tzinfo=UTC))
    assert [r["draft_id"] for r in records] == [items[2].key]
    assert views.drafts_table(items)["Status"].tolist() == [
        "🚫 rejected",
        "⏳ to review",
        "👍 approved",
    ]


def test_editing_a_field_the_channel_lacks_changes_nothing(draft_and_check: Any) -> None:
    draft, check = draft_and_check
    sms = draft.model_copy(update={"channel": "sms", "subject": None, "preheader": None})
    item = views.add_drafts([], [sms])[0]
    assert views.editable_fields(sms) == ["body"]
    same = views.edit_draft(item, {"subject": "ignored", "body": sms.body}, check)
    assert not same.edited and same.note == "No changes to save."


def test_guard_problems_are_listed_in_the_table() -> None:
    class D(BaseModel):
        customer_id: str = "C00001"
        channel: str = "sms"
        language: str = "en"
        body: str = "Hi {first_name}"
        guard: GuardVerdict = GuardVerdict(
            passed=False, problems=[GuardProblem(code="placeholder", message="contains {braces}")]
        )

    table = views.drafts_table(views.add_drafts([], [D()]))
    assert table.loc[0, "Guard"] == "❌ failed: contains {braces}"
    assert views.panel_for(_result([], drafts=[D()])) == "drafts"


# --------------------------------------------------------------------------- start-up


@pytest.fixture
def app_module(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """``app.py`` imported with a clean environment (no AGENT_* variables, no .env)."""
    for key in list(os.environ):
        if key.startswith("AGENT_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(ROOT))
    import app

    return app


def test_binding_beyond_loopback_needs_a_login(app_module: Any) -> None:
    app = app_module
    from agent.settings import Settings

    assert app.bind_refusal(Settings(ui_host="127.0.0.1")) is None
    assert app.bind_refusal(Settings(ui_host="localhost")) is None
    assert app.bind_refusal(Settings(ui_host="::1")) is None
    assert "AGENT_UI_USERS" in (app.bind_refusal(Settings(ui_host="0.0.0.0")) or "")
    assert app.bind_refusal(Settings(ui_host="0.0.0.0", ui_users={"ana": "pw"})) is None


def test_users_in_settings_turn_on_the_login(app_module: Any, tmp_path: Path) -> None:
    app = app_module
    from agent.settings import Settings

    open_app = app.launch_options(Settings(state_dir=tmp_path))
    assert open_app["auth"] is None
    assert open_app["server_name"] == "127.0.0.1" and open_app["server_port"] == 7860
    from agent.ui.auth import hash_password

    users = {"ana": hash_password("correct-Horse-42")}
    locked = app.launch_options(
        Settings(state_dir=tmp_path, ui_host="0.0.0.0", ui_port=8080, ui_users=users)
    )
    assert locked["auth"]("ana", "correct-Horse-42") and not locked["auth"]("ana", "s3cret")
    assert (locked["server_name"], locked["server_port"]) == ("0.0.0.0", 8080)
    assert locked["allowed_paths"] == [str(tmp_path / "exports")]


def test_the_app_refuses_to_start_on_all_interfaces_without_a_login(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_")}
    env.update({"AGENT_UI_HOST": "0.0.0.0", "AGENT_STATE_DIR": str(tmp_path)})
    proc = subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "refusing to serve on '0.0.0.0' without a login" in proc.stderr
    assert "Traceback" not in proc.stderr
