"""The rewriter hook of ``draft_message``: install, run under the guard, prompt and parse.

A rewriter (the optional SmolLM2 polish, or an OpenAI-compatible model) is a callable
``(draft, facts) -> draft | None``, installed process-wide with ``set_rewriter`` or per
deps as ``deps.copy_rewriter``. It gets the template draft and the grounding facts and may
return a rephrased draft, which is kept only when the guard passes it (``rewrite_draft``:
two attempts, each told the previous attempt's problems); otherwise the template draft
stands and the rejections are recorded on it. ``rewrite_prompt`` and ``parse_rewrite``
help model rewriters ask for and read back a rephrasing. ``tools.copy.drafting`` re-exports
the public names here.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tools.copy.rules import find_links, sms_size
from tools.copy.templates import render_template

if TYPE_CHECKING:
    from tools.copy.models import Draft, GroundingFacts, GuardVerdict

logger = logging.getLogger(__name__)

#: Rewrite attempts before the template draft is kept.
MAX_REWRITE_ATTEMPTS = 2
_LANGUAGE_NAMES = {"en": "English", "zh": "Simplified Chinese (简体中文)"}


#: ``(template draft, grounding facts) -> rephrased draft | None``.
Rewriter = Callable[["Draft", "GroundingFacts"], "Draft | None"]
_rewriter: Rewriter | None = None


def set_rewriter(rewriter: Rewriter | None) -> Rewriter | None:
    """Install the process-wide rewriter (``None`` removes it); returns the previous one."""
    global _rewriter
    previous, _rewriter = _rewriter, rewriter
    return previous


def get_rewriter(deps: object | None = None) -> Rewriter | None:
    """The rewriter in force: ``deps.copy_rewriter`` when set, else the process-wide one."""
    own: Rewriter | None = getattr(deps, "copy_rewriter", None)
    return own if own is not None else _rewriter


def merge_rewrite(template: Draft, candidate: Draft) -> Draft:
    """The template draft with the candidate's text fields (facts stay the template's)."""
    update: dict[str, object] = {"body": candidate.body}
    if template.channel == "email":
        update["subject"] = candidate.subject or template.subject
        update["preheader"] = candidate.preheader or template.preheader
    if template.channel == "push":
        update["title"] = candidate.title or template.title
    if template.channel == "sms":
        size = sms_size(candidate.body)
        update["sms_parts"], update["encoding"] = size.parts, size.encoding
    merged = template.model_copy(update=update)
    merged.links = list(dict.fromkeys(find_links(merged.full_text())))
    merged.source = candidate.source if candidate.source != "template" else "polished"
    merged.created_at = datetime.now(UTC)
    return merged


def rewrite_draft(
    draft: Draft,
    facts: GroundingFacts,
    rewriter: Rewriter,
    check: Callable[[Draft], GuardVerdict],
) -> Draft:
    """Ask ``rewriter`` to rephrase ``draft``; keep its text only when ``check`` passes it.

    Up to ``MAX_REWRITE_ATTEMPTS`` attempts, each told the previous attempt's problems; when
    none passes, the template draft stands with the rejections recorded on it.
    """
    rejections: list[str] = []
    for attempt in range(1, MAX_REWRITE_ATTEMPTS + 1):
        try:
            candidate = rewriter(draft, facts)
        except Exception as exc:  # the optional polish must never break drafting
            logger.warning(
                "rewriter failed on %s (attempt %d): %s",
                draft.draft_id,
                attempt,
                type(exc).__name__,
            )
            rejections.append(f"attempt {attempt}: the rewriter failed ({type(exc).__name__})")
            continue
        if candidate is None or not candidate.body.strip():
            rejections.append(f"attempt {attempt}: the rewriter returned nothing")
            continue
        merged = merge_rewrite(draft, candidate)
        verdict = check(merged)
        if verdict.passed:
            merged.guard = verdict
            merged.rewrite_rejections = rejections
            return merged
        rejections.append(f"attempt {attempt}: " + "; ".join(verdict.reasons()))
        facts = facts.model_copy(update={"previous_problems": verdict.reasons()})
    logger.info(
        "kept the template draft %s: %d rewrite(s) rejected", draft.draft_id, len(rejections)
    )
    return draft.model_copy(update={"rewrite_rejections": rejections})


# --- helpers for model rewriters -----------------------------------------------------------------


def draft_layout(draft: Draft) -> str:
    """A draft's text fields as ``field: value`` lines, body last (what rewriters read)."""
    lines = [f"{k}: {v}" for k, v in draft.text_fields().items() if k != "body"]
    return "\n".join([*lines, "body:", draft.body])


def rewrite_prompt(draft: Draft, facts: GroundingFacts) -> str:
    """The prompt asking a model to rephrase ``draft`` using only ``facts``."""
    problems = ""
    if facts.previous_problems:
        problems = (
            "\nThe previous attempt was rejected for: " + "; ".join(facts.previous_problems) + ".\n"
        )
    data = facts.model_dump(mode="json", exclude={"previous_problems"})
    return render_template(
        "copy/rewrite.md",
        shop_name=facts.shop_name,
        language_name=_LANGUAGE_NAMES[facts.language],
        channel=facts.channel,
        brand_voice=render_template("brand_voice.md", shop_name=facts.shop_name),
        first_name_rule=f'"{facts.first_name}"' if facts.first_name else "no name is known",
        limits=", ".join(f"{k} <= {v}" for k, v in facts.limits.items()),
        required="; ".join(repr(w) for w in facts.required_wording) or "none",
        problems=problems,
        facts=json.dumps(data, ensure_ascii=False, indent=1),
        draft=draft_layout(draft),
        fields=", ".join(draft.text_fields()),
    )


def parse_rewrite(text: str, draft: Draft) -> Draft | None:
    """Read a model's answer in ``draft_layout`` form back into a draft (``None`` if unusable)."""
    match = re.search(r"^\s*body:\s*\n?(?P<body>.*)\Z", text, re.S | re.M | re.I)
    if match is None or not match.group("body").strip():
        return None
    head = text[: match.start()]
    update: dict[str, object] = {"body": match.group("body").strip(), "source": "model"}
    for name in ("subject", "preheader", "title"):
        found = re.search(rf"^\s*{name}:\s*(.+)$", head, re.M | re.I)
        if found and getattr(draft, name) is not None:
            update[name] = found.group(1).strip()
    return draft.model_copy(update=update)
