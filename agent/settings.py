"""The one settings object of the product.

Every knob lives here, read from the environment (prefix ``AGENT_``) or a ``.env`` file.
Nothing reads the environment at import time: build ``Settings()`` once at the edge (CLI,
app, API) and pass it down.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tools.config import DEMO_DATA_DIR, PROJECT_ROOT, PROMPTS_DIR, ToolConfig

__all__ = ["API_SCOPES", "DEMO_DATA_DIR", "PROJECT_ROOT", "PROMPTS_DIR", "ApiKeySpec", "Settings"]

#: What an API key may do: read (ask, read-only tools, runs, batch results), draft (drafts and
#: batches), plan (campaign plans), admin (export and erase a customer).
ApiScope = Literal["read", "draft", "plan", "admin"]
API_SCOPES: tuple[ApiScope, ...] = ("read", "draft", "plan", "admin")
_KEY_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class ApiKeySpec(BaseModel):
    """One API key as settings hold it: the SHA-256 of the key (never the key) and its scopes."""

    model_config = ConfigDict(extra="forbid")

    hash: str = Field(
        pattern=r"^sha256:[0-9a-f]{64}$",
        description="sha256:<64 hex digits> of the key, as `python -m agent api-key new` prints.",
    )
    scopes: list[ApiScope] = Field(min_length=1, description="read, draft, plan and/or admin.")


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
    frequency_cap_days: int = Field(default=7, ge=0)
    allow_protected_targeting: bool = Field(
        default=False, description="Allow gender/age as targeting keys (audited when on)."
    )
    ui_host: str = Field(default="127.0.0.1")
    ui_port: int = Field(default=7860)
    ui_users: dict[str, SecretStr] = Field(
        default_factory=dict, description='Login users as JSON, e.g. {"ana": "secret"}.'
    )
    ui_concurrency: int = Field(default=4, ge=1)
    api_host: str = Field(default="127.0.0.1", description="Where the HTTP API listens.")
    api_port: int = Field(default=8000, ge=0, le=65535)
    api_workers: int = Field(default=1, ge=1, le=64, description="uvicorn worker processes.")
    api_keys: dict[str, ApiKeySpec] = Field(
        default_factory=dict,
        description=(
            'API keys by name, as JSON: {"crm": {"hash": "sha256:...", "scopes": ["read"]}}; '
            "required for a non-loopback host (API and MCP over HTTP)."
        ),
    )
    api_rate_per_minute: int = Field(default=120, ge=1, description="Requests per key a minute.")
    api_max_body_bytes: int = Field(default=1_000_000, ge=1024, description="Largest request body.")
    api_max_request_chars: int = Field(
        default=4000, ge=16, description="Longest request text for /v1/ask."
    )
    api_timeout_s: float = Field(default=120.0, gt=0, description="Time limit of one API call.")
    api_concurrency: int = Field(default=8, ge=1, description="API calls worked on at once.")
    mcp_port: int = Field(
        default=8001, ge=0, le=65535, description="Port of the MCP server over HTTP."
    )
    allowed_dirs: list[Path] = Field(
        default_factory=list,
        description="Extra directories imports and exports may touch (besides data/state/cwd).",
    )

    @field_validator("api_keys")
    @classmethod
    def _check_key_names(cls, keys: dict[str, ApiKeySpec]) -> dict[str, ApiKeySpec]:
        for name in keys:
            if not _KEY_NAME.match(name):
                raise ValueError(
                    f"API key name {name!r} must be 1-64 letters, digits, '.', '_' or '-'"
                )
        return keys

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
            frequency_cap_days=self.frequency_cap_days,
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
