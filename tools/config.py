"""What the tools need from the product's settings, as one typed value.

The domain never reads the environment or imports the agent's settings: the agent side
builds a ``ToolConfig`` from its ``Settings`` (``Settings.tool_config()``) and hands it to
``ToolDeps``. The project's fixed folders are named here, at the bottom of the domain, so
that both sides agree on them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

#: The repository root (where ``data/`` and ``prompts/`` live).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: The demo shop shipped with the project.
DEMO_DATA_DIR = PROJECT_ROOT / "data" / "demo"
#: Prompts, copy templates and vocabulary files.
PROMPTS_DIR = PROJECT_ROOT / "prompts"
#: The shared real data sets (read only), beside the repository.
SHARED_DATASETS_DIR = PROJECT_ROOT.parent / "shared" / "datasets"


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
    frequency_cap_days: int = Field(default=7, ge=0)
    allow_protected_targeting: bool = False
    allowed_dirs: tuple[Path, ...] = ()

    @property
    def cache_dir(self) -> Path:
        """Profile caches and the product index."""
        return self.state_dir / "cache"
