"""The draft editor in chromium, in English and Chinese: SMS meter, offer picker, drafts table.

One page load per language (the browser's locale picks it) at 1440x900:

- the SMS meter follows every key typed one by one (crossing 160 GSM-7 characters into two
  parts), a burst of keys, a Chinese character (UCS-2), Backspace and a paste;
- the offer picker attaches an offer the shop knows (a campaign discount) and a code: the draft
  is written again with them, approval works, and another discount typed into the text is
  refused by the guard with its reason in words;
- the drafts table shows channels and languages as words and names beside ids, and no code of
  the word mapping;
- axe-core finds no serious or critical violation on the editor with its picker.

Screenshots are kept under the test's state directory (``<state>/screenshots/``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from agent.offline.labels import label_tables
from tests.agent.ui.test_app_browser import (  # noqa: F401 (fixtures)
    RunningApp,
    _ask,
    app,
    browser,
)
from tests.agent.ui.test_browser_words import _axe

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(420)]

SMS_REQUEST = {"en-US": "Draft an SMS for C00003 featuring P00049",
               "zh-CN": "为 C00003 起草短信，推荐 P00049"}
EMAIL_REQUEST = {"en-US": "Draft an email for C00002", "zh-CN": "为 C00002 起草邮件"}
#: What the meter says for n characters in p parts, per interface language.
METER = {"en": "{n} characters · {p} part{s} · {enc}", "zh": "{n} 个字符 · {p} 条 · {enc}"}
#: Plain GSM-7 text (no extension characters, which count twice).
FILLER = "Northwind Goods: spring picks for you, on us this week. "


def _meter(lang: str, n: int, parts: int, encoding: str = "GSM-7") -> str:
    s = "" if parts == 1 else "s"
    return METER[lang].format(n=n, p=parts, s=s, enc=encoding)


def _wait_meter(page: Any, text: str) -> None:
    page.locator("#sms-meter", has_text=text).wait_for(timeout=10_000)


def _body(page: Any) -> Any:
    return page.locator("#edit-body textarea").first


def _column(page: Any, col: int) -> list[str]:
    """The drafts table's cells of one column (the header cell excluded)."""
    cells: list[str] = page.locator(
        f"#drafts-table [role='gridcell'][data-col='{col}']").all_inner_texts()
    return [c.strip() for c in cells if c.strip()]


def _choose(page: Any, selector: str, option: str) -> None:
    page.click(f"{selector} input")
    page.locator("ul[role='listbox'] li", has_text=option).first.click()


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_meter_offer_picker_and_drafts_table_in_the_marketers_language(
    browser: Any,  # noqa: F811 (the imported fixture)
    app: RunningApp,  # noqa: F811 (the imported fixture)
    locale: str,
) -> None:
    lang = "zh" if locale.startswith("zh") else "en"
    words = label_tables()[lang]
    ui, review = words["ui"], words["review"]
    shots = Path(app.log).parent / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(app.url, wait_until="load")
        page.wait_for_selector("#request textarea")
        page.wait_for_selector(f"#app-header:has-text('{ui['title']}')")

        # -- the SMS meter, key by key -------------------------------------------------------
        _ask(page, SMS_REQUEST[locale])
        page.wait_for_selector("#sms-meter:has-text('GSM-7')")
        body = _body(page)
        original = body.input_value()
        base = (FILLER * 3)[:156]
        body.fill(base)
        _wait_meter(page, _meter(lang, 156, 1))
        body.click()
        page.keyboard.press("Control+End")
        for n, ch in enumerate("abcdef", start=157):  # crosses 160: two parts from 161 on
            page.keyboard.type(ch, delay=40)
            _wait_meter(page, _meter(lang, n, 1 if n <= 160 else 2))
        page.keyboard.type("ghijk", delay=15)  # a burst: the meter ends on the last key
        _wait_meter(page, _meter(lang, 167, 2))
        page.keyboard.type("春")  # typed through an input method: the whole text is UCS-2
        _wait_meter(page, _meter(lang, 168, 3, "UCS-2"))
        page.screenshot(path=str(shots / f"editor-{locale}-meter-ucs2.png"), full_page=True)
        page.keyboard.press("Backspace")
        _wait_meter(page, _meter(lang, 167, 2))
        page.keyboard.insert_text(" SALE")  # as a paste lands
        _wait_meter(page, _meter(lang, 172, 2))
        body.fill(original)
        _wait_meter(page, f"{len(original)} ")

        # -- the offer picker: a campaign discount and a code reach the draft -----------------
        page.wait_for_selector("#offer-picker input")
        fifteen = ui["offer_discount"].replace("${discount}", "15%")
        _choose(page, "#offer-picker", fifteen)
        attached = ui["offer_attached"].split("${offer}")[0]
        page.locator("#draft-detail", has_text=attached).wait_for()
        page.wait_for_function(
            "() => document.querySelector('#edit-body textarea').value.includes('15%')")
        code = page.locator("#offer-code input, #offer-code textarea").first
        code.fill("spring15")
        page.click("#attach-offer")
        page.wait_for_function(
            "() => document.querySelector('#edit-body textarea').value.includes('SPRING15')")
        assert code.input_value() == "SPRING15"
        detail = page.locator("#draft-detail").inner_text()
        assert ui["guard_ok"] in detail and "SPRING15" in detail
        page.click("#approve-draft")
        page.locator("#draft-detail", has_text=review["approved"]).wait_for()
        assert ui["draft_approved"] in _column(page, 7)[0]
        page.screenshot(path=str(shots / f"editor-{locale}-offer.png"), full_page=True)

        # Another discount typed into the text: the guard refuses it, in words.
        offered = body.input_value()
        body.fill(offered.replace("15%", "25%", 1))
        page.click("#save-draft")
        reason = ("mentions '25%' but the offer is 15% off" if lang == "en"
                  else words["problem"]["wrong_discount"])
        page.locator("#draft-detail", has_text=reason).wait_for()
        assert ui["guard_bad"] in page.locator("#draft-detail").inner_text()
        page.click("#approve-draft")
        page.locator("#draft-detail", has_text=review["fails_guard"]).wait_for()
        body.fill(offered)
        page.click("#save-draft")
        page.locator("#draft-detail", has_text=review["edited_passed"]).wait_for()

        # -- the drafts table: words and names, no codes ---------------------------------------
        _ask(page, EMAIL_REQUEST[locale])
        page.wait_for_function(
            "() => document.querySelectorAll("
            "\"#drafts-table [role='gridcell'][data-col='0']\").length >= 2")
        channel, language = words["channel"], words["language"]
        assert _column(page, 2) == [f"{channel['sms']} · {language['en']}",
                                    f"{channel['email']} · {language['zh']}"]
        assert _column(page, 1) == ["Samuel (C00003)", "雪 (C00002)"]
        products = _column(page, 3)
        assert re.search(r"\S.* \(P00049\)$", products[0]), products
        # Every cell the product writes (not the customer's copy): no code of the mapping.
        cells = [c for col in (1, 2, 3, 6, 7) for c in _column(page, col)]
        codes = {c for kind in ("channel", "language", "problem") for c in words[kind]}
        codes.add("pending")  # the other statuses' codes are English words
        for cell in cells:
            shown = codes & set(re.split(r"[\s·:：;；,()（）]+", cell))
            assert not shown, f"codes in the drafts table: {shown} in {cell!r}"
        if lang == "zh":  # channel, guard and status in Chinese, the headers too
            for col in (2, 6, 7):
                assert all(re.search(r"[\u4e00-\u9fff]", c) for c in _column(page, col))
            header = " ".join(page.locator("#drafts-table [role='columnheader']").all_inner_texts())
            assert ui["col_draft_customer"] in header and "Customer" not in header
        _axe(page, f"the draft editor ({locale})")
        page.screenshot(path=str(shots / f"editor-{locale}-drafts.png"), full_page=True)
    finally:
        context.close()

    log = app.log.read_text(encoding="utf-8")
    assert "draft action failed" not in log and "request failed" not in log, log[-4000:]
