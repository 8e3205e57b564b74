"""Shared fixtures: a socket guard (loopback only), settings on temp state, the demo shop."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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


@pytest.fixture(scope="session")
def demo_settings(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Settings on the demo shop with one state dir for the whole session (indexes built once)."""
    from agent.settings import Settings

    return Settings(data_dir=DEMO_DIR, state_dir=tmp_path_factory.mktemp("demo-state"))


@pytest.fixture(scope="session")
def demo_deps(demo_settings: Any) -> Any:
    """ToolDeps on the demo shop, shared by the session."""
    from tools.deps import ToolDeps

    return ToolDeps(demo_settings)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Close the /dev/null handles llama-cpp-python opens at import and never closes."""
    import sys

    utils = sys.modules.get("llama_cpp._utils")
    for name in ("outnull_file", "errnull_file"):
        handle = getattr(utils, name, None)
        if handle is not None:
            handle.close()
