"""What the chat app checks before it runs a request: size and rates, with a plain answer.

``AppGate.refusal(text, chat, session, user)`` returns ``None`` when the request may run,
else the chat as it should be shown: the request (shortened when it is oversized, so a
3 MB paste is never echoed back) and an answer that says which limit refused it and what
to do. It runs before the agent is called, so a refused request costs a few microseconds
of a queue slot, never a model call, a trace or a session write. The limits themselves are
in ``agent.loop.limits`` (``AGENT_MAX_REQUEST_BYTES``, ``AGENT_RATE_LIMIT_SESSION``,
``AGENT_RATE_LIMIT_USER``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from agent.loop.limits import LimitError, RequestGate

if TYPE_CHECKING:
    from agent.settings import Settings

logger = logging.getLogger(__name__)

#: Characters of an oversized request shown back in the chat.
SHOWN_CHARS = 200


class AppGate:
    """The app's request limits (one per app, shared by every browser session)."""

    def __init__(self, settings: Settings) -> None:
        """Limits from the settings."""
        self.gate = RequestGate.from_limits(
            settings.max_request_bytes, settings.rate_limit_session, settings.rate_limit_user
        )

    def refusal(
        self, text: str | None, chat: list[dict[str, Any]] | None, session: str, user: str | None
    ) -> dict[str, Any] | None:
        """None when the request may run; else the chat values that say why it did not."""
        text = (text or "").strip()
        if not text:
            return None
        try:
            self.gate.admit(text, session, user)
        except LimitError as exc:
            logger.info("request refused (session %s): %s", session, type(exc).__name__)
            shown = text
            if len(text) > SHOWN_CHARS:
                shown = f"{text[:SHOWN_CHARS]}… ({len(text):,} characters)"
            history = [
                *(chat or []),
                {"role": "user", "content": shown},
                {"role": "assistant", "content": f"⚠️ Not run: {exc}"},
            ]
            return {"chatbot": history, "msg": ""}
        return None
