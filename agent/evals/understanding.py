"""How well the agent understands marketers: the right tools and the key arguments.

The understanding set (``agent/evals/sets/understanding.jsonl``) holds requests written the
way marketers type them (English and Chinese, typos, numerals in words, slang, pronoun
follow-ups), each with the tools it must call in order, the key argument values, and the
expected outcome: an ``answer``, a clarifying question (``clarify``) or a polite refusal
(``decline``). Multi-turn items list the earlier requests of the conversation (``turns``);
they run first, in the same session, and are not scored.

The set is split deterministically by a hash of each item's id into a tuning part (about
60%) and a reporting part (about 40%). Figures are reported per part, by family and by
language.

Key arguments are written as ``tool.path`` (``find_customers.filter.min_spend``; ``[]``
maps over a list: ``optimize_campaign.channels[].channel``) or ``tool#count`` (how many
calls). A value is matched as follows: a number within rounding, a string without regard to
case, a list as a set, ``{"absent": true}`` when the argument is not set, ``{"has": s}``
when the value's text contains ``s``, ``{"contains": [...]}`` when a list holds them all.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, ValidationError

from tools.errors import DataValidationError

if TYPE_CHECKING:
    from agent.loop.runner import AgentResult
    from agent.settings import Settings
    from tools.deps import ToolDeps

logger = logging.getLogger(__name__)

#: The understanding set shipped with the package.
DEFAULT_SET = Path(__file__).resolve().parent / "sets" / "understanding.jsonl"
#: Share of the items (by id hash) in the tuning part.
TUNE_SHARE = 60

Part = Literal["tune", "report", "all"]
Outcome = Literal["answer", "clarify", "decline"]


class UnderstandingItem(BaseModel):
    """One request of the set with what a marketer expects from it."""

    id: str
    family: str
    lang: Literal["en", "zh"]
    request: str = Field(min_length=1)
    turns: list[str] = Field(default_factory=list)
    tools: list[str] = Field(default_factory=list)
    args: dict[str, Any] = Field(default_factory=dict)
    outcome: Outcome = "answer"

    @property
    def part(self) -> Literal["tune", "report"]:
        """The item's part, fixed by its id."""
        return part_of(self.id)


class ItemResult(BaseModel):
    """How one item went."""

    id: str
    family: str
    lang: str
    part: str
    request: str
    right_tools: bool
    right_args: bool
    tools: list[str]
    problems: list[str] = Field(default_factory=list)


class Score(BaseModel):
    """Counts and accuracies of a group of items."""

    items: int = 0
    right_tools: int = 0
    right_args: int = 0

    @property
    def tools_accuracy(self) -> float:
        """Share of items with the right tools and outcome."""
        return self.right_tools / self.items if self.items else 0.0

    @property
    def args_accuracy(self) -> float:
        """Share of items with the right tools, outcome and key arguments."""
        return self.right_args / self.items if self.items else 0.0

    def add(self, result: ItemResult) -> None:
        """Count one item."""
        self.items += 1
        self.right_tools += result.right_tools
        self.right_args += result.right_args

    def as_dict(self) -> dict[str, float | int]:
        """Counts and both accuracies, rounded."""
        return {
            "items": self.items,
            "tools_accuracy": round(self.tools_accuracy, 4),
            "args_accuracy": round(self.args_accuracy, 4),
        }


class UnderstandingReport(BaseModel):
    """The figures of one run over a part of the set."""

    part: str
    provider: str
    total: Score
    by_family: dict[str, Score]
    by_language: dict[str, Score]
    results: list[ItemResult]
    seconds: float

    def headline(self) -> dict[str, Any]:
        """The figures as one JSON-ready object (no per-item results)."""
        return {
            "part": self.part,
            "provider": self.provider,
            **self.total.as_dict(),
            "by_language": {k: v.as_dict() for k, v in sorted(self.by_language.items())},
            "by_family": {k: v.as_dict() for k, v in sorted(self.by_family.items())},
            "seconds": round(self.seconds, 1),
        }


def part_of(item_id: str) -> Literal["tune", "report"]:
    """The part an id belongs to: the first 32 bits of its sha256, modulo 100, below 60."""
    value = int(hashlib.sha256(item_id.encode("utf-8")).hexdigest()[:8], 16)
    return "tune" if value % 100 < TUNE_SHARE else "report"


def load_items(path: Path = DEFAULT_SET, part: Part = "all") -> list[UnderstandingItem]:
    """Read the set (one JSON object a line) and keep the items of ``part``.

    Raises:
        DataValidationError: a line is not valid JSON or not a valid item (line named).
    """
    items: list[UnderstandingItem] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                item = UnderstandingItem.model_validate(json.loads(line))
            except (json.JSONDecodeError, ValidationError) as exc:
                raise DataValidationError(f"{path}:{number}: not a valid item: {exc}") from exc
            if item.id in seen:
                raise DataValidationError(f"{path}:{number}: duplicate id {item.id!r}")
            seen.add(item.id)
            if part == "all" or item.part == part:
                items.append(item)
    return items


# ------------------------------------------------------------------------------- matching


def _collapse(names: Iterable[str]) -> list[str]:
    """Consecutive repeats of a tool count once (three drafts are one draft step)."""
    out: list[str] = []
    for name in names:
        if not out or out[-1] != name:
            out.append(name)
    return out


def _walk(value: Any, path: list[str]) -> Any:
    for step in path:
        mapped = step.endswith("[]")
        key = step[:-2] if mapped else step
        if isinstance(value, list):
            value = [v.get(key) if isinstance(v, dict) else None for v in value]
        elif isinstance(value, dict):
            value = value.get(key)
        else:
            return None
        if mapped and not isinstance(value, list):
            return None
    return value


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, dict):
        if expected.get("absent"):
            return actual is None or actual == [] or actual == {}
        if "has" in expected:
            text = json.dumps(actual, ensure_ascii=False) if not isinstance(actual, str) else actual
            return actual is not None and str(expected["has"]).lower() in text.lower()
        if "contains" in expected:
            have = {_norm(v) for v in actual} if isinstance(actual, list) else set()
            return {_norm(v) for v in expected["contains"]} <= have
        return False
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return False
        return sorted(map(_norm, actual)) == sorted(map(_norm, expected))
    return bool(_norm(actual) == _norm(expected))


def _norm(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return round(float(value), 6)
    return str(value).strip().lower()


def score_result(item: UnderstandingItem, result: AgentResult) -> ItemResult:
    """Compare a run with what the item expects."""
    names = [c.name for c in result.tool_calls]
    problems: list[str] = []
    reading = result.reading or {}
    declined = bool(reading.get("decline"))
    outcome: Outcome = (
        "clarify" if result.clarification is not None else "decline" if declined else "answer"
    )
    if outcome != item.outcome:
        problems.append(f"outcome {outcome}, expected {item.outcome}")
    if _collapse(names) != _collapse(item.tools):
        problems.append(f"tools {_collapse(names)}, expected {_collapse(item.tools)}")
    right_tools = not problems
    for key, expected in item.args.items():
        if "#" in key:
            tool, _, what = key.partition("#")
            count = sum(n == tool for n in names)
            if what != "count" or count != expected:
                problems.append(f"{key}: {count}, expected {expected}")
            continue
        tool, _, path = key.partition(".")
        call = next((c for c in result.tool_calls if c.name == tool), None)
        actual = _walk(call.args, path.split(".")) if call is not None else None
        absent_ok = isinstance(expected, dict) and expected.get("absent")
        if (call is None and not absent_ok) or not _same(actual, expected):
            problems.append(f"{key}: {json.dumps(actual, ensure_ascii=False)}, expected {expected}")
    return ItemResult(
        id=item.id,
        family=item.family,
        lang=item.lang,
        part=item.part,
        request=item.request,
        right_tools=right_tools,
        right_args=not problems,
        tools=names,
        problems=problems,
    )


# ------------------------------------------------------------------------------- the run


def run_understanding(
    settings: Settings,
    part: Part = "all",
    *,
    path: Path = DEFAULT_SET,
    deps: ToolDeps | None = None,
) -> UnderstandingReport:
    """Run every item of ``part`` on the configured provider and score it.

    Each item runs in a fresh session of its own; its earlier turns run first.
    """
    from agent.loop.runner import AgentRunner

    items = load_items(path, part)
    runner = AgentRunner(settings, deps=deps)
    started = time.perf_counter()
    results: list[ItemResult] = []
    total = Score()
    by_family: dict[str, Score] = {}
    by_language: dict[str, Score] = {}
    for item in items:
        session = f"understanding-{item.id}-{time.time_ns()}"
        for earlier in item.turns:
            runner.run(earlier, session=session)
        result = score_result(item, runner.run(item.request, session=session))
        runner.reset(session)
        results.append(result)
        total.add(result)
        by_family.setdefault(item.family, Score()).add(result)
        by_language.setdefault(item.lang, Score()).add(result)
    logger.info("understanding: %d items in %.1fs", len(items), time.perf_counter() - started)
    return UnderstandingReport(
        part=part,
        provider=runner.provider,
        total=total,
        by_family=by_family,
        by_language=by_language,
        results=results,
        seconds=time.perf_counter() - started,
    )
