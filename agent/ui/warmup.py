"""Warming the slow stores at start, and saying what is still warming.

On a fresh state directory the product index (MiniLM embeddings of the catalog in Chroma)
is by far the slowest part (see ``bench/bench_startup.py``). :class:`Warmup` builds the shop
and the customer profiles first, then starts the index on a background thread and builds the
recommender and the uplift model meanwhile. Requests never wait for the warm-up as a whole:
each store has its own lock (``tools.deps.ToolDeps``), so a profile or segment request answers
as soon as the profiles exist, and only a search waits for the index. The status line and the
answers name what is still being built (``note``), in the reader's language, with the
words of ``prompts/labels.toml`` (``[LANG.status]`` and ``[LANG.store]``).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any, Literal

from agent.offline.labels import Words

logger = logging.getLogger(__name__)

Lang = Literal["en", "zh"]

#: The stages of the warm-up (label, store); the index is started, not waited for.
WARMUP_STAGES: list[tuple[str, str]] = [
    ("Loading the shop", "shop"),
    ("Building customer profiles", "profiles"),
    ("Starting the product index", "products"),
    ("Preparing recommendations", "recommender"),
    ("Estimating campaign uplift", "uplift"),
]

_CJK = re.compile(r"[\u3400-\u9fff]")


def language_of(text: str) -> Lang:
    """"zh" when the text holds Chinese characters, else "en"."""
    return "zh" if _CJK.search(text or "") else "en"


def parts_text(states: list[Any], lang: Lang) -> str:
    """The stores still building as words ("the product index (42%), recommendations")."""
    words = Words(lang)
    out = []
    for s in states:
        pct = s.percent
        name = words.label("store", s.name)
        out.append(f"{name} ({pct}%)" if pct is not None else name)
    return words.join(out)


class Warmup:
    """Builds the stores ahead of the first requests on a background thread, with progress."""

    def __init__(self, deps: Any) -> None:
        self.deps = deps
        self.stage = WARMUP_STAGES[0][0]
        self.index = 0
        self.failed: list[str] = []
        self.done = threading.Event()
        self.seconds = 0.0

    def start(self) -> None:
        """Start building in the background."""
        threading.Thread(target=self._run, name="warmup", daemon=True).start()

    def _run(self) -> None:
        from tqdm import tqdm

        started = time.perf_counter()
        with tqdm(total=len(WARMUP_STAGES), desc="Preparing the shop", unit="step") as bar:
            for i, (label, attr) in enumerate(WARMUP_STAGES):
                self.index, self.stage = i, label
                bar.set_postfix_str(label)
                try:
                    if attr == "products":
                        self.deps.start_products()
                    else:
                        getattr(self.deps, attr)
                except Exception:
                    logger.exception("warm-up step failed: %s", label)
                    self.failed.append(attr)
                bar.update()
        try:
            if "products" not in self.failed:
                self.deps.products.wait(progress=False)
        except Exception:
            logger.exception("building the product index failed")
            self.failed.append("products")
        self.seconds = time.perf_counter() - started
        logger.info("ready in %.1f s", self.seconds)
        self.done.set()

    def warming(self) -> list[Any]:
        """The stores not ready yet (``tools.deps.StoreState``), empty once all are built."""
        if self.done.is_set():
            return []
        return [s for s in self.deps.readiness() if s.state != "ready"]

    def note(self, kind: str, lang: Lang = "en") -> str:
        """The warm-up note of ``kind`` ("status", "answer", "pending"), or "" when warm."""
        states = self.warming()
        if not states:
            return ""
        key = {"status": "warming", "answer": "warming_answer", "pending": "warming_pending"}
        return Words(lang).say("status", key[kind], parts=parts_text(states, lang))

    def failed_note(self, lang: Lang = "en") -> str:
        """What failed to build, or ""."""
        if not self.failed:
            return ""
        words = Words(lang)
        parts = words.join(words.label("store", f) for f in self.failed)
        return words.say("status", "failed", parts=parts)


def with_note(history: list[dict[str, Any]], note: str) -> list[dict[str, Any]]:
    """The chat with ``note`` added below its last answer (unchanged when ``note`` is "")."""
    if not note or not history or history[-1].get("role") != "assistant":
        return history
    last = dict(history[-1])
    last["content"] = f"{last.get('content', '')}\n\n_{note}_"
    return [*history[:-1], last]
