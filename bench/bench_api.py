"""The HTTP API under load, against the same requests through ``AgentRunner`` in process.

On one warm state directory (profiles and product index built once):

1. **In process** (the baseline): 50 requests at once over 25 sessions from 8 threads (the
   API's default ``AGENT_API_CONCURRENCY``), one request at a time per session as the API
   does (a conversation is sequential: the second request of a session reads the first),
   then 1,000 one after another.
2. **Over HTTP**: ``python -m agent serve`` on loopback (one worker), the same 50 requests
   sent at once over 25 sessions, then the same 1,000 one after another (``POST /v1/ask``),
   with the server's resident memory read from ``/proc`` before and after the 1,000.

Printed: p50/p95 latency and throughput of each, the throughput ratio API / in process (the
overhead of HTTP, JSON, the guard and the access trace), errors, and the server's memory growth
over the 1,000 requests. Targets: 0 errors, memory growth under 50 MB.

Run: ``.venv/bin/python bench/bench_api.py [--sequential N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.loop.runner import AgentRunner
from agent.settings import Settings
from tests.api_servers import agent_env, free_port, serve_process, wait_ready

REQUESTS = [
    "Tell me about C00042",
    "How many at-risk customers like outdoor gear?",
    "Recommend products for C00003",
    "Draft an SMS for C00003",
    "Find waterproof hiking backpacks under $150",
    "Which campaigns fit C00144?",
    "给 C00002 推荐商品",
    "Tell me about C00146",
]
CONCURRENT = 50
SESSIONS = 25
THREADS = 8


def concurrent_batch(prefix: str) -> list[tuple[str, str]]:
    """The 50 concurrent requests: (text, session), two per session."""
    return [(REQUESTS[i % len(REQUESTS)], f"{prefix}-{i % SESSIONS}") for i in range(CONCURRENT)]


def sequential_batch(n: int) -> list[str]:
    """The sequential requests (each a new conversation)."""
    return [REQUESTS[i % len(REQUESTS)] for i in range(n)]


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0-1) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rss_mb(pid: int) -> float:
    """Resident memory of a process (MB), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def report(name: str, latencies: list[float], seconds: float, errors: int) -> float:
    """Print one phase; its throughput (requests per second)."""
    rate = len(latencies) / seconds
    print(
        f"  {name:<28} p50 {statistics.median(latencies):7.1f} ms  "
        f"p95 {pct(latencies, 0.95):7.1f} ms  {rate:6.1f} req/s  errors {errors}"
    )
    return rate


def in_process(state: Path, sequential: list[str]) -> tuple[float, float]:
    """The baseline; throughput of the concurrent and of the sequential phase."""
    runner = AgentRunner(Settings(state_dir=state))
    for text in REQUESTS:  # warm, as the server is before it is ready
        runner.run(text)

    locks: dict[str | None, threading.Lock] = defaultdict(threading.Lock)

    def one(item: tuple[str, str | None], sent: float | None = None) -> float:
        """Milliseconds from ``sent`` (the request's start; default now) to its answer."""
        started = time.perf_counter() if sent is None else sent
        with locks[item[1]]:
            runner.run(item[0], session=item[1])
        return (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:  # all 50 sent at once: waiting in line counts
        latencies = list(pool.map(lambda item: one(item, started), concurrent_batch("local")))
    burst = report("50 at once, 25 sessions", latencies, time.perf_counter() - started, 0)
    started = time.perf_counter()
    latencies = [one((text, None)) for text in sequential]
    steady = report(f"{len(sequential)} one by one", latencies, time.perf_counter() - started, 0)
    return burst, steady


async def _burst(base: str) -> tuple[list[float], int, float]:
    limits = httpx.Limits(max_connections=CONCURRENT)
    async with httpx.AsyncClient(base_url=base, timeout=600, limits=limits) as client:

        async def one(text: str, session: str) -> tuple[float, bool]:
            started = time.perf_counter()
            response = await client.post("/v1/ask", json={"text": text, "session": session})
            return (time.perf_counter() - started) * 1000, response.status_code == 200

        started = time.perf_counter()
        results = await asyncio.gather(*(one(t, s) for t, s in concurrent_batch("http")))
        seconds = time.perf_counter() - started
    return [r[0] for r in results], sum(1 for r in results if not r[1]), seconds


def over_http(state: Path, sequential: list[str], log: Path) -> tuple[float, float, float]:
    """The API phases; throughput of each and the server's memory growth (MB)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = agent_env(state, AGENT_API_PORT=str(port), AGENT_API_RATE_PER_MINUTE="1000000")
    with serve_process(["serve"], env, log) as proc, httpx.Client(base_url=base, timeout=600) as c:
        wait_ready(base)
        for text in REQUESTS:
            c.post("/v1/ask", json={"text": text})
        latencies, errors, seconds = asyncio.run(_burst(base))
        burst = report("50 at once, 25 sessions", latencies, seconds, errors)
        before = rss_mb(proc.pid)
        latencies, errors = [], 0
        started = time.perf_counter()
        for text in sequential:
            t0 = time.perf_counter()
            response = c.post("/v1/ask", json={"text": text})
            latencies.append((time.perf_counter() - t0) * 1000)
            errors += response.status_code != 200
        steady = report(
            f"{len(sequential)} one by one", latencies, time.perf_counter() - started, errors
        )
        after = rss_mb(proc.pid)
    print(f"  server memory {before:.0f} MB -> {after:.0f} MB after the {len(sequential)}")
    return burst, steady, after - before


def main() -> None:
    """Run both, print the figures and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sequential", type=int, default=1000, help="sequential requests")
    args = parser.parse_args()
    sequential = sequential_batch(args.sequential)
    os.environ.pop("AGENT_API_KEYS", None)
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        print("in process (AgentRunner):")
        base_burst, base_steady = in_process(state, sequential)
        print("over HTTP (python -m agent serve, loopback):")
        burst, steady, growth = over_http(state, sequential, Path(tmp) / "server.log")
    print(f"throughput ratio API / in process: 50 at once {burst / base_burst:.2f}, "
          f"one by one {steady / base_steady:.2f}")
    print(f"memory growth over {args.sequential} requests: {growth:.1f} MB "
          f"(target < 50: {'ok' if growth < 50 else 'OVER'})")


if __name__ == "__main__":
    main()
