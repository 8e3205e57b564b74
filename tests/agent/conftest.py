"""Shared data and servers for the agent tests.

``GOLDEN`` is the set of golden requests (English and Chinese) with the tools each must call,
in order: the offline agent tests run them, and the PII scan checks the traces they leave.

``live`` starts the API and MCP servers once for the session on loopback (the API tests and
the PII scan use them): one :class:`~agent.api.service.AgentService` on the demo shop (its state
starts from a warm cache) behind three uvicorn servers: the API with generous limits, the API
with tight limits (6 calls a minute, 4 KB bodies, 200-character requests, 0.05 s per call) and
the MCP server over streamable HTTP. Keys: ``reader`` (read), ``writer`` (read, draft, plan),
``admin`` (read, admin), ``planner`` (plan), and for the tight server ``flood`` (read) and
``limits`` (read, plan).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:  # the servers are imported by the fixture, not by every agent test
    from agent.api.service import AgentService
    from agent.settings import Settings
    from tests.api_servers import Key

GOLDEN = [
    ("Tell me about C00042", ["lookup_customer"]),
    ("介绍一下客户 C00042 的画像", ["lookup_customer"]),
    ("How many at-risk customers do we have?", ["find_customers"]),
    ("有多少流失风险客户？", ["find_customers"]),
    ("Find waterproof hiking backpacks under $150", ["search_products"]),
    ("搜索 200 元以下的户外背包", ["search_products"]),
    ("Recommend products for C00003", ["recommend_products"]),
    ("给 C00002 推荐商品", ["recommend_products"]),
    ("Plan a $5,000 campaign over email and SMS for at-risk customers", ["optimize_campaign"]),
    ("用 5000 美元预算，通过邮件和短信为流失风险客户做营销计划", ["optimize_campaign"]),
    ("Draft an SMS for C00003", ["recommend_products", "draft_message"]),
    ("给 C00002 写一条短信", ["recommend_products", "draft_message"]),
    ("Which campaigns fit C00003?", ["match_campaigns"]),
    ("哪些活动适合 C00002？", ["match_campaigns"]),
]


@dataclass(frozen=True)
class Live:
    """The running servers and what they were started with."""

    settings: Settings
    service: AgentService
    api: str
    limited: str
    mcp: str
    keys: dict[str, Key]

    def client(self, key: str | None, base: str | None = None) -> httpx.Client:
        """An HTTP client of the API sending key ``key`` (none for ``None``)."""
        headers = self.keys[key].headers if key else {}
        return httpx.Client(base_url=base or self.api, headers=headers, timeout=300)


@pytest.fixture(scope="session")
def warm(demo_deps: Any) -> Path:
    """The demo shop's warm cache directory (built once for the session)."""
    from tests.api_servers import warm_cache

    return warm_cache(demo_deps)


@pytest.fixture(scope="session")
def live(warm: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    from agent.api.app import create_app
    from agent.api.server import build_mcp_http_app
    from agent.api.service import AgentService
    from agent.settings import Settings
    from tests.api_servers import (
        DEMO_DIR,
        fresh_state,
        key_settings,
        make_keys,
        serve_in_thread,
        wait_ready,
    )

    keys = make_keys(
        reader=("read",),
        writer=("read", "draft", "plan"),
        admin=("read", "admin"),
        planner=("plan",),
        flood=("read",),
        limits=("read", "plan"),
    )
    state = fresh_state(tmp_path_factory.mktemp("api"), warm)
    settings = Settings(
        data_dir=DEMO_DIR, state_dir=state, api_keys=key_settings(keys), api_rate_per_minute=1000
    )
    tight = settings.model_copy(
        update={
            "api_rate_per_minute": 6,
            "api_max_body_bytes": 4096,
            "api_max_request_chars": 200,
            "api_timeout_s": 0.05,
        }
    )
    service = AgentService(settings)
    with (
        serve_in_thread(create_app(settings, service=service)) as api,
        serve_in_thread(create_app(tight, service=service)) as limited,
        serve_in_thread(build_mcp_http_app(service, "127.0.0.1")) as mcp,
    ):
        wait_ready(api)
        yield Live(settings, service, api, limited, f"{mcp}/mcp", keys)
    service.close()
