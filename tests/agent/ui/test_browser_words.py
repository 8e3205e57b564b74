"""The marketer's words, panels that follow the talk, plans at a glance and axe-core, in chromium.

One page load per language (the browser's locale picks it: ``en-US`` or ``zh-CN``) walks a
marketer's requests at 1440x900: a profile, a segment (paged, exported), "why", a search with a
price, a plan, drafts. After each it checks that the tab of the latest result opened on that
result, that no code (``at_risk``, ``email``...) reached the screen, and runs axe-core
(``axe-playwright-python``, which ships axe's JS: nothing is downloaded) on the view: no serious
or critical violation. The English walk ends by switching the interface to Chinese.
Screenshots go to ``.state/screenshots/`` (git-ignored), named ``words-<locale>-<step>.png``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.agent.ui.test_app_browser import (  # noqa: F401 (fixtures)
    SCREENSHOTS,
    STARTUP_S,
    RunningApp,
    _ask,
    app,
    browser,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(420)]

CODE = re.compile(r"\b(?:[a-z]+_[a-z_]+|email|sms)\b")
SERIOUS = {"serious", "critical"}

WORDS = {
    "en-US": {
        "title": "Marketing assistant", "tab_plan": "Campaign plan", "segment": "At risk",
        "page2": "Page 2 of", "plan_of": "of 5,000.00 USD", "unspent": "is not spent",
        "status": "Model:", "readout": "Upload the campaign's results",
        "requests": [
            "Tell me about C00042",
            "How many at-risk customers like outdoor gear?",
            "Why these customers?",
            "Find waterproof hiking backpacks under $150",
            "Plan a $5,000 campaign over email and SMS for at-risk customers",
            "Draft an SMS for the top 3 at-risk customers",
        ],
    },
    "zh-CN": {
        "title": "营销助手", "tab_plan": "营销计划", "segment": "流失风险",
        "page2": "第 2 /", "plan_of": "/ 预算 5,000.00 USD", "unspent": "未花完",
        "status": "模型：", "readout": "上传活动结果",
        "requests": [
            "介绍一下客户 C00042",
            "有多少喜欢户外用品的流失风险客户？",
            "为什么是这些客户？",
            "搜索 150 元以下的防水登山背包",
            "用 5000 美元预算，通过邮件和短信为流失风险客户做营销计划",
            "为前3位流失风险客户起草短信",
        ],
    },
}  # fmt: skip


def _axe(page: Any, where: str) -> None:
    """axe-core over the whole page: no serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    # Outputs still being updated are dimmed while they wait; check the settled page.
    page.wait_for_function("() => !document.querySelector('.pending')", timeout=15_000)
    page.wait_for_timeout(500)
    found = Axe().run(page).response["violations"]
    bad = [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]}"
        for v in found
        if v["impact"] in SERIOUS
    ]
    assert not bad, f"axe on {where}: {bad}"


def _selected_tab(page: Any) -> str:
    return str(page.locator("button[role='tab'][aria-selected='true']").inner_text()).strip()


def _last_answer(page: Any) -> str:
    """The last answer's text without its tool steps (their arguments are the trace's JSON)."""
    return str(page.evaluate(
        "() => { const rows = document.querySelectorAll('#chat .message-row');"
        " const row = rows[rows.length - 1].cloneNode(true);"
        " row.querySelectorAll('.thought-group').forEach(e => e.remove());"
        " return row.textContent; }"
    ))


def _no_codes(text: str, where: str) -> None:
    text = re.sub(r'\("[^"]*"\)|（“[^”]*”）', " ", text)  # the marketer's own words, quoted
    shown = CODE.findall(text)
    assert not shown, f"codes on screen after {where}: {shown}\n{text[:1500]}"


def _shot(page: Any, locale: str, step: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"words-{locale}-{step}.png"))


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_a_marketers_walk_in_their_language(
    browser: Any,  # noqa: F811 (the imported fixture)
    app: RunningApp,  # noqa: F811 (the imported fixture)
    locale: str,
) -> None:
    words = WORDS[locale]
    asks: list[str] = list(words["requests"])  # type: ignore[arg-type]
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(app.url, wait_until="load")
        page.wait_for_selector("#request textarea")
        # The status line speaks the interface's language too.
        page.wait_for_selector(f"#status-line:has-text('{words['status']}')",
                               timeout=STARTUP_S * 1000)
        # The browser's language is the interface's, from the first paint of the panels.
        page.wait_for_selector(f"#app-header:has-text('{words['title']}')")
        lang = "zh" if locale.startswith("zh") else "en"
        assert page.locator(f"#lang-switch input[value='{lang}']").is_checked()
        # Empty states are sentences, not empty chart frames.
        page.locator("button[role='tab']", has_text=str(words["tab_plan"])).click()
        assert page.locator("#plan-summary").inner_text().strip()
        assert str(words["readout"]) in page.locator("#readout-summary").inner_text()
        assert not page.locator("#plan-chart").is_visible()
        _axe(page, "the empty plan tab")

        _ask(page, asks[0])  # a profile
        assert "👤" in _selected_tab(page)
        card = page.locator("#profile-card").inner_text()
        assert str(words["segment"]) in card
        _no_codes(card + _last_answer(page), asks[0])
        _axe(page, "a profile")

        _ask(page, asks[1])  # a segment: shown in full, paged, exported; no old profile above
        assert "👤" in _selected_tab(page)
        page.locator("#profile-card").wait_for(state="hidden", timeout=5_000)
        page.locator("#segment-table").wait_for(state="visible", timeout=5_000)
        first = page.locator("#segment-table [data-col='0']").first.inner_text()
        page.click("#segment-next")
        page.wait_for_selector(f"#segment-page:has-text('{words['page2']}')")
        assert page.locator("#segment-table [data-col='0']").first.inner_text() != first
        page.click("#segment-export")
        link = page.locator("#segment-file a").first
        link.wait_for()
        raw = page.request.get(str(link.get_attribute("href"))).body()
        assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\n") > 20
        _no_codes(page.locator("#panels").inner_text() + _last_answer(page), asks[1])
        _shot(page, locale, "segment")

        _ask(page, asks[2])  # "why": the segment it explains stays in view
        assert "👤" in _selected_tab(page)
        assert page.locator("#segment-table").is_visible()
        assert not page.locator("#profile-card").is_visible()
        assert page.locator("#customers-history").is_visible()  # the profile is one pick away
        _no_codes(_last_answer(page), asks[2])

        _ask(page, asks[3])  # a search with a price: the product table at 1440x900
        assert "🛒" in _selected_tab(page)
        rows = page.locator("#products-table .virtual-row")
        visible = [r for r in rows.all() if r.is_visible() and r.bounding_box()["y"] < 900]
        assert len(visible) > 3
        ids = page.locator("#products-table [data-col='2'] span").all()
        heights = {round(i.bounding_box()["height"]) for i in ids if i.is_visible()}
        assert heights and max(heights) < 30, f"wrapped product ids: {heights}"
        _no_codes(page.locator("#products-table").inner_text() + _last_answer(page), asks[3])
        _axe(page, "products")
        _shot(page, locale, "products")

        _ask(page, asks[4])  # a plan: the budget on the chart's scale, the unspent part said
        assert "📈" in _selected_tab(page)
        summary = page.locator("#plan-summary").inner_text()
        assert str(words["plan_of"]) in summary and str(words["unspent"]) in summary
        page.locator("#plan-chart img").first.wait_for(state="visible")
        _no_codes(summary + page.locator("#plan-table").inner_text() + _last_answer(page),
                  asks[4])  # fmt: skip
        _axe(page, "the plan")
        _shot(page, locale, "plan")

        _ask(page, asks[5])  # drafts for a group
        assert "✉️" in _selected_tab(page)
        _axe(page, "the drafts")
        _shot(page, locale, "drafts")

        if lang == "en":  # the switch turns the whole interface, panels included, to Chinese
            page.locator("#lang-switch label", has_text="中文").click()
            page.wait_for_selector("#app-header:has-text('营销助手')")
            page.locator("button[role='tab']", has_text="营销计划").click()
            page.wait_for_selector("#plan-summary:has-text('预算')")
            assert page.locator("#send").inner_text().strip() == "发送"
            _axe(page, "the plan in Chinese")
            _shot(page, locale, "switched-to-zh")
    finally:
        context.close()
