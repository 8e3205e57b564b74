"""The chat app's callbacks, free of Gradio: session state in, plain UI values out.

``app.py`` builds the Blocks and wires each component to a method of :class:`AppCallbacks`.
Every method returns a dict keyed by component *name* (``"chatbot"``, ``"drafts_df"``, ...;
the app maps names to its components). Values are plain (Markdown, DataFrames, figures,
chat message lists) or an :class:`Update` when a component also changes its visibility,
choices or selected tab (the app turns it into ``gr.update``). The mapping from agent
results to these values lives in ``agent.ui.views``; the work in ``AgentRunner``.

The drafts panel's callbacks (select, edit, offer, approve, reject, export, the SMS meter)
are in ``agent.ui.draft_callbacks``; :class:`AppCallbacks` inherits them.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.ui import history, readout, views
from agent.ui.draft_callbacks import EDITOR_FIELDS as EDITOR_FIELDS
from agent.ui.draft_callbacks import DraftCallbacks, UIValues, update
from agent.ui.draft_callbacks import Update as Update
from agent.ui.warmup import WARMUP_STAGES as WARMUP_STAGES
from agent.ui.warmup import Lang, Warmup, language_of, with_note

if TYPE_CHECKING:
    from agent.loop.runner import AgentRunner
    from agent.settings import Settings

logger = logging.getLogger(__name__)

def new_session() -> views.SessionView:
    """A fresh browser session: its own agent session id and an empty draft queue."""
    return views.SessionView(session_id=uuid.uuid4().hex[:12])


class AppCallbacks(DraftCallbacks):
    """The app's callbacks around one ``AgentRunner`` (shared by all browser sessions)."""

    def __init__(self, settings: Settings, runner: AgentRunner, warmup: Warmup) -> None:
        super().__init__(settings, runner)
        self.warmup = warmup
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
            words = view.words if view else views.Words(sess.lang)
            history = [*history, {"role": "assistant",
                                  "content": views.friendly_error(exc, words)}]
            when = datetime.now(UTC).strftime("%H:%M:%S UTC")
            failed = words.say("status", "last_run_failed", when=when)
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
            return {"assignment_md": views.friendly_error(exc, w), "assignment_file": hidden}
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
            return {"readout_md": views.friendly_error(exc, w), "readout_df":
                    readout.readout_table(None, w), "readout_plot": None}
        if view is not None:
            view.readout = result  # redrawn with the plan panel (a language switch)
        chart = readout.readout_chart(result, w)
        return {"readout_md": readout.readout_summary(result, w),
                "readout_df": readout.readout_table(result, w),
                "readout_plot": update(value=chart, visible=chart is not None)}
