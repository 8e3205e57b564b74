"""An OpenAI-compatible model as the copy rewriter: template drafts rephrased in the brand voice.

``build_llm_rewriter(settings)`` returns a :data:`tools.copy.drafting.Rewriter` for
``draft_message`` (install it as ``deps.copy_rewriter``). For each draft it sends one chat
request to ``settings.openai_base_url`` (OpenAI itself, vLLM, llama.cpp's server, Ollama)
with the prompt ``prompts/copy_rewrite.md``: a system message with the brand voice's rules
and the channel's limits, and a user message with the grounding facts inside a clearly
marked ``<data>`` block that the model is told to treat as data, followed by the template
draft's fields as JSON. The model answers with one JSON object holding exactly the
channel's text fields (``subject``/``preheader``/``body`` for e-mail, ``title``/``body`` for
push, ``body`` for SMS). JSON mode (``response_format={"type": "json_object"}``) is asked
for and dropped if the server refuses it.

The reply is parsed strictly (:func:`parse_rewrite_reply`): anything but that JSON object
(optionally inside one ```json fence) is malformed, counted, and the rewriter returns
``None``. ``draft_message`` keeps a rewrite only when the copy guard passes it and otherwise
keeps the template draft with the rejection recorded, so the model can only ever make a
draft read better, never make it wrong.

Transport: the ``openai`` client with ``timeout=settings.request_timeout_s`` per request and
``max_retries=settings.max_retries``; the client retries 408, 409, 429, 5xx, timeouts and
connection errors with exponential backoff and jitter, honouring ``Retry-After``. An error
left after the retries is classified (``rate_limited``, ``server_error``, ``timeout``, ...)
and recorded on the per-item :class:`RewriteStats` (see :func:`collect_rewrite_stats`);
the batch runner then marks the item failed so that ``--resume`` retries it, instead of
silently sending template copy. Token usage comes from the response's ``usage`` field, or
is counted with the offline cl100k encoding when a server omits it.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tools.copy.guard import sms_size
from tools.copy.models import Draft, GroundingFacts
from tools.copy.templates import load_template
from tools.errors import ToolInputError

if TYPE_CHECKING:
    import openai

    from agent.settings import Settings
    from tools.shop.schemas import Channel

logger = logging.getLogger(__name__)

#: The prompt template (under ``prompts/``).
PROMPT_NAME = "copy_rewrite.md"
#: The text fields a model writes, per channel, in reading order.
REWRITE_FIELDS: dict[str, tuple[str, ...]] = {
    "email": ("subject", "preheader", "body"),
    "sms": ("body",),
    "push": ("title", "body"),
}
#: Most tokens a reply may use, per channel: the channel's longest text in Chinese (about a
#: token per character) plus the JSON around it; a longer reply would be rejected anyway.
MAX_REPLY_TOKENS: dict[str, int] = {"email": 600, "sms": 220, "push": 240}
_LANGUAGE_NAMES = {"en": "English", "zh": "Simplified Chinese (简体中文)"}
_FENCED = re.compile(r"\A```(?:json|JSON)?[ \t]*\n(?P<body>.*)\n```\Z", re.S)


class RewriterUnavailableError(RuntimeError):
    """The endpoint could not answer (after the client's retries); ``reason`` says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass
class RewriteStats:
    """What rewriting one item (or a whole run) cost and how it went."""

    calls: int = 0
    tokens: int = 0
    malformed: int = 0
    transport_error: str | None = None
    error_message: str = ""

    def add(self, other: RewriteStats) -> None:
        """Add another item's numbers to these (the first transport error is kept)."""
        self.calls += other.calls
        self.tokens += other.tokens
        self.malformed += other.malformed
        if self.transport_error is None and other.transport_error is not None:
            self.transport_error = other.transport_error
            self.error_message = other.error_message


_CURRENT: ContextVar[RewriteStats | None] = ContextVar("rewrite_stats", default=None)


@contextmanager
def collect_rewrite_stats() -> Iterator[RewriteStats]:
    """Collect the rewriter's calls, tokens and errors made inside the ``with`` block.

    The stats live in a context variable, so each thread (or task) drafting an item gets its
    own. After a transport error inside the block, later rewrite attempts in the same block
    fail at once instead of waiting through the retries a second time.
    """
    stats = RewriteStats()
    token = _CURRENT.set(stats)
    try:
        yield stats
    finally:
        _CURRENT.reset(token)


# --- prompt and strict parsing (pure) ---------------------------------------------------------


def rewrite_fields(channel: Channel | str) -> tuple[str, ...]:
    """The JSON keys a reply for ``channel`` must hold."""
    try:
        return REWRITE_FIELDS[channel]
    except KeyError:
        raise ValueError(f"unknown channel {channel!r}") from None


def build_rewrite_messages(draft: Draft, facts: GroundingFacts) -> list[dict[str, str]]:
    """The chat messages asking a model to rephrase ``draft`` from ``facts`` only.

    The system message holds the rules; the user message holds the facts inside a
    ``<data>`` block and, last, the template draft's fields as JSON (the shape to answer in).
    """
    fields = rewrite_fields(draft.channel)
    problems = ""
    if facts.previous_problems:
        problems = (
            "\nThe previous rewrite was rejected for: "
            + "; ".join(facts.previous_problems)
            + ". Avoid that.\n"
        )
    data = facts.model_dump(
        mode="json", exclude={"previous_problems", "limits", "required_wording"}
    )
    template = load_template(PROMPT_NAME)
    system = template.render_section(
        "system",
        shop_name=facts.shop_name,
        language_name=_LANGUAGE_NAMES.get(facts.language, facts.language),
        channel=facts.channel,
        limits=", ".join(f"{k} <= {v}" for k, v in facts.limits.items()),
        required="; ".join(repr(w) for w in facts.required_wording) or "none",
        fields=", ".join(fields),
        example=json.dumps(dict.fromkeys(fields, "...")),
    )
    user = template.render_section(
        "user",
        channel=facts.channel,
        facts=json.dumps(data, ensure_ascii=False),
        problems=problems,
        draft_json=json.dumps(
            {name: getattr(draft, name) or "" for name in fields}, ensure_ascii=False
        ),
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def parse_rewrite_reply(text: str | None, channel: Channel | str) -> dict[str, str] | None:
    """Read a model's reply strictly: the channel's fields as a dict, or ``None``.

    Accepted: one JSON object (optionally inside a single ```json fence, nothing around it)
    whose keys are exactly the channel's fields and whose values are non-empty strings.
    Anything else (prose around the object, missing or extra keys, numbers, nested values)
    is malformed.
    """
    if text is None:
        return None
    body = text.strip()
    fenced = _FENCED.match(body)
    if fenced:
        body = fenced.group("body").strip()
    if not (body.startswith("{") and body.endswith("}")):
        return None
    try:
        data: Any = json.loads(body)
    except ValueError:
        return None
    fields = rewrite_fields(channel)
    if not isinstance(data, dict) or set(data) != set(fields):
        return None
    out: dict[str, str] = {}
    for name in fields:
        value = data[name]
        if not isinstance(value, str) or not value.strip():
            return None
        out[name] = value.strip()
    return out


def apply_rewrite(draft: Draft, fields: dict[str, str]) -> Draft:
    """``draft`` with the rewritten text fields, marked as written by the model."""
    update: dict[str, object] = {**fields, "source": "model"}
    if draft.channel == "sms":
        size = sms_size(fields["body"])
        update["sms_parts"], update["encoding"] = size.parts, size.encoding
    return draft.model_copy(update=update)


def classify_error(exc: BaseException) -> str | None:
    """A short reason for a transport or endpoint error, or ``None`` for anything else."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection_error"
    if isinstance(exc, openai.RateLimitError):
        return "rate_limited"
    if isinstance(exc, openai.InternalServerError):
        return "server_error"
    if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return "auth_error"
    if isinstance(exc, openai.NotFoundError):
        return "model_not_found"
    if isinstance(exc, openai.APIStatusError):
        return f"http_{exc.status_code}"
    return None


# --- the rewriter -------------------------------------------------------------------------------


@dataclass
class LLMRewriter:
    """Rephrases drafts with an OpenAI-compatible chat model (a ``Rewriter`` callable).

    Thread-safe: the ``openai`` client may be shared by many threads; ``totals`` adds up every
    call under a lock.
    """

    client: openai.OpenAI
    model: str
    json_mode: bool = True
    temperature: float = 0.0
    totals: RewriteStats = field(default_factory=RewriteStats)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, draft: Draft, facts: GroundingFacts) -> Draft | None:
        """One rewrite of ``draft``; ``None`` when the reply is malformed.

        Raises:
            RewriterUnavailableError: the endpoint failed after the client's retries (or had
                already failed for this item).
        """
        stats = _CURRENT.get()
        if stats is not None and stats.transport_error is not None:
            raise RewriterUnavailableError(stats.transport_error, "endpoint already failed")
        messages = build_rewrite_messages(draft, facts)
        mine = RewriteStats(calls=1)
        try:
            reply, tokens = self._complete(messages, MAX_REPLY_TOKENS[draft.channel])
        except Exception as exc:
            reason = classify_error(exc)
            if reason is None:
                raise
            mine.transport_error, mine.error_message = reason, f"{type(exc).__name__}: {exc}"
            self._record(mine, stats)
            logger.warning("rewrite request for %s failed: %s", draft.customer_id, reason)
            raise RewriterUnavailableError(reason, str(exc)) from exc
        mine.tokens = tokens
        fields = parse_rewrite_reply(reply, draft.channel)
        if fields is None:
            mine.malformed = 1
            logger.info(
                "malformed rewrite reply for %s (%d chars)", draft.customer_id, len(reply or "")
            )
        self._record(mine, stats)
        return None if fields is None else apply_rewrite(draft, fields)

    def _record(self, mine: RewriteStats, stats: RewriteStats | None) -> None:
        with self._lock:
            self.totals.add(mine)
        if stats is not None:
            stats.add(mine)

    def _complete(self, messages: list[dict[str, str]], max_tokens: int) -> tuple[str, int]:
        import openai

        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature,
            "max_tokens": max_tokens,
        }
        if self.json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        try:
            response = self.client.chat.completions.create(**kwargs)
        except openai.BadRequestError as exc:
            if not self.json_mode or "response_format" not in str(exc):
                raise
            # Some servers reject JSON mode; the strict parser still checks the reply.
            logger.warning("the endpoint rejects JSON mode; asking without it")
            self.json_mode = False
            kwargs.pop("response_format")
            response = self.client.chat.completions.create(**kwargs)
        reply = response.choices[0].message.content if response.choices else None
        usage = response.usage
        if usage is not None and usage.total_tokens:
            tokens = int(usage.total_tokens)
        else:
            from agent.loop.tokens import count_message_tokens, count_tokens

            tokens = count_message_tokens(messages) + count_tokens(reply or "")
        return reply or "", tokens


def build_llm_rewriter(settings: Settings) -> LLMRewriter:
    """A rewriter on the OpenAI-compatible endpoint of ``settings``.

    Uses ``openai_base_url``, ``openai_api_key``, ``model``, ``request_timeout_s`` (per
    request) and ``max_retries`` (backoff on 429, 5xx, timeouts and connection errors).

    Raises:
        ToolInputError: neither a base URL nor a real API key is configured.
    """
    import openai

    key = settings.openai_api_key.get_secret_value()
    if not settings.openai_base_url and key in ("", "not-needed"):
        raise ToolInputError(
            "the LLM rewriter needs AGENT_OPENAI_BASE_URL (an OpenAI-compatible server) "
            "or AGENT_OPENAI_API_KEY for api.openai.com"
        )
    client = openai.OpenAI(
        base_url=settings.openai_base_url,
        api_key=key or "not-needed",
        timeout=settings.request_timeout_s,
        max_retries=settings.max_retries,
    )
    logger.info("LLM rewriter: model %s at %s", settings.model, settings.openai_base_url)
    return LLMRewriter(client=client, model=settings.model)
