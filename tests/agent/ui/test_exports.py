"""Exports a sender can trust: one message per customer, channel and campaign, nothing twice.

Consent and frequency are re-checked at export time, the CSV has a BOM, the trace says who.

Drives the Gradio-free callbacks with a real ``AgentRunner`` on the demo shop (offline model);
each test has its own state directory (its own exports ledger).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from agent.loop.runner import AgentRunner
from agent.loop.trace import load_run
from agent.settings import Settings
from agent.ui.callbacks import AppCallbacks, new_session
from agent.ui.warmup import Warmup
from tests.conftest import DEMO_DIR


@pytest.fixture
def cb(tmp_path: Path, demo_deps: Any) -> AppCallbacks:
    settings = Settings(data_dir=DEMO_DIR, state_dir=tmp_path / "state")
    runner = AgentRunner(settings, deps=demo_deps)
    warmup = Warmup(demo_deps)
    warmup.done.set()
    return AppCallbacks(settings, runner, warmup)


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def _files(out: dict[str, Any]) -> tuple[Path, Path]:
    return Path(out["csv_file"].props["value"]), Path(out["jsonl_file"].props["value"])


def test_a_second_message_for_the_same_customer_needs_a_reason(cb: AppCallbacks) -> None:
    sess = new_session()
    list(cb.respond("Draft an SMS for C00003", None, sess))
    list(cb.respond("Draft an SMS for C00003 again", None, sess))
    first, second = sess.drafts[0].key, sess.drafts[1].key
    cb.approve(first, "", sess)
    out = cb.approve(second, "  ", sess)
    assert "already approved for C00003 · SMS" in out["detail_md"]
    assert sess.drafts[1].status == "pending"
    out = cb.approve(second, "customer asked for a reminder", sess)
    assert sess.drafts[1].status == "approved"
    assert "customer asked for a reminder" in out["detail_md"]
    exported = cb.export(sess, "ana")
    assert exported["export_md"].startswith("Exported 2 approved drafts.")
    rows = _rows(_files(exported)[0])
    assert [r["override_reason"] for r in rows] == ["", "customer asked for a reminder"]
    events = [e.data for e in load_run(cb.settings.trace_dir, sess.drafts[1].run_id).events
              if e.kind == "review"]
    assert events[0] == {"action": "approve", "draft_id": second,
                         "override_reason": "customer asked for a reminder"}


def test_an_export_writes_only_what_is_new_and_says_what_it_leaves_out(
    cb: AppCallbacks,
) -> None:
    sess = new_session()
    for text in ("Draft an SMS for C00003", "Draft an email for C00042 with code SPRING15"):
        list(cb.respond(text, None, sess))
    for item in sess.drafts:
        cb.approve(item.key, "", sess)
    first = cb.export(sess, "ana")
    csv_path, jsonl_path = _files(first)
    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads Chinese right
    rows = _rows(csv_path)
    assert [(r["customer_id"], r["channel"]) for r in rows] == [("C00003", "sms"),
                                                                  ("C00042", "email")]
    assert rows[1]["offer_code"] == "SPRING15" and rows[1]["exported_by"] == "ana"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in rows[1]["body"])  # C00042 reads Chinese
    lines = [json.loads(x) for x in jsonl_path.read_text(encoding="utf-8").splitlines()]
    assert [x["customer_id"] for x in lines] == ["C00003", "C00042"]
    assert "exported" in first["drafts_df"].iloc[0]["Status"]

    # The same drafts again: nothing written, both named.
    again = cb.export(sess, "ana")
    assert again["csv_file"].props["visible"] is False
    assert "Nothing new to export" in again["export_md"]
    assert "C00003 · SMS" in again["export_md"] and "already exported" in again["export_md"]

    # A new browser session drafts the same customer and campaign: the ledger remembers.
    other = new_session()
    list(cb.respond("Draft an SMS for C00003", None, other))
    cb.approve(other.drafts[0].key, "", other)
    out = cb.export(other, "ben")
    assert "Not exported again:** 1 · C00003 · SMS" in out["export_md"]
    assert out["csv_file"].props["visible"] is False


def test_export_rechecks_the_frequency_rules(cb: AppCallbacks) -> None:
    # C00010 consents to SMS but got one within the last 14 days (sms: at most 1 in 14 days).
    sess = new_session()
    for text in ("Draft an SMS for C00010", "Draft an SMS for C00004"):
        list(cb.respond(text, None, sess))
    assert [i.draft.customer_id for i in sess.drafts] == ["C00010", "C00004"]
    for item in sess.drafts:
        cb.approve(item.key, "", sess)
    out = cb.export(sess, None)
    assert out["export_md"].startswith("Exported 1 approved draft.")
    assert "Held back at export" in out["export_md"]
    assert "C00010 · SMS" in out["export_md"] and "at most 1 message in 14 days" in out["export_md"]
    rows = _rows(_files(out)[0])
    assert [r["customer_id"] for r in rows] == ["C00004"]
    assert rows[0]["exported_by"] == "local user"


def test_consent_is_rechecked_at_export(cb: AppCallbacks) -> None:
    checks = cb.runner.check_contacts([("C00042", "sms"), ("C00042", "email"), ("C99999", "sms")])
    assert [(c.allowed, c.reason) for c in checks] == [
        (False, "no_consent"), (True, ""), (False, "unknown_customer")]
