"""The chat app's callbacks, free of Gradio: session state in, plain UI values out.

``app.py`` builds the Blocks and wires each component to a method of :class:`AppCallbacks`.
Every method returns a dict keyed by component *name* (``"chatbot"``, ``"drafts_df"``, ...;
the app maps names to its components). Values are plain (Markdown, DataFrames, figures,
chat message lists) or an :class:`Update` when a component also changes its visibility,
choices or selected tab (the app turns it into ``gr.update``). The mapping from agent
results to these values lives in ``agent.ui.views``; the work in ``AgentRunner``.

Reviewer actions (an edit with its guard re-check, approve, reject, export) are appended
to the trace of the run that wrote the draft (``AgentRunner.record_review``): ids, verdicts
and file names only, never the draft text.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.loop.editing import offers_for, redraft_with_offer
from agent.ui import exports, history, readout, views
from agent.ui.editor import meter_for, offer_picker, offer_review, with_offer
from agent.ui.warmup import WARMUP_STAGES as WARMUP_STAGES
from agent.ui.warmup import Lang, Warmup, language_of, with_note

if TYPE_CHECKING:
    from agent.loop.runner import AgentRunner
    from agent.settings import Settings

logger = logging.getLogger(__name__)

#: What a callback hands back: component name -> value or :class:`Update`.
UIValues = dict[str, Any]

EDITOR_FIELDS = ("subject", "preheader", "title", "body")
SELECT_FIRST = "_Select a draft first._"


@dataclass(frozen=True)
class Update:
    """A component change beyond its value; the app passes ``props`` to ``gr.update``."""

    props: dict[str, Any]


def update(**props: Any) -> Update:
    """An :class:`Update` with these properties (value, visible, choices, selected...)."""
    return Update(props)


def new_session() -> views.SessionView:
    """A fresh browser session: its own agent session id and an empty draft queue."""
    return views.SessionView(session_id=uuid.uuid4().hex[:12])


class AppCallbacks:
    """The app's callbacks around one ``AgentRunner`` (shared by all browser sessions)."""

    def __init__(self, settings: Settings, runner: AgentRunner, warmup: Warmup) -> None:
        self.settings = settings
        self.runner = runner
        self.warmup = warmup
        self.exports_dir = settings.state_dir / "exports"
        self.ledger = exports.ExportLedger(self.exports_dir / exports.LEDGER_NAME)
        self.history = history.HistoryCallbacks(
            self.lookup, self.exports_dir, update, settings.shop_name,
            lambda: runner.deps.shop.meta.get("categories") or {},
        )
        self.provider = (
            settings.provider
            if settings.provider == "offline"
            else f"{settings.provider} ({settings.model})"
        )

    # -- status -------------------------------------------------------------------------------

    def status_text(self, lang: Lang = "en") -> str:
        """The status line in ``lang``: model, data set, what is warming and what failed."""
        shop = self.runner.deps.shop
        text = views.status_line(
            self.provider, self.settings.shop_name, shop.counts(), shop.meta.get("as_of"),
            views.Words(lang),
        )
        for note in (self.warmup.note("status", lang), self.warmup.failed_note(lang)):
            if note:
                text += " · " + note
        return text

    # -- chat ---------------------------------------------------------------------------------

    def respond(
        self,
        text: str,
        chat: list[dict[str, Any]] | None,
        sess: views.SessionView,
        view: history.PanelView | None = None,
    ) -> Iterator[UIValues]:
        """Run a request, streaming its steps into the chat, then fill the panels.

        ``view`` holds the session's panels (``agent.ui.history``): the tab of the latest
        result opens on it, and earlier results stay in each panel's selector.
        """
        text = (text or "").strip()
        if not text:
            return
        history = [*(chat or []), {"role": "user", "content": text}]
        yield {"chatbot": history, "msg": "", "state": sess}
        final = None
        started = time.perf_counter()
        try:
            # Nothing waits for the warm-up as a whole: a store a request needs is built (or
            # waited for) when the request's tool asks for it; the answer says what is warming.
            for step in self.runner.stream(text, session=sess.session_id):
                history = views.apply_update(history, step, view.words if view else None)
                if step.result is not None:
                    final = step.result
                yield {"chatbot": history}
        except Exception as exc:  # a program fault: log it, tell the user plainly
            logger.exception("request failed (session %s)", sess.session_id)
            history = [*history, {"role": "assistant", "content": views.friendly_error(exc)}]
            when = datetime.now(UTC).strftime("%H:%M:%S UTC")
            failed = (view.words if view else views.Words()).say("status", "last_run_failed",
                                                                  when=when)
            yield {"chatbot": history, "state": sess, "run_md": failed}
            return
        if final is None:
            return
        if view is not None:
            sess.lang = view.lang
        seconds = time.perf_counter() - started
        history = with_note(history, self.warmup.note("answer", language_of(text)))
        out: UIValues = {
            "chatbot": history,
            "state": sess,
            "run_md": views.run_info(final, seconds, view.words if view else None),
        }
        out.update(self.panels_for(final, view))
        plan = views.latest_artifact(final, "optimize_campaign")
        if plan is not None:
            sess.plan_id = str(views.field(plan, "plan_id", default="")) or None
        if final.drafts:
            sess.drafts = views.add_drafts(sess.drafts, final.drafts, run_id=final.run_id)
            first_new = sess.drafts[len(sess.drafts) - len(final.drafts)].key
            out.update(self.draft_view(sess, first_new))
        if final.drafts:
            out["tabs"] = update(selected="drafts")
        yield out

    def panels_for(self, result: Any, view: history.PanelView | None = None) -> UIValues:
        """Keep a run's results in the session's panels and show the latest (its tab opens)."""
        return self.history.after_run(view if view is not None else history.PanelView(), result)

    def lookup(self, customer_id: str) -> Any:
        """One customer's profile through the tool registry (segment pages and exports)."""
        from tools.registry import call_tool

        return call_tool(self.runner.deps, "lookup_customer", {"customer_id": customer_id})

    def reset(self, sess: views.SessionView, view: history.PanelView | None = None) -> UIValues:
        """A new conversation: new agent session, empty chat and panels (drafts stay)."""
        try:
            self.runner.reset(sess.session_id)
        except Exception:
            logger.exception("could not reset session %s", sess.session_id)
        sess.session_id = uuid.uuid4().hex[:12]
        out: UIValues = {"chatbot": [], "msg": "", "run_md": "", "state": sess}
        return {**out, **self.history.reset(view if view is not None else history.PanelView())}

    # -- drafts -------------------------------------------------------------------------------

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
                out["detail_md"] = views.friendly_error(exc)
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
            return {"detail_md": SELECT_FIRST}
        changes = {"subject": subject, "preheader": preheader, "title": title, "body": body}
        edited = views.edit_draft(item, changes, self.recheck)
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
            return {"detail_md": SELECT_FIRST}
        draft = redraft_with_offer(self.runner.deps, item.draft, offer_key or "none", code)
        new = with_offer(item, draft, views.Words(sess.lang))
        sess.drafts = views.replace_item(sess.drafts, new)
        self.record(new.run_id, "offer", offer_review(new.key, offer_key or "none", draft))
        return {**self.draft_view(sess, key), "state": sess}

    def language(
        self, lang: str, view: history.PanelView, key: str | None, sess: views.SessionView
    ) -> UIValues:
        """Switch the interface's language: fixed text, panels and the drafts panel.

        ``key`` is the draft being reviewed; it stays selected.
        """
        out = self.history.language(lang, view)
        sess.lang = view.lang
        for name, value in self.draft_view(sess, key).items():  # keep the new labels too
            old = out.get(name)
            if isinstance(old, Update):
                props = value.props if isinstance(value, Update) else {"value": value}
                value = Update({**old.props, **props})
            out[name] = value
        return {**out, "state": sess}

    def approve(self, key: str | None, reason: str, sess: views.SessionView) -> UIValues:
        """Approve the draft (refused while it fails the guard or doubles one without a reason)."""
        new = exports.approve(sess.drafts, key, reason)
        if new is None:
            return {"detail_md": SELECT_FIRST}
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
            return {"detail_md": SELECT_FIRST}
        new = views.set_status(item, status)
        sess.drafts = views.replace_item(sess.drafts, new)
        if new.status == status:
            action = "approve" if status == "approved" else "reject"
            self.record(new.run_id, action, {"draft_id": new.key})
        return {**self.draft_view(sess, key), "state": sess}

    def export(self, sess: views.SessionView, user: str | None = None) -> UIValues:
        """Export what is new and still allowed (``agent.ui.exports``); offer both files."""
        hidden = update(value=None, visible=False)
        by = user or "local user"
        try:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            drafts, plan, paths = exports.run_export(
                sess.drafts, self.ledger, self.exports_dir,
                f"approved-drafts-{sess.session_id}-{stamp}", self.runner.check_contacts, by)
        except Exception as exc:
            logger.exception("export failed (session %s)", sess.session_id)
            return {"export_md": views.friendly_error(exc), "csv_file": hidden,
                    "jsonl_file": hidden}
        sess.drafts = drafts
        note = exports.export_note(plan, len(plan.write) if paths else 0)
        if paths is None:
            return {"export_md": note, "csv_file": hidden, "jsonl_file": hidden,
                    "drafts_df": views.drafts_table(sess.drafts, views.Words(sess.lang)),
                    "state": sess}
        self._record_export(plan.write, [p.name for p in paths], by)
        return {
            "export_md": note,
            "csv_file": update(value=str(paths[0]), visible=True),
            "jsonl_file": update(value=str(paths[1]), visible=True),
            "drafts_df": views.drafts_table(sess.drafts, views.Words(sess.lang)),
            "state": sess,
        }

    # -- plan: assignment out, results in -----------------------------------------------------

    def export_assignment(
        self, fmt: str, sess: views.SessionView, view: history.PanelView | None = None
    ) -> UIValues:
        """Write the session's latest plan's assignment (CSV or Parquet) for download."""
        from tools.registry import call_tool

        w = view.words if view is not None else views.Words()
        hidden = update(value=None, visible=False)
        if not sess.plan_id:
            return {"assignment_md": f"_{w.ui('no_plan')}_", "assignment_file": hidden}
        try:
            export = call_tool(self.runner.deps, "export_assignment",
                               {"plan_id": sess.plan_id, "format": fmt})
        except Exception as exc:
            logger.exception("assignment export failed (plan %s)", sess.plan_id)
            return {"assignment_md": views.friendly_error(exc), "assignment_file": hidden}
        return {"assignment_md": readout.export_note(export, w),
                "assignment_file": update(value=str(export.path), visible=True)}

    def read_out(
        self, upload: Any, sess: views.SessionView, view: history.PanelView | None = None
    ) -> UIValues:
        """Read an uploaded results file out against the session's latest plan."""
        from tools.registry import call_tool

        w = view.words if view is not None else views.Words()
        if not sess.plan_id:
            return {"readout_md": f"_{w.ui('no_plan')}_"}
        path = str(upload or "")
        if not path:
            return {"readout_md": f"_{w.say('readout', 'choose_file')}_"}
        # The upload lives in Gradio's cache; the tools read only inside the allowed folders.
        target = self.settings.state_dir / "uploads" / readout.upload_name(
            sess.plan_id, Path(path).name)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            result = call_tool(self.runner.deps, "read_out_campaign",
                               {"plan_id": sess.plan_id, "results_path": str(target)})
        except Exception as exc:
            if type(exc).__name__ == "ToolInputError":  # a bad file: the message says why
                logger.info("read-out refused (plan %s): %s", sess.plan_id, exc)
            else:
                logger.exception("read-out failed (plan %s)", sess.plan_id)
            return {"readout_md": views.friendly_error(exc), "readout_df":
                    readout.readout_table(None, w), "readout_plot": None}
        if view is not None:
            view.readout = result  # redrawn with the plan panel (a language switch)
        chart = readout.readout_chart(result, w)
        return {"readout_md": readout.readout_summary(result, w),
                "readout_df": readout.readout_table(result, w),
                "readout_plot": update(value=chart, visible=chart is not None)}

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
