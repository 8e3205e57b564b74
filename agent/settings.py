"""The one settings object of the product.

Every knob lives here, read from the environment (prefix ``AGENT_``) or a ``.env`` file.
Nothing reads the environment at import time: build ``Settings()`` once at the edge (CLI,
app, API) and pass it down.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from tools.config import (
    DEFAULT_FREQUENCY_RULES,
    DEMO_DATA_DIR,
    PROJECT_ROOT,
    PROMPTS_DIR,
    ToolConfig,
    parse_frequency_rules,
)
from tools.errors import ToolInputError

__all__ = [
    "API_SCOPES",
    "DEMO_DATA_DIR",
    "PROJECT_ROOT",
    "PROMPTS_DIR",
    "ApiKeySpec",
    "Settings",
    "SettingsLoadError",
    "load_settings",
]

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
        default_factory=dict,
        description='Login users as JSON, user -> password hash ("python -m agent ui '
        'hash-password USER" prints the entry), e.g. {"ana": "scrypt$..."}.',
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
        description="Extra directories remote callers (model, app, API, MCP) may read and "
        "write besides data/state/cwd; the CLI operator's own paths are not confined.",
    )
    # -- limits (agent/loop/limits.py, agent/loop/sessions.py, agent/ui/auth.py) -------------
    max_request_bytes: int = Field(
        default=8192, ge=64, description="Largest request text (UTF-8 bytes), every front end."
    )
    rate_limit_session: int = Field(
        default=20, ge=0, description="Requests a minute per app conversation (0: no limit)."
    )
    rate_limit_user: int = Field(
        default=60, ge=0, description="Requests a minute per signed-in app user (0: no limit)."
    )
    max_history_turns: int = Field(
        default=8, ge=1, le=64, description="Newest turns of a session sent to the model."
    )
    max_history_bytes: int = Field(
        default=120_000, ge=1000, description="Size cap of the session history sent to the model."
    )
    trace_max_bytes: int = Field(
        default=2_000_000, ge=10_000, description="Largest trace file of one request run."
    )
    session_ttl_days: float = Field(
        default=30.0, gt=0, description="Stored sessions unused this long are deleted."
    )
    max_sessions: int = Field(
        default=1000, ge=1, description="Stored sessions kept (least recently used go first)."
    )
    ui_max_sessions: int = Field(
        default=200, ge=1, description="Browser sessions the app keeps in memory."
    )
    ui_login_free_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins per user or address before slowing down."
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


class SettingsLoadError(ToolInputError):
    """A setting in the environment (or ``.env``) cannot be read; the message names it."""


def load_settings(**overrides: Any) -> Settings:
    """``Settings`` from the environment, with a bad value explained in one line.

    Raises:
        SettingsLoadError: e.g. ``AGENT_UI_USERS is not valid JSON ...`` or
            ``AGENT_MAX_STEPS: Input should be less than or equal to 50``.
    """
    try:
        return Settings(**overrides)
    except SettingsError as exc:  # a list or dict setting that is not JSON
        found = re.search(r'field "(\w+)"', str(exc))
        name = f"AGENT_{found.group(1).upper()}" if found else "a setting"
        example = {
            "AGENT_UI_USERS": ' (a JSON object, e.g. {"ana": "scrypt$..."}; python -m agent ui '
            "hash-password ana prints one)",
            "AGENT_ALLOWED_DIRS": ' (a JSON list, e.g. ["/srv/exports"])',
            "AGENT_LINK_ALLOWLIST": ' (a JSON list, e.g. ["https://shop.example.com"])',
        }.get(name, " (lists and objects are written as JSON)")
        raise SettingsLoadError(f"{name} is not valid JSON{example}") from None
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            field = "_".join(str(p) for p in err["loc"][:1]).upper()
            inner = ".".join(str(p) for p in err["loc"][1:])  # e.g. a key inside a JSON setting
            where = f"AGENT_{field}" + (f" ({inner})" if inner else "")
            msg = str(err["msg"]).removeprefix("Value error, ")
            parts.append(f"{where}: {msg}" if field else msg)
        raise SettingsLoadError("invalid settings: " + "; ".join(parts)) from None
