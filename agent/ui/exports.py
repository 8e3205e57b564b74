"""Exports a sender can trust: one draft per customer, channel and campaign, never twice.

Consent and frequency rules are re-checked at export time, and who exported is recorded.

* **Approval.** A second approved draft for the same customer, channel and campaign
  (``agent.ui.drafts.campaign_of``: the offer's code, its name, or the draft's goal) is refused
  unless the reviewer gives a reason; the reason is kept on the draft, exported and traced.
* **Never twice.** The exports ledger (``<state>/exports/ledger.jsonl``, one line per exported
  draft: customer, channel, campaign, draft id, time, who) outlives browser sessions. An export
  writes only the approved drafts whose customer, channel and campaign were not exported
  before; the ones it leaves out are named (a draft approved with a reason may repeat a
  customer, channel and campaign, never a draft already exported).
* **Re-checked.** Consent and the frequency rules are read again from the shop as it is at
  export time (``AgentRunner.check_contacts``); a customer who may no longer be contacted on
  the channel is left out and named with the reason.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dc_field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.offline.labels import Words
from agent.ui.draft_text import campaign_text, note_part, with_note
from agent.ui.drafts import DraftItem, campaign_of, find_draft, set_status, write_exports
from agent.ui.format import field

logger = logging.getLogger(__name__)

LEDGER_NAME = "ledger.jsonl"

#: Why a contact re-check leaves a draft out: keys of ``[LANG.review]`` by the check's reason.
HELD_REASONS = {
    "no_consent": "held_no_consent",
    "unknown_customer": "held_unknown_customer",
    "unknown_channel": "held_unknown_channel",
    "frequency": "held_frequency",
}


def contact_key(item: DraftItem) -> tuple[str, str, str]:
    """(customer id, channel, campaign) of a queued draft."""
    d = item.draft
    return (str(field(d, "customer_id", default="")), str(field(d, "channel", default="")),
            campaign_of(d))


def contact_text(item: DraftItem, words: Words | None = None) -> str:
    """Customer, channel and campaign of a draft as the reviewer reads them.

    The channel and the campaign's goal or offer in words ("C00003 · SMS · SPRING15"), in the
    interface's language.
    """
    w = words or Words()
    cid, channel, _ = contact_key(item)
    return f"{cid} · {w.channel(channel)} · {campaign_text(item.draft, w)}"


def approved_twin(items: Sequence[DraftItem], item: DraftItem) -> DraftItem | None:
    """Another approved draft for the same customer, channel and campaign, if any."""
    key = contact_key(item)
    return next((i for i in items if i.key != item.key and i.status == "approved"
                 and contact_key(i) == key), None)


def approve(
    items: Sequence[DraftItem], key: str | None, reason: str = "", words: Words | None = None
) -> DraftItem | None:
    """Approve a draft unless it fails the guard or doubles an approved one without a reason.

    The note (why it stays unapproved, or that it was approved) is said in ``words``.

    Returns:
        The new item (its ``note`` says why when it stays unapproved), or None for no draft.
    """
    item = find_draft(items, key)
    if item is None:
        return None
    twin = approved_twin(items, item)
    reason = " ".join((reason or "").split())
    if twin is not None and not reason:
        n = next(i for i, x in enumerate(items, start=1) if x.key == twin.key)
        return with_note(item, words, note_part("twin", n=n, contact=contact_text(item, words)))
    new = set_status(item, "approved", words)
    if new.status == "approved" and twin is not None:
        new = with_note(new, words, note_part("second_message", reason=reason), reason=reason)
    return new


class ExportLedger:
    """What was exported before (across sessions): one JSON line per exported draft."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()

    def entries(self) -> list[dict[str, Any]]:
        """Every exported draft so far (an unreadable line is skipped and logged)."""
        if not self.path.exists():
            return []
        out = []
        for n, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                logger.warning("exports ledger %s: line %d is not JSON; skipped", self.path, n)
                continue
            if isinstance(entry, dict):
                out.append(entry)
        return out

    def append(self, records: Sequence[dict[str, Any]]) -> None:
        """Add exported drafts (one line each, flushed and synced)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            for rec in records:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            fh.flush()


@dataclass
class ExportPlan:
    """Which approved drafts an export writes, and which it leaves out and why."""

    write: list[DraftItem] = dc_field(default_factory=list)
    #: (number in the queue, draft, why: a key of ``[LANG.review]``) of drafts not written again.
    repeated: list[tuple[int, DraftItem, str]] = dc_field(default_factory=list)
    #: (number in the queue, draft, the contact check) of drafts that failed the re-check.
    held: list[tuple[int, DraftItem, Any]] = dc_field(default_factory=list)


def plan_export(
    items: Sequence[DraftItem], ledger: Sequence[dict[str, Any]],
    check: Callable[[list[tuple[str, str]]], list[Any]],
) -> ExportPlan:
    """Split the approved drafts into what to write, what would repeat and what is held.

    Args:
        items: The session's queue.
        ledger: Earlier exports (``ExportLedger.entries``).
        check: The contact re-check (``AgentRunner.check_contacts``).
    """
    plan = ExportPlan()
    done_ids = {str(e.get("draft_id")) for e in ledger}
    done_keys = {(str(e.get("customer_id")), str(e.get("channel")), str(e.get("campaign")))
                 for e in ledger}
    candidates: list[tuple[int, DraftItem]] = []
    taken: set[tuple[str, str, str]] = set()
    for n, item in enumerate(items, start=1):
        if item.status != "approved":
            continue
        key = contact_key(item)
        draft_id = str(field(item.draft, "draft_id", default=item.key))
        if item.exported_at or draft_id in done_ids:
            plan.repeated.append((n, item, "already_exported"))
        elif (key in done_keys or key in taken) and not item.reason:
            plan.repeated.append((n, item, "has_one"))
        else:
            candidates.append((n, item))
            taken.add(key)
    if not candidates:
        return plan
    checks = check([contact_key(i)[:2] for _, i in candidates])
    for (n, item), verdict in zip(candidates, checks, strict=True):
        if verdict.allowed:
            plan.write.append(item)
            continue
        plan.held.append((n, item, verdict))
    return plan


def held_reason(verdict: Any, words: Words | None = None) -> str:
    """Why the contact re-check holds a draft back, in the reviewer's words."""
    w = words or Words()
    reason = str(field(verdict, "reason", default="") or "")
    key = HELD_REASONS.get(reason)
    if key is None:
        return w.say("review", "held_other", reason=reason or "-")
    channel = str(field(verdict, "channel", default="") or "")
    rule = str(field(verdict, "rule", default="") or "")
    if w.lang != "en":  # English keeps the rule as the shop states it (exports name codes)
        channel, rule = w.channel(channel), w.prose(rule)
    return w.say("review", key, channel=channel, rule=rule)


def export_note(plan: ExportPlan, written: int, words: Words | None = None) -> str:
    """What an export did, in a few lines of Markdown, in the reviewer's language."""
    w = words or Words()
    sep = w.ui("problem_sep")
    lines = []
    if written:
        lines.append(w.say("review", "exported", drafts=w.count("approved_draft", written)))
    elif not plan.repeated and not plan.held:
        lines.append(f"_{w.say('review', 'approve_first')}_")
    else:
        lines.append(w.say("review", "nothing_new"))
    if plan.repeated:
        repeated = [f"{n} · {contact_text(item, w)} ({w.say('review', why)})"
                    for n, item, why in plan.repeated]
        lines.append(f"**{w.say('review', 'not_again')}** " + sep.join(repeated))
    if plan.held:
        held = [f"{n} · {contact_text(item, w)}: {held_reason(verdict, w)}"
                for n, item, verdict in plan.held]
        lines.append(f"**{w.say('review', 'held')}** " + sep.join(held))
    return "\n\n".join(lines)


def run_export(
    items: Sequence[DraftItem], ledger: ExportLedger, out_dir: Path, stem: str,
    check: Callable[[list[tuple[str, str]]], list[Any]], by: str,
) -> tuple[list[DraftItem], ExportPlan, tuple[Path, Path] | None]:
    """Export what may be exported: write the files, mark the drafts, add them to the ledger.

    Returns:
        The queue with the exported drafts marked, the plan, and the two files (or None).
    """
    with ledger.lock:
        plan = plan_export(items, ledger.entries(), check)
        if not plan.write:
            return list(items), plan, None
        now = datetime.now(UTC)
        paths = write_exports(plan.write, out_dir, stem, now=now, by=by)
        if paths is None:
            return list(items), plan, None
        ledger.append([
            {"draft_id": str(field(i.draft, "draft_id", default=i.key)), "key": i.key,
             "customer_id": contact_key(i)[0], "channel": contact_key(i)[1],
             "campaign": contact_key(i)[2], "exported_at": now.isoformat(), "by": by,
             "file": paths[0].name, "reason": i.reason}
            for i in plan.write
        ])
    written = {i.key for i in plan.write}
    marked = [replace(i, exported_at=now.isoformat()) if i.key in written else i for i in items]
    return marked, plan, paths
