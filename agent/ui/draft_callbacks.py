"""The drafts panel's callbacks: select, edit, attach an offer, approve, reject, export.

Free of Gradio like the rest of ``agent.ui``: session state in, a dict keyed by component name
out (values, or an :class:`Update` when a component also changes its visibility, choices or
selected tab; ``app.py`` turns it into ``gr.update``). ``AppCallbacks``
(``agent.ui.callbacks``) inherits these, so ``app.py`` wires every callback from one object.

Everything the panel says is in the session's language (``sess.lang``): notes, the export
note, faults. Reviewer actions (an edit with its guard re-check, approve, reject, an offer,
export) are appended to the trace of the run that wrote the draft
(``AgentRunner.record_review``): ids, verdicts and file names only, never the draft text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agent.loop.editing import offers_for, redraft_with_offer
from agent.ui import exports, views
from agent.ui.editor import meter_for, offer_picker, offer_review, with_offer
from agent.ui.warmup import Lang

if TYPE_CHECKING:
    from agent.loop.runner import AgentRunner
    from agent.settings import Settings

logger = logging.getLogger(__name__)

#: What a callback hands back: component name -> value or :class:`Update`.
UIValues = dict[str, Any]

EDITOR_FIELDS = ("subject", "preheader", "title", "body")


@dataclass(frozen=True)
class Update:
    """A component change beyond its value; the app passes ``props`` to ``gr.update``."""

    props: dict[str, Any]


def update(**props: Any) -> Update:
    """An :class:`Update` with these properties (value, visible, choices, selected...)."""
    return Update(props)


def select_first(sess: views.SessionView) -> UIValues:
    """The detail's line when an action needs a draft and none is selected."""
    return {"detail_md": f"_{views.Words(sess.lang).say('review', 'select_first')}_"}


class DraftCallbacks:
    """The drafts panel's callbacks around one ``AgentRunner`` (shared by all sessions)."""

    def __init__(self, settings: Settings, runner: AgentRunner) -> None:
        self.settings = settings
        self.runner = runner
        self.exports_dir = settings.state_dir / "exports"
        self.ledger = exports.ExportLedger(self.exports_dir / exports.LEDGER_NAME)

    def draft_view(self, sess: views.SessionView, key: str | None) -> UIValues:
        """The drafts table, picker, detail, editor boxes and offer picker with ``key`` selected.

        In the session's language (``sess.lang``); names stand beside ids.
        """
        words = views.Words(sess.lang)
        item = views.find_draft(sess.drafts, key)
        sess.editing = item.key if item else None  # set before the editor's text is sent
        out: UIValues = {
            "drafts_df": views.drafts_table(sess.drafts, words),
            "picker": update(
                choices=views.draft_choices(sess.drafts, words), value=item.key if item else None
            ),
            "detail_md": views.draft_detail(item, words),
        }
        out.update(offer_picker(item, lambda d: offers_for(self.runner.deps, d), words, update))
        have = views.editable_fields(item.draft) if item else []
        for name in EDITOR_FIELDS:
            value = views.field(item.draft, name, default="") if item else ""
            out[f"{name}_tb"] = update(value=value, visible=name in have)
        out["sms_md"] = self.sms_meter(
            str(views.field(item.draft, "body", default="")) if item else "", key, sess)
        return out

    def sms_meter(self, body: str, key: str | None, sess: views.SessionView) -> str:
        """The live SMS meter for the body being typed ("" unless the draft is an SMS).

        In the interface's language: the marketer reads it, whatever the customer's.
        """
        item = views.find_draft(sess.drafts, key)
        channel = str(views.field(item.draft, "channel", default="")) if item else ""
        lang: Lang = "zh" if sess.lang == "zh" else "en"
        return meter_for(self.runner.sms_size, body, channel, lang)

    def guarded(self, action: Callable[..., UIValues]) -> Callable[..., UIValues]:
        """``action`` (draft key first, session last) with faults shown as a friendly line."""

        def run(*args: Any) -> UIValues:
            sess: views.SessionView = args[-1]
            key: str | None = args[0]
            try:
                return action(*args)
            except Exception as exc:
                logger.exception("draft action failed (session %s)", sess.session_id)
                out = self.draft_view(sess, key)
                out["detail_md"] = views.friendly_error(exc, views.Words(sess.lang))
                return out

        return run

    def select(self, key: str | None, sess: views.SessionView) -> UIValues:
        """Show the picked draft (without re-triggering the picker's own change event)."""
        out = self.draft_view(sess, key)
        del out["picker"]
        return out

    def save(
        self,
        key: str | None,
        subject: str,
        preheader: str,
        title: str,
        body: str,
        sess: views.SessionView,
    ) -> UIValues:
        """Apply the edited text, re-check it with the guard and record the edit."""
        item = views.find_draft(sess.drafts, key)
        if item is None:
            return select_first(sess)
        changes = {"subject": subject, "preheader": preheader, "title": title, "body": body}
        edited = views.edit_draft(item, changes, self.recheck, views.Words(sess.lang))
        sess.drafts = views.replace_item(sess.drafts, edited)
        if edited.edited and edited.draft is not item.draft:
            self.record(
                edited.run_id,
                "edit",
                {
                    "draft_id": edited.key,
                    "guard_passed": views.guard_passed(edited.draft),
                    "problems": views.guard_problem_codes(edited.draft),
                },
            )
        return {**self.draft_view(sess, key), "state": sess}

    def attach_offer(
        self, key: str | None, offer_key: str | None, code: str, sess: views.SessionView
    ) -> UIValues:
        """Write the draft again with the offer picked in the editor (and the code typed).

        The copy room renders the offer sentence and its guard then accepts exactly that
        offer; the draft needs a fresh approval. Recorded in the run's trace (no text).
        """
        item = views.find_draft(sess.drafts, key)
        if item is None:
            return select_first(sess)
        draft = redraft_with_offer(self.runner.deps, item.draft, offer_key or "none", code)
        new = with_offer(item, draft, views.Words(sess.lang))
        sess.drafts = views.replace_item(sess.drafts, new)
        self.record(new.run_id, "offer", offer_review(new.key, offer_key or "none", draft))
        return {**self.draft_view(sess, key), "state": sess}

    def approve(self, key: str | None, reason: str, sess: views.SessionView) -> UIValues:
        """Approve the draft (refused while it fails the guard or doubles one without a reason)."""
        new = exports.approve(sess.drafts, key, reason, views.Words(sess.lang))
        if new is None:
            return select_first(sess)
        sess.drafts = views.replace_item(sess.drafts, new)
        if new.status == "approved":
            data: dict[str, Any] = {"draft_id": new.key}
            if new.reason:
                data["override_reason"] = new.reason
            self.record(new.run_id, "approve", data)
        return {**self.draft_view(sess, key), "state": sess}

    def reject(self, key: str | None, sess: views.SessionView) -> UIValues:
        """Reject the draft."""
        return self._set_status(key, sess, "rejected")

    def _set_status(
        self, key: str | None, sess: views.SessionView, status: views.DraftStatus
    ) -> UIValues:
        item = views.find_draft(sess.drafts, key)
        if item is None:
            return select_first(sess)
        new = views.set_status(item, status, views.Words(sess.lang))
        sess.drafts = views.replace_item(sess.drafts, new)
        if new.status == status:
            action = "approve" if status == "approved" else "reject"
            self.record(new.run_id, action, {"draft_id": new.key})
        return {**self.draft_view(sess, key), "state": sess}

    def export(self, sess: views.SessionView, user: str | None = None) -> UIValues:
        """Export what is new and still allowed (``agent.ui.exports``); offer both files."""
        hidden = update(value=None, visible=False)
        words = views.Words(sess.lang)
        by = user or "local user"
        try:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            drafts, plan, paths = exports.run_export(
                sess.drafts, self.ledger, self.exports_dir,
                f"approved-drafts-{sess.session_id}-{stamp}", self.runner.check_contacts, by)
        except Exception as exc:
            logger.exception("export failed (session %s)", sess.session_id)
            return {"export_md": views.friendly_error(exc, words), "csv_file": hidden,
                    "jsonl_file": hidden}
        sess.drafts = drafts
        note = exports.export_note(plan, len(plan.write) if paths else 0, words)
        if paths is None:
            return {"export_md": note, "csv_file": hidden, "jsonl_file": hidden,
                    "drafts_df": views.drafts_table(sess.drafts, words),
                    "state": sess}
        self._record_export(plan.write, [p.name for p in paths], by)
        return {
            "export_md": note,
            "csv_file": update(value=str(paths[0]), visible=True),
            "jsonl_file": update(value=str(paths[1]), visible=True),
            "drafts_df": views.drafts_table(sess.drafts, words),
            "state": sess,
        }

    # -- helpers ------------------------------------------------------------------------------

    def recheck(self, draft: Any) -> Any:
        """The copy guard's verdict on an edited draft."""
        return self.runner.check_draft(draft)

    def record(self, run_id: str, action: str, data: dict[str, Any]) -> None:
        """Append a review event to the run's trace; a failure is logged, never shown."""
        if not run_id:
            return
        try:
            self.runner.record_review(run_id, action, data)
        except Exception:  # the review itself succeeded; only its trace line is missing
            logger.exception("could not record %s in the trace of run %s", action, run_id)

    def _record_export(
        self, items: Sequence[views.DraftItem], files: list[str], by: str
    ) -> None:
        by_run: dict[str, list[str]] = {}
        for item in items:
            by_run.setdefault(item.run_id, []).append(item.key)
        for run_id, draft_ids in by_run.items():
            self.record(run_id, "export", {"draft_ids": draft_ids, "files": files, "by": by})
