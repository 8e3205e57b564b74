"""The chat app in a real browser: steps, drafts, edit, approve, export, session isolation.

Starts ``app.py`` on a free loopback port (state in a temp dir, the demo shop) and drives
Debian's chromium through Playwright. Screenshots of the chat with its steps, the plan chart
and the drafts table are written to ``.state/screenshots/`` (git-ignored).

The first start builds customer profiles and the product index; to keep later runs quick the
app's cache directory is linked to ``.state/browser-test-cache`` (keyed by data version, so
it is safe to reuse), while traces, sessions and exports stay in the temp dir.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DEMO_DIR, ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(420)]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / ".state" / "screenshots"
STARTUP_S = 200  # a first start builds profiles and the product index
ANSWER_MS = 90_000

EN_REQUEST = (
    "Find at-risk customers who like outdoor gear, recommend them products and draft an "
    "email for the top 3"
)
ZH_REQUEST = "为前3位流失风险客户起草短信"
PLAN_REQUEST = "Plan a $2,000 campaign over email and SMS"
EDITED_SUBJECT = "A few outdoor picks we saved for you"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass(frozen=True)
class RunningApp:
    """The app under test: its address and its log file."""

    url: str
    log: Path


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """The app running in a subprocess on a free loopback port."""
    if not CHROMIUM.exists():
        pytest.skip(f"chromium not found at {CHROMIUM} (make chromium installs it)")
    pytest.importorskip("playwright.sync_api")
    state = tmp_path_factory.mktemp("app-state")
    # A copy of the demo shop: reading campaign results out joins them to the shop's files.
    shop = state / "shop"
    shutil.copytree(DEMO_DIR, shop)
    shared_cache = ROOT / ".state" / "browser-test-cache"
    shared_cache.mkdir(parents=True, exist_ok=True)
    (state / "cache").symlink_to(shared_cache, target_is_directory=True)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_")}
    env.update(
        {
            "AGENT_UI_HOST": "127.0.0.1",
            "AGENT_UI_PORT": str(port),
            "AGENT_STATE_DIR": str(state),
            "AGENT_DATA_DIR": str(shop),
            "AGENT_PROVIDER": "offline",
            "GRADIO_ANALYTICS_ENABLED": "False",
            "ANONYMIZED_TELEMETRY": "False",
            "HF_HUB_OFFLINE": "1",
        }
    )
    log_path = state / "app.log"
    with log_path.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")],
            cwd=state,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP_S
        while not _port_open(port):
            if proc.poll() is not None:
                pytest.fail(f"app exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"app did not listen within {STARTUP_S}s:\n{log_path.read_text()[-3000:]}"
                )
            time.sleep(0.5)
        yield RunningApp(url=f"http://127.0.0.1:{port}/", log=log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture(scope="module")
def browser(app: RunningApp) -> Iterator[Any]:
    """Debian's chromium, headless."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _open(browser: Any, url: str) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url, wait_until="load")
    page.wait_for_selector("#request textarea")
    # The status line names the model and data set once the shop is prepared.
    page.wait_for_selector("#status-line:has-text('Model:')", timeout=STARTUP_S * 1000)
    return context, page


def _ask(page: Any, text: str) -> None:
    """Send a request and wait until its answer has arrived."""
    code = page.locator("#run-info code")
    before = code.first.inner_text() if code.count() else ""
    page.fill("#request textarea", text)
    page.press("#request textarea", "Enter")
    _wait_answer(page, before)


def _wait_answer(page: Any, before: str) -> None:
    """Wait until the run line under the chat names a new run (set when a run ends).

    The line is in the interface's language; its run id (a code element) is the same in
    every one. ``before`` is the previous run's id ("" before the first run).
    """
    page.wait_for_function(
        "prev => { const el = document.querySelector('#run-info');"
        " const code = el ? el.querySelector('code') : null;"
        " return !!code && code.innerText.trim() !== prev; }",
        arg=before.strip(),
        timeout=ANSWER_MS,
    )


def _step(tool: str) -> str:
    """A tool's step title: its name in words (``prompts/labels.toml``)."""
    from agent.offline.labels import Words

    return Words("en").label("tool", tool)


def _step_titles(page: Any) -> list[str]:
    titles: list[str] = page.locator("#chat .thought-group .title").all_inner_texts()
    return [t.strip() for t in titles]


def _drafts_rows(page: Any) -> list[str]:
    rows: list[str] = page.locator("#drafts-table .virtual-row").all_inner_texts()
    return [r for r in rows if r.strip()]


def _pick_draft(page: Any, text: str) -> None:
    page.click("#draft-picker input")
    page.locator("ul[role='listbox'] li", has_text=text).first.click()


def test_marketer_flow_in_the_browser_with_isolated_sessions(browser: Any, app: RunningApp) -> None:
    app_url = app.url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context, page = _open(browser, app_url)

    # English, from a clickable example: a chain of tools, each shown as a step.
    page.locator("#examples").get_by_text(EN_REQUEST[:40]).first.click()
    _wait_answer(page, "")
    titles = _step_titles(page)
    for tool in ("find_customers", "recommend_products", "draft_message"):
        assert any(_step(tool) in t for t in titles), titles
    assert page.locator("#chat", has_text=EN_REQUEST).count() == 1
    email_rows = [r for r in _drafts_rows(page) if "e-mail" in r]  # the channel as a word
    assert email_rows, _drafts_rows(page)

    # Open one step (its arguments and result) and keep a screenshot of the chat with steps.
    step = page.locator("#chat .thought-group .title", has_text=_step("find_customers")).first
    step.click()
    opened = page.locator("#chat .thought-group", has_text=_step("find_customers")).first
    opened.get_by_text("customers matched").wait_for(state="visible")
    step.scroll_into_view_if_needed()
    page.wait_for_timeout(300)  # let the accordion finish opening
    page.screenshot(path=str(SCREENSHOTS / "chat_steps.png"))
    step.click()  # close it again

    # Chinese: SMS drafts for the at-risk customers with the highest value.
    drafted_before = sum(_step("draft_message") in t for t in titles)
    _ask(page, ZH_REQUEST)
    assert sum(_step("draft_message") in t for t in _step_titles(page)) > drafted_before
    assert any("SMS" in r for r in _drafts_rows(page)), _drafts_rows(page)
    last_answer = page.locator("#chat .bot-row").last.inner_text()
    assert any("\u4e00" <= ch <= "\u9fff" for ch in last_answer), last_answer

    # Drafts: an edit is re-checked by the guard; only a passing draft can be approved.
    page.get_by_role("tab", name="Drafts").click()
    _pick_draft(page, "e-mail")
    page.wait_for_selector("#edit-subject textarea, #edit-subject input")
    subject = page.locator("#edit-subject textarea, #edit-subject input").first
    subject.fill("Hi {first_name}, a gift for you")
    page.click("#save-draft")
    page.wait_for_selector("#draft-detail:has-text('found problems')")
    assert page.locator("#draft-detail", has_text="a {...} placeholder").count() == 1
    page.click("#approve-draft")
    page.wait_for_selector("#draft-detail:has-text('fails the guard')")

    subject.fill(EDITED_SUBJECT)
    page.click("#save-draft")
    page.wait_for_selector("#draft-detail:has-text('the guard passed')")
    page.click("#approve-draft")
    page.wait_for_selector("#drafts-table:has-text('approved · edited')")
    assert page.locator("#drafts-table", has_text=EDITED_SUBJECT).count() == 1

    page.click("#export-drafts")
    page.wait_for_selector("#export-note:has-text('Exported 1 approved draft')")
    page.wait_for_selector("#export-jsonl a[href]")
    page.locator("#drafts-table").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "drafts_table.png"), full_page=True)
    jsonl_href = page.locator("#export-jsonl a[href]").first.get_attribute("href")
    csv_href = page.locator("#export-csv a[href]").first.get_attribute("href")
    jsonl = context.request.get(_absolute(app_url, jsonl_href)).text()
    records = [json.loads(line) for line in jsonl.splitlines() if line.strip()]
    assert len(records) == 1
    assert records[0]["subject"] == EDITED_SUBJECT
    assert records[0]["channel"] == "email" and records[0]["edited"] is True
    assert records[0]["guard_passed"] is True and records[0]["guard_problems"] == []
    assert records[0]["customer_id"].startswith("C")
    rows = list(
        csv.DictReader(io.StringIO(context.request.get(_absolute(app_url, csv_href)).text()))
    )
    assert [r["subject"] for r in rows] == [EDITED_SUBJECT]
    assert rows[0]["guard_passed"] == "True"

    # A campaign plan: its table and chart fill the plan panel.
    _ask(page, PLAN_REQUEST)
    assert any(_step("optimize_campaign") in t for t in _step_titles(page))
    page.wait_for_selector("#plan-chart img")
    assert page.locator("#plan-table .virtual-row").count() >= 1
    assert page.locator("#plan-summary", has_text="Expected incremental revenue").count() == 1
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / "plan_chart.png"), full_page=True)

    # Every plan keeps a holdout: export who gets what, upload the results, read them out.
    page.wait_for_selector("#holdout-summary:has-text('of every cell, seed 0')")
    plan_id = page.locator("#holdout-summary code").first.inner_text().strip()
    assert plan_id.startswith("P"), plan_id
    page.click("#export-assignment-csv")
    page.wait_for_selector("#assignment-note:has-text('Message the')")
    href = page.locator("#assignment-file a[href]").first.get_attribute("href")
    assignment = list(csv.DictReader(io.StringIO(
        context.request.get(_absolute(app_url, href)).text())))
    groups = {row["group"] for row in assignment}
    assert groups == {"treatment", "holdout"} and {r["plan_id"] for r in assignment} == {plan_id}
    results = app.log.parent / "results.csv"
    with results.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["customer_id", "converted", "revenue"])
        for n, row in enumerate(assignment):
            # Messaged customers convert one in five, held-out ones one in twenty.
            hit = n % (5 if row["group"] == "treatment" else 20) == 0
            writer.writerow([row["customer_id"], "yes" if hit else "no", "80" if hit else "0"])
    page.set_input_files("#results-upload input[type='file']", str(results))
    page.wait_for_timeout(500)  # the upload settles before the button reads it
    page.click("#read-out")
    page.wait_for_selector(f"#readout-summary:has-text('Read-out of plan {plan_id}')",
                           timeout=ANSWER_MS)
    assert page.locator("#readout-summary", has_text="Joined the shop as K").count() == 1
    assert page.locator("#readout-table .virtual-row").count() >= 1
    page.wait_for_selector("#readout-chart img")
    page.locator("#readout-summary").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "plan_readout.png"), full_page=True)

    # A second browser session sees none of this: empty chat, empty drafts.
    other, page2 = _open(browser, app_url)
    assert page2.locator("#chat [data-testid='user']").count() == 0
    assert page2.locator("#chat", has_text=EN_REQUEST).count() == 0
    page2.get_by_role("tab", name="Drafts").click()
    assert _drafts_rows(page2) == []
    assert page2.locator("#drafts-table", has_text=EDITED_SUBJECT).count() == 0
    with contextlib.suppress(Exception):
        other.close()
    # ...and the first session still has its own work.
    assert page.locator("#drafts-table", has_text=EDITED_SUBJECT).count() == 1

    # A new conversation clears the chat; the session's drafts stay for review.
    page.click("#new-chat")
    page.wait_for_function(
        "() => document.querySelectorAll(\"#chat [data-testid='user']\").length === 0"
    )
    assert page.locator("#run-info").inner_text().strip() == ""
    assert page.locator("#drafts-table", has_text=EDITED_SUBJECT).count() == 1
    context.close()

    # The app coped with every request without a program fault (it logs those).
    log = app.log.read_text(encoding="utf-8")
    assert "request failed" not in log, log[-4000:]
    assert "draft action failed" not in log, log[-4000:]


def _absolute(base: str, href: str | None) -> str:
    assert href, "the export has no download link"
    if href.startswith("http"):
        return href
    return base.rstrip("/") + "/" + href.lstrip("/")
