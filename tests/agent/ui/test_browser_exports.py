"""Issue 16 in a real browser: ready in seconds, a guard for editing, exports a sender can trust.

One app on a *fresh* state directory (no shared cache: the product index builds in the
background while the page is used), Debian's chromium through Playwright, several checks per
page load, English and Chinese. Screenshots are kept under the test's state directory
(``<tmp>/screenshots/``) as artifacts.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.agent.ui.test_app_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    RunningApp,
    _absolute,
    _ask,
    _drafts_rows,
    _free_port,
    _pick_draft,
    _port_open,
)
from tests.conftest import DEMO_DIR, ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(420)]

STARTUP_S = 120


@pytest.fixture(scope="module")
def fresh_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """The app on an empty state directory, as on a fresh machine."""
    if not CHROMIUM.exists():
        pytest.skip(f"chromium not found at {CHROMIUM} (make chromium installs it)")
    pytest.importorskip("playwright.sync_api")
    state = tmp_path_factory.mktemp("fresh-state")
    shop = state / "shop"
    shutil.copytree(DEMO_DIR, shop)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_")}
    env.update({"AGENT_UI_HOST": "127.0.0.1", "AGENT_UI_PORT": str(port),
                "AGENT_STATE_DIR": str(state), "AGENT_DATA_DIR": str(shop),
                "AGENT_PROVIDER": "offline", "GRADIO_ANALYTICS_ENABLED": "False",
                "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1",
                "PYTHONPATH": str(ROOT)})
    log_path = state / "app.log"
    with log_path.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=state, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_S
        while not _port_open(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"app did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield RunningApp(url=f"http://127.0.0.1:{port}/", log=log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def _last_answer(page: Any) -> str:
    text: str = page.locator("#chat .bot-row").last.inner_text()
    return text


def _body(page: Any) -> Any:
    return page.locator("#edit-body textarea").first


def test_warm_up_editing_guard_sms_meter_and_exports(fresh_app: RunningApp) -> None:
    from playwright.sync_api import sync_playwright

    shots = fresh_app.log.parent / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(fresh_app.url, wait_until="load")
        page.wait_for_selector("#request textarea")

        # Item 1: the index builds in the background; the status line and a profile answer
        # say so, and the profile does not wait for it.
        page.wait_for_selector("#status-line:has-text('Still preparing: the product index')")
        page.screenshot(path=str(shots / "warming_status.png"))
        _ask(page, "Tell me about C00042")
        answer = _last_answer(page)
        assert "C00042" in answer and "Still preparing: the product index" in answer, answer

        # Item 5: a shortened product name passes, an invented one is refused; SMS meter.
        _ask(page, "Draft an SMS for C00003 featuring P00049")
        page.get_by_role("tab", name="Drafts").click()
        _pick_draft(page, "C00003")
        page.wait_for_selector("#sms-meter:has-text('SMS:')")
        assert "GSM-7" in page.locator("#sms-meter").inner_text()
        body = _body(page)
        original = body.input_value()
        full = "Pinecrest All-Season Rain Shell Jacket, Ivory"
        assert full in original
        body.fill(original.replace(full, "Pinecrest Rain Jacket"))
        page.click("#save-draft")
        page.wait_for_selector("#draft-detail:has-text('the guard passed')")
        body.fill(original.replace(full, "Pinecrest Down Jacket"))
        page.click("#save-draft")
        page.wait_for_selector("#draft-detail:has-text('is not a product in the catalog')")
        # Chinese in the text switches the meter to UCS-2 (70 per part).
        body.fill(original + " 春季特惠")
        page.click("#save-draft")
        page.wait_for_selector("#sms-meter:has-text('UCS-2')")
        assert "3 parts · UCS-2" in page.locator("#sms-meter").inner_text()
        page.screenshot(path=str(shots / "sms_meter.png"), full_page=True)
        body.fill(original)
        page.click("#save-draft")
        page.wait_for_selector("#draft-detail:has-text('the guard passed')")

        # Item 4: a second SMS for the same customer and campaign needs a reason.
        _ask(page, "Draft an SMS for C00003 featuring P00049 again")
        page.get_by_role("tab", name="Drafts").click()
        _pick_draft(page, "1 ·")
        page.click("#approve-draft")
        page.wait_for_selector("#drafts-table:has-text('approved')")
        _pick_draft(page, "2 ·")
        page.click("#approve-draft")
        page.wait_for_selector("#draft-detail:has-text('already approved for C00003')")
        page.fill("#override-reason textarea", "reminder the customer asked for")
        page.click("#approve-draft")
        page.wait_for_selector("#draft-detail:has-text('second message')")

        # Chinese: a code named in the request reaches the draft and the export.
        _ask(page, "为 C00042 起草邮件，优惠码 SPRING15")
        assert any("\u4e00" <= ch <= "\u9fff" for ch in _last_answer(page))
        page.get_by_role("tab", name="Drafts").click()
        _pick_draft(page, "C00042")
        page.wait_for_selector("#draft-detail:has-text('passed')")
        assert "SPRING15" in _body(page).input_value()
        page.click("#approve-draft")
        page.wait_for_selector("#draft-detail:has-text('Approved')")

        page.click("#export-drafts")
        page.wait_for_selector("#export-note:has-text('Exported 3 approved draft')")
        href = page.locator("#export-csv a[href]").first.get_attribute("href")
        raw = context.request.get(_absolute(fresh_app.url, href)).body()
        assert raw.startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads the Chinese right
        rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
        assert [(r["customer_id"], r["channel"]) for r in rows] == [
            ("C00003", "sms"), ("C00003", "sms"), ("C00042", "email")]
        assert rows[1]["override_reason"] == "reminder the customer asked for"
        assert rows[2]["offer_code"] == "SPRING15" and "优惠码 SPRING15" in rows[2]["body"]
        page.screenshot(path=str(shots / "export.png"), full_page=True)

        # The same export again writes nothing and says what it would repeat.
        page.click("#export-drafts")
        page.wait_for_selector("#export-note:has-text('Nothing new to export')")
        assert "already exported" in page.locator("#export-note").inner_text()
        assert all("exported" in r for r in _drafts_rows(page) if "approved" in r)
        browser.close()

    log = fresh_app.log.read_text(encoding="utf-8")
    assert "request failed" not in log and "draft action failed" not in log, log[-4000:]
