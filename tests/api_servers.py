"""Real API and MCP servers on loopback for the tests: uvicorn in a thread, or ``python -m agent``.

Shared by the API and MCP tests, the personal-data scan and ``bench/bench_api.py``. A server's
state directory starts with a copy of a warm cache (profiles and the product index of the
demo shop, built once), so that starting one takes seconds rather than minutes.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from agent.api.keys import hash_key, new_key
from agent.settings import ApiKeySpec

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / "data" / "demo"
#: Seconds a server may take to build the agent and warm its stores.
READY_S = 600


@dataclass(frozen=True)
class Key:
    """A test API key: its name, the secret and its scopes."""

    name: str
    secret: str
    scopes: tuple[str, ...]

    @property
    def headers(self) -> dict[str, str]:
        """The header that sends it."""
        return {"Authorization": f"Bearer {self.secret}"}


def make_keys(**scopes: tuple[str, ...]) -> dict[str, Key]:
    """Fresh random keys by name."""
    return {name: Key(name, new_key(), s) for name, s in scopes.items()}


def key_settings(keys: dict[str, Key]) -> dict[str, ApiKeySpec]:
    """``api_keys`` as settings hold them (hashes only)."""
    return {
        k.name: ApiKeySpec.model_validate({"hash": hash_key(k.secret), "scopes": list(k.scopes)})
        for k in keys.values()
    }


def warm_cache(deps: Any) -> Path:
    """Build the shop's profiles, product index, recommender and uplift; the cache dir."""
    _ = deps.profiles, deps.products, deps.recommender, deps.uplift
    cache: Path = deps.config.cache_dir
    return cache


def fresh_state(folder: Path, cache: Path) -> Path:
    """A new state directory holding a copy of a warm cache."""
    state = folder / "state"
    shutil.copytree(cache, state / "cache")
    return state


def wait_ready(base: str, timeout: float = READY_S) -> None:
    """Wait until ``GET /readyz`` answers 200 (or fail naming the last answer)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base}/readyz", timeout=5)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.TransportError as exc:
            last = repr(exc)
        time.sleep(0.2)
    raise TimeoutError(f"{base} not ready after {timeout:.0f} s: {last}")


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port in a thread; yields its base URL."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def free_port() -> int:
    """A free TCP port on loopback."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def agent_env(state: Path, data: Path = DEMO_DIR, **extra: str) -> dict[str, str]:
    """The environment of a ``python -m agent`` server: this checkout and state, no stray AGENT_."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_")}
    env.update(
        PYTHONPATH=str(ROOT),
        AGENT_STATE_DIR=str(state),
        AGENT_DATA_DIR=str(data),
        GRADIO_ANALYTICS_ENABLED="False",
        ANONYMIZED_TELEMETRY="False",
    )
    env.update(extra)
    return env


@contextmanager
def serve_process(
    args: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``python -m agent ARGS`` (its output to ``log``); killed with its workers on exit."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent", *args],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        yield proc
    finally:
        stop_process(proc, signal.SIGTERM)


def stop_process(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Send ``sig`` to the process group (uvicorn's workers too) and reap it."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
