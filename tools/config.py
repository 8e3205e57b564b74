"""What the tools need from the product's settings, as one typed value.

The domain never reads the environment or imports the agent's settings: the agent side
builds a ``ToolConfig`` from its ``Settings`` (``Settings.tool_config()``) and hands it to
``ToolDeps``. The project's fixed folders are named here, at the bottom of the domain, so
that both sides agree on them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: The repository root (where ``data/`` and ``prompts/`` live).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: The demo shop shipped with the project.
DEMO_DATA_DIR = PROJECT_ROOT / "data" / "demo"
#: Prompts, copy templates and vocabulary files.
PROMPTS_DIR = PROJECT_ROOT / "prompts"
#: The shared real data sets (read only), beside the repository.
SHARED_DATASETS_DIR = PROJECT_ROOT.parent / "shared" / "datasets"


RuleScope = Literal["email", "sms", "push", "any"]
#: The default contact limits per channel: "N/D" allows a message only when fewer than N went
#: out on that channel in the last D days ("any" counts every channel together).
DEFAULT_FREQUENCY_RULES: dict[str, str] = {"email": "2/7", "sms": "1/14", "push": "3/7"}
_RULE_TEXT = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*(?:d|days?)?\s*$", re.IGNORECASE)
_OFF = {"off", "none", "no", ""}


class FrequencyRule(BaseModel):
    """At most ``max_messages`` messages on ``channel`` (or any channel) in ``days`` days."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: RuleScope
    max_messages: int = Field(ge=1)
    days: int = Field(ge=1)

    @property
    def label(self) -> str:
        """The rule in words, e.g. ``"sms: at most 1 message in 14 days"``."""
        scope = "any channel" if self.channel == "any" else self.channel
        noun = "message" if self.max_messages == 1 else "messages"
        return f"{scope}: at most {self.max_messages} {noun} in {self.days} days"

    def applies_to(self, channel: str) -> bool:
        """Whether the rule limits messages on ``channel``."""
        return self.channel in ("any", channel)


def parse_frequency_rules(spec: Any) -> tuple[FrequencyRule, ...]:
    """Frequency rules from ``{"email": "2/7", "sms": "off"}`` (or rule objects or dicts).

    A value is ``"N/D"`` (at most N messages in D days), ``{"max_messages": N, "days": D}``
    or ``"off"`` (no limit on that channel). Keys are ``email``, ``sms``, ``push`` or ``any``.

    Raises:
        ValueError: an unknown channel or an unreadable limit, named with what is expected.
    """
    if spec is None:
        return ()
    if isinstance(spec, FrequencyRule):
        return (spec,)
    if not isinstance(spec, Mapping):
        rules: list[FrequencyRule] = []
        for item in spec:
            rules.extend(parse_frequency_rules(item) if isinstance(item, FrequencyRule)
                         else parse_frequency_rules({item["channel"]: item}))
        return tuple(rules)
    out: list[FrequencyRule] = []
    for key, value in spec.items():
        channel = str(key).strip().lower()
        if channel not in ("email", "sms", "push", "any"):
            raise ValueError(
                f"frequency rule {key!r}: unknown channel; use email, sms, push or any"
            )
        if isinstance(value, FrequencyRule):
            out.append(value.model_copy(update={"channel": channel}))
            continue
        if isinstance(value, Mapping):
            try:
                out.append(FrequencyRule(channel=channel,  # type: ignore[arg-type]
                                         max_messages=int(value["max_messages"]),
                                         days=int(value["days"])))
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(
                    f"frequency rule {channel}: expected max_messages >= 1 and days >= 1 "
                    f"({exc})"
                ) from None
            continue
        text = str(value).strip().lower()
        if text in _OFF:
            continue
        match = _RULE_TEXT.match(text)
        if not match or int(match.group(1)) < 1 or int(match.group(2)) < 1:
            raise ValueError(
                f"frequency rule {channel}: {value!r} is not a limit; expected 'N/D' (at most N "
                f"messages in D days, both 1 or more, e.g. '2/7') or 'off'"
            )
        out.append(FrequencyRule(channel=channel,  # type: ignore[arg-type]
                                 max_messages=int(match.group(1)), days=int(match.group(2))))
    return tuple(out)


class ToolConfig(BaseModel):
    """The settings the tools read (built by the agent side from ``Settings``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Field(default=DEMO_DATA_DIR, description="The shop's data (Parquet files).")
    state_dir: Path = Field(
        default=PROJECT_ROOT / ".state", description="Caches, indexes and outputs."
    )
    chroma_host: str | None = Field(default=None, description="Chroma server host (else embedded).")
    chroma_port: int = 8000
    link_allowlist: tuple[str, ...] = ("https://shop.example.com",)
    shop_name: str = "Northwind Goods"
    frequency_rules: tuple[FrequencyRule, ...] = Field(
        default_factory=lambda: parse_frequency_rules(DEFAULT_FREQUENCY_RULES),
        description="Contact limits per channel (see parse_frequency_rules).",
    )
    holdout_share: float = Field(default=0.1, ge=0, le=0.5)
    campaign_exploration: Literal["none", "thompson"] = "none"
    shipping_fee: float = Field(default=6.5, ge=0)
    allow_protected_targeting: bool = False
    allowed_dirs: tuple[Path, ...] = ()

    @field_validator("frequency_rules", mode="before")
    @classmethod
    def _rules(cls, value: Any) -> tuple[FrequencyRule, ...]:
        return parse_frequency_rules(value)

    @property
    def cache_dir(self) -> Path:
        """Profile caches and the product index."""
        return self.state_dir / "cache"
