"""Shared fixtures: a socket guard (loopback only), settings on temp state, the demo shop.

Also the small hand-made data that the shop tests and the data CLI tests both use: a minimal
valid shop (``build_minimal_shop``) and rows of a transactions CSV with their column mapping.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tools.shop.store import ShopData

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "datasets"
DEMO_DIR = ROOT / "data" / "demo"

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class NetworkBlockedError(OSError):
    """A test tried to reach beyond loopback."""


def _is_loopback(address: Any) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, bytes):
        host = host.decode()
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise NetworkBlockedError(f"tests may only reach loopback, not {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise NetworkBlockedError(f"tests may only reach loopback, not {address!r}")
    return _real_connect_ex(self, address)


def pytest_configure(config: pytest.Config) -> None:
    """Install the socket guard before any test module is imported."""
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    """A fresh state directory (caches, traces) for one test."""
    path = tmp_path / "state"
    path.mkdir()
    return path


@pytest.fixture
def settings(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Settings on the demo shop with state in a temp dir; the environment left clean."""
    from agent.settings import Settings

    for key in list(os.environ):
        if key.startswith("AGENT_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(state_dir)  # so that no developer's .env is read
    yield Settings(data_dir=DEMO_DIR, state_dir=state_dir)


def shared_dataset(name: str) -> Path:
    """Path of a shared data set, or skip the test naming the missing path."""
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"shared data set not found: {path}")
    return path


# ---------------------------------------------- small hand-made data (tools/shop and agent/cli)

T0 = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


def _customer(n: int, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "customer_id": f"C{n:05d}",
        "first_name": ["Ana", "Li"][n % 2],
        "last_name": ["Silva", "Wei"][n % 2],
        "email": f"c{n}@example.com",
        "phone": f"+1555000{n:04d}",
        "address": f"{n} Main St",
        "city": "Lisbon",
        "country": "PT",
        "age": 30 + n,
        "gender": ["female", "male"][n % 2],
        "language": ["en", "zh"][n % 2],
        "signup_at": T0,
        "consent_email": True,
        "consent_email_at": T0,
        "consent_sms": False,
        "consent_sms_at": None,
        "consent_push": n % 2 == 0,
        "consent_push_at": T0 if n % 2 == 0 else None,
        "notes": "prefers morning calls" if n == 1 else "",
    }
    row.update(over)
    return row


def _product(n: int, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "product_id": f"P{n:05d}",
        "title": f"Trail shoe {n}",
        "description": "Light trail running shoe.",
        "title_zh": "越野跑鞋",
        "description_zh": "轻便越野跑鞋。",
        "category": ["shoes", "outdoor"][n % 2],
        "brand": "Northwind",
        "price": 49.5 + n,
        "currency": "USD",
        "stock": 10 * n,
        "tags": ["trail", "running"],
        "reviews": ["Great grip."] if n == 1 else [],
    }
    row.update(over)
    return row


def build_minimal_shop() -> ShopData:
    """A tiny valid shop: 3 customers, 3 products, 5 events, 1 campaign, 3 exposures."""
    import pandas as pd

    from tools.shop.store import SCHEMA, ShopData, validate_table

    customers = pd.DataFrame([_customer(n) for n in (1, 2, 3)])
    products = pd.DataFrame([_product(n) for n in (1, 2, 3)])
    events = pd.DataFrame(
        [
            ("C00001", "P00001", "view", 1, 50.5, T0),
            ("C00001", "P00001", "cart", 1, 50.5, T0),
            ("C00001", "P00001", "purchase", 2, 50.5, T0),
            ("C00002", "P00003", "purchase", 1, 52.5, T0),
            ("C00003", "P00002", "view", 1, 51.5, T0),
        ],
        columns=[c.name for c in SCHEMA["events"]],
    )
    campaigns = pd.DataFrame(
        [
            {
                "campaign_id": "K001",
                "name": "Spring trail",
                "channel": "email",
                "offer": "10% off trail shoes",
                "discount_pct": 10.0,
                "start_at": T0,
                "end_at": datetime(2024, 3, 15, tzinfo=UTC),
                "cost_per_contact": 0.02,
                "target_categories": ["shoes"],
                "target_segments": ["loyal"],
                "description": "Randomised test.",
            }
        ]
    )
    exposures = pd.DataFrame(
        [
            ("K001", "C00001", "treatment", T0, True, 101.0),
            ("K001", "C00002", "control", T0, False, 0.0),
            ("K001", "C00003", "treatment", T0, False, 0.0),
        ],
        columns=[c.name for c in SCHEMA["exposures"]],
    )
    frames = {
        "customers": customers,
        "products": products,
        "events": events,
        "campaigns": campaigns,
        "exposures": exposures,
    }
    checked = {name: validate_table(name, frame) for name, frame in frames.items()}
    return ShopData(
        customers=checked["customers"],
        products=checked["products"],
        events=checked["events"],
        campaigns=checked["campaigns"],
        exposures=checked["exposures"],
        meta={"name": "Tiny test shop", "currency": "USD"},
    )


RETAIL_MAP = (
    "customer_id=CustomerID,product_id=StockCode,description=Description,quantity=Quantity,"
    "unit_price=UnitPrice,timestamp=InvoiceDate,invoice_id=InvoiceNo,country=Country"
)

# Rows in the UCI Online Retail layout, with one of each kind of line to exclude.
RETAIL_CSV = """\
InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom
536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom
536366,22633,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,17850,United Kingdom
536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,12/1/2010 8:34,1.69,13047,United Kingdom
536368,85123A,WHITE HANGING HEART T-LIGHT HOLDER,8,12/13/2010 9:00,2.95,13047,United Kingdom
C536379,D,Discount,-1,12/1/2010 9:41,27.5,14527,United Kingdom
536380,22139,RETROSPOT TEA SET,-3,12/1/2010 9:45,4.95,14527,United Kingdom
536414,22139,,56,12/1/2010 11:52,0,,United Kingdom
536544,21773,DECORATIVE ROSE BATHROOM BOTTLE,1,12/1/2010 14:32,2.51,,United Kingdom
536370,22728,ALARM CLOCK BAKELIKE PINK,24,12/1/2010 8:45,3.75,12583.0,France
536370,POST,POSTAGE,3,12/1/2010 8:45,18,12583,France
A563185,B,Adjust bad debt,1,8/12/2011 14:50,-11062.06,12583,United Kingdom
581587,22613,PACK OF 20 SPACEBOY NAPKINS,12,12/9/2011 12:50,0.85,12680,France
"""


@pytest.fixture(scope="session")
def demo_settings(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Settings on the demo shop with one state dir for the whole session (indexes built once)."""
    from agent.settings import Settings

    return Settings(data_dir=DEMO_DIR, state_dir=tmp_path_factory.mktemp("demo-state"))


@pytest.fixture(scope="session")
def demo_deps(demo_settings: Any) -> Any:
    """ToolDeps on the demo shop, shared by the session."""
    from tools.deps import ToolDeps

    return ToolDeps(demo_settings.tool_config())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Close the /dev/null handles llama-cpp-python opens at import and never closes."""
    import sys

    utils = sys.modules.get("llama_cpp._utils")
    for name in ("outnull_file", "errnull_file"):
        handle = getattr(utils, name, None)
        if handle is not None:
            handle.close()
