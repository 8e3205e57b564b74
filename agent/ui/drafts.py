"""The draft review queue: table, picker, edit and guard re-check, approve/reject, export.

A browser session keeps its drafts as a list of immutable :class:`DraftItem`; every
function returns a new list or item. Approved drafts are exported as CSV (UTF-8 with a BOM,
so spreadsheet programs read Chinese right) and JSONL; ``agent.ui.exports`` decides which
(one per customer, channel and campaign; never twice; consent and frequency re-checked).
Re-exported by ``agent.ui.views``, where the app finds them.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel

from agent.offline.labels import Words
from agent.ui.draft_text import (
    Note,
    channel_text,
    customer_text,
    note_part,
    note_text,
    offer_text,
    products_text,
    status_text,
    with_note,
)
from agent.ui.format import field
from tools.files import atomic_write

logger = logging.getLogger(__name__)

DraftStatus = Literal["pending", "approved", "rejected"]

PASS_MARK = "✅ passed"
FAIL_MARK = "❌ failed"
STATUS_LABELS: dict[str, str] = {
    "pending": "⏳ to review",
    "approved": "👍 approved",
    "rejected": "🚫 rejected",
}
#: The drafts table's columns (keys of ``[LANG.ui]``; English names in ``DRAFT_COLUMNS``).
_DRAFT_KEYS = ["col_draft_n", "col_draft_customer", "col_draft_channel", "col_draft_products",
               "col_draft_headline", "col_draft_message", "col_draft_guard", "col_draft_status"]
DRAFT_COLUMNS = ["#", "Customer", "Channel", "Products", "Headline", "Message", "Guard",
                 "Status"]
EXPORT_FIELDS = [
    "draft_id",
    "customer_id",
    "channel",
    "language",
    "subject",
    "preheader",
    "title",
    "body",
    "offer_code",
    "campaign",
    "products",
    "guard_passed",
    "guard_problems",
    "edited",
    "status",
    "override_reason",
    "exported_by",
    "exported_at",
]


# --------------------------------------------------------------------------- drafts panel


@dataclass(frozen=True)
class DraftItem:
    """One draft in a browser session's review queue."""

    key: str
    draft: Any
    status: DraftStatus = "pending"
    edited: bool = False
    note: str = ""
    run_id: str = ""  # the agent run that wrote the draft (its trace records the review)
    reason: str = ""  # why a second draft for the same customer, channel and campaign is ok
    exported_at: str = ""  # when this draft was exported (ISO time), "" before
    said: Note | None = None  # ``note`` as keys, said again in the reader's language


@dataclass
class SessionView:
    """Everything one browser session owns: its agent session id, drafts and latest plan."""

    session_id: str
    drafts: list[DraftItem] = dc_field(default_factory=list)
    plan_id: str | None = None
    lang: str = "en"  # the interface's language (the drafts panel follows the switch)
    editing: str | None = None  # the draft whose text the editor shows (the SMS meter's)


def guard_passed(draft: Any) -> bool:
    """Whether the draft's guard verdict passed (a draft without a verdict has not)."""
    return bool(field(field(draft, "guard"), "passed", default=False))


def guard_problems(draft: Any) -> list[str]:
    """The guard's problems as plain sentences."""
    problems = field(field(draft, "guard"), "problems", default=[]) or []
    out = []
    for p in problems:
        text = p if isinstance(p, str) else field(p, "message", "detail", default=str(p))
        out.append(str(text))
    return out


def guard_problem_codes(draft: Any) -> list[str]:
    """The distinct codes of the guard's problems (e.g. "wrong_price"), in the order found."""
    problems = field(field(draft, "guard"), "problems", default=[]) or []
    codes = (field(p, "code", default="") for p in problems if not isinstance(p, str))
    return list(dict.fromkeys(str(c) for c in codes if c))


def guard_text(draft: Any, words: Words | None = None) -> str:
    """The verdict for a table cell: "✅ passed" or "❌ failed: problem; problem".

    In English the guard's own sentences are shown; in another language each problem's
    word from the mapping (the guard writes English).
    """
    w = words or Words()
    if guard_passed(draft):
        return w.ui("guard_ok")
    if w.lang == "en":
        problems = guard_problems(draft)
    else:
        problems = [w.label("problem", c) for c in guard_problem_codes(draft)]
    failed = w.ui("guard_bad")
    if not problems:
        return failed
    return f"{failed}{w.ui('guard_sep')}{w.ui('problem_sep').join(problems)}"




def add_drafts(
    items: Sequence[DraftItem], drafts: Iterable[Any], run_id: str = ""
) -> list[DraftItem]:
    """The queue with a run's new drafts appended (keys stay unique within the session).

    Args:
        items: The session's queue so far.
        drafts: The drafts of one agent run.
        run_id: That run's id, kept on each item so reviews land in the run's trace.
    """
    out = list(items)
    taken = {i.key for i in out}
    for draft in drafts:
        key = str(field(draft, "draft_id", default="")) or f"d{len(out) + 1}"
        while key in taken:
            key = f"{key}-{len(out) + 1}"
        taken.add(key)
        out.append(DraftItem(key=key, draft=draft, run_id=run_id))
    return out


def _headline(draft: Any) -> str:
    return str(field(draft, "subject", "title", default="") or "")


def _shorten(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def drafts_table(items: Sequence[DraftItem], words: Words | None = None) -> pd.DataFrame:
    """The review queue as a table in the reader's words.

    Who (first name beside the id), channel and language as words, products (title beside
    the id), headline, message, guard verdict, status.
    """
    w = words or Words()
    rows = []
    for n, item in enumerate(items, start=1):
        d = item.draft
        rows.append(
            [
                n,
                customer_text(d),
                channel_text(d, w),
                _shorten(products_text(d), 80),
                _shorten(_headline(d), 60),
                _shorten(str(field(d, "body", default="")), 100),
                guard_text(d, w),
                status_text(item, w),
            ]
        )
    return pd.DataFrame(rows, columns=[w.ui(k) for k in _DRAFT_KEYS])


def draft_choices(
    items: Sequence[DraftItem], words: Words | None = None
) -> list[tuple[str, str]]:
    """(label, key) pairs for the draft picker: number, customer, channel, verdict, status."""
    w = words or Words()
    out = []
    for n, item in enumerate(items, start=1):
        d = item.draft
        mark = "✅" if guard_passed(d) else "❌"
        label = (f"{n} · {customer_text(d)} · {w.channel(field(d, 'channel', default='-'))} · "
                 f"{mark} · {status_text(item, w)}")
        out.append((label, item.key))
    return out


def find_draft(items: Sequence[DraftItem], key: str | None) -> DraftItem | None:
    """The queue item with ``key``."""
    return next((i for i in items if i.key == key), None)


def editable_fields(draft: Any) -> list[str]:
    """Which text fields a draft's channel has (email: subject, preheader, body; ...)."""
    channel = field(draft, "channel", default="email")
    if channel == "email":
        return ["subject", "preheader", "body"]
    if channel == "push":
        return ["title", "body"]
    return ["body"]


def draft_detail(item: DraftItem | None, words: Words | None = None) -> str:
    """The selected draft's verdict, products and offer (Markdown above the editor)."""
    w = words or Words()
    if item is None:
        return f"_{w.ui('draft_select')}_"
    d = item.draft
    lines = [
        f"**{customer_text(d)}** · {channel_text(d, w)} · {status_text(item, w)}",
        f"**{w.ui('col_draft_guard')}:** {guard_text(d, w)}",
    ]
    products = products_text(d)
    if products:
        lines.append(f"**{w.ui('col_draft_products')}:** {products}")
    offer = field(d, "offer")
    if offer:
        lines.append(f"**{w.ui('draft_offer')}:** {offer_text(offer, w)}")
    if item.reason:
        lines.append(f"**{w.say('review', 'detail_reason')}** {item.reason}")
    if item.exported_at:
        when = item.exported_at[:16].replace("T", " ")
        lines.append(f"**{w.say('review', 'detail_exported')}** {when} UTC")
    note = note_text(item, w)
    if note:
        lines.append(f"_{note}_")
    return "\n\n".join(lines)


def edit_draft(
    item: DraftItem, changes: Mapping[str, str], check: Callable[[Any], Any],
    words: Words | None = None,
) -> DraftItem:
    """Apply edited text to a draft and re-check it with the guard.

    Args:
        item: The queue item being edited.
        changes: New text per field; fields the channel does not have are ignored.
        check: Runs the copy guard on the edited draft and returns its verdict.
        words: The reviewer's words (the note's language; English by default).

    Returns:
        The edited item, back to "pending" (an edit needs a fresh approval).
    """
    allowed = set(editable_fields(item.draft))
    update = {
        k: v for k, v in changes.items() if k in allowed and v != field(item.draft, k, default="")
    }
    if not update:
        return with_note(item, words, note_part("no_changes"))
    draft = item.draft
    edited: Any = (
        draft.model_copy(update=update)
        if isinstance(draft, BaseModel)
        else {**dict(draft), **update}
    )
    verdict = check(edited)
    if isinstance(edited, BaseModel):
        edited = edited.model_copy(update={"guard": verdict})
    else:
        edited["guard"] = verdict
    key = "edited_passed" if guard_passed(edited) else "edited_failed"
    return with_note(item, words, note_part(key), draft=edited, status="pending", edited=True)


def set_status(item: DraftItem, status: DraftStatus, words: Words | None = None) -> DraftItem:
    """Approve or reject a draft; a draft that fails the guard cannot be approved.

    The note is said in ``words``' language (English by default).
    """
    if status == "approved" and not guard_passed(item.draft):
        return with_note(item, words, note_part("fails_guard"))
    return with_note(item, words, note_part(status), status=status)


def replace_item(items: Sequence[DraftItem], new: DraftItem) -> list[DraftItem]:
    """The queue with the item of the same key replaced."""
    return [new if i.key == new.key else i for i in items]


def campaign_of(draft: Any) -> str:
    """The campaign a draft belongs to: its offer's code, else the offer's name, else its goal."""
    offer = field(draft, "offer")
    code = str(field(offer, "code", default="") or "") if offer else ""
    name = str(field(offer, "name", default="") or "") if offer else ""
    return code or name or str(field(draft, "goal", default="") or "-")


def export_records(
    items: Sequence[DraftItem], exported_at: datetime, by: str = ""
) -> list[dict[str, Any]]:
    """The approved drafts as flat records (the CSV and JSONL rows)."""
    records = []
    for item in items:
        if item.status != "approved":
            continue
        d = item.draft
        products = field(d, "products", "product_ids", default=[]) or []
        records.append(
            {
                "draft_id": item.key,
                "customer_id": field(d, "customer_id", default=""),
                "channel": field(d, "channel", default=""),
                "language": field(d, "language", default=""),
                "subject": field(d, "subject", default=""),
                "preheader": field(d, "preheader", default=""),
                "title": field(d, "title", default=""),
                "body": field(d, "body", default=""),
                "offer_code": str(field(field(d, "offer"), "code", default="") or ""),
                "campaign": campaign_of(d),
                "products": [
                    p if isinstance(p, str) else str(field(p, "product_id", default=p))
                    for p in products
                ],
                "guard_passed": guard_passed(d),
                "guard_problems": guard_problems(d),
                "edited": item.edited,
                "status": item.status,
                "override_reason": item.reason,
                "exported_by": by,
                "exported_at": exported_at.isoformat(),
            }
        )
    return records


def write_exports(
    items: Sequence[DraftItem], out_dir: Path, stem: str, now: datetime | None = None,
    by: str = "",
) -> tuple[Path, Path] | None:
    """Write the approved drafts as ``<stem>.csv`` and ``<stem>.jsonl`` (atomically).

    The CSV starts with a UTF-8 byte order mark: Excel reads a BOM-less UTF-8 file in the
    system's code page and garbles Chinese.

    Returns:
        The two paths, or None when no draft is approved.
    """
    records = export_records(items, now or datetime.now(UTC), by)
    if not records:
        return None
    csv_path = out_dir / f"{stem}.csv"
    jsonl_path = out_dir / f"{stem}.jsonl"

    def write_csv(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=EXPORT_FIELDS)
            writer.writeheader()
            for rec in records:
                flat = dict(rec)
                flat["products"] = " ".join(rec["products"])
                flat["guard_problems"] = "; ".join(rec["guard_problems"])
                writer.writerow(flat)

    def write_jsonl(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8") as fh:
            for rec in records:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")

    atomic_write(csv_path, write_csv)
    atomic_write(jsonl_path, write_jsonl)
    logger.info("exported %d approved drafts to %s", len(records), out_dir)
    return csv_path, jsonl_path
