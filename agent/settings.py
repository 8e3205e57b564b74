"""The one settings object of the product.

Every knob lives here, read from the environment (prefix ``AGENT_``) or a ``.env`` file.
Nothing reads the environment at import time: build ``Settings()`` once at the edge (CLI,
app, API) and pass it down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tools.config import (
    DEFAULT_FREQUENCY_RULES,
    DEMO_DATA_DIR,
    PROJECT_ROOT,
    PROMPTS_DIR,
    ToolConfig,
    parse_frequency_rules,
)

__all__ = ["DEMO_DATA_DIR", "PROJECT_ROOT", "PROMPTS_DIR", "Settings"]


class Settings(BaseSettings):
    """Settings of the marketing assistant (environment prefix ``AGENT_``)."""

    model_config = SettingsConfigDict(
        env_prefix="AGENT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(default=DEMO_DATA_DIR, description="The shop's data (Parquet files).")
    state_dir: Path = Field(
        default=PROJECT_ROOT / ".state",
        description="Caches, indexes, traces, drafts and checkpoints (git-ignored).",
    )
    provider: Literal["offline", "openai"] = Field(
        default="offline", description="offline (embedded) or openai (compatible)."
    )
    openai_base_url: str | None = Field(default=None, description="OpenAI-compatible endpoint.")
    openai_api_key: SecretStr = Field(default=SecretStr("not-needed"))
    model: str = Field(default="gpt-4o-mini", description="Model name at the endpoint.")
    first_tool_choice: str | None = Field(
        default=None,
        description=(
            "Force a tool call on a request's first model step: 'required' or a tool name. "
            "For small local models that never choose a tool by themselves."
        ),
    )
    max_output_tokens: int = Field(default=1024, ge=16, description="Cap on a model reply.")
    request_timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=3, ge=0)
    local_polish: bool = Field(
        default=False,
        description="Rephrase template copy with SmolLM2 (needs the local-llm extra).",
    )
    max_steps: int = Field(default=8, ge=1, le=50, description="Tool-loop steps per request.")
    chroma_host: str | None = Field(default=None, description="Chroma server host (else embedded).")
    chroma_port: int = Field(default=8000)
    link_allowlist: list[str] = Field(
        default_factory=lambda: ["https://shop.example.com"],
        description="Link prefixes a draft may contain.",
    )
    shop_name: str = Field(default="Northwind Goods")
    frequency_rules: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_FREQUENCY_RULES),
        description=(
            'Contact limits per channel as JSON, e.g. {"email": "2/7", "sms": "1/14", '
            '"push": "3/7"}: at most N messages in D days ("any" counts every channel; '
            '"off" lifts a limit).'
        ),
    )
    holdout_share: float = Field(
        default=0.1, ge=0, le=0.5,
        description="Share of every plan cell held out at random to measure its lift.",
    )
    campaign_exploration: Literal["none", "thompson"] = Field(
        default="none",
        description="Plans from the estimates (none) or from a draw of their posteriors "
                    "(thompson: explores uncertain cells).",
    )
    shipping_fee: float = Field(
        default=6.5, ge=0, description="Average shipping fee: what a free-shipping offer costs."
    )
    allow_protected_targeting: bool = Field(
        default=False, description="Allow gender/age as targeting keys (audited when on)."
    )
    ui_host: str = Field(default="127.0.0.1")
    ui_port: int = Field(default=7860)
    ui_users: dict[str, SecretStr] = Field(
        default_factory=dict, description='Login users as JSON, e.g. {"ana": "secret"}.'
    )
    ui_concurrency: int = Field(default=4, ge=1)
    allowed_dirs: list[Path] = Field(
        default_factory=list,
        description="Extra directories imports and exports may touch (besides data/state/cwd).",
    )

    @field_validator("frequency_rules", mode="before")
    @classmethod
    def _check_rules(cls, value: object) -> object:
        if isinstance(value, dict):
            parse_frequency_rules(value)  # raises ValueError naming the bad rule
            return {str(k): str(v) if not isinstance(v, dict) else
                    f"{v.get('max_messages')}/{v.get('days')}" for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _resolve_paths(self) -> Settings:
        self.data_dir = self.data_dir.expanduser().resolve()
        self.state_dir = self.state_dir.expanduser().resolve()
        return self

    def tool_config(self) -> ToolConfig:
        """What the tools read from these settings (the domain never sees ``Settings``)."""
        return ToolConfig(
            data_dir=self.data_dir,
            state_dir=self.state_dir,
            chroma_host=self.chroma_host,
            chroma_port=self.chroma_port,
            link_allowlist=tuple(self.link_allowlist),
            shop_name=self.shop_name,
            frequency_rules=parse_frequency_rules(self.frequency_rules),
            holdout_share=self.holdout_share,
            campaign_exploration=self.campaign_exploration,
            shipping_fee=self.shipping_fee,
            allow_protected_targeting=self.allow_protected_targeting,
            allowed_dirs=tuple(self.allowed_dirs),
        )

    @property
    def cache_dir(self) -> Path:
        """Profile caches and the product index."""
        return self.state_dir / "cache"

    @property
    def trace_dir(self) -> Path:
        """One JSONL trace file per run."""
        return self.state_dir / "traces"
